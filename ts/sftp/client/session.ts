/**
 * The request/reply engine under SFTPClient: frames packets off any byte
 * stream, matches replies to requests by id in any completion order, and
 * fails every pending request with a typed error the moment the stream ends,
 * errors, goes silent for too long, or sends something malformed.
 *
 * Requests are callback-based underneath (the transfer engine issues tens of
 * thousands per GiB and needs no promise per chunk); `call()` is the promise
 * form for everything else.
 */
import type { Readable, Writable } from 'node:stream';
import { abortError, ProtocolError, SFTPError, TimeoutError } from '../../errors.js';
import { checkDuration } from '../../transport/index.js';
import { SSHReader } from '../../wire/reader.js';
import type { SSHWriter } from '../../wire/writer.js';
import { FXP, FX, EXT } from '../../wire/sftpConstants.js';
import { DEFAULT_MAX_PACKET, SFTPFramer, decodeVersion, encodeInit, encodePacket, readStatus } from '../../wire/sftpPacket.js';

/**
 * Called with a reply's body (type byte first, id at 1..4), or with the
 * session's error. For a request made with `{ parts: true }` a large reply
 * may come split: `body` is then its first bytes (at least the type, id
 * and, for DATA, the data length; see PARTS_HEAD) and `rest` views of the
 * remaining bytes in order, with no copy made to join them.
 */
export type ReplyCallback = (err: Error | null, type: number, body: Buffer, rest?: Buffer[]) => void;

/** Options of `SFTPSession.request`. */
export interface RequestOptions {
  /** The callback takes a split reply (ReplyCallback's `rest`). */
  parts?: boolean;
  /**
   * Called once the stream has finished with the request's bytes (its write
   * callback; for an SSH channel, once they are copied into a sealed packet),
   * so the caller may reuse the buffers it passed. Not called when the write
   * fails.
   */
  onWritten?: () => void;
}

/** What `limits@openssh.com` told us, or our defaults. 0 means "no limit given". */
export interface SFTPLimits {
  maxPacketLength: number;
  maxReadLength: number;
  maxWriteLength: number;
  maxOpenHandles: number;
}

export interface SessionOptions {
  /**
   * How long to wait for the server's VERSION (ms), 0 to 2^31-1; in
   * `openSftp` also for opening the channel and starting the subsystem.
   * Default 30 000; 0 = no limit.
   */
  readyTimeout?: number;
  /**
   * Fail everything when requests are outstanding and nothing at all has
   * arrived for this long (ms), 0 to 2^31-1. Default 300 000; 0 disables.
   */
  timeout?: number;
  /** Signal for the handshake. */
  signal?: AbortSignal;
  /**
   * Most bytes one read (a get, a read stream, a prefetch) may have asked
   * for or received without handing them on yet. Default 8 MiB, or twice
   * the channel's receive window when `openSftp` made that larger.
   */
  readAhead?: number;
}

/**
 * Refuses `readyTimeout` / `timeout` outside 0..2^31-1 ms (the shared
 * duration rule) with SFTPError (FAILURE, code ERR_SSH_BAD_OPTION).
 */
export function checkSessionOptions(opts: Pick<SessionOptions, 'readyTimeout' | 'timeout'>): void {
  const error = (message: string): Error => new SFTPError(message, FX.FAILURE, undefined, { code: 'ERR_SSH_BAD_OPTION' });
  checkDuration('readyTimeout', opts.readyTimeout, { zero: 'no limit', error });
  checkDuration('timeout', opts.timeout, { zero: 'no limit', error });
}

/** Default `readyTimeout` (ms): for the VERSION reply, and in `openSftp` for each step before it. */
export const DEFAULT_READY_TIMEOUT = 30_000;

/** Default `readAhead`: several windows of a loopback or LAN channel. */
export const DEFAULT_READ_AHEAD = 8 * 1024 * 1024;

/** Round trips at least this long (ms) count as long: `openSftp` grows the window for them. */
export const LONG_ROUND_TRIP_MS = 4;
/** Bytes in flight per millisecond of round trip that keep a 1 GB/s link busy. */
export const BYTES_PER_RTT_MS = 1024 * 1024;

/** A byte stream both ways: a Duplex, or a readable/writable pair such as a child's stdout/stdin. */
export type SFTPStream = (Readable & Writable) | { readable: Readable; writable: Writable };

/** Defaults when the server does not send limits: the sizes every v3 server must accept. */
const FALLBACK_CHUNK = 32 * 1024;

/** Bounds a peer cannot talk us past, whatever `limits` says. */
const HARD_MAX_PACKET = 4 * 1024 * 1024;

export class SFTPSession {
  readonly readable: Readable;
  readonly writable: Writable;
  #framer = new SFTPFramer(DEFAULT_MAX_PACKET);
  #pending = new Map<number, ReplyCallback>();
  /** Requests whose callbacks take a split reply (ReplyCallback's `rest`). */
  #takesParts = new Set<number>();
  #nextId = 1;
  /** The error that ended the session (see `error`). */
  #error: Error | null = null;
  /** Set once the stream can no longer carry requests. */
  #closed = false;
  #lastReceive = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #timeoutMs: number;
  #closeWaiters: Array<() => void> = [];
  #drainWaiters: Array<(err?: Error) => void> = [];
  /**
   * A stream may deliver the server's reply while we are still writing the
   * request (an in-process server answering synchronously): what arrives
   * during a send is held and handled on the next microtask, so no reply
   * callback runs before `request` has returned its id.
   */
  #onData = (chunk: Buffer): void => {
    if (this.#sending > 0 || this.#held.length > 0) {
      this.#held.push(chunk);
      if (this.#held.length === 1) queueMicrotask(this.#releaseHeld);
      return;
    }
    this.#receive(chunk);
  };
  #releaseHeld = (): void => {
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) this.#receive(chunk);
  };
  /** Depth of `#send` calls in progress (see `#onData`). */
  #sending = 0;
  /** Chunks that arrived during a send, oldest first. */
  #held: Buffer[] = [];
  #onEnd = (): void => this.#fail(new SFTPError('SFTP stream ended', FX.CONNECTION_LOST));
  #onClose = (): void => this.#fail(new SFTPError('SFTP stream closed', FX.CONNECTION_LOST));
  #onError = (err: Error): void => this.#fail(new SFTPError(`SFTP stream error: ${err.message}`, FX.CONNECTION_LOST, undefined, { cause: err }));
  #onDrain = (): void => {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
  };
  /** The version the server sent in VERSION. */
  version = 0;
  /** Extensions the server advertised (name → version string). */
  extensions = new Map<string, string>();
  limits: SFTPLimits = { maxPacketLength: 0, maxReadLength: FALLBACK_CHUNK, maxWriteLength: FALLBACK_CHUNK, maxOpenHandles: 0 };
  /** Takes the VERSION reply while `init` waits for it. */
  #readyHandler: ((body: Buffer) => void) | null = null;

  constructor(stream: SFTPStream, opts: SessionOptions = {}) {
    checkSessionOptions(opts);
    if ('readable' in stream && 'writable' in stream && typeof (stream as { readable: unknown }).readable === 'object') {
      const pair = stream as { readable: Readable; writable: Writable };
      this.readable = pair.readable;
      this.writable = pair.writable;
    } else {
      this.readable = stream as Readable;
      this.writable = stream as Writable;
    }
    this.#timeoutMs = opts.timeout ?? 300_000;
    this.readAhead = opts.readAhead ?? DEFAULT_READ_AHEAD;
    this.readable.on('data', this.#onData);
    this.readable.on('end', this.#onEnd);
    this.readable.on('close', this.#onClose);
    this.readable.on('error', this.#onError);
    this.writable.on('drain', this.#onDrain);
    if (this.writable !== (this.readable as unknown)) {
      this.writable.on('error', this.#onError);
      this.writable.on('close', this.#onClose);
    }
  }

  /**
   * Sends INIT, waits for VERSION, then asks for limits when offered. The
   * whole handshake, limits included, is bounded by `readyTimeout` and
   * `signal`: a server that sends VERSION and never answers the limits
   * request fails it too.
   */
  async init(opts: SessionOptions = {}): Promise<void> {
    checkSessionOptions(opts);
    const readyTimeout = opts.readyTimeout ?? DEFAULT_READY_TIMEOUT;
    const handshake = new AbortController();
    let stage = 'sent no VERSION';
    const timer =
      readyTimeout > 0 ? setTimeout(() => handshake.abort(new TimeoutError(`SFTP server ${stage} within ${readyTimeout} ms`)), readyTimeout) : undefined;
    const onAbort = (): void => handshake.abort(abortError(opts.signal!));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const v = decodeVersion(await this.#version(handshake.signal));
      if (v.version < 3) {
        const err = new ProtocolError(`SFTP server speaks version ${v.version}; version 3 is required`);
        this.#fail(err);
        throw err;
      }
      this.version = v.version;
      this.extensions = v.extensions;
      stage = 'did not answer limits@openssh.com';
      if (this.extensions.has(EXT.LIMITS)) await this.#queryLimits(handshake.signal);
    } catch (err) {
      if (!handshake.signal.aborted) throw err;
      const reason = handshake.signal.reason as Error;
      this.#fail(reason instanceof TimeoutError ? reason : new SFTPError('SFTP handshake aborted', FX.CONNECTION_LOST));
      throw reason;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (this.#timeoutMs > 0) {
      this.#timer = setInterval(() => this.#checkStall(), Math.max(50, Math.floor(this.#timeoutMs / 4)));
      this.#timer.unref();
    }
  }

  /** Sends INIT; resolves with the VERSION body, rejects when the session fails or `signal` aborts. */
  #version(signal: AbortSignal): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#readyHandler = (b) => {
        signal.removeEventListener('abort', onAbort);
        resolve(b);
      };
      this.#closeWaiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        reject(this.#error);
      });
      this.#send([encodeInit()]);
    });
  }

  async #queryLimits(signal: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const body = await this.call((id) => encodePacket(FXP.EXTENDED, id, (w) => w.string(EXT.LIMITS)), signal);
    this.roundTripMs = performance.now() - t0;
    const r = replyReader(body, FXP.EXTENDED_REPLY, 'limits@openssh.com');
    const num = (): number => {
      const v = r.uint64();
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    };
    const maxPacketLength = num();
    const maxReadLength = num();
    const maxWriteLength = num();
    const maxOpenHandles = num();
    // Trust the server's figures for what we send, but never let them raise
    // what we are willing to buffer beyond a fixed ceiling.
    const packetCap = maxPacketLength > 0 ? Math.min(maxPacketLength, HARD_MAX_PACKET) : DEFAULT_MAX_PACKET;
    this.limits = {
      maxPacketLength: packetCap,
      maxReadLength: maxReadLength > 0 ? Math.min(maxReadLength, packetCap - 1024) : FALLBACK_CHUNK,
      maxWriteLength: maxWriteLength > 0 ? Math.min(maxWriteLength, packetCap - 1024) : FALLBACK_CHUNK,
      maxOpenHandles,
    };
    // A DATA reply carries up to maxReadLength plus 13 bytes of header.
    this.#framer.setMaxPacket(Math.max(DEFAULT_MAX_PACKET, this.limits.maxReadLength + 1024));
  }

  /**
   * How long the limits@openssh.com request took (ms): one round trip to
   * the server, measured during `init`. Undefined when the server does not
   * offer that extension.
   */
  roundTripMs: number | undefined = undefined;

  /**
   * Most bytes a pipelined read may have requested or received and not yet
   * handed to its consumer (see SessionOptions.readAhead): what bounds a
   * download's memory when the local side falls behind.
   */
  readAhead: number;

  /** Whether the server advertised an extension. */
  has(ext: string): boolean {
    return this.extensions.has(ext);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The error that ended the session, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Requests awaiting replies. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /**
   * Sends one request built by `build(id)` (a packet, or header+data chunks
   * written back to back); `cb` gets the reply. Returns the id. Throws only
   * what `build` throws (bad arguments), and then nothing is left pending;
   * a dead session calls `cb` with its error on the next tick.
   */
  request(build: (id: number) => Buffer | Buffer[], cb: ReplyCallback, opts?: RequestOptions): number {
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    if (this.#error) {
      const err = this.#error;
      process.nextTick(() => cb(err, 0, EMPTY));
      return id;
    }
    // Built before the id is registered, so a build that throws leaves no
    // request waiting for a reply that will never come (and for the idle timeout).
    const pkt = build(id);
    this.#pending.set(id, cb);
    if (opts?.parts === true) this.#takesParts.add(id);
    this.#send(Array.isArray(pkt) ? pkt : [pkt], opts?.onWritten);
    return id;
  }

  /**
   * Forgets a request: its reply, when it comes, is dropped. `onLate` sees it
   * (e.g. to close a handle an aborted OPEN still produced).
   */
  abandon(id: number, onLate?: ReplyCallback): void {
    this.#takesParts.delete(id);
    if (this.#pending.has(id)) this.#pending.set(id, onLate ?? noop);
  }

  /** Promise form of `request`; rejects with `abortError(signal)` on abort. */
  call(build: (id: number) => Buffer | Buffer[], signal?: AbortSignal, onLate?: ReplyCallback): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      let onAbort: (() => void) | undefined;
      const id = this.request(build, (err, _type, body) => {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(body);
      });
      if (signal) {
        onAbort = (): void => {
          this.abandon(id, onLate);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /** Batches the writes made inside `fn` into one writev. */
  corked(fn: () => void): void {
    this.writable.cork();
    try {
      fn();
    } finally {
      this.writable.uncork();
    }
  }

  /**
   * True when so much is queued on the stream that senders should wait for
   * 'drain'. Deliberately above the stream's own high-water mark (often
   * 16 KiB, less than one WRITE): stopping there would leave the pipeline
   * one packet deep; this bounds our memory instead.
   */
  get needsDrain(): boolean {
    return this.writable.writableLength >= CONGESTION_BYTES && this.writable.writableNeedDrain;
  }

  /** Resolves on the stream's next 'drain' (or rejects when the session dies). */
  waitDrain(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (!this.writable.writableNeedDrain) return Promise.resolve();
    // Callers may queue several waiters; one 'drain' releases them all.
    return new Promise((resolve, reject) => this.#drainWaiters.push((err) => (err ? reject(err) : resolve())));
  }

  /** Resolves once the session is closed (by either side). */
  whenClosed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** Ends the stream; every pending request fails with NO_CONNECTION. */
  close(): void {
    if (this.#closed) return;
    this.#fail(new SFTPError('SFTP session closed', FX.NO_CONNECTION));
  }

  #send(chunks: Buffer[], onWritten?: () => void): void {
    // The stream calls back once it is done with a chunk; only a clean finish counts.
    const cb = onWritten ? (err?: Error | null) => err == null && onWritten() : undefined;
    this.#sending++;
    try {
      if (chunks.length === 1) {
        this.writable.write(chunks[0], cb);
        return;
      }
      this.writable.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) this.writable.write(chunks[i]);
      this.writable.write(chunks[last], cb);
      this.writable.uncork();
    } finally {
      this.#sending--;
    }
  }

  #receive(chunk: Buffer): void {
    this.#lastReceive = Date.now();
    // Requests issued from reply callbacks (the transfer engine refilling
    // its pipeline) leave in one writev per received chunk.
    this.writable.cork();
    try {
      this.#framer.push(chunk, this.#dispatch, this.#dispatchParts);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new ProtocolError(String(err)));
    } finally {
      if (this.writable.writableCorked > 0) this.writable.uncork();
    }
  }

  #dispatch = (body: Buffer): void => {
    if (this.#closed) return;
    const type = body[0]!;
    if (this.#readyHandler) {
      const h = this.#readyHandler;
      this.#readyHandler = null;
      h(body);
      return;
    }
    if (type === FXP.VERSION || body.length < 5) throw new ProtocolError(`SFTP: unexpected packet type ${type} of ${body.length} bytes`);
    const id = body.readUInt32BE(1);
    const cb = this.#pending.get(id);
    if (cb === undefined) throw new ProtocolError(`SFTP: reply for unknown request id ${id}`);
    this.#pending.delete(id);
    this.#takesParts.delete(id);
    cb(null, type, body);
  };

  /** A large reply that came in pieces: handed on as such when its request takes parts, else joined. */
  #dispatchParts = (head: Buffer, rest: Buffer[]): void => {
    if (this.#closed) return;
    const id = head.readUInt32BE(1);
    if (this.#readyHandler || head[0] === FXP.VERSION || !this.#takesParts.has(id)) {
      this.#dispatch(Buffer.concat([head, ...rest]));
      return;
    }
    const cb = this.#pending.get(id)!;
    this.#pending.delete(id);
    this.#takesParts.delete(id);
    cb(null, head[0]!, head, rest);
  };

  #checkStall(): void {
    if (this.#pending.size === 0) {
      this.#lastReceive = Date.now();
      return;
    }
    if (Date.now() - this.#lastReceive > this.#timeoutMs) {
      this.#fail(new TimeoutError(`SFTP server sent nothing for ${this.#timeoutMs} ms with ${this.#pending.size} requests outstanding`));
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = err;
    if (this.#timer) clearInterval(this.#timer);
    this.readable.off('data', this.#onData);
    this.writable.off('drain', this.#onDrain);
    // Errors after this point have nowhere to go; keep a listener so they
    // are not thrown as unhandled 'error' events.
    this.readable.on('error', noop);
    this.writable.on('error', noop);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#takesParts.clear();
    for (const cb of pending) cb(err, 0, EMPTY);
    for (const f of this.#drainWaiters.splice(0)) f(err);
    for (const f of this.#closeWaiters.splice(0)) f();
    this.#readyHandler = null;
    this.writable.end();
    // A Duplex that is not ours to keep (an SSH channel) closes with it.
    if (!this.readable.destroyed) this.readable.destroy();
    if (!this.writable.destroyed) this.writable.destroy();
  }
}

const EMPTY = Buffer.alloc(0);
/** Bytes queued on the stream above which bulk senders pause (see needsDrain). */
const CONGESTION_BYTES = 8 * 1024 * 1024;
function noop(): void {}

/**
 * A reader over a reply after its type and id, checking the type. A STATUS
 * reply where another was expected becomes the matching SFTPError.
 */
export function replyReader(body: Buffer, expect: number, what: string, path?: string): SSHReader {
  const r = new SSHReader(body, `SFTP ${what}`);
  const type = r.byte();
  r.uint32();
  if (type === expect) return r;
  if (type === FXP.STATUS) throw statusError(readStatus(r), what, path);
  throw new ProtocolError(`SFTP ${what}: unexpected reply type ${type}`);
}

/** The SFTPError for a non-OK STATUS. */
export function statusError(st: { code: number; message: string }, what: string, path?: string): SFTPError {
  const where = path === undefined ? '' : ` ${JSON.stringify(path)}`;
  return new SFTPError(`${what}${where}: ${st.message}`, st.code, path);
}

/** Checks a reply that must be STATUS OK. */
export function expectOk(body: Buffer, what: string, path?: string): void {
  const r = new SSHReader(body, `SFTP ${what}`);
  const type = r.byte();
  r.uint32();
  if (type !== FXP.STATUS) throw new ProtocolError(`SFTP ${what}: expected STATUS, got type ${type}`);
  const st = readStatus(r);
  if (st.code !== FX.OK) throw statusError(st, what, path);
}

/** Writes one path or handle argument (helper for request builders). */
export type Fill = (w: SSHWriter) => void;
