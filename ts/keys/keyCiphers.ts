/**
 * The ciphers OpenSSH may use to encrypt the private section of an
 * openssh-key-v1 file, keyed by bcrypt_pbkdf output (key bytes then IV bytes).
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { nobleChacha, noblePoly1305 } from '../crypto/js/noble.js';
import { KeyFormatError, PasswordRequiredException } from '../errors.js';

export interface KeyFileCipher {
  readonly name: string;
  readonly keyLength: number;
  readonly ivLength: number;
  /** Padding multiple of the private section. */
  readonly blockSize: number;
  /** Bytes of authentication tag that follow the encrypted section (AEAD ciphers). */
  readonly tagLength: number;
  /** Node's cipher name, or 'chacha' for OpenSSH's chacha20-poly1305. */
  readonly impl: string;
}

const table: KeyFileCipher[] = [
  { name: 'none', keyLength: 0, ivLength: 0, blockSize: 8, tagLength: 0, impl: 'none' },
  { name: 'aes128-ctr', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-128-ctr' },
  { name: 'aes192-ctr', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-192-ctr' },
  { name: 'aes256-ctr', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-256-ctr' },
  { name: 'aes128-cbc', keyLength: 16, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-128-cbc' },
  { name: 'aes192-cbc', keyLength: 24, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-192-cbc' },
  { name: 'aes256-cbc', keyLength: 32, ivLength: 16, blockSize: 16, tagLength: 0, impl: 'aes-256-cbc' },
  { name: 'aes128-gcm@openssh.com', keyLength: 16, ivLength: 12, blockSize: 16, tagLength: 16, impl: 'aes-128-gcm' },
  { name: 'aes256-gcm@openssh.com', keyLength: 32, ivLength: 12, blockSize: 16, tagLength: 16, impl: 'aes-256-gcm' },
  { name: 'chacha20-poly1305@openssh.com', keyLength: 64, ivLength: 0, blockSize: 8, tagLength: 16, impl: 'chacha' },
];

/** The cipher of this name, or KeyFormatError. */
export function keyFileCipher(name: string): KeyFileCipher {
  const c = table.find((t) => t.name === name);
  if (!c) throw new KeyFormatError(`unsupported private key cipher "${name}"`);
  return c;
}

const WRONG_PASSPHRASE = 'incorrect passphrase supplied to decrypt private key';

/** OpenSSH's chacha20-poly1305 with sequence number 0 and no length header: the key file case. */
function chachaPolyKey(key: Uint8Array): { mainKey: Uint8Array; polyKey: Uint8Array; nonce: Uint8Array } {
  const mainKey = key.subarray(0, 32);
  const nonce = new Uint8Array(8);
  const polyKey = nobleChacha().chacha20orig(mainKey, nonce, new Uint8Array(32));
  return { mainKey, nonce, polyKey };
}

/**
 * Decrypt `data`; for AEAD ciphers `tag` is checked first. A failed tag means
 * the passphrase was wrong (or the file is damaged): PasswordRequiredException.
 */
export function decryptPrivateSection(c: KeyFileCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array, tag: Uint8Array): Uint8Array {
  if (c.impl === 'none') return data;
  if (data.length % c.blockSize !== 0) throw new KeyFormatError(`encrypted private key length is not a multiple of ${c.blockSize}`);
  if (c.impl === 'chacha') {
    const { mainKey, nonce, polyKey } = chachaPolyKey(key);
    const expected = noblePoly1305().poly1305(data, polyKey);
    if (tag.length !== expected.length || !timingSafeEqual(expected, tag)) throw new PasswordRequiredException(WRONG_PASSPHRASE);
    return nobleChacha().chacha20orig(mainKey, nonce, data, undefined, 1);
  }
  try {
    const d = createDecipheriv(c.impl, key, iv);
    if (c.tagLength > 0) (d as unknown as { setAuthTag(t: Uint8Array): void }).setAuthTag(tag);
    else d.setAutoPadding(false);
    return new Uint8Array(Buffer.concat([d.update(data), d.final()]));
  } catch (e) {
    if (c.tagLength > 0) throw new PasswordRequiredException(WRONG_PASSPHRASE);
    throw new KeyFormatError(`cannot decrypt private key: ${(e as Error).message}`);
  }
}

/** Encrypt a padded private section; returns ciphertext and tag (empty for non-AEAD ciphers). */
export function encryptPrivateSection(c: KeyFileCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array): { data: Uint8Array; tag: Uint8Array } {
  if (c.impl === 'none') return { data, tag: new Uint8Array(0) };
  if (c.impl === 'chacha') {
    const { mainKey, nonce, polyKey } = chachaPolyKey(key);
    const enc = nobleChacha().chacha20orig(mainKey, nonce, data, undefined, 1);
    return { data: enc, tag: noblePoly1305().poly1305(enc, polyKey) };
  }
  const e = createCipheriv(c.impl, key, iv);
  if (c.tagLength === 0) e.setAutoPadding(false);
  const out = new Uint8Array(Buffer.concat([e.update(data), e.final()]));
  const tag = c.tagLength > 0 ? new Uint8Array((e as unknown as { getAuthTag(): Buffer }).getAuthTag()) : new Uint8Array(0);
  return { data: out, tag };
}

export { WRONG_PASSPHRASE };
