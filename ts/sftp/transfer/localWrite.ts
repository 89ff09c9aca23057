/**
 * Writing a download into its local file, in order, a batch at a time.
 *
 * From libuv's thread pool, a batch's completion waits for the event loop,
 * and the event loop may be busy with a run of socket reads (libuv reads a
 * socket up to 32 times per wake-up). Meanwhile more data arrives: at full
 * speed tens of MiB waited in memory, long enough for V8 to promote them
 * and collect them only in full collections. So batches are written inline
 * (`writevSync`) while the file keeps up, and their buffers die young;
 * `InlineGuard` moves a slow destination to the thread pool.
 *
 * On the thread pool the writer writes behind: a batch is copied into
 * slabs the writer owns and is accepted at once, so the received packets
 * still die young, and the download waits only when every slab is full. A
 * completion from the pool waits for the event loop, which on two busy
 * cores took long enough for 8 MiB of slabs to fill 128 times per GiB
 * (and mark-compacts to storm); 16 MiB filled 18 times. What was accepted
 * is not yet on disk: `flush()` waits for it and reports a failed write,
 * `settle()` waits and says how much is.
 */
import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { InlineGuard, budget, progress, remainder, writevAllSync, type InlineGuardOptions } from '../localIO.js';

/** An inline write's budget (4 ms + 4 ms per MiB) and hard limit. */
const WRITE_GUARD: InlineGuardOptions = { budgetMs: budget(4, 4), hardLimitMs: 100 };
/** Write-behind slabs: allocated as needed, at most this many of this size. */
const SLAB_BYTES = 1024 * 1024;
const SLABS = 16;

export interface LocalFileWriterOptions extends Partial<InlineGuardOptions> {
  /** Write inline while the destination keeps up (default true); false always uses the thread pool. */
  inline?: boolean;
  /** Bytes per write-behind slab (default 1 MiB). */
  slabBytes?: number;
  /** Most write-behind slabs (default 16). */
  slabs?: number;
}

interface Slab {
  readonly buf: Buffer;
  used: number;
}

export class LocalFileWriter {
  readonly #file: FileHandle;
  readonly #guard: InlineGuard;
  readonly #slabBytes: number;
  readonly #maxSlabs: number;
  #slabs = 0;
  readonly #free: Slab[] = [];
  /** Copied data not yet handed to a write, in file order; only the last slab may still fill. */
  #pending: Slab[] = [];
  /** File offset of the next byte the write-behind will write. */
  #behind = 0;
  /** File offset one past the last byte accepted. */
  #end = 0;
  #writing: Promise<void> | null = null;
  #error: Error | null = null;
  #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #written = 0;

  constructor(file: FileHandle, opts: LocalFileWriterOptions = {}) {
    this.#file = file;
    const inline = (opts.inline ?? true) && fstatSync(file.fd).isFile();
    this.#guard = new InlineGuard(inline, { budgetMs: opts.budgetMs ?? WRITE_GUARD.budgetMs, hardLimitMs: opts.hardLimitMs ?? WRITE_GUARD.hardLimitMs });
    this.#slabBytes = opts.slabBytes ?? SLAB_BYTES;
    this.#maxSlabs = Math.max(1, opts.slabs ?? SLABS);
  }

  /** Whether the next write runs inline. */
  get inline(): boolean {
    return this.#guard.on;
  }

  /** Bytes this writer has put in the file so far (a contiguous run from its first write). */
  get written(): number {
    return this.#written;
  }

  /**
   * Takes `chunks` (`length` bytes in all) for the file at `offset`, which
   * follows the previous write's bytes. Inline, they are written before this
   * returns; otherwise they are copied, and a promise comes back only when
   * the slabs were full. Throws a failed write-behind's error.
   */
  write(chunks: Buffer[], offset: number, length: number): void | Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#guard.on) {
      const t0 = performance.now();
      writevAllSync(this.#file.fd, chunks, offset, length);
      this.#guard.record(performance.now() - t0, length);
      this.#written += length;
      this.#behind = this.#end = offset + length;
      return;
    }
    if (offset !== this.#end) {
      if (this.#writing || this.#pending.length > 0) return this.flush().then(() => this.write(chunks, offset, length));
      this.#behind = this.#end = offset;
    }
    const copied = this.#fill(chunks, 0);
    if (copied === length) return;
    return this.#fillRest(chunks, length, copied);
  }

  /** Waits until everything accepted is in the file; rejects with a failed write's error. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#error) throw this.#error;
  }

  /** Waits until no write is in progress; resolves with `written`. Never rejects. */
  async settle(): Promise<number> {
    while (this.#writing) await this.#writing;
    return this.#written;
  }

  async #fillRest(chunks: Buffer[], length: number, copied: number): Promise<void> {
    while (copied < length) {
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
      copied += this.#fill(chunks, copied);
    }
  }

  /** Copies what fits of `chunks` after their first `skip` bytes, starts a write; returns the bytes copied. */
  #fill(chunks: Buffer[], skip: number): number {
    let copied = 0;
    outer: for (const chunk of skip > 0 ? remainder(chunks, skip) : chunks) {
      for (let at = 0; at < chunk.length; ) {
        const slab = this.#room();
        if (!slab) break outer;
        const n = chunk.copy(slab.buf, slab.used, at);
        slab.used += n;
        at += n;
        copied += n;
      }
    }
    this.#end += copied;
    this.#kick();
    return copied;
  }

  /** The slab the next byte goes into, or undefined when all are taken. */
  #room(): Slab | undefined {
    const last = this.#pending[this.#pending.length - 1];
    if (last && last.used < last.buf.length) return last;
    let slab = this.#free.pop();
    if (!slab && this.#slabs < this.#maxSlabs) {
      this.#slabs++;
      slab = { buf: Buffer.allocUnsafeSlow(this.#slabBytes), used: 0 };
    }
    if (slab) {
      slab.used = 0;
      this.#pending.push(slab);
    }
    return slab;
  }

  /** Starts writing everything pending, unless a write is running or one failed. */
  #kick(): void {
    if (this.#writing || this.#error || this.#pending.length === 0 || this.#pending[0].used === 0) return;
    const slabs = this.#pending;
    this.#pending = [];
    this.#writing = this.#writeBehind(slabs);
  }

  async #writeBehind(slabs: Slab[]): Promise<void> {
    const parts = slabs.map((s) => s.buf.subarray(0, s.used));
    let length = 0;
    for (const p of parts) length += p.length;
    try {
      for (let done = 0; done < length; ) {
        const n = progress((await this.#file.writev(done > 0 ? remainder(parts, done) : parts, this.#behind)).bytesWritten);
        done += n;
        this.#behind += n;
        this.#written += n;
      }
      this.#free.push(...slabs);
    } catch (err) {
      this.#error = err as Error;
    }
    this.#writing = null;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (this.#error) w.reject(this.#error);
      else w.resolve();
    }
    this.#kick();
  }
}
