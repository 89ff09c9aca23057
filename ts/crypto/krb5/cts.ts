/**
 * AES in CBC mode with ciphertext stealing, as Kerberos uses it (RFC 3962
 * section 5, the variant later named CBC-CS3): the last two ciphertext blocks
 * are always swapped, even when the input is a whole number of blocks, and the
 * final block is truncated to the length of the last plaintext block. An input
 * of exactly one block is plain CBC (plain AES with the default zero IV).
 *
 * Built from node:crypto's AES-CBC without padding, plus one AES-ECB block
 * decryption to recover the stolen bytes.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { CryptoError } from '../../errors.js';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

function aesName(key: Uint8Array, mode: 'cbc' | 'ecb'): string {
  if (!(key instanceof Uint8Array) || (key.length !== 16 && key.length !== 32)) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new CryptoError(`AES-CTS key must be 16 or 32 bytes, got ${got}`, { code: 'ERR_KRB5_CRYPTO' });
  }
  return `aes-${key.length * 8}-${mode}`;
}

function checkArgs(data: Uint8Array, iv: Uint8Array | undefined, what: string): Buffer {
  if (!(data instanceof Uint8Array) || data.length < BLOCK) {
    // CTS needs at least one whole block; Kerberos always has the 16-byte confounder.
    throw new CryptoError(`AES-CTS ${what} must be at least ${BLOCK} bytes`, { code: 'ERR_KRB5_CRYPTO' });
  }
  if (iv === undefined) return ZERO_IV;
  if (!(iv instanceof Uint8Array) || iv.length !== BLOCK) {
    throw new CryptoError(`AES-CTS IV must be ${BLOCK} bytes`, { code: 'ERR_KRB5_CRYPTO' });
  }
  return Buffer.from(iv);
}

function cbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = encrypt ? createCipheriv(aesName(key, 'cbc'), key, iv) : createDecipheriv(aesName(key, 'cbc'), key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** One raw AES block encryption (the E() of the DK derivation in RFC 3961 / 3962). */
export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv(aesName(key, 'ecb'), key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function aesDecryptBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const d = createDecipheriv(aesName(key, 'ecb'), key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(block), d.final()]);
}

/**
 * Encrypts `plaintext` (at least 16 bytes) with AES-CTS; AES-128 or AES-256
 * by key length. The ciphertext has the plaintext's length. `iv` defaults to
 * zeros, Kerberos' initial cipher state.
 */
export function aesCtsEncrypt(key: Uint8Array, plaintext: Uint8Array, iv?: Uint8Array): Buffer {
  const ivb = checkArgs(plaintext, iv, 'plaintext');
  const n = plaintext.length;
  if (n === BLOCK) return cbc(true, key, ivb, plaintext);
  // CBC over the input zero-padded to whole blocks, then swap the last two
  // blocks and cut the (new) last one to the length of the final partial block.
  const m = Math.ceil(n / BLOCK);
  const padded = Buffer.alloc(m * BLOCK);
  padded.set(plaintext);
  const c = cbc(true, key, ivb, padded);
  const tail = n - (m - 1) * BLOCK;
  return Buffer.concat([
    c.subarray(0, (m - 2) * BLOCK),
    c.subarray((m - 1) * BLOCK),
    c.subarray((m - 2) * BLOCK, (m - 2) * BLOCK + tail),
  ]);
}

/** Inverse of {@link aesCtsEncrypt}. Authenticates nothing: callers check a MAC. */
export function aesCtsDecrypt(key: Uint8Array, ciphertext: Uint8Array, iv?: Uint8Array): Buffer {
  const ivb = checkArgs(ciphertext, iv, 'ciphertext');
  const n = ciphertext.length;
  if (n === BLOCK) return cbc(false, key, ivb, ciphertext);
  const m = Math.ceil(n / BLOCK);
  const tail = n - (m - 1) * BLOCK;
  // The full block at m-2 is really the last CBC block C[m-1]; the partial one
  // after it is the head of C[m-2]. Decrypting C[m-1] alone gives
  // C[m-2] xor (P[m-1] | zeros), whose tail is exactly C[m-2]'s missing tail.
  const last = ciphertext.subarray((m - 2) * BLOCK, (m - 1) * BLOCK);
  const stolen = aesDecryptBlock(key, last).subarray(tail);
  const rebuilt = Buffer.concat([
    ciphertext.subarray(0, (m - 2) * BLOCK),
    ciphertext.subarray((m - 1) * BLOCK),
    stolen,
    last,
  ]);
  // Plain CBC decryption of the rebuilt stream ends in P[m-1] | zeros; drop the zeros.
  return cbc(false, key, ivb, rebuilt).subarray(0, n);
}
