/** Cryptographically secure random bytes. */
import { randomFillSync } from 'node:crypto';
import { CryptoError } from '../errors.js';

/** `n` bytes from the operating system's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 1 << 30) throw new CryptoError(`cannot make ${n} random bytes`);
  const out = new Uint8Array(n);
  // randomFillSync takes at most 2^31-1 bytes per call; n is bounded above.
  randomFillSync(out);
  return out;
}
