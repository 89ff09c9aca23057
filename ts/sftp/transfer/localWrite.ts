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
 */
import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { InlineGuard, budget, progress, remainder, writevAllSync, type InlineGuardOptions } from '../localIO.js';

/** An inline write's budget (4 ms + 4 ms per MiB) and hard limit. */
const WRITE_GUARD: InlineGuardOptions = { budgetMs: budget(4, 4), hardLimitMs: 100 };

export interface LocalFileWriterOptions extends Partial<InlineGuardOptions> {
  /** Write inline while the destination keeps up (default true); false always uses the thread pool. */
  inline?: boolean;
}

export class LocalFileWriter {
  readonly #file: FileHandle;
  readonly #guard: InlineGuard;

  constructor(file: FileHandle, opts: LocalFileWriterOptions = {}) {
    this.#file = file;
    const inline = (opts.inline ?? true) && fstatSync(file.fd).isFile();
    this.#guard = new InlineGuard(inline, { budgetMs: opts.budgetMs ?? WRITE_GUARD.budgetMs, hardLimitMs: opts.hardLimitMs ?? WRITE_GUARD.hardLimitMs });
  }

  /** Whether the next write runs inline. */
  get inline(): boolean {
    return this.#guard.on;
  }

  /**
   * Writes `chunks` (`length` bytes in all) at `offset`, finishing short
   * writes; returns a promise only when the write went to the thread pool.
   */
  write(chunks: Buffer[], offset: number, length: number): void | Promise<void> {
    if (!this.#guard.on) return this.#writeAsync(chunks, offset, length);
    const t0 = performance.now();
    writevAllSync(this.#file.fd, chunks, offset, length);
    this.#guard.record(performance.now() - t0, length);
  }

  async #writeAsync(chunks: Buffer[], offset: number, length: number): Promise<void> {
    let done = 0;
    while (done < length) done += progress((await this.#file.writev(done > 0 ? remainder(chunks, done) : chunks, offset + done)).bytesWritten);
  }
}
