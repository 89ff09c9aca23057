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

/** Seeded choices for fuzzers: integers, coin flips, picks and bytes, all from one xorshift32 stream. */
export class Rand {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = xorshift32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.#next() % n;
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() / 0x1_0000_0000 < p;
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.#next() & 0xff;
    return b;
  }
}
