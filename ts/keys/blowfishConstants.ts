/**
 * Blowfish's initial state is the fractional hexadecimal digits of pi:
 * 18 words for the P-array followed by 4 x 256 words for the S-boxes.
 * Rather than embedding 1042 magic numbers, compute them once, on first use,
 * with Machin's formula in fixed-point BigInt arithmetic (about 30 ms). The
 * known first P word (0x243f6a88) and last S word (0x3ac372e6) are checked
 * so a mistake here can never pass silently.
 */
import { CryptoError } from '../errors.js';

const WORDS = 18 + 4 * 256;

let cached: Uint32Array | undefined;

/** arctan(1/x) scaled by `one`, by its Taylor series. */
function arctanInverse(x: bigint, one: bigint): bigint {
  const x2 = x * x;
  let term = one / x;
  let sum = term;
  let n = 1n;
  let negative = true;
  while (term !== 0n) {
    term /= x2;
    n += 2n;
    const t = term / n;
    sum = negative ? sum - t : sum + t;
    negative = !negative;
  }
  return sum;
}

/** The 1042 initial Blowfish words (P-array then S-boxes), computed once. */
export function blowfishInitialWords(): Uint32Array {
  if (cached) return cached;
  // 64 guard bits absorb the truncation error of the ~9000 series terms.
  const guard = 64n;
  const bits = BigInt(WORDS * 32) + guard;
  const one = 1n << bits;
  const pi = 16n * arctanInverse(5n, one) - 4n * arctanInverse(239n, one);
  let frac = (pi - 3n * one) >> guard;
  const words = new Uint32Array(WORDS);
  for (let i = WORDS - 1; i >= 0; i--) {
    words[i] = Number(frac & 0xffffffffn);
    frac >>= 32n;
  }
  if (words[0] !== 0x243f6a88 || words[WORDS - 1] !== 0x3ac372e6) {
    throw new CryptoError('internal: Blowfish constants computed incorrectly');
  }
  cached = words;
  return words;
}
