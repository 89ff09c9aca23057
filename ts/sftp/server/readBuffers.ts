/**
 * Buffers for READ replies, reused. A download of 255 KiB READs would
 * otherwise allocate a fresh 255 KiB external buffer per request, and with
 * dozens outstanding they live long enough to be promoted, which drives V8
 * into extra scavenges and mark-compacts. Here a reply's buffer goes back to
 * its session's pool once the stream has called back the write that carried
 * it; only streams whose write callback means "copied, no longer
 * referenced" (an SSH Channel) may recycle (the session decides).
 *
 * Buffers come in size classes of a power of two plus header room, so a
 * 255 or 256 KiB read with its 13-byte DATA header fits one class. The pool
 * keeps at most `maxKeptBytes` of free buffers, and drops them all once
 * IDLE_MS passed without a `take`, so an idle session holds none.
 */

/** Header room in front of the data (the DATA header). */
export { DATA_HEADER_LENGTH as DATA_HEADER } from '../../wire/sftpPacket.js';
/** Slack above the power of two, for the header. */
const CLASS_SLACK = 64;
/** Smaller replies are not pooled: Node's own small-buffer pool serves them cheaply enough. */
export const MIN_POOLED = 16 * 1024;
/** Free buffers are dropped after this long without a `take`. */
const IDLE_MS = 1000;

/** The capacity of the class holding `size` bytes. */
function classOf(size: number): number {
  let c = MIN_POOLED;
  while (c + CLASS_SLACK < size) c *= 2;
  return c + CLASS_SLACK;
}

export class ReadBufferPool {
  readonly #maxKeptBytes: number;
  /** Free buffers by class capacity. */
  readonly #free = new Map<number, Buffer[]>();
  #keptBytes = 0;
  #lastTake = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(maxKeptBytes: number) {
    this.#maxKeptBytes = maxKeptBytes;
  }

  /** Bytes held in free buffers (for tests and diagnostics). */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /**
   * A buffer of at least `size` bytes, contents undefined. Sizes under
   * MIN_POOLED get a plain buffer that `give` will not keep.
   */
  take(size: number): Buffer {
    if (size < MIN_POOLED) return Buffer.allocUnsafe(size);
    const cap = classOf(size);
    this.#lastTake = Date.now();
    this.#armTrim();
    const list = this.#free.get(cap);
    const b = list?.pop();
    if (b) {
      this.#keptBytes -= cap;
      return b;
    }
    // Its own ArrayBuffer (not a slice of Node's pool), so keeping it keeps nothing else alive.
    return Buffer.allocUnsafeSlow(cap);
  }

  /** Returns a buffer from `take` that nothing references any more. */
  give(b: Buffer): void {
    const cap = b.length;
    if (this.#closed || cap < MIN_POOLED || cap !== classOf(cap) || b.byteOffset !== 0 || b.buffer.byteLength !== cap) return;
    if (this.#keptBytes + cap > this.#maxKeptBytes) return;
    let list = this.#free.get(cap);
    if (!list) this.#free.set(cap, (list = []));
    list.push(b);
    this.#keptBytes += cap;
    // Buffers coming back after the last take are dropped too, once idle.
    this.#armTrim();
  }

  /** Drops every free buffer; later `give`s are ignored. */
  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #drop(): void {
    this.#free.clear();
    this.#keptBytes = 0;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #armTrim(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(this.#onTimer, IDLE_MS);
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    const idle = Date.now() - this.#lastTake;
    if (idle >= IDLE_MS) {
      this.#drop();
    } else {
      this.#timer = setTimeout(this.#onTimer, IDLE_MS - idle);
      this.#timer.unref();
    }
  };
}
