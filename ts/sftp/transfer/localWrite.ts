/**
 * Writing a download into its local file, in order, a batch at a time.
 *
 * From libuv's thread pool, a batch's completion waits for the event loop,
 * and the event loop may be busy with a run of socket reads (libuv reads a
 * socket up to 32 times per wake-up). Meanwhile more data arrives: at full
 * speed tens of MiB waited in memory, long enough for V8 to promote them
 * and collect them only in full collections. A write into the page cache
 * takes well under a millisecond, so batches are written inline
 * (`writevSync`) and their buffers die young. A destination that proves
 * slow goes to the thread pool for the rest of the transfer: writes that
 * keep taking longer than their budget (a network filesystem, a disk the
 * kernel throttles), or one write past HARD_LIMIT_MS. A lone slow write
 * (the kernel finding fresh pages) does not count against it.
 */
import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';

/** An inline write's budget: BUDGET_MS plus BUDGET_MS_PER_MIB per MiB written. */
const BUDGET_MS = 4;
const BUDGET_MS_PER_MIB = 4;
/** One inline write this slow moves the transfer to the thread pool at once. */
const HARD_LIMIT_MS = 100;
/** Weight of the newest write in the running average of time over budget. */
const AVERAGE_WEIGHT = 1 / 8;
const MIB = 1024 * 1024;

export interface LocalFileWriterOptions {
  /** Write inline while the destination keeps up (default true); false always uses the thread pool. */
  inline?: boolean;
  /** Milliseconds an inline write of `bytes` should take at most. */
  budgetMs?: (bytes: number) => number;
  /** One inline write slower than this (ms) ends inline writing. */
  hardLimitMs?: number;
}

export class LocalFileWriter {
  readonly #file: FileHandle;
  readonly #budgetMs: (bytes: number) => number;
  readonly #hardLimitMs: number;
  #inline: boolean;
  /** Running average of (time taken / budget) over recent inline writes. */
  #load = 0;

  constructor(file: FileHandle, opts: LocalFileWriterOptions = {}) {
    this.#file = file;
    this.#inline = opts.inline ?? true;
    this.#budgetMs = opts.budgetMs ?? ((bytes) => BUDGET_MS + (bytes / MIB) * BUDGET_MS_PER_MIB);
    this.#hardLimitMs = opts.hardLimitMs ?? HARD_LIMIT_MS;
  }

  /** Whether the next write runs inline. */
  get inline(): boolean {
    return this.#inline;
  }

  /**
   * Writes `chunks` (`length` bytes in all) at `offset`, finishing short
   * writes; returns a promise only when the write went to the thread pool.
   */
  write(chunks: Buffer[], offset: number, length: number): void | Promise<void> {
    if (!this.#inline) return this.#writeAsync(chunks, offset, length);
    const t0 = performance.now();
    let done = 0;
    while (done < length) done += progress(writevSync(this.#file.fd, done > 0 ? remainder(chunks, done) : chunks, offset + done));
    const ms = performance.now() - t0;
    this.#load += (ms / this.#budgetMs(length) - this.#load) * AVERAGE_WEIGHT;
    if (this.#load > 1 || ms > this.#hardLimitMs) this.#inline = false;
  }

  async #writeAsync(chunks: Buffer[], offset: number, length: number): Promise<void> {
    let done = 0;
    while (done < length) done += progress((await this.#file.writev(done > 0 ? remainder(chunks, done) : chunks, offset + done)).bytesWritten);
  }
}

/** A write that wrote nothing would loop forever. */
function progress(n: number): number {
  if (n <= 0) throw new SFTPError('local write made no progress', FX.FAILURE);
  return n;
}

/** The views of `chunks` after their first `skip` bytes. */
function remainder(chunks: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}
