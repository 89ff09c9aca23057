/**
 * One upload spread over several SFTP sessions ("lanes", ../client/lanes.ts)
 * on the same connection, each with its own channel window and, on sshd,
 * its own SFTP server process. Blocks of the local file are handed out in
 * file order to whichever lane asks first, and each lane pipelines its
 * blocks' WRITEs as a single-session upload does.
 *
 * The file-wide account is the contiguous acknowledged prefix. No block is
 * handed out whose end lies more than LANE_SKEW past that prefix, so after
 * an interruption anything the lanes wrote beyond the prefix (possibly with
 * holes between) lies within LANE_SKEW of it. On failure the remote file is
 * cut back to the prefix when every lane can still do it; `resume`
 * re-sends the last LANE_SKEW bytes of a large file for the case where it
 * did not.
 */
import { SFTPTransferError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import type { SFTPClient } from '../client/client.js';
import { pipelinedWrite, type ChunkSource, type PlacedChunk } from './pipelinedWrite.js';

/** How far past the acknowledged prefix a lane may write. */
export const LANE_SKEW = 8 * 1024 * 1024;

/** Uploads smaller than this stay on one channel (opening another costs a round trip or two). */
export const LANE_MIN_BYTES = 64 * 1024 * 1024;

/** Most lanes one transfer uses. */
export const MAX_TRANSFER_LANES = 4;

/** The block size to read for `lanes` lanes: small enough that LANE_SKEW holds a block for each, and one more. */
export function laneBlock(block: number, lanes: number): number {
  return Math.max(1, Math.min(block, Math.floor(LANE_SKEW / (lanes + 1))));
}

/** How long cutting the file back after a failure may take. */
const TRUNCATE_TIMEOUT_MS = 5000;

/** A session and the handle it has open on the file. */
export interface Lane {
  client: SFTPClient;
  handle: Buffer;
}

export interface MultiLaneWriteOptions {
  /** Remote offset of the first byte, and the end (exclusive). */
  start: number;
  end: number;
  /** Largest block `source` returns (see `laneBlock`; a larger one is sent, alone, once it is at the prefix). */
  block: number;
  chunkSize: number;
  /** Requests in flight per lane. */
  concurrency: number;
  signal?: AbortSignal;
  path: string;
  /** How errors name the operation, e.g. `put "/x"`. */
  what: string;
  onAcked?: (acked: number) => void;
  release: (buf: Buffer) => void;
}

/**
 * Sends [start, end) of the file `source` reads (sequential blocks from
 * `start`) through every lane. Resolves with the byte count; rejects with
 * SFTPTransferError whose `bytesTransferred` is the file's known-good
 * prefix, counted from offset 0 (it includes `start`).
 */
export async function multiLaneWrite(lanes: readonly Lane[], source: () => Promise<Buffer | null>, opts: MultiLaneWriteOptions): Promise<number> {
  if (lanes.length > MAX_TRANSFER_LANES) throw new RangeError(`at most ${MAX_TRANSFER_LANES} lanes`);
  const { start, end, block, path } = opts;
  let pos = start;
  let prefix = start;
  /** Acknowledged pieces beyond the prefix: offset → end. */
  const acked = new Map<number, number>();
  let waiters: Array<() => void> = [];
  let stopped = false;
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const onWritten = (offset: number, length: number): void => {
    if (offset !== prefix) {
      acked.set(offset, offset + length);
      return;
    }
    prefix += length;
    for (let e = acked.get(prefix); e !== undefined; e = acked.get(prefix)) {
      acked.delete(prefix);
      prefix = e;
    }
    opts.onAcked?.(prefix - start);
    wake();
  };

  // Hands out blocks one caller at a time, in file order, holding a caller
  // back while the next block would end too far past the prefix.
  let turn: Promise<unknown> = Promise.resolve();
  const next: ChunkSource = () => {
    const mine = turn.then(async (): Promise<PlacedChunk | null> => {
      // The block at the prefix always goes (nothing else could move the prefix).
      while (!stopped && pos > prefix && pos < end && Math.min(pos + block, end) > prefix + LANE_SKEW) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      if (stopped) return null;
      const at = pos;
      const data = await source();
      if (data === null) return null;
      pos += data.length;
      return { data, offset: at };
    });
    turn = mine.catch(() => {});
    return mine;
  };

  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let first: unknown = null;
  const runs = lanes.map((lane) =>
    pipelinedWrite(lane.client.session, lane.handle, next, {
      start,
      chunkSize: opts.chunkSize,
      concurrency: opts.concurrency,
      signal,
      path,
      release: opts.release,
      onWritten,
    }).catch((err: unknown) => {
      if (first === null) {
        first = err;
        stopped = true;
        wake();
        stop.abort(err);
      }
      throw err;
    }),
  );
  await Promise.allSettled(runs);
  if (first === null) return prefix - start;

  const cut = await cutBack(lanes, prefix, path);
  const cause = first instanceof SFTPTransferError && first.cause !== undefined ? first.cause : first;
  const aborted = first instanceof SFTPTransferError && first.aborted;
  const status = first instanceof SFTPTransferError ? first.status : FX.FAILURE;
  const why = aborted ? 'transfer aborted' : cause instanceof Error ? cause.message : String(cause);
  const note = cut ? '' : ` (the remote file may hold data past that point, within ${LANE_SKEW} bytes; resume re-sends that range)`;
  throw new SFTPTransferError(`${opts.what} stopped; ${prefix} bytes known good${note}: ${why}`, status, path, prefix, { cause, aborted });
}

/**
 * Truncates the file to the acknowledged prefix through every lane. Each
 * server processes a session's requests in order, so the last truncation to
 * run comes after every WRITE any lane sent; true if all of them did.
 */
async function cutBack(lanes: readonly Lane[], size: number, path: string): Promise<boolean> {
  const done = await Promise.allSettled(
    lanes.map((lane) =>
      lane.client.closed
        ? Promise.reject(new Error('closed'))
        : lane.client.fsetstatHandle(lane.handle, { size }, path, { signal: AbortSignal.timeout(TRUNCATE_TIMEOUT_MS) }),
    ),
  );
  return done.every((r) => r.status === 'fulfilled');
}
