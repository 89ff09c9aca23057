/**
 * RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2) in bigint arithmetic, for the
 * pure-JS backend. Signing uses the CRT and checks its own result, so a
 * computation fault cannot leak a factor.
 */
import { CryptoError } from '../../errors.js';
import { jsHashes } from './hash.js';
import { bigIntToBytes, bytesToBigInt, constantTimeEqual, modPow, stripLeadingZeros } from '../util.js';

/** DER DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
const DIGEST_INFO: Record<'sha1' | 'sha256' | 'sha512', string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha512: '3051300d060960864801650304020305000440',
};

/** EMSA-PKCS1-v1_5 encoding of `data` for a k-byte modulus. */
function emsa(hash: 'sha1' | 'sha256' | 'sha512', data: Uint8Array, k: number): Uint8Array {
  const prefix = Buffer.from(DIGEST_INFO[hash], 'hex');
  const digest = jsHashes()[hash](data);
  const tLen = prefix.length + digest.length;
  if (k < tLen + 11) throw new CryptoError('RSA modulus too short for this hash');
  const em = new Uint8Array(k).fill(0xff);
  em[0] = 0;
  em[1] = 1;
  em[k - tLen - 1] = 0;
  em.set(prefix, k - tLen);
  em.set(digest, k - digest.length);
  return em;
}

export function rsaVerify(n: Uint8Array, e: Uint8Array, hash: 'sha1' | 'sha256' | 'sha512', data: Uint8Array, signature: Uint8Array): boolean {
  const nb = stripLeadingZeros(n);
  const k = nb.length;
  const sig = stripLeadingZeros(signature);
  if (sig.length > k) return false;
  const N = bytesToBigInt(nb);
  const s = bytesToBigInt(sig);
  if (s >= N) return false;
  const m = modPow(s, bytesToBigInt(e), N);
  return constantTimeEqual(bigIntToBytes(m, k), emsa(hash, data, k));
}

export interface RsaPrivate {
  n: Uint8Array;
  e: Uint8Array;
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  iqmp: Uint8Array;
}

export function rsaSign(key: RsaPrivate, hash: 'sha1' | 'sha256' | 'sha512', data: Uint8Array): Uint8Array {
  const nb = stripLeadingZeros(key.n);
  const k = nb.length;
  const N = bytesToBigInt(nb);
  const d = bytesToBigInt(key.d);
  const p = bytesToBigInt(key.p);
  const q = bytesToBigInt(key.q);
  const qInv = bytesToBigInt(key.iqmp);
  if (p * q !== N) throw new CryptoError('RSA key material is inconsistent (p*q != n)');
  const m = bytesToBigInt(emsa(hash, data, k));
  const s1 = modPow(m, d % (p - 1n), p);
  const s2 = modPow(m, d % (q - 1n), q);
  const h = (((s1 - s2) % p) + p) % p * qInv % p;
  const s = s2 + h * q;
  if (modPow(s, bytesToBigInt(key.e), N) !== m) throw new CryptoError('RSA signature self-check failed (bad key material)');
  return bigIntToBytes(s, k);
}
