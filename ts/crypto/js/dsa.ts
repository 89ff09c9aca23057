/**
 * DSA with SHA-1 (FIPS 186-4 section 4.6) in bigint arithmetic, for the
 * pure-JS backend and ssh-dss. The per-signature secret k comes from the
 * CSPRNG with 64 extra bits before reduction (FIPS 186-4 appendix B.2.1),
 * and every signature is checked before it leaves.
 */
import { CryptoError } from '../../errors.js';
import { DSA_SIGNATURE_BYTES, type DsaMaterial, type DsaPublic } from '../dsa.js';
import { jsHashes } from './hash.js';
import { randomBytes } from '../random.js';
import { bigIntToBytes, bytesToBigInt, modPow } from '../util.js';

const HALF = DSA_SIGNATURE_BYTES / 2;

/** a^-1 mod m for prime m (Fermat). */
const inverse = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

export function dsaVerify(key: DsaPublic, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== DSA_SIGNATURE_BYTES) return false;
  const p = bytesToBigInt(key.p);
  const q = bytesToBigInt(key.q);
  const r = bytesToBigInt(signature.subarray(0, HALF));
  const s = bytesToBigInt(signature.subarray(HALF));
  if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
  const h = bytesToBigInt(jsHashes().sha1(data));
  const w = inverse(s, q);
  const v = ((modPow(bytesToBigInt(key.g), (h * w) % q, p) * modPow(bytesToBigInt(key.y), (r * w) % q, p)) % p) % q;
  return v === r;
}

export function dsaSign(m: DsaMaterial, data: Uint8Array): Uint8Array {
  const p = bytesToBigInt(m.p);
  const q = bytesToBigInt(m.q);
  const g = bytesToBigInt(m.g);
  const x = bytesToBigInt(m.x);
  const h = bytesToBigInt(jsHashes().sha1(data));
  for (let attempt = 0; attempt < 16; attempt++) {
    const k = (bytesToBigInt(randomBytes(HALF + 8)) % (q - 1n)) + 1n;
    const r = modPow(g, k, p) % q;
    const s = (inverse(k, q) * (h + x * r)) % q;
    if (r === 0n || s === 0n) continue;
    const sig = new Uint8Array(DSA_SIGNATURE_BYTES);
    sig.set(bigIntToBytes(r, HALF), 0);
    sig.set(bigIntToBytes(s, HALF), HALF);
    if (!dsaVerify(m, data, sig)) throw new CryptoError('ssh-dss signature failed its own check');
    return sig;
  }
  throw new CryptoError('ssh-dss signing found no usable nonce');
}
