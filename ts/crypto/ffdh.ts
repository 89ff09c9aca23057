/** Finite-field Diffie-Hellman value checks and private exponent choice, shared by the backends. */
import { CryptoError } from '../errors.js';
import { bytesToBigInt } from './util.js';

/** Parameters of one finite-field group. */
export interface DhGroup {
  prime: bigint;
  generator: bigint;
}

/** Throws CryptoError unless 1 < value < p - 1 (RFC 4253 section 8; rejects the degenerate values). */
export function checkDhValue(value: Uint8Array | bigint, prime: bigint, what = 'peer DH value'): bigint {
  const v = typeof value === 'bigint' ? value : bytesToBigInt(value);
  if (v <= 1n || v >= prime - 1n) throw new CryptoError(`${what} is out of range (must be 1 < value < p-1)`);
  return v;
}

/** Throws CryptoError for an unusable group (gex servers choose these). */
export function checkGroup(g: DhGroup): void {
  if (typeof g.prime !== 'bigint' || typeof g.generator !== 'bigint') throw new CryptoError('DH prime and generator must be bigints');
  const bits = g.prime.toString(2).length;
  if (bits < 1024 || bits > 16384) throw new CryptoError(`DH prime of ${bits} bits is outside 1024..16384`);
  if ((g.prime & 1n) === 0n) throw new CryptoError('DH prime is even');
  if (g.generator <= 1n || g.generator >= g.prime - 1n) throw new CryptoError('DH generator is out of range');
}

/**
 * Private exponent length in bytes: 512 bits (twice the 256-bit strength of
 * the largest SSH cipher, as OpenSSH sizes it), but below the prime.
 */
export function dhExponentBytes(prime: bigint): number {
  const primeBytes = Math.ceil(prime.toString(2).length / 8);
  return Math.min(64, primeBytes - 1);
}
