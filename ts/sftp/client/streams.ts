/**
 * Node streams over remote files, both pipelined: the read stream keeps
 * many READs in flight and pauses them when the consumer does; the write
 * stream keeps many WRITEs unacknowledged and reports an error (with the
 * acknowledged prefix) by destroying itself.
 */
import { Readable, Writable } from 'node:stream';
import { SFTPError, SFTPTransferError } from '../../errors.js';
import { FX, FXF } from '../../wire/sftpConstants.js';
import { pipelinedRead } from '../transfer/pipelinedRead.js';
import { encodeWriteHeader, readStatus } from '../../wire/sftpPacket.js';
import { SSHReader } from '../../wire/reader.js';
import { FXP } from '../../wire/sftpConstants.js';
import type { SFTPClient } from './client.js';
import { parseNodeFlags } from './mode.js';
import { BYTES_PER_RTT_MS, LONG_ROUND_TRIP_MS, type SFTPSession } from './session.js';
import { tookProducerChunk } from '../transfer/producerSource.js';

/** Options of `SFTPClient.createReadStream`, shaped like `fs.createReadStream`'s. */
export interface ReadStreamOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (as fs.createReadStream); default: to EOF. */
  end?: number;
  /**
   * Largest chunk pushed at once; also the READ size (capped by the
   * server). Default: READs of the server's limit, pushed in chunks of up
   * to 1 MiB.
   */
  highWaterMark?: number;
  /** READs in flight. Default: the client's concurrency. */
  concurrency?: number;
  /**
   * Most bytes requested or received and not yet pushed. Default: on a
   * short round trip (under 4 ms), 1 MiB per millisecond of it, at least
   * 1 MiB and one push, at most the session's `readAhead`; otherwise the
   * session's `readAhead`, or two of the stream's buffers if those are
   * larger (see {@link streamReadAhead}).
   */
  readAhead?: number;
  /** Aborting destroys the stream (with an AbortError) and closes the remote handle. */
  signal?: AbortSignal;
}

/**
 * Default largest chunk pushed: a consumer such as fs.WriteStream makes one
 * write call (one thread-pool round trip) per chunk, so 1 MiB pushes cost a
 * quarter of the calls 255 KiB READ-sized ones do, for the same one copy.
 */
const PUSH_SIZE = 1024 * 1024;

/**
 * A read stream's default read-ahead, and whether the link counts as fast.
 *
 * A stream's consumer (typically an fs.WriteStream) writes through libuv's
 * thread pool, so whatever is read ahead waits in memory as node Buffers.
 * With 8 MiB waiting, V8's full collections kept one another going: each
 * one promoted the buffers alive at that moment, which then died old and
 * took the next full collection to free (70-100 per GiB). On a short round
 * trip a large read-ahead buys nothing: 1 MiB per millisecond of round trip
 * keeps a 1 GB/s link busy. Measured on loopback (docs/PERFORMANCE.md, "Read
 * streams and full collections"): with aes128-gcm, 1 full collection per
 * GiB instead of 68-97, RSS growth 53-55 MiB instead of 77-101, and more
 * MB/s. With chacha20-poly1305 about half the runs still storm (69-132;
 * "The benchmark rerun" there), so this narrows the storm, not ends it.
 * A long or unknown round trip keeps the session's read-ahead.
 */
export function streamReadAhead(session: Pick<SFTPSession, 'roundTripMs' | 'readAhead'>): { readAhead: number; fast: boolean } {
  const rtt = session.roundTripMs;
  if (rtt === undefined || rtt >= LONG_ROUND_TRIP_MS) return { readAhead: session.readAhead, fast: false };
  return { readAhead: Math.min(session.readAhead, Math.max(1, Math.ceil(rtt)) * BYTES_PER_RTT_MS), fast: true };
}

/**
 * A Readable of a remote file, from `SFTPClient.createReadStream`. Opens the
 * file on construction (an open failure is the stream's 'error', an
 * SFTPError), keeps many READs in flight and pauses them while the consumer
 * is behind. The handle is closed on end or destroy; a failed READ destroys
 * the stream with SFTPTransferError (`bytesTransferred`: bytes delivered).
 */
export class SFTPReadStream extends Readable {
  /** The remote path, resolved against the client's cwd. */
  readonly path: string;
  /** Bytes pushed so far. */
  bytesRead = 0;
  readonly #client: SFTPClient;
  readonly #opts: ReadStreamOptions;
  readonly #pushSize: number;
  readonly #readAhead: number;
  #handle: Buffer | null = null;
  #resume: (() => void) | null = null;
  #abort = new AbortController();

  constructor(client: SFTPClient, path: string, opts: ReadStreamOptions) {
    const shape = client.transferShape({ chunkSize: opts.highWaterMark, concurrency: opts.concurrency }, 'read');
    const pushSize = opts.highWaterMark ?? PUSH_SIZE;
    const fit = streamReadAhead(client.session);
    // Room for two pushes, so one waits while the consumer writes the other;
    // on a fast link one, since more arrives within a round trip anyway.
    super({ highWaterMark: fit.fast ? pushSize : Math.max(pushSize * 2, shape.chunkSize * 4), signal: opts.signal });
    this.#pushSize = pushSize;
    // A slow consumer holds up to this much here; a long round trip keeps
    // at least two of the stream's own buffers in flight.
    this.#readAhead = opts.readAhead ?? (fit.fast ? Math.max(fit.readAhead, pushSize) : Math.max(this.readableHighWaterMark * 2, fit.readAhead));
    this.#client = client;
    this.path = path;
    this.#opts = opts;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.#client.openHandle(this.path, FXF.READ, {}, { signal: this.#abort.signal }).then((h) => {
      this.#handle = h;
      callback();
      this.#run(h);
    }, callback);
  }

  #run(handle: Buffer): void {
    const { chunkSize, concurrency } = this.#client.transferShape({ chunkSize: this.#opts.highWaterMark, concurrency: this.#opts.concurrency }, 'read');
    const start = this.#opts.start ?? 0;
    const end = this.#opts.end === undefined ? undefined : this.#opts.end + 1;
    pipelinedRead(
      this.#client.session,
      handle,
      (chunks, _offset, length) => {
        this.bytesRead += length;
        const more = this.#pushCoalesced(chunks, this.#pushSize);
        if (!more) return new Promise<void>((r) => (this.#resume = r));
      },
      { start, end, chunkSize, concurrency, readAhead: this.#readAhead, signal: this.#abort.signal, path: this.path },
    ).then(
      () => this.push(null),
      (err: Error) => {
        if (!this.destroyed) this.destroy(err);
      },
    );
  }

  /**
   * Pushes `chunks` (views of ~32 KiB channel packets) as buffers of up to
   * `size` bytes: one copy here saves the consumer a write call per packet
   * (an fs.WriteStream with its 16 KiB highWaterMark writes each chunk it is
   * given on its own and waits for the thread pool each time). Returns
   * push()'s verdict.
   */
  #pushCoalesced(chunks: Buffer[], size: number): boolean {
    let more = true;
    let i = 0;
    while (i < chunks.length) {
      const first = chunks[i]!;
      if (first.length >= size || i + 1 === chunks.length) {
        more = this.push(first);
        i++;
        continue;
      }
      let j = i;
      let total = 0;
      while (j < chunks.length && total + chunks[j]!.length <= size) total += chunks[j++]!.length;
      more = this.push(j - i === 1 ? first : Buffer.concat(chunks.slice(i, j), total));
      i = j;
    }
    return more;
  }

  override _read(): void {
    const r = this.#resume;
    this.#resume = null;
    r?.();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort(err ?? new SFTPError('read stream destroyed', FX.FAILURE, this.path));
    const h = this.#handle;
    this.#handle = null;
    if (h && !this.#client.closed) {
      this.#client.closeHandle(h, this.path).then(() => callback(err), () => callback(err));
    } else callback(err);
  }
}

/** Options of `SFTPClient.createWriteStream`, shaped like `fs.createWriteStream`'s. */
export interface WriteStreamOptions {
  /** Node fs flags: 'w' (default), 'a', 'r+', 'wx', ... */
  flags?: string;
  /** Offset of the first write (needs flags 'r+' to keep what is before it). */
  start?: number;
  /** Permissions for a created file. */
  mode?: number;
  /** WRITEs in flight. */
  concurrency?: number;
  /** Aborting destroys the stream and closes the remote handle; WRITEs already sent may still land. */
  signal?: AbortSignal;
}

/** The write stream's own queue of the producer's chunks (see the constructor). */
const WRITE_STREAM_HWM = 64 * 1024;

/**
 * A Writable to a remote file, from `SFTPClient.createWriteStream`. Opens
 * the file on construction and keeps up to `concurrency` WRITEs
 * unacknowledged; 'finish' means every write was acknowledged and the handle
 * closed. A failed WRITE surfaces at the next write or at the end as
 * SFTPTransferError. Its `bytesTransferred` has SFTPTransferError's meaning,
 * the file's known-good prefix from byte 0: the stream's first offset
 * (`start`, or with flags 'a' the file's size when it was opened) plus
 * `bytesWritten`, so reopening with flags 'r+' and that `start` resumes.
 */
export class SFTPWriteStream extends Writable {
  /** The remote path, resolved against the client's cwd. */
  readonly path: string;
  /**
   * Bytes this stream has written, acknowledged by the server as a
   * contiguous run from its first offset. As with fs.WriteStream, what the
   * file held before (flags 'a', or 'r+' with `start`) does not count.
   */
  bytesWritten = 0;
  readonly #client: SFTPClient;
  readonly #opts: WriteStreamOptions;
  #handle: Buffer | null = null;
  /** Offset of the stream's first write: `start`, or with flags 'a' the size at open. */
  #base: number;
  /** Offset of the next write. */
  #offset: number;
  #inflight = 0;
  /** In-flight writes in order: [offset, length, done]. */
  #slots: Array<[number, number, boolean]> = [];
  #waiter: (() => void) | null = null;
  #error: Error | null = null;
  /** The WRITE being filled (see #queue), and how many bytes it holds. */
  #slab: Buffer | null = null;
  #fill = 0;
  /** Slabs whose WRITE the session has copied into sealed packets, for the next ones. */
  #free: Buffer[] = [];
  readonly #chunkSize: number;
  readonly #concurrency: number;

  constructor(client: SFTPClient, path: string, opts: WriteStreamOptions) {
    // Small on purpose: the slabs are the stream's buffer. Chunks queued
    // here are the producer's, garbage-to-be outside the heap; at 1 MiB the
    // stream's RSS growth was about 3 MiB higher (1 GiB from fs.createReadStream).
    super({ highWaterMark: WRITE_STREAM_HWM, signal: opts.signal });
    this.#client = client;
    this.path = path;
    this.#opts = opts;
    this.#base = this.#offset = opts.start ?? 0;
    const shape = client.transferShape({ concurrency: opts.concurrency }, 'write');
    this.#chunkSize = shape.chunkSize;
    this.#concurrency = shape.concurrency;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    let pflags: number;
    try {
      pflags = parseNodeFlags(this.#opts.flags ?? 'w').pflags;
    } catch (err) {
      return callback(err as Error);
    }
    this.#client.openHandle(this.path, pflags, this.#opts.mode !== undefined ? { permissions: this.#opts.mode } : {}).then(async (h) => {
      this.#handle = h;
      if ((this.#opts.flags ?? 'w').startsWith('a')) {
        try {
          this.#base = this.#offset = (await this.#client.fstatHandle(h, this.path)).st_size ?? 0;
        } catch (err) {
          return callback(err as Error);
        }
      }
      callback();
    }, callback);
  }

  #ackFrom(slot: [number, number, boolean]): void {
    slot[2] = true;
    // Slots hold [offset, length]; the prefix grows by each finished head.
    while (this.#slots.length > 0 && this.#slots[0]![2]) this.#slots.shift();
    const head = this.#slots[0];
    this.bytesWritten = (head ? head[0] : this.#offset) - this.#base;
  }

  /**
   * Copies `data` into the WRITE being filled; a full one goes out at once.
   * The copy lets the producer's buffers die young (WRITEs beyond the
   * peer's window wait in the channel, long enough for V8 to promote them
   * and collect them only in full collections), and the slabs are reused
   * once their WRITE is sealed into packets, so a stream allocates nothing
   * per chunk. A partial WRITE waits for more data while the
   * pipeline is well fed (over half the allowed WRITEs in flight), like
   * Nagle's algorithm: a producer of 64 KiB chunks (fs.ReadStream) still
   * gets full-size WRITEs, and a slow or interactive one is flushed as soon
   * as acknowledgements drain the pipe.
   */
  #queue(data: Buffer): void {
    // See producerSource.ts: the producer's buffer is garbage once copied.
    tookProducerChunk(data.length);
    for (let off = 0; off < data.length; ) {
      const slab = (this.#slab ??= this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#chunkSize));
      const n = data.copy(slab, this.#fill, off);
      this.#fill += n;
      off += n;
      if (this.#fill === slab.length) this.#sendSlab();
    }
    this.#maybeFlush();
  }

  /** Sends the partial WRITE when the pipeline would otherwise run dry. */
  #maybeFlush(): void {
    if (this.#fill > 0 && this.#inflight <= this.#concurrency >> 1) this.#sendSlab();
  }

  #sendSlab(): void {
    const slab = this.#slab!;
    const n = this.#fill;
    this.#slab = null;
    this.#fill = 0;
    this.#send(slab, n);
  }

  /**
   * One WRITE of slab[0, length). The slab is free again once the session
   * has copied it into sealed packets (`onWritten`), not when the server
   * answers: WRITEs wait for the peer's window in the channel, and holding
   * their slabs until the answer as well kept up to `concurrency` of them
   * (16 MiB at 64 x 255 KiB). A failed session may still hold a WRITE's
   * bytes unsent and never calls `onWritten`, so its slab is not reused.
   */
  #send(slab: Buffer, length: number): void {
    const handle = this.#handle!;
    const at = this.#offset;
    this.#offset += length;
    const slot: [number, number, boolean] = [at, length, false];
    this.#slots.push(slot);
    this.#inflight++;
    this.#client.session.request(
      (id) => [encodeWriteHeader(id, handle, at, length), slab.subarray(0, length)],
      (err, type, body) => {
        this.#inflight--;
        if (!err) {
          try {
            if (type !== FXP.STATUS) throw new SFTPError(`write ${JSON.stringify(this.path)}: unexpected reply type ${type}`, FX.BAD_MESSAGE, this.path);
            const r = new SSHReader(body, 'SFTP WRITE');
            r.byte();
            r.uint32();
            const st = readStatus(r);
            if (st.code !== FX.OK) throw new SFTPError(`write ${JSON.stringify(this.path)} at ${at}: ${st.message}`, st.code, this.path);
          } catch (e) {
            err = e as Error;
          }
        }
        if (err) this.#error ??= err;
        else {
          this.#ackFrom(slot);
          if (!this.#error && this.#handle) this.#client.session.corked(() => this.#maybeFlush());
        }
        const w = this.#waiter;
        this.#waiter = null;
        w?.();
      },
      { onWritten: () => this.#free.push(slab) },
    );
  }

  /**
   * The stream's error: `bytesTransferred` is the file's known-good prefix
   * (what was before the first write, then `bytesWritten`), as
   * SFTPTransferError documents it.
   */
  #failure(): Error {
    const e = this.#error!;
    const good = this.#base + this.bytesWritten;
    const from = this.#base > 0 ? ` at offset ${this.#base}` : '';
    return new SFTPTransferError(
      `write stream to ${JSON.stringify(this.path)} failed; ${this.bytesWritten} bytes known written${from} (the file's first ${good} bytes good): ${e.message}`,
      e instanceof SFTPError ? e.status : FX.FAILURE,
      this.path,
      good,
      { cause: e },
    );
  }

  /** Calls back once fewer than `limit` writes are in flight (or on error). */
  #whenBelow(limit: number, cb: () => void): void {
    if (this.#error || this.#inflight < limit) return cb();
    this.#waiter = () => this.#whenBelow(limit, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#error) return callback(this.#failure());
    this.#client.session.corked(() => this.#queue(chunk));
    this.#accepted(callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    if (this.#error) return callback(this.#failure());
    this.#client.session.corked(() => {
      for (const { chunk } of chunks) this.#queue(chunk);
    });
    this.#accepted(callback);
  }

  /**
   * Takes more data once fewer than `concurrency` WRITEs are in flight and
   * the channel is not congested: WRITEs beyond the peer's window only wait
   * in the channel, each holding a slab, so this bounds the stream's memory.
   */
  #accepted(callback: (error?: Error | null) => void): void {
    const done = (): void => callback(this.#error ? this.#failure() : null);
    this.#whenBelow(this.#concurrency, () => {
      const session = this.#client.session;
      if (this.#error || !session.needsDrain) return done();
      session.waitDrain().then(done, (err: Error) => callback(this.#error ? this.#failure() : err));
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#error && this.#fill > 0) this.#client.session.corked(() => this.#sendSlab());
    this.#whenBelow(1, () => {
      if (this.#error) return callback(this.#failure());
      const h = this.#handle!;
      this.#handle = null;
      this.#client.closeHandle(h, this.path).then(() => callback(), callback);
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const h = this.#handle;
    this.#handle = null;
    if (h && !this.#client.closed) this.#client.closeHandle(h, this.path).then(() => callback(err), () => callback(err));
    else callback(err);
  }
}
