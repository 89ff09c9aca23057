/**
 * bcrypt_pbkdf, the key derivation OpenSSH uses for encrypted private keys
 * (`kdfname` "bcrypt" in the openssh-key-v1 format). It is PBKDF2-like, with
 * SHA-512 pre-hashing and OpenBSD's `bcrypt_hash` (Blowfish's expensive key
 * schedule, 64 rounds, encrypting "OxychromaticBlowfishSwatDynamite") as the
 * pseudo-random function, and its output bytes spread across blocks so that
 * every byte of a long key costs the full number of rounds.
 *
 * Written here (not the `bcrypt-pbkdf` npm package) to keep the runtime free
 * of dependencies; it is checked against keys encrypted by ssh-keygen.
 */
import { createHash } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { blowfishInitialWords } from './blowfishConstants.js';

const HASH_SIZE = 32;
const MAGIC = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite');
/**
 * Rounds accepted. ssh-keygen writes 16 by default (about 0.1 s here) and
 * users raise it to a few hundred; 4096 (about 30 s) bounds how long a
 * hostile key file can keep the thread busy.
 */
export const MAX_BCRYPT_ROUNDS = 4096;

/** Blowfish state: P-array (18 words) then S-boxes (4 x 256 words), as one array. */
class Blowfish {
  readonly s = new Uint32Array(18 + 1024);
  /** Output of the last `encipher`: [left, right]. */
  readonly out = new Uint32Array(2);

  constructor() {
    this.s.set(blowfishInitialWords());
  }

  encipher(l: number, r: number): void {
    const s = this.s;
    l ^= s[0]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= (((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) ^ s[530 + ((l >>> 8) & 0xff)]!) + s[786 + (l & 0xff)]!) ^ s[i]!;
      l ^= (((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) ^ s[530 + ((r >>> 8) & 0xff)]!) + s[786 + (r & 0xff)]!) ^ s[i + 1]!;
    }
    this.out[0] = r ^ s[17]!;
    this.out[1] = l;
  }

  /**
   * The key schedule: XOR `key` into P, then re-encrypt the whole state,
   * mixing in `data` (the salt) when given ("expandstate"), or not ("expand0state").
   */
  expand(key: Uint8Array, data: Uint8Array | null): void {
    const s = this.s;
    const kp = { pos: 0 };
    for (let i = 0; i < 18; i++) s[i] = s[i]! ^ streamWord(key, kp);
    const dp = { pos: 0 };
    let l = 0;
    let r = 0;
    for (let i = 0; i < s.length; i += 2) {
      if (data) {
        l ^= streamWord(data, dp);
        r ^= streamWord(data, dp);
      }
      this.encipher(l, r);
      l = this.out[0]!;
      r = this.out[1]!;
      s[i] = l;
      s[i + 1] = r;
    }
  }
}

/** The next big-endian word of `data`, cycling back to its start. */
function streamWord(data: Uint8Array, p: { pos: number }): number {
  let w = 0;
  for (let i = 0; i < 4; i++) {
    if (p.pos >= data.length) p.pos = 0;
    w = (w << 8) | data[p.pos++]!;
  }
  return w >>> 0;
}

/** OpenBSD's bcrypt_hash: 32 bytes from SHA-512(pass) and SHA-512(salt). */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void {
  const bf = new Blowfish();
  bf.expand(sha2pass, sha2salt);
  for (let i = 0; i < 64; i++) {
    bf.expand(sha2salt, null);
    bf.expand(sha2pass, null);
  }
  const cdata = new Uint32Array(HASH_SIZE / 4);
  const mp = { pos: 0 };
  for (let i = 0; i < cdata.length; i++) cdata[i] = streamWord(MAGIC, mp);
  for (let round = 0; round < 64; round++) {
    for (let j = 0; j < cdata.length; j += 2) {
      bf.encipher(cdata[j]!, cdata[j + 1]!);
      cdata[j] = bf.out[0]!;
      cdata[j + 1] = bf.out[1]!;
    }
  }
  // Words are emitted little-endian, as OpenBSD's implementation does.
  for (let i = 0; i < cdata.length; i++) {
    const w = cdata[i]!;
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * Derive `keyLength` bytes from `passphrase` and `salt` with `rounds` rounds.
 * Throws CryptoError on parameters OpenSSH would also refuse.
 */
export function bcryptPbkdf(passphrase: Uint8Array, salt: Uint8Array, keyLength: number, rounds: number): Uint8Array {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_BCRYPT_ROUNDS) {
    throw new CryptoError(`bcrypt_pbkdf: rounds must be 1..${MAX_BCRYPT_ROUNDS}, got ${rounds}`);
  }
  if (salt.length === 0 || salt.length > 1024) throw new CryptoError('bcrypt_pbkdf: salt must be 1..1024 bytes');
  if (!Number.isInteger(keyLength) || keyLength < 1 || keyLength > HASH_SIZE * HASH_SIZE) {
    throw new CryptoError(`bcrypt_pbkdf: key length must be 1..${HASH_SIZE * HASH_SIZE}`);
  }
  const key = new Uint8Array(keyLength);
  const stride = Math.ceil(keyLength / HASH_SIZE);
  const amount = Math.ceil(keyLength / stride);
  const sha2pass = sha512(passphrase);
  const counter = new Uint8Array(4);
  const tmp = new Uint8Array(HASH_SIZE);
  const out = new Uint8Array(HASH_SIZE);
  let remaining = keyLength;
  for (let count = 1; remaining > 0; count++) {
    new DataView(counter.buffer).setUint32(0, count);
    bcryptHash(sha2pass, sha512(salt, counter), tmp);
    out.set(tmp);
    for (let i = 1; i < rounds; i++) {
      bcryptHash(sha2pass, sha512(tmp), tmp);
      for (let j = 0; j < HASH_SIZE; j++) out[j]! ^= tmp[j]!;
    }
    // Spread this block's bytes across the key, one every `stride` bytes.
    const take = Math.min(amount, remaining);
    let i = 0;
    for (; i < take; i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLength) break;
      key[dest] = out[i]!;
    }
    remaining -= i;
  }
  return key;
}
