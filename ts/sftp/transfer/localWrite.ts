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
 * slow (one inline write past `slowAfterMs`: a network filesystem, the
 * kernel throttling dirty pages) goes to the thread pool for the rest of
 * the transfer, so the event loop waits on a slow disk once at most.
 */
import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';

/** An inline write slower than this (plus SLOW_MS_PER_MIB per MiB written) moves the transfer to the thread pool. */
const SLOW_MS = 4;
const SLOW_MS_PER_MIB = 4;
const MIB = 1024 * 1024;

export interface LocalFileWriterOptions {
  /** Write inline while the destination keeps up (default true); false always uses the thread pool. */
  inline?: boolean;
  /** Milliseconds an inline write of `bytes` may take before the rest go to the thread pool. */
  slowAfterMs?: (bytes: number) => number;
}

export class LocalFileWriter {
  readonly #file: FileHandle;
  readonly #slowAfterMs: (bytes: number) => number;
  #inline: boolean;

  constructor(file: FileHandle, opts: LocalFileWriterOptions = {}) {
    this.#file = file;
    this.#inline = opts.inline ?? true;
    this.#slowAfterMs = opts.slowAfterMs ?? ((bytes) => SLOW_MS + (bytes / MIB) * SLOW_MS_PER_MIB);
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
    if (performance.now() - t0 > this.#slowAfterMs(length)) this.#inline = false;
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
