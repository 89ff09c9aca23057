/**
 * The AES Kerberos 5 encryption types:
 *
 * - 17 aes128-cts-hmac-sha1-96 and 18 aes256-cts-hmac-sha1-96 (RFC 3962), on
 *   RFC 3961's simplified profile: keys derived with DK (n-fold + AES), the MAC
 *   is HMAC-SHA1-96 over the plaintext (MAC-then-encrypt).
 * - 19 aes128-cts-hmac-sha256-128 and 20 aes256-cts-hmac-sha384-192
 *   (RFC 8009): keys derived with KDF-HMAC-SHA2, the MAC is HMAC-SHA2 over the
 *   IV and the ciphertext (encrypt-then-MAC).
 *
 * Both encrypt confounder | plaintext with AES-CTS under Ke and append a
 * truncated HMAC under Ki; checksums are a truncated HMAC under Kc.
 */
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from '../../errors.js';
import { aesCtsDecrypt, aesCtsEncrypt, aesEncryptBlock } from './cts.js';
import { nfold } from './nfold.js';

/** One Kerberos encryption type (RFC 3961 section 3), with its keyed checksum. */
export interface Krb5Enctype {
  /** The enctype number: 17, 18, 19 or 20. */
  readonly etype: number;
  /** The enctype name, e.g. 'aes256-cts-hmac-sha1-96'. */
  readonly name: string;
  /** Key size in bytes (16 or 32). */
  readonly keyLength: number;
  /** Its keyed checksum type: 15, 16, 19 or 20. */
  readonly checksumType: number;
  /** Checksum (and integrity tag) size in bytes: 12, 12, 16 or 24. */
  readonly checksumLength: number;
  /**
   * RFC 3961 encrypt with key usage `usage`: confounder + plaintext, CTS with
   * Ke, HMAC with Ki. `confounder` only for test vectors (default random).
   */
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer;
  /**
   * Decrypts and checks integrity (constant-time compare); returns the
   * plaintext without the confounder. Throws CryptoError (code
   * 'ERR_KRB5_INTEGRITY') on a bad MAC, CryptoError (code 'ERR_KRB5_CRYPTO')
   * on a too-short ciphertext.
   */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer;
  /** The keyed checksum (get_mic) with Kc for `usage`. */
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer;
  /** Constant-time verification of `checksum`. */
  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, checksum: Uint8Array): boolean;
  /**
   * string-to-key (PBKDF2 + DK / KDF-HMAC-SHA2); params as RFC 3962 / 8009
   * (iteration count, 4 bytes big-endian; default 4096 for 17/18, 32768 for
   * 19/20). For 19/20 the salt is "enctype name" | 0x00 | salt as RFC 8009
   * says (done inside: callers pass the plain Kerberos salt, e.g.
   * "EXAMPLE.COMuser"). Strings are UTF-8 encoded.
   */
  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array): Buffer;
  /** A fresh random key of keyLength bytes. */
  randomKey(): Buffer;
}

/** Which derived key: the RFC 3961 well-known constants' last byte. */
export type Krb5KeyKind = 'Kc' | 'Ke' | 'Ki';
const KIND_BYTE: Record<Krb5KeyKind, number> = { Kc: 0x99, Ke: 0xaa, Ki: 0x55 };

const CONFOUNDER = 16; // = the AES block size, for every enctype here
const ERR = { code: 'ERR_KRB5_CRYPTO' };

// -- derived-key cache ---------------------------------------------------------
// A GSS context derives the same Ke/Ki/Kc for every message it seals, so keep
// the most recent few. Bounded LRU (Map keeps insertion order). Never logged.
const CACHE_MAX = 64;
const cache = new Map<string, Buffer>();

function cached(id: string, derive: () => Buffer): Buffer {
  let v = cache.get(id);
  if (v !== undefined) {
    cache.delete(id); // re-insert: most recently used goes last
  } else {
    v = derive();
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  }
  cache.set(id, v);
  return v;
}

// -- argument checks -------------------------------------------------------------

function bytes(v: string | Uint8Array, what: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new CryptoError(`${what} must be a string or a Uint8Array`, ERR);
}

function checkUsage(usage: number): void {
  if (!Number.isInteger(usage) || usage < 0 || usage > 0xffffffff) {
    throw new CryptoError(`key usage must be an unsigned 32-bit integer, got ${usage}`, ERR);
  }
}

function checkData(data: Uint8Array, what: string): void {
  if (!(data instanceof Uint8Array)) throw new CryptoError(`${what} must be a Uint8Array`, ERR);
}

/** The iteration count from RFC 3962 / 8009 string-to-key params (4 bytes, big-endian). */
function iterations(params: Uint8Array | undefined, dflt: number): number {
  if (params === undefined) return dflt;
  if (!(params instanceof Uint8Array) || params.length !== 4) {
    throw new CryptoError('string-to-key params must be 4 bytes (the iteration count)', ERR);
  }
  const n = Buffer.from(params).readUInt32BE(0);
  // 0 means 2^32 in RFC 3962; neither that nor anything past node's limit is usable.
  if (n === 0 || n > 0x7fffffff) throw new CryptoError(`unsupported string-to-key iteration count ${n}`, ERR);
  return n;
}

/** Usage number (4 bytes big-endian) | kind byte: the well-known constant. */
function usageConstant(usage: number, kind: Krb5KeyKind): Buffer {
  const c = Buffer.alloc(5);
  c.writeUInt32BE(usage, 0);
  c[4] = KIND_BYTE[kind];
  return c;
}

// -- the two families ----------------------------------------------------------------

interface Params {
  etype: number;
  name: string;
  keyLength: number;
  checksumType: number;
  checksumLength: number;
  defaultIterations: number;
}

abstract class AesCtsEnctype implements Krb5Enctype {
  readonly etype: number;
  readonly name: string;
  readonly keyLength: number;
  readonly checksumType: number;
  readonly checksumLength: number;
  protected readonly defaultIterations: number;

  constructor(p: Params) {
    this.etype = p.etype;
    this.name = p.name;
    this.keyLength = p.keyLength;
    this.checksumType = p.checksumType;
    this.checksumLength = p.checksumLength;
    this.defaultIterations = p.defaultIterations;
  }

  /** Derives one key from the base key for a usage constant (DK or KDF-HMAC-SHA2). */
  protected abstract deriveRaw(key: Uint8Array, constant: Buffer, kind: Krb5KeyKind): Buffer;
  /** The HMAC hash for integrity and checksums. */
  protected abstract readonly hash: string;
  protected abstract seal(ke: Buffer, ki: Buffer, data: Buffer): Buffer;
  protected abstract open(ke: Buffer, ki: Buffer, ciphertext: Uint8Array): Buffer;
  abstract stringToKey(password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array): Buffer;

  protected checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== this.keyLength) {
      const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
      throw new CryptoError(`${this.name} key must be ${this.keyLength} bytes, got ${got}`, ERR);
    }
  }

  /** Ke, Ki or Kc for `usage`, from the cache when possible. */
  derive(key: Uint8Array, usage: number, kind: Krb5KeyKind): Buffer {
    this.checkKey(key);
    checkUsage(usage);
    const id = `${this.etype}:${usage}:${kind}:${Buffer.from(key).toString('hex')}`;
    return cached(id, () => this.deriveRaw(key, usageConstant(usage, kind), kind));
  }

  protected mac(k: Uint8Array, ...parts: Uint8Array[]): Buffer {
    const h = createHmac(this.hash, k);
    for (const p of parts) h.update(p);
    return h.digest().subarray(0, this.checksumLength);
  }

  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    checkData(plaintext, 'plaintext');
    const conf = confounder ?? randomBytes(CONFOUNDER);
    if (!(conf instanceof Uint8Array) || conf.length !== CONFOUNDER) {
      throw new CryptoError(`confounder must be ${CONFOUNDER} bytes`, ERR);
    }
    const ke = this.derive(key, usage, 'Ke');
    const ki = this.derive(key, usage, 'Ki');
    return this.seal(ke, ki, Buffer.concat([conf, plaintext]));
  }

  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Buffer {
    checkData(ciphertext, 'ciphertext');
    if (ciphertext.length < CONFOUNDER + this.checksumLength) {
      throw new CryptoError(`${this.name} ciphertext too short (${ciphertext.length} bytes)`, ERR);
    }
    const ke = this.derive(key, usage, 'Ke');
    const ki = this.derive(key, usage, 'Ki');
    return this.open(ke, ki, ciphertext).subarray(CONFOUNDER);
  }

  checksum(key: Uint8Array, usage: number, data: Uint8Array): Buffer {
    checkData(data, 'data');
    return this.mac(this.derive(key, usage, 'Kc'), data);
  }

  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, checksum: Uint8Array): boolean {
    checkData(checksum, 'checksum');
    const want = this.checksum(key, usage, data);
    return checksum.length === want.length && timingSafeEqual(want, checksum);
  }

  randomKey(): Buffer {
    return randomBytes(this.keyLength); // AES random-to-key is the identity
  }

  protected integrityFailure(): never {
    throw new CryptoError(`${this.name} integrity check failed`, { code: 'ERR_KRB5_INTEGRITY' });
  }
}

/** RFC 3962: simplified profile with HMAC-SHA1-96, DK key derivation. */
class Rfc3962Enctype extends AesCtsEnctype {
  protected readonly hash = 'sha1';

  /** DK(key, constant) of RFC 3961 5.1: AES-encrypt n-fold(constant) repeatedly; random-to-key is the identity. */
  private dk(key: Uint8Array, constant: Uint8Array): Buffer {
    const blocks: Buffer[] = [];
    let block: Buffer = nfold(constant, 16);
    for (let have = 0; have < this.keyLength; have += 16) {
      block = aesEncryptBlock(key, block);
      blocks.push(block);
    }
    return Buffer.concat(blocks).subarray(0, this.keyLength);
  }

  protected deriveRaw(key: Uint8Array, constant: Buffer): Buffer {
    return this.dk(key, constant);
  }

  // MAC-then-encrypt: the HMAC covers confounder | plaintext.
  protected seal(ke: Buffer, ki: Buffer, data: Buffer): Buffer {
    return Buffer.concat([aesCtsEncrypt(ke, data), this.mac(ki, data)]);
  }

  protected open(ke: Buffer, ki: Buffer, ciphertext: Uint8Array): Buffer {
    const split = ciphertext.length - this.checksumLength;
    const data = aesCtsDecrypt(ke, ciphertext.subarray(0, split));
    if (!timingSafeEqual(this.mac(ki, data), ciphertext.subarray(split))) this.integrityFailure();
    return data;
  }

  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array): Buffer {
    const iter = iterations(params, this.defaultIterations);
    const tkey = pbkdf2Sync(bytes(password, 'password'), bytes(salt, 'salt'), iter, this.keyLength, 'sha1');
    return this.dk(tkey, Buffer.from('kerberos'));
  }
}

/** RFC 8009: AES-CTS with HMAC-SHA256-128 / HMAC-SHA384-192 and KDF-HMAC-SHA2. */
class Rfc8009Enctype extends AesCtsEnctype {
  protected readonly hash: string;

  constructor(p: Params, hash: 'sha256' | 'sha384') {
    super(p);
    this.hash = hash;
  }

  /** KDF-HMAC-SHA2(key, label, k) of RFC 8009 section 3 (no context): HMAC(key, 1 | label | 0x00 | k), cut to k bits. */
  private kdf(key: Uint8Array, label: Uint8Array, bytesOut: number): Buffer {
    const head = Buffer.from([0, 0, 0, 1]);
    const tail = Buffer.alloc(5); // 0x00 separator, then k in bits, 32-bit big-endian
    tail.writeUInt32BE(bytesOut * 8, 1);
    return createHmac(this.hash, key).update(head).update(label).update(tail).digest().subarray(0, bytesOut);
  }

  // Ke is a full AES key; Ki and Kc are as long as the truncated HMAC (16 or 24 bytes).
  protected deriveRaw(key: Uint8Array, constant: Buffer, kind: Krb5KeyKind): Buffer {
    return this.kdf(key, constant, kind === 'Ke' ? this.keyLength : this.checksumLength);
  }

  // Encrypt-then-MAC over IV | C, with the default all-zero cipher state as IV.
  protected seal(ke: Buffer, ki: Buffer, data: Buffer): Buffer {
    const c = aesCtsEncrypt(ke, data);
    return Buffer.concat([c, this.mac(ki, Buffer.alloc(16), c)]);
  }

  protected open(ke: Buffer, ki: Buffer, ciphertext: Uint8Array): Buffer {
    const split = ciphertext.length - this.checksumLength;
    const c = ciphertext.subarray(0, split);
    if (!timingSafeEqual(this.mac(ki, Buffer.alloc(16), c), ciphertext.subarray(split))) this.integrityFailure();
    return aesCtsDecrypt(ke, c);
  }

  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array): Buffer {
    const iter = iterations(params, this.defaultIterations);
    const saltp = Buffer.concat([Buffer.from(this.name), Buffer.from([0]), bytes(salt, 'salt')]);
    const tkey = pbkdf2Sync(bytes(password, 'password'), saltp, iter, this.keyLength, this.hash);
    return this.kdf(tkey, Buffer.from('kerberos'), this.keyLength);
  }
}

// -- the table -----------------------------------------------------------------------

const TABLE: readonly AesCtsEnctype[] = [
  new Rfc3962Enctype({
    etype: 17, name: 'aes128-cts-hmac-sha1-96', keyLength: 16,
    checksumType: 15, checksumLength: 12, defaultIterations: 4096,
  }),
  new Rfc3962Enctype({
    etype: 18, name: 'aes256-cts-hmac-sha1-96', keyLength: 32,
    checksumType: 16, checksumLength: 12, defaultIterations: 4096,
  }),
  new Rfc8009Enctype({
    etype: 19, name: 'aes128-cts-hmac-sha256-128', keyLength: 16,
    checksumType: 19, checksumLength: 16, defaultIterations: 32768,
  }, 'sha256'),
  new Rfc8009Enctype({
    etype: 20, name: 'aes256-cts-hmac-sha384-192', keyLength: 32,
    checksumType: 20, checksumLength: 24, defaultIterations: 32768,
  }, 'sha384'),
];

/** The enctype with number `etype`, or undefined when unsupported. */
export function krb5Enctype(etype: number): Krb5Enctype | undefined {
  return TABLE.find((e) => e.etype === etype);
}

/** The enctype whose keyed checksum is `cksumtype` (15→17, 16→18, 19→19, 20→20), or undefined. */
export function krb5EnctypeForChecksum(cksumtype: number): Krb5Enctype | undefined {
  return TABLE.find((e) => e.checksumType === cksumtype);
}

/**
 * The derived key Kc, Ke or Ki of `key` for `usage` (RFC 3961 / 8009). Lower
 * level than {@link Krb5Enctype}: for tests against published derivations and
 * for protocols that need a raw derived key. Returns a copy.
 */
export function krb5DeriveKey(etype: number, key: Uint8Array, usage: number, kind: Krb5KeyKind): Buffer {
  const e = TABLE.find((t) => t.etype === etype);
  if (e === undefined) throw new CryptoError(`unsupported Kerberos enctype ${etype}`, ERR);
  return Buffer.from(e.derive(key, usage, kind));
}
