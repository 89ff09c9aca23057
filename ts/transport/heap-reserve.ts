/**
 * A heap reserve held while connections move bulk data.
 *
 * Bulk traffic allocates a buffer outside the JS heap for every packet
 * (node:crypto's output, payloads on their way to a file or a stream). V8
 * counts those bytes against the old generation's allocation limit, and a
 * small heap gets a small limit: at an 8 MB live heap the headroom is
 * 9-11 MB, less than a get or a busy server legitimately has in flight, so
 * V8 runs a full mark-compact every ~25 MB moved (40-60 per GiB) and frees
 * almost nothing each time. Scavenges would free those buffers anyway.
 *
 * V8 sizes the limit from the live heap, so a few MiB of live, pointer-free
 * JS memory held during bulk traffic lifts the headroom above what is in
 * flight: measured on a 1 GiB get, mark-compacts fall from ~43 to 1 and
 * client CPU per GiB by 20-40% (docs/PERFORMANCE.md, "A heap reserve for
 * bulk traffic"). Only received bytes count: the send side seals in place,
 * taking a third of node:crypto's output as latin1 strings, young heap
 * garbage whose scavenges also free the rest (`updateInPlace` in
 * ts/crypto/native/packet.ts). The reserve is taken when
 * all connections together receive BULK_BYTES within WINDOW_MS, and
 * dropped once a check every CHECK_MS finds less than a quarter of that
 * rate since the previous one. Its size comes from `SSHWIRE_HEAP_RESERVE`
 * in MiB (0 turns it off).
 */

const MiB = 1024 * 1024;
/** Default reserve size. */
export const DEFAULT_RESERVE_MIB = 8;
/** Traffic that counts as bulk: this many bytes ... */
const BULK_BYTES = 16 * MiB;
/** ... within this many milliseconds. */
const WINDOW_MS = 500;
/** While held, the traffic since the last check is looked at this often. */
const CHECK_MS = 1000;
/** Doubles per piece: 512 KiB pieces sit in V8's large-object space, never moved by compaction. */
const PIECE_DOUBLES = 64 * 1024;

export interface HeapReserveOptions {
  /** Reserve size in MiB; 0 disables. */
  sizeMiB: number;
  bulkBytes?: number;
  windowMs?: number;
  checkMs?: number;
  now?: () => number;
}

export class HeapReserve {
  readonly #pieces: number;
  readonly #bulkBytes: number;
  readonly #windowMs: number;
  readonly #checkMs: number;
  readonly #now: () => number;
  /** Bytes counted since #since (or since the last check while held). */
  #bytes = 0;
  #since: number;
  #held: number[][] | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(opts: HeapReserveOptions) {
    this.#pieces = Math.max(0, Math.ceil((opts.sizeMiB * MiB) / (PIECE_DOUBLES * 8)));
    this.#bulkBytes = opts.bulkBytes ?? BULK_BYTES;
    this.#windowMs = opts.windowMs ?? WINDOW_MS;
    this.#checkMs = opts.checkMs ?? CHECK_MS;
    this.#now = opts.now ?? Date.now;
    this.#since = this.#now();
  }

  /** True while the reserve is allocated. */
  get held(): boolean {
    return this.#held !== null;
  }

  /** Counts `n` received bytes; the receive pump calls it per socket chunk. */
  note(n: number): void {
    this.#bytes += n;
    if (this.#held !== null || this.#bytes < this.#bulkBytes || this.#pieces === 0) return;
    const now = this.#now();
    if (now - this.#since <= this.#windowMs) {
      this.#take();
    } else {
      // Slow traffic: start a new window.
      this.#since = now;
      this.#bytes = 0;
    }
  }

  /** The periodic check while held: drops the reserve once traffic slows below the bulk rate. */
  check(): void {
    if (this.#held === null) return;
    const moved = this.#bytes;
    this.#bytes = 0;
    if (moved >= (this.#bulkBytes * this.#checkMs) / this.#windowMs / 4) return;
    this.release();
  }

  /** Drops the reserve now. */
  release(): void {
    this.#held = null;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#bytes = 0;
    this.#since = this.#now();
  }

  #take(): void {
    const pieces: number[][] = [];
    // fill() makes each piece a packed array of doubles: one object V8 never scans.
    for (let i = 0; i < this.#pieces; i++) pieces.push(new Array<number>(PIECE_DOUBLES).fill(0.5));
    this.#held = pieces;
    this.#bytes = 0;
    this.#timer = setInterval(() => this.check(), this.#checkMs);
    this.#timer.unref?.();
  }
}

function sizeFromEnv(): number {
  const raw = process.env['SSHWIRE_HEAP_RESERVE'];
  if (raw === undefined || raw === '') return DEFAULT_RESERVE_MIB;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 1024) : DEFAULT_RESERVE_MIB;
}

/** The process-wide reserve every transport reports its traffic to. */
export const heapReserve = new HeapReserve({ sizeMiB: sizeFromEnv() });
