/**
 * get / put / getfo / putfo: whole-file transfers on the pipelined engine,
 * with the guarantees the API promises:
 *
 * - A get writes to `<local>.sshwire-part` and renames only once the size
 *   (and, with `verify`, the hash) checks out, so a local file under the
 *   final name is never short or damaged. The part file holds exactly the
 *   good prefix (writes are in order) and is what `resume` continues.
 * - A put that stops rejects with SFTPTransferError whose
 *   `bytesTransferred` is the acknowledged contiguous prefix; `confirm`
 *   (default on) stats the result and refuses a size mismatch.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, stat as fsStat, utimes, chmod as fsChmod, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { SFTPError, SFTPTransferError } from '../../errors.js';
import { FX, FXF } from '../../wire/sftpConstants.js';
import { SFTPAttributes } from '../attributes.js';
import type { SFTPClient } from '../client/client.js';
import { pipelinedRead } from './pipelinedRead.js';
import { LocalFileWriter } from './localWrite.js';
import { pipelinedWrite } from './pipelinedWrite.js';
import { LANE_MIN_BYTES, LANE_SKEW, MAX_TRANSFER_LANES, laneBlock, multiLaneWrite, type Lane } from './multiLaneWrite.js';
import { hashLocalFile, hashRemote, sameDigest } from './verify.js';
import { copyingSource } from './producerSource.js';
import { streamReadAhead } from '../client/streams.js';

/** Options every transfer takes: get, put, getfo, putfo, getDir, putDir. */
export interface TransferOptions {
  /** Requests in flight. Default: the client's `concurrency` option (itself 64 unless set). */
  concurrency?: number;
  /** Bytes per READ/WRITE; capped by the server's limits (255 KiB on OpenSSH 9). */
  chunkSize?: number;
  /** Called as bytes are confirmed: (bytes so far including any resumed prefix, total or 0 when unknown). */
  onProgress?: (transferred: number, total: number) => void;
  /**
   * Stops the transfer. While data is moving it rejects with
   * SFTPTransferError (`aborted` true, `cause` abortError(signal): the
   * signal's reason when it is an Error, else an AbortError wrapping it;
   * `bytesTransferred` the good prefix); an abort outside that phase
   * (opening, closing, between a tree's files) rejects with abortError(signal).
   */
  signal?: AbortSignal;
}

/** Options of `SFTPClient.get` (and of each file of `getDir`). */
export interface GetOptions extends TransferOptions {
  /** Copy the remote mode and times to the local file. */
  preserve?: boolean;
  /** Continue a previous partial download (the part file, or the local file with `temporary: false`). */
  resume?: boolean;
  /** Compare sha256 of what was received with the local file (and the server's, via check-file, when offered); also checks a resumed prefix. */
  verify?: boolean;
  /** Download into `<local>.sshwire-part` and rename when complete. Default true. */
  temporary?: boolean;
  /**
   * Write received data to the local file from the event loop while the
   * file keeps up (default true): a page-cache write takes well under a
   * millisecond, and data written at once does not pile up in memory.
   * Writes that keep running over a few milliseconds, or one over 100 ms,
   * send the rest of the transfer to libuv's thread pool (only regular
   * files are written inline); false uses the thread pool throughout.
   * From the thread pool, received data is copied into up to 16 MiB of
   * slabs and written behind, so the download waits only for a full set.
   */
  inlineWrites?: boolean;
}

/** Options of `SFTPClient.put` (and of each file of `putDir`). */
export interface PutOptions extends TransferOptions {
  /**
   * SFTP channels to spread a large upload (64 MiB or more) over, on the
   * same SSH connection (1 to 4; default 2, or the client's `channels`).
   * Each channel has its own flow-control window and, on OpenSSH, its own
   * server process, so two move more than one; a server that refuses more
   * channels just gets one.
   */
  channels?: number;
  /** Copy the local mode and times to the remote file. */
  preserve?: boolean;
  /** Stat the remote file afterwards and check its size (Paramiko's confirm). Default true. */
  confirm?: boolean;
  /** Continue after what the remote file already holds. */
  resume?: boolean;
  /** Compare sha256 of the local file and the remote one (check-file, or read back). */
  verify?: boolean;
  /** Permissions for a newly created remote file. */
  mode?: number;
}

/** Suffix of an in-progress download. */
export const PART_SUFFIX = '.sshwire-part';

/** Re-bases an engine error's prefix by what was already there before this run. */
function rebased(err: unknown, prior: number, what: string, known?: number): unknown {
  if (err instanceof SFTPTransferError) {
    const total = prior + (known ?? err.bytesTransferred);
    return new SFTPTransferError(`${what} stopped; ${total} bytes known good: ${err.cause instanceof Error ? err.cause.message : err.message}`, err.status, err.path, total, {
      cause: err.cause,
      aborted: err.aborted,
    });
  }
  return err;
}

function sizeError(what: string, path: string, got: number, want: number): SFTPTransferError {
  return new SFTPTransferError(`${what} ${JSON.stringify(path)}: size mismatch (${got} bytes, expected ${want})`, FX.FAILURE, path, Math.min(got, want));
}

/** Closes a remote handle in the background after a failure: the error that matters is the first one. */
function closeQuietly(client: SFTPClient, handle: Buffer, path: string): void {
  if (!client.closed) void client.closeHandle(handle, path).catch(() => {});
}

export async function getFile(client: SFTPClient, remote: string, local: string, opts: GetOptions): Promise<number> {
  const { signal } = opts;
  const { chunkSize, concurrency } = client.transferShape(opts, 'read');
  const attrs = await client.stat(remote, { signal });
  if (attrs.isDirectory()) throw new SFTPError(`get ${JSON.stringify(remote)}: is a directory`, FX.FAILURE, remote);
  // Size 0 may be a /proc-like file that has content: read to EOF then.
  const total = attrs.st_size ?? 0;
  const target = opts.temporary === false ? local : local + PART_SUFFIX;
  const hash: Hash | null = opts.verify ? createHash('sha256') : null;
  const handle = await client.openHandle(remote, FXF.READ, {}, { signal });
  let fh: FileHandle | null = null;
  let start = 0;
  try {
    if (opts.resume && total > 0) {
      const st = await fsStat(target).catch(() => null);
      if (st?.isFile() && st.size <= total) start = st.size;
      if (start > 0 && hash) {
        const localPrefix = await hashLocalFile(target, 0, start, createHash('sha256'), signal);
        const remotePrefix = await hashRemote(client, handle, remote, 0, start, signal);
        if (sameDigest(localPrefix.copy().digest(), remotePrefix)) await hashLocalFile(target, 0, start, hash, signal);
        else start = 0;
      }
    }
    fh = await open(target, start > 0 ? 'r+' : 'w');
    if (start > 0) await fh.truncate(start);
    const file = fh;
    const writer = new LocalFileWriter(file, { inline: opts.inlineWrites });
    opts.onProgress?.(start, total);
    let delivered: number;
    try {
      delivered = await pipelinedRead(
        client.session,
        handle,
        (chunks, offset, length) => {
          if (hash) for (const c of chunks) hash.update(c);
          return writer.write(chunks, offset, length);
        },
        {
          start,
          end: total > 0 ? total : undefined,
          chunkSize,
          concurrency,
          signal,
          path: remote,
          onDelivered: opts.onProgress ? (d) => opts.onProgress!(start + d, total) : undefined,
        },
      );
      await writer.flush();
    } catch (err) {
      // The part file must hold only the good prefix, whatever a failed local
      // write left; data accepted for writing behind may not have landed.
      const written = await writer.settle();
      const failure =
        err instanceof SFTPTransferError ? err : new SFTPTransferError(`local write failed after ${written} bytes: ${(err as Error).message}`, FX.FAILURE, remote, written, { cause: err });
      const good = Math.min(failure.bytesTransferred, written);
      await file.truncate(start + good).catch(() => {});
      throw rebased(failure, start, `get ${JSON.stringify(remote)}`, good);
    }
    const size = start + delivered;
    if (total > 0 && size !== total) throw sizeError('get', remote, size, total);
    await fh.close();
    fh = null;
    if (hash) {
      const received = hash.digest();
      const onDisk = (await hashLocalFile(target, 0, size, undefined, signal)).digest();
      if (!sameDigest(received, onDisk)) throw new SFTPTransferError(`get ${JSON.stringify(remote)}: local file does not hash to the data received`, FX.FAILURE, remote, 0);
      if (client.session.has('check-file-handle')) {
        const theirs = await hashRemote(client, handle, remote, 0, size, signal);
        if (!sameDigest(received, theirs)) throw new SFTPTransferError(`get ${JSON.stringify(remote)}: sha256 differs from the server's`, FX.FAILURE, remote, 0);
      }
    }
    await client.closeHandle(handle, remote, { signal });
    if (opts.preserve) {
      if (attrs.st_atime !== undefined && attrs.st_mtime !== undefined) await utimes(target, attrs.st_atime, attrs.st_mtime);
      if (attrs.st_mode !== undefined) await fsChmod(target, attrs.st_mode & 0o7777);
    }
    if (target !== local) await rename(target, local);
    return size;
  } catch (err) {
    await fh?.close().catch(() => {});
    closeQuietly(client, handle, remote);
    throw err;
  }
}

/** A file source and the hook through which the sender gives its buffers back. */
interface FileSource {
  source: () => Promise<Buffer | null>;
  release: (buf: Buffer) => void;
}

/**
 * Reads a local file ahead of the sender, in blocks of several chunks, one
 * read always in flight. Full-size blocks come from a free list the sender
 * refills (`release`, once a block's WRITEs are written), so a long upload
 * reuses a handful of buffers instead of allocating one per block.
 */
function fileSource(fh: FileHandle, start: number, end: number, block: number, hash: Hash | null, path: string): FileSource {
  let pos = start;
  const free: Buffer[] = [];
  const readAt = async (at: number): Promise<Buffer | null> => {
    if (at >= end) return null;
    const want = Math.min(block, end - at);
    const buf = want === block ? (free.pop() ?? Buffer.allocUnsafeSlow(block)) : Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, at + got);
      if (bytesRead === 0) throw new SFTPError(`local file ${path} shrank during upload`, FX.FAILURE, path);
      got += bytesRead;
    }
    return buf;
  };
  let ahead: Promise<Buffer | null> | null = null;
  const source = async (): Promise<Buffer | null> => {
    const cur = ahead ?? readAt(pos);
    const b = await cur;
    if (b === null) return null;
    pos += b.length;
    if (hash) hash.update(b);
    ahead = readAt(pos);
    ahead.catch(() => {});
    return b;
  };
  const release = (buf: Buffer): void => {
    if (buf.length === block && free.length < MAX_FREE_BLOCKS) free.push(buf);
  };
  return { source, release };
}

/** Spare read blocks a file source keeps (more are only needed while more are in flight). */
const MAX_FREE_BLOCKS = 16;

/**
 * Extra lanes for an upload: sessions borrowed from the client's pool, each
 * with the file open for writing. Empty when the upload is small, the
 * caller asked for one channel, or the server offers no more.
 */
async function uploadLanes(client: SFTPClient, remote: string, channels: number, bytes: number, signal: AbortSignal | undefined): Promise<Lane[]> {
  const pool = client.lanes;
  if (!pool || channels < 2 || bytes < LANE_MIN_BYTES) return [];
  const borrowed = await pool.borrow(Math.min(channels, MAX_TRANSFER_LANES) - 1, signal);
  const opened = await Promise.allSettled(borrowed.map((c) => c.openHandle(remote, FXF.WRITE, {}, { signal })));
  const lanes: Lane[] = [];
  opened.forEach((r, i) => {
    if (r.status === 'fulfilled') lanes.push({ client: borrowed[i]!, handle: r.value });
    else pool.giveBack([borrowed[i]!]);
  });
  return lanes;
}

/** Closes the extra lanes' handles (a failed CLOSE means nothing is known good) and returns the sessions to the pool. */
async function finishLanes(client: SFTPClient, lanes: readonly Lane[], remote: string, signal: AbortSignal | undefined): Promise<void> {
  if (lanes.length === 0) return;
  try {
    await Promise.all(lanes.map((l) => closeUpload(l.client, l.handle, remote, 'put', signal)));
  } finally {
    client.lanes?.giveBack(lanes.map((l) => l.client));
  }
}

/** After a failure: closes the lanes' handles in the background and returns the sessions. */
function dropLanes(client: SFTPClient, lanes: readonly Lane[], remote: string): void {
  for (const l of lanes) closeQuietly(l.client, l.handle, remote);
  if (lanes.length > 0) client.lanes?.giveBack(lanes.map((l) => l.client));
}

export async function putFile(client: SFTPClient, local: string, remote: string, opts: PutOptions): Promise<SFTPAttributes> {
  const { signal } = opts;
  const { chunkSize, concurrency, channels } = client.transferShape(opts, 'write');
  const st = await fsStat(local);
  if (st.isDirectory()) throw new SFTPError(`put ${JSON.stringify(local)}: is a directory`, FX.FAILURE, remote);
  const total = st.size;
  const hash: Hash | null = opts.verify ? createHash('sha256') : null;
  let start = 0;
  if (opts.resume) {
    let rst: SFTPAttributes | null = null;
    try {
      rst = await client.stat(remote, { signal });
    } catch (err) {
      if (!(err instanceof SFTPError && err.status === FX.NO_SUCH_FILE)) throw err;
    }
    if (rst?.isFile() && rst.st_size !== undefined && rst.st_size <= total) start = rst.st_size;
    // A large file may be what a multi-channel upload left when its
    // connection died: past its good prefix, within LANE_SKEW of the end,
    // there may be holes. Send that range again.
    if (start > 0 && total >= LANE_MIN_BYTES) start = Math.max(0, start - LANE_SKEW);
    if (start > 0 && hash) {
      const rh = await client.openHandle(remote, FXF.READ, {}, { signal });
      try {
        const theirs = await hashRemote(client, rh, remote, 0, start, signal);
        const ours = await hashLocalFile(local, 0, start, createHash('sha256'), signal);
        if (sameDigest(ours.digest(), theirs)) await hashLocalFile(local, 0, start, hash, signal);
        else start = 0;
      } finally {
        closeQuietly(client, rh, remote);
      }
    }
  }
  const mode = opts.mode ?? (opts.preserve ? st.mode & 0o7777 : undefined);
  const pflags = FXF.WRITE | FXF.CREAT | (start > 0 ? 0 : FXF.TRUNC) | (opts.verify ? FXF.READ : 0);
  const handle = await client.openHandle(remote, pflags, mode !== undefined ? { permissions: mode } : {}, { signal });
  let lanes: Lane[] = [];
  let fh: FileHandle;
  try {
    fh = await open(local, 'r');
    lanes = await uploadLanes(client, remote, channels, total - start, signal);
  } catch (err) {
    closeQuietly(client, handle, remote);
    throw err;
  }
  let sent: number;
  try {
    opts.onProgress?.(start, total);
    const wide = Math.max(chunkSize, Math.min(chunkSize * 8, 4 * 1024 * 1024));
    const block = lanes.length > 0 ? laneBlock(wide, lanes.length + 1) : wide;
    const src = fileSource(fh, start, total, block, hash, local);
    const onAcked = opts.onProgress ? (a: number): void => opts.onProgress!(start + a, total) : undefined;
    const shape = { release: src.release, start, chunkSize, concurrency, signal, path: remote, onAcked };
    sent =
      lanes.length > 0
        ? await multiLaneWrite([{ client, handle }, ...lanes], src.source, { ...shape, end: total, block, what: `put ${JSON.stringify(remote)}` })
        : await pipelinedWrite(client.session, handle, src.source, shape);
  } catch (err) {
    closeQuietly(client, handle, remote);
    dropLanes(client, lanes, remote);
    // The multi-lane engine already counts from offset 0.
    throw lanes.length > 0 ? err : rebased(err, start, `put ${JSON.stringify(remote)}`);
  } finally {
    await fh.close().catch(() => {});
  }
  const written = start + sent;
  try {
    await finishLanes(client, lanes, remote, signal);
    if (hash) {
      const theirs = await hashRemote(client, handle, remote, 0, written, signal);
      if (!sameDigest(hash.digest(), theirs)) throw new SFTPTransferError(`put ${JSON.stringify(remote)}: remote sha256 differs from the local file`, FX.FAILURE, remote, 0);
    }
  } catch (err) {
    closeQuietly(client, handle, remote);
    throw err;
  }
  await closeUpload(client, handle, remote, 'put', signal);
  if (opts.preserve) {
    await client.setstat(remote, { permissions: st.mode & 0o7777, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) }, { signal });
  }
  if (opts.confirm === false) return new SFTPAttributes();
  return confirmedSize(client, remote, 'put', written, signal);
}

/** Closes an uploaded file's handle; CLOSE can fail (e.g. a network filesystem flushing): then nothing is known good. */
async function closeUpload(client: SFTPClient, handle: Buffer, remote: string, op: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await client.closeHandle(handle, remote, { signal });
  } catch (err) {
    throw new SFTPTransferError(`${op} ${JSON.stringify(remote)}: close failed: ${(err as Error).message}`, err instanceof SFTPError ? err.status : FX.FAILURE, remote, 0, { cause: err });
  }
}

/** Stats the uploaded file and checks the server reports the `written` bytes (when it reports a size). */
async function confirmedSize(client: SFTPClient, remote: string, op: string, written: number, signal: AbortSignal | undefined): Promise<SFTPAttributes> {
  const result = await client.stat(remote, { signal });
  if (result.st_size !== undefined && result.st_size !== written) throw sizeError(op, remote, result.st_size, written);
  return result;
}

/** Waits until a Writable can take more (or fails). */
function writeWithBackpressure(w: Writable, chunks: Buffer[]): Promise<void> | void {
  let ok = true;
  for (const c of chunks) ok = w.write(c);
  if (ok) return;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new SFTPError('destination stream closed', FX.FAILURE));
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}

export async function getToWritable(client: SFTPClient, remote: string, writable: Writable, opts: TransferOptions): Promise<number> {
  const { signal } = opts;
  const { chunkSize, concurrency } = client.transferShape(opts, 'read');
  const handle = await client.openHandle(remote, FXF.READ, {}, { signal });
  try {
    const attrs = await client.fstatHandle(handle, remote, { signal });
    const total = attrs.st_size ?? 0;
    // Chunks are views into received packets; the Writable may keep them, which is fine: nothing reuses them.
    // It usually writes through the thread pool (fs.WriteStream), so the read-ahead is a read stream's,
    // fitted to the round trip: what waits for the Writable is what gets promoted and storms V8's collections.
    const n = await pipelinedRead(client.session, handle, (chunks) => writeWithBackpressure(writable, chunks), {
      start: 0,
      end: total > 0 ? total : undefined,
      chunkSize,
      concurrency,
      readAhead: Math.max(streamReadAhead(client.session).readAhead, chunkSize * 4),
      signal,
      path: remote,
      onDelivered: opts.onProgress ? (d) => opts.onProgress!(d, total) : undefined,
    });
    if (total > 0 && n !== total) throw sizeError('getfo', remote, n, total);
    await client.closeHandle(handle, remote, { signal });
    return n;
  } catch (err) {
    closeQuietly(client, handle, remote);
    throw err;
  }
}

export async function putFromReadable(
  client: SFTPClient,
  src: Readable | AsyncIterable<Uint8Array>,
  remote: string,
  opts: TransferOptions & { fileSize?: number; confirm?: boolean; mode?: number },
): Promise<SFTPAttributes> {
  const { signal } = opts;
  const { chunkSize, concurrency } = client.transferShape(opts, 'write');
  const handle = await client.openHandle(remote, FXF.WRITE | FXF.CREAT | FXF.TRUNC, opts.mode !== undefined ? { permissions: opts.mode } : {}, { signal });
  const total = opts.fileSize ?? 0;
  let sent: number;
  try {
    const { source, release } = copyingSource(src, chunkSize);
    sent = await pipelinedWrite(client.session, handle, source, {
      start: 0,
      chunkSize,
      concurrency,
      signal,
      path: remote,
      release,
      onAcked: opts.onProgress ? (a) => opts.onProgress!(a, total) : undefined,
    });
  } catch (err) {
    closeQuietly(client, handle, remote);
    throw err;
  }
  await closeUpload(client, handle, remote, 'putfo', signal);
  if (opts.confirm === false) return new SFTPAttributes();
  const result = await confirmedSize(client, remote, 'putfo', sent, signal);
  if (opts.fileSize !== undefined && sent !== opts.fileSize) throw sizeError('putfo', remote, sent, opts.fileSize);
  return result;
}
