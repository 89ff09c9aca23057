/**
 * PuTTY private key files (`.ppk`), versions 2 (PuTTYgen 0.52 on) and 3
 * (0.75 on, the default since), read and written.
 *
 * The file is text: a header naming the version, key type, encryption and
 * comment; the public blob in base64 lines; for an encrypted version 3 file
 * the Argon2 parameters; the private fields in base64 lines; and a MAC
 * over all of it. The private fields follow the public blob's type:
 * `mpint d, mpint p, mpint q, mpint iqmp` for RSA, `mpint x` for DSA,
 * `mpint d` for ECDSA and `string seed` for Ed25519.
 *
 * Encryption is AES-256-CBC. Version 2 keys it with SHA-1 of the
 * passphrase (two counters, zero IV) and MACs with HMAC-SHA-1; version 3
 * takes cipher key, IV and MAC key from Argon2 of the passphrase with the
 * file's salt and costs, and MACs with HMAC-SHA-256. An unencrypted file
 * still carries the MAC (keyed from the empty passphrase), so damage is
 * caught either way.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { checkDsaPrivate } from '../crypto/dsa.js';
import { nobleArgon2 } from '../crypto/js/noble.js';
import { createSigner, createVerifier, randomBytes } from '../crypto/index.js';
import type { PrivateKeyMaterial } from '../crypto/types.js';
import { KeyFormatError, PasswordRequiredException } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { WRONG_PASSPHRASE } from './keyCiphers.js';
import { asKeyFormat, decodeBase64Strict, decodePublicBlob, ECDSA_CURVES, encodePublicBlob, isEcdsaType, MAX_RSA_BITS, padTo, publicPartsOf, type PublicParts } from './keyTypes.js';
import { checkRsaMaterial } from './opensshFormat.js';

/** The Argon2 variants a version 3 file may name. */
export type PpkKdf = 'Argon2id' | 'Argon2i' | 'Argon2d';

/** How a `.ppk` file was protected (for an encrypted one). */
export interface PpkEncryption {
  version: 2 | 3;
  cipher: 'aes256-cbc';
  /** Version 3 only: the Argon2 variant and its costs. */
  kdf?: PpkKdf;
  /** KiB of memory. */
  memory?: number;
  passes?: number;
  parallelism?: number;
}

/** Options for writing a `.ppk` file. */
export interface PpkWriteOptions {
  /** Encrypt with this passphrase (none or empty: unencrypted, as PuTTYgen does). */
  passphrase?: string | Uint8Array;
  /** File format version: 3 (default, PuTTY 0.75 and later) or 2 (every PuTTY since 0.52). */
  version?: 2 | 3;
  /** Version 3: the Argon2 variant. Default Argon2id, as PuTTYgen. */
  kdf?: PpkKdf;
  /** Version 3: Argon2 memory in KiB. Default 8192, as PuTTYgen. */
  memory?: number;
  /** Version 3: Argon2 passes. Default 16 (PuTTYgen times its own to about 100 ms). */
  passes?: number;
  /** Version 3: Argon2 lanes. Default 1, as PuTTYgen. */
  parallelism?: number;
}

/**
 * Bounds on the Argon2 costs a file may ask for, so a hostile file cannot
 * take the process's memory or hold it for minutes: 256 MiB, and 2^22 KiB
 * of memory times passes (about 20 s in JS; PuTTYgen's default is 8 MiB
 * with some 20 passes, 0.7 s here).
 */
const MAX_ARGON_MEMORY = 256 * 1024;
const MAX_ARGON_WORK = 4 * 1024 * 1024;
const MAX_ARGON_PARALLELISM = 64;
const MAX_BLOB_LINES = 4096;
const MPINT_MAX = MAX_RSA_BITS / 8 + 1;
const MAC_KEY_PREFIX = 'putty-private-key-file-mac-key';
const KDFS: readonly PpkKdf[] = ['Argon2id', 'Argon2i', 'Argon2d'];
const HEADER = /^PuTTY-User-Key-File-(\d+): *(.*)$/;

/** `text` without a leading byte-order mark, as a character or as UTF-8 bytes read as latin1. */
function withoutBom(text: string): string {
  return text.replace(/^(?:\uFEFF|\xEF\xBB\xBF)/, '');
}

/** true when `text` looks like a PuTTY key file. */
export function isPpk(text: string): boolean {
  return /^PuTTY-User-Key-File-\d+:/.test(withoutBom(text).trimStart());
}

/** The file's lines, read one header at a time. */
class PpkLines {
  readonly #lines: string[];
  #i = 0;
  constructor(text: string) {
    this.#lines = withoutBom(text).trim().split(/\r\n|\r|\n/);
  }
  /** The next line; `name` says what was expected, for the error when there is none. */
  line(name: string): string {
    const line = this.#lines[this.#i++];
    if (line === undefined) throw new KeyFormatError(`PuTTY key file ends before its ${name} line`);
    return line;
  }
  /** The value of the next line, which must be `name: value`. */
  field(name: string): string {
    const line = this.line(name);
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon) !== name) throw new KeyFormatError(`PuTTY key file: expected "${name}:", found "${line.slice(0, 40)}"`);
    return line.slice(colon + 1).replace(/^ /, '');
  }
  number(name: string, min: number, max: number): number {
    const v = this.field(name);
    if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw new KeyFormatError(`PuTTY key file: ${name} must be ${min}..${max}, not "${v.slice(0, 20)}"`);
    return Number(v);
  }
  /** A `<name>-Lines: n` header and its n lines of base64. */
  blob(name: string): Uint8Array {
    const n = this.number(`${name}-Lines`, 0, MAX_BLOB_LINES);
    if (this.#i + n > this.#lines.length) throw new KeyFormatError(`PuTTY key file ends inside its ${name.toLowerCase()} key lines`);
    const text = this.#lines.slice(this.#i, this.#i + n).join('');
    this.#i += n;
    return n === 0 ? new Uint8Array(0) : decodeBase64Strict(text, `PuTTY key file's ${name.toLowerCase()} key`);
  }
  end(): void {
    if (this.#lines.slice(this.#i).some((l) => l.trim() !== '')) throw new KeyFormatError('PuTTY key file has text after its Private-MAC line');
  }
}

interface Argon2Params {
  kdf: PpkKdf;
  memory: number;
  passes: number;
  parallelism: number;
  salt: Uint8Array;
}

function checkArgonCosts(p: Pick<Argon2Params, 'memory' | 'passes' | 'parallelism'>): void {
  if (p.memory * p.passes > MAX_ARGON_WORK) {
    throw new KeyFormatError(`PuTTY key file asks for Argon2 memory ${p.memory} KiB x ${p.passes} passes, over the ${MAX_ARGON_WORK} KiB x passes sshwire allows`);
  }
  if (p.memory < 8 * p.parallelism) throw new KeyFormatError(`PuTTY key file: Argon2 memory ${p.memory} KiB is under 8 KiB per lane`);
}

interface FileKeys {
  key: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

/** The file's keys: SHA-1 based for version 2, Argon2 for an encrypted version 3, an empty MAC key otherwise. */
function fileKeys(version: 2 | 3, pass: Uint8Array, argon: Argon2Params | null): FileKeys {
  if (version === 2) return v2Keys(pass);
  if (argon) return argonKeys(pass, argon);
  return { key: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
}

/** Cipher key, IV and MAC key for version 3 (Argon2: 32 + 16 + 32 bytes); the costs are checked by the caller. */
function argonKeys(pass: Uint8Array, p: Argon2Params): FileKeys {
  const argon = nobleArgon2();
  const fn = p.kdf === 'Argon2id' ? argon.argon2id : p.kdf === 'Argon2i' ? argon.argon2i : argon.argon2d;
  const out = fn(pass, p.salt, { t: p.passes, m: p.memory, p: p.parallelism, dkLen: 80 });
  return { key: out.subarray(0, 32), iv: out.subarray(32, 48), macKey: out.subarray(48, 80) };
}

/** Version 2: cipher key from SHA-1 of two counters and the passphrase, zero IV, MAC key from SHA-1 of a label. */
function v2Keys(pass: Uint8Array): FileKeys {
  const half = (n: number) => createHash('sha1').update(new Uint8Array([0, 0, 0, n])).update(pass).digest();
  const key = new Uint8Array(Buffer.concat([half(0), half(1)]).subarray(0, 32));
  const macKey = new Uint8Array(createHash('sha1').update(MAC_KEY_PREFIX).update(pass).digest());
  return { key, iv: new Uint8Array(16), macKey };
}

function ppkMac(version: 2 | 3, macKey: Uint8Array, fields: Uint8Array[]): Uint8Array {
  const w = new SSHWriter();
  for (const f of fields) w.string(f);
  return new Uint8Array(createHmac(version === 2 ? 'sha1' : 'sha256', macKey).update(w.toBytes()).digest());
}

function aes256cbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = encrypt ? createCipheriv('aes-256-cbc', key, iv) : createDecipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** Private fields of `type`, read from the decrypted blob, joined with the public parts. */
function materialFrom(pub: PublicParts, priv: Uint8Array): PrivateKeyMaterial {
  const r = new SSHReader(priv, 'PuTTY private key');
  let m: PrivateKeyMaterial;
  switch (pub.type) {
    case 'ssh-ed25519': {
      const seed = r.string(64);
      if (seed.length !== 32) throw new KeyFormatError('ssh-ed25519: PuTTY private key must be 32 bytes');
      m = { type: pub.type, seed: seed.slice(), publicKey: pub.publicKey };
      break;
    }
    case 'ssh-rsa': {
      const [d, p, q, iqmp] = [0, 1, 2, 3].map(() => r.mpintBytes(MPINT_MAX).slice());
      m = { type: pub.type, n: pub.n, e: pub.e, d: d!, p: p!, q: q!, iqmp: iqmp! };
      checkRsaMaterial(m);
      break;
    }
    case 'ssh-dss':
      m = { ...pub, x: r.mpintBytes(MPINT_MAX).slice() };
      checkDsaPrivate(m);
      break;
    default: {
      if (!isEcdsaType(pub.type)) throw new KeyFormatError(`unsupported PuTTY key type "${pub.type}"`);
      const d = padTo(r.mpintBytes(ECDSA_CURVES[pub.type].fieldBytes + 1), ECDSA_CURVES[pub.type].fieldBytes, `${pub.type} private scalar`);
      m = { type: pub.type, d, q: (pub as { q: Uint8Array }).q };
    }
  }
  // What is left is padding to the cipher's block (none in an unencrypted file).
  if (r.rest().length > 16) throw new KeyFormatError('PuTTY private key has data after its fields');
  checkPair(m);
  return m;
}

/** A signature made with the private half must verify with the public blob (catches an ECDSA or Ed25519 mismatch). */
function checkPair(m: PrivateKeyMaterial): void {
  const signer = createSigner(m);
  const alg = signer.signatureAlgorithms[0]!;
  const data = new TextEncoder().encode('sshwire: PuTTY key pair check');
  const sig = signer.sign(alg, data) as Uint8Array;
  if (!createVerifier(encodePublicBlob(publicPartsOf(m))).verify(alg, data, sig)) {
    throw new KeyFormatError(`${m.type}: PuTTY key file's private key does not match its public key`);
  }
}

function passBytes(p: string | Uint8Array | undefined): Uint8Array {
  return p === undefined ? new Uint8Array(0) : typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

/**
 * Parse a `.ppk` file. `data` as bytes keeps the comment's bytes exactly as
 * the MAC covers them; a string is taken as its UTF-8 encoding. Throws
 * PasswordRequiredException when it is encrypted and `passphrase` is
 * missing or wrong, KeyFormatError when it is damaged or unsupported.
 */
export function parsePpk(
  data: string | Uint8Array,
  passphrase: Uint8Array | undefined,
): { material: PrivateKeyMaterial; comment: string; encryption: PpkEncryption | null } {
  return asKeyFormat('PuTTY key file', () => {
    const lines = ppkLines(data);
    const { version, algorithm, encryptionName, commentBytes, publicBlob, pub } = readFront(lines);
    const encrypted = encryptionName === 'aes256-cbc';
    let argon: Argon2Params | null = null;
    if (version === 3 && encrypted) {
      const kdf = lines.field('Key-Derivation') as PpkKdf;
      if (!KDFS.includes(kdf)) throw new KeyFormatError(`PuTTY key file: unsupported key derivation "${kdf}"`);
      const memory = lines.number('Argon2-Memory', 8, MAX_ARGON_MEMORY);
      const passes = lines.number('Argon2-Passes', 1, MAX_ARGON_WORK);
      const parallelism = lines.number('Argon2-Parallelism', 1, MAX_ARGON_PARALLELISM);
      const saltHex = lines.field('Argon2-Salt');
      if (!/^(?:[0-9a-fA-F]{2}){8,64}$/.test(saltHex)) throw new KeyFormatError('PuTTY key file: Argon2-Salt must be 8 to 64 bytes of hex');
      argon = { kdf, memory, passes, parallelism, salt: new Uint8Array(Buffer.from(saltHex, 'hex')) };
      checkArgonCosts(argon);
    }
    const privateBlob = lines.blob('Private');
    const macHex = lines.field('Private-MAC');
    lines.end();
    if (!/^[0-9a-fA-F]+$/.test(macHex) || macHex.length !== (version === 2 ? 40 : 64)) throw new KeyFormatError('PuTTY key file: Private-MAC is not a hex digest of the right length');

    if (encrypted && passphrase === undefined) throw new PasswordRequiredException('private key is encrypted: a passphrase is required');
    const pass = encrypted ? passphrase! : new Uint8Array(0);
    if (encrypted && privateBlob.length % 16 !== 0) throw new KeyFormatError('PuTTY key file: encrypted private key length is not a multiple of 16');
    const keys = fileKeys(version, pass, argon);
    const priv = encrypted ? aes256cbc(false, keys.key, keys.iv, privateBlob) : privateBlob;
    const enc = new TextEncoder();
    const mac = ppkMac(version, keys.macKey, [enc.encode(algorithm), enc.encode(encryptionName), commentBytes, publicBlob, priv]);
    keys.key.fill(0);
    keys.macKey.fill(0);
    if (!timingSafeEqual(mac, Buffer.from(macHex, 'hex'))) {
      if (encrypted) {
        priv.fill(0);
        throw new PasswordRequiredException(WRONG_PASSPHRASE);
      }
      throw new KeyFormatError('PuTTY key file is corrupt: its MAC does not match');
    }
    try {
      const material = materialFrom(pub, priv);
      const encryption: PpkEncryption | null = !encrypted
        ? null
        : argon
          ? { version, cipher: 'aes256-cbc', kdf: argon.kdf, memory: argon.memory, passes: argon.passes, parallelism: argon.parallelism }
          : { version, cipher: 'aes256-cbc' };
      return { material, comment: commentBytes.toString('utf8'), encryption };
    } finally {
      if (encrypted) priv.fill(0);
    }
  });
}

function ppkLines(data: string | Uint8Array): PpkLines {
  return new PpkLines(typeof data === 'string' ? Buffer.from(data, 'utf8').toString('latin1') : Buffer.from(data).toString('latin1'));
}

/** The lines every `.ppk` starts with: version and type, encryption, comment, public key. */
function readFront(lines: PpkLines): { version: 2 | 3; algorithm: string; encryptionName: string; commentBytes: Buffer; publicBlob: Uint8Array; pub: PublicParts } {
  const m = HEADER.exec(lines.line('PuTTY-User-Key-File'));
  if (!m) throw new KeyFormatError('not a PuTTY key file');
  const version = Number(m[1]);
  if (version !== 2 && version !== 3) throw new KeyFormatError(`PuTTY key file version ${m[1]!.slice(0, 10)} is not supported (versions 2 and 3 are)`);
  const encryptionName = lines.field('Encryption');
  if (encryptionName !== 'none' && encryptionName !== 'aes256-cbc') throw new KeyFormatError(`PuTTY key file: unsupported encryption "${encryptionName.slice(0, 40)}"`);
  const commentBytes = Buffer.from(lines.field('Comment'), 'latin1');
  const algorithm = m[2]!;
  const publicBlob = lines.blob('Public');
  const pub = decodePublicBlob(publicBlob);
  if (pub.type !== algorithm) throw new KeyFormatError(`PuTTY key file says "${algorithm.slice(0, 40)}" but its public key is "${pub.type}"`);
  return { version, algorithm, encryptionName, commentBytes, publicBlob, pub };
}

/** The public key blob and comment of a `.ppk` file, read without the passphrase. */
export function ppkPublicKey(data: string | Uint8Array): { blob: Uint8Array; comment: string } {
  return asKeyFormat('PuTTY key file', () => {
    const { commentBytes, publicBlob } = readFront(ppkLines(data));
    return { blob: publicBlob, comment: commentBytes.toString('utf8') };
  });
}

/** The private fields PuTTY keeps for `m` (the rest is in the public blob). */
function writePpkPrivate(w: SSHWriter, m: PrivateKeyMaterial): void {
  if (m.type === 'ssh-ed25519') {
    w.string(m.seed);
    return;
  }
  const fields = m.type === 'ssh-rsa' ? [m.d, m.p, m.q, m.iqmp] : m.type === 'ssh-dss' ? [m.x] : [m.d];
  for (const f of fields) w.mpintFromUnsigned(f);
}

function writeCost(name: string, v: number | undefined, fallback: number, min: number, max: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new KeyFormatError(`PuTTY key ${name} must be an integer ${min}..${max}, not ${String(v)}`);
  return n;
}

/** Base64 in PuTTY's 64-character lines, after a `<name>-Lines` header. */
function blobLines(name: string, blob: Uint8Array): string {
  const lines = Buffer.from(blob).toString('base64').match(/.{1,64}/g) ?? [];
  return `${name}-Lines: ${lines.length}\n${lines.map((l) => l + '\n').join('')}`;
}

/** Serialize to the `.ppk` text PuTTYgen writes (version 3 unless `opts.version` is 2). */
export function serializePpk(m: PrivateKeyMaterial, comment: string, opts: PpkWriteOptions = {}): string {
  if (/[\r\n]/.test(comment)) throw new KeyFormatError('a PuTTY key comment cannot contain line breaks');
  const version = opts.version ?? 3;
  if (version !== 2 && version !== 3) throw new KeyFormatError(`PuTTY key files are version 2 or 3, not ${String(version)}`);
  const pass = passBytes(opts.passphrase);
  const encrypted = pass.length > 0;
  const encryptionName = encrypted ? 'aes256-cbc' : 'none';
  const publicBlob = encodePublicBlob(publicPartsOf(m));
  const pw = new SSHWriter(512);
  writePpkPrivate(pw, m);
  if (encrypted && pw.length % 16 !== 0) pw.raw(randomBytes(16 - (pw.length % 16)));
  const plain = pw.toBytes();
  pw.bytes().fill(0);

  let argon: Argon2Params | null = null;
  if (version === 3 && encrypted) {
    const kdf = opts.kdf ?? 'Argon2id';
    if (!KDFS.includes(kdf)) throw new KeyFormatError(`PuTTY key derivation must be one of ${KDFS.join(', ')}, not ${String(kdf)}`);
    const parallelism = writeCost('Argon2 parallelism', opts.parallelism, 1, 1, MAX_ARGON_PARALLELISM);
    const memory = writeCost('Argon2 memory (KiB)', opts.memory, 8192, 8 * parallelism, MAX_ARGON_MEMORY);
    const passes = writeCost('Argon2 passes', opts.passes, 16, 1, Math.floor(MAX_ARGON_WORK / memory));
    argon = { kdf, memory, passes, parallelism, salt: randomBytes(16) };
  }
  const keys = fileKeys(version, pass, argon);
  const enc = new TextEncoder();
  const mac = ppkMac(version, keys.macKey, [enc.encode(m.type), enc.encode(encryptionName), enc.encode(comment), publicBlob, plain]);
  const stored = encrypted ? aes256cbc(true, keys.key, keys.iv, plain) : plain;
  keys.key.fill(0);
  keys.macKey.fill(0);
  const kdfLines = argon
    ? `Key-Derivation: ${argon.kdf}\nArgon2-Memory: ${argon.memory}\nArgon2-Passes: ${argon.passes}\nArgon2-Parallelism: ${argon.parallelism}\nArgon2-Salt: ${Buffer.from(argon.salt).toString('hex')}\n`
    : '';
  const text =
    `PuTTY-User-Key-File-${version}: ${m.type}\nEncryption: ${encryptionName}\nComment: ${comment}\n` +
    blobLines('Public', publicBlob) +
    kdfLines +
    blobLines('Private', stored) +
    `Private-MAC: ${Buffer.from(mac).toString('hex')}\n`;
  plain.fill(0);
  return text;
}
