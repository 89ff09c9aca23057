/** A seeded xorshift32 PRNG for tests, so a failing case replays from its seed. */

/** Unsigned 32-bit integers from xorshift32 (Marsaglia 13/17/5); seed 0 is taken as 1. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
