/**
 * Remembers authenticators an acceptor has seen until they would fail the
 * clock-skew check anyway (RFC 4120 3.2.3), so a captured AP-REQ cannot be
 * replayed within that window. Bounded: when full, the entries nearest
 * expiry go first.
 */
const DEFAULT_MAX = 100_000;

export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = DEFAULT_MAX) {
    this.#max = max;
  }

  /** Records `key` until `expiresAt` (ms); false when it is already there and unexpired. */
  add(key: string, expiresAt: number, now: number): boolean {
    const prior = this.#seen.get(key);
    if (prior !== undefined && prior >= now) return false;
    if (this.#seen.size >= this.#max) this.#evict(now);
    this.#seen.set(key, expiresAt);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }

  #evict(now: number): void {
    for (const [k, t] of this.#seen) if (t < now) this.#seen.delete(k);
    // Still full: drop the oldest insertions (Map keeps insertion order).
    for (const k of this.#seen.keys()) {
      if (this.#seen.size < this.#max) break;
      this.#seen.delete(k);
    }
  }
}
