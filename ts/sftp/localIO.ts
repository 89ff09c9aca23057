/**
 * Local file I/O shared by the client's downloads and the server's
 * filesystem: when it may run inline on the event loop, and positioned
 * writes that finish short writes.
 *
 * A read or write of a few hundred KiB that hits the page cache takes well
 * under a millisecond: doing it inline (`readSync`, `writevSync`) costs the
 * event loop less than handing it to libuv's thread pool and waiting for
 * the completion, which queues behind whatever else the loop is doing. A
 * file that proves slow (a network filesystem, a cold disk, a throttled
 * writer) must not hold the loop, so the guard watches every inline
 * operation: once they keep running over budget (a running average), or
 * one passes the hard limit, that file goes to the thread pool for good. A
 * lone slow operation under the hard limit (the kernel finding fresh pages)
 * only nudges the average and does not end inline I/O by itself. Only
 * regular files qualify: a FIFO or a device could block without end.
 */

import { writevSync } from 'node:fs';
import { SFTPError } from '../errors.js';
import { FX } from '../wire/sftpConstants.js';

/** Weight of the newest operation in the running average of time over budget. */
const AVERAGE_WEIGHT = 1 / 8;
const MIB = 1024 * 1024;

export interface InlineGuardOptions {
  /** Milliseconds an inline operation on `bytes` should take at most. */
  budgetMs: (bytes: number) => number;
  /** One inline operation slower than this (ms) ends inline I/O for the file. */
  hardLimitMs: number;
}

/** Budgets for local file I/O: fixed milliseconds plus milliseconds per MiB. */
export function budget(fixedMs: number, msPerMiB: number): (bytes: number) => number {
  return (bytes) => fixedMs + (bytes / MIB) * msPerMiB;
}

export class InlineGuard {
  readonly #opts: InlineGuardOptions;
  #on: boolean;
  /** Running average of (time taken / budget) over recent inline operations. */
  #load = 0;

  constructor(on: boolean, opts: InlineGuardOptions) {
    this.#on = on;
    this.#opts = opts;
  }

  /** Whether the next operation may run inline. */
  get on(): boolean {
    return this.#on;
  }

  /** Records an inline operation on `bytes` that took `ms`. */
  record(ms: number, bytes: number): void {
    this.#load += (ms / this.#opts.budgetMs(bytes) - this.#load) * AVERAGE_WEIGHT;
    if (this.#load > 1 || ms > this.#opts.hardLimitMs) this.#on = false;
  }
}

/** The views of `parts` after their first `skip` bytes. */
export function remainder<T extends Uint8Array>(parts: readonly T[], skip: number): T[] {
  const out: T[] = [];
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip > 0 ? (p.subarray(skip) as T) : p);
    skip = 0;
  }
  return out;
}

/** Counts a write's progress: one that wrote nothing would loop forever. */
export function progress(n: number): number {
  if (n <= 0) throw new SFTPError('local write made no progress', FX.FAILURE);
  return n;
}

/** pwritev(2) of all `length` bytes of `parts` at `position`, again after short writes. */
export function writevAllSync(fd: number, parts: readonly Uint8Array[], position: number, length: number): void {
  let done = 0;
  while (done < length) done += progress(writevSync(fd, done > 0 ? remainder(parts, done) : (parts as Uint8Array[]), position + done));
}
