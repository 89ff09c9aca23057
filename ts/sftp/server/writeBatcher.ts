/**
 * Coalescing of the WRITEs on one handle into vectored writes.
 *
 * A client pipelines many WRITEs (OpenSSH's sftp keeps 64 of 32 KiB in
 * flight), almost always at consecutive offsets. One write at a time goes to
 * the handle; the requests that arrive meanwhile wait, and when it completes
 * the waiting ones go out together, each run of contiguous requests as one
 * `writev` (one system call and one thread-pool round trip instead of one
 * per request). Writes reach the handle in arrival order and one at a time,
 * so overlapping writes land as the client sent them.
 *
 * A request resolves when the call that carried it has completed. If that
 * call fails, every request in it fails with the same error (a failed
 * SFTP write may leave any part of its range written, as with a single one).
 */

/** Writes `parts` (in order, `length` bytes in all) at `offset`, all or fail. */
export type VectorWriter = (offset: number, parts: Uint8Array[], length: number) => Promise<unknown>;

/** Most bytes and parts in one vectored write (IOV_MAX is 1024 on Linux). */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_PARTS = 512;

interface Pending {
  offset: number;
  parts: Uint8Array[];
  length: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class WriteBatcher {
  readonly #writev: VectorWriter;
  #busy = false;
  #waiting: Pending[] = [];

  constructor(writev: VectorWriter) {
    this.#writev = writev;
  }

  /** Queues `parts` (`length` bytes) for `offset`; resolves once written. */
  write(offset: number, parts: Uint8Array[], length: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { offset, parts, length, resolve, reject };
      if (this.#busy) {
        this.#waiting.push(p);
      } else {
        this.#busy = true;
        this.#run([p], offset, parts, length);
      }
    });
  }

  #run(batch: Pending[], offset: number, parts: Uint8Array[], length: number): void {
    let call: Promise<unknown>;
    try {
      call = this.#writev(offset, parts, length);
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      () => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve();
        this.#next();
      },
      (err: unknown) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.reject(err);
        this.#next();
      },
    );
  }

  /** Starts the next run of contiguous waiting requests, if any. */
  #next(): void {
    const w = this.#waiting;
    if (w.length === 0) {
      this.#busy = false;
      return;
    }
    const first = w[0]!;
    let n = 1;
    let length = first.length;
    let count = first.parts.length;
    while (n < w.length) {
      const p = w[n]!;
      if (p.offset !== first.offset + length || length + p.length > BATCH_BYTES || count + p.parts.length > BATCH_PARTS) break;
      length += p.length;
      count += p.parts.length;
      n++;
    }
    const batch = n === w.length ? w : w.slice(0, n);
    this.#waiting = n === w.length ? [] : w.slice(n);
    let parts: Uint8Array[];
    if (n === 1) {
      parts = first.parts;
    } else {
      parts = new Array<Uint8Array>(count);
      let k = 0;
      for (let i = 0; i < n; i++) for (const part of batch[i]!.parts) parts[k++] = part;
    }
    this.#run(batch, first.offset, parts, length);
  }
}
