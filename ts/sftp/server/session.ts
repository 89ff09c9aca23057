/**
 * The server side of the SFTP protocol (draft-ietf-secsh-filexfer-02, version
 * 3, and the OpenSSH extensions) over any byte stream, usually an SSH
 * session channel after `subsystem sftp`. Requests are decoded here and
 * answered by an SFTPServerInterface.
 *
 * Pipelining: requests start as they arrive and replies go out as they
 * complete. Path operations (open, stat, rename, ...) run one after another
 * in arrival order, so a client that pipelines dependent operations sees
 * them in order; reads and writes on handles overlap (see HandleQueue), and
 * a handle with `writev` gets contiguous WRITEs coalesced (WriteBatcher).
 * At most `maxInFlight` requests (and MAX_INFLIGHT_BYTES of their data) run
 * at once and nothing new starts while the reply stream is backed up: the
 * stream is paused, the channel stops crediting its window, and the client
 * has to wait. A malformed packet length ends the session with a ProtocolError.
 *
 * Bulk data is not copied: a WRITE's data reaches the handle as views of the
 * channel's chunks (RequestFramer), and replies made in one tick leave as one
 * channel write (the stream is corked until the next tick), so a batch of
 * WRITE completions costs one SSH packet rather than one each. A READ on a
 * handle with `readInto` reads straight into its DATA reply (header room in
 * front), one buffer and one write per reply; on an SSH channel, whose write
 * callback means the bytes were copied, that buffer is reused (ReadBufferPool).
 */
import { constants as fsc } from 'node:fs';
import type { Duplex } from 'node:stream';
import { ProtocolError, SSHException } from '../../errors.js';
import { SSHReader } from '../../wire/reader.js';
import { SSHWriter } from '../../wire/writer.js';
import { readAttrs, type FileAttrs } from '../../wire/sftpAttrs.js';
import { EXT, FX, FXF, FXP, SFTP_VERSION } from '../../wire/sftpConstants.js';
import {
  encodeAttrs,
  encodeDataHeader,
  writeDataHeader,
  encodeHandle,
  encodeName,
  encodePacket,
  encodeStatus,
  encodeVersion,
  lossyUtf8,
  type SFTPNameEntry,
} from '../../wire/sftpPacket.js';
import { Channel } from '../../connection/channel.js';
import { InOrder } from '../../connection/inOrder.js';
import { SFTPAttributes } from '../attributes.js';
import { HandleQueue } from './handleQueue.js';
import type { SFTPHandle, SFTPServerInterface, SFTPStatVFSInfo } from './interface.js';
import { normalizeClientPath } from './localPaths.js';
import { RequestFramer } from './requestFramer.js';
import { DATA_HEADER, ReadBufferPool } from './readBuffers.js';
import { okStatus, statusOf } from './status.js';
import { WriteBatcher } from './writeBatcher.js';
import { CHECK_FILE_HASHES, CheckFileRefused, chooseCheckFileHash, hashFileRange } from './checkFile.js';

/** Largest read or write we serve, advertised in limits@openssh.com. */
export const SFTP_MAX_IO = 256 * 1024;
/** Largest packet we accept: a 256 KiB WRITE plus its header and a long handle. */
export const SFTP_MAX_PACKET = SFTP_MAX_IO + 1024;
const READDIR_BATCH = 100;
const COPY_CHUNK = 64 * 1024;
/** Bytes of replies waiting to go out before we stop starting new requests. */
const REPLY_BACKLOG = 1024 * 1024;
/**
 * Bytes of WRITE data and READ lengths in running requests before we stop
 * starting new ones: 64 of OpenSSH's 32 KiB requests fit, and 255 KiB ones
 * (sftp -B) cannot pin more than this per session.
 */
const MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;
/** Longest handle we accept in a request (ours are 4 bytes). */
const MAX_HANDLE = 256;

/** Options of `new SFTPServerSession(stream, fs, opts)`. */
export interface SFTPServerSessionOptions {
  /** Requests processed at once; more wait in the channel (flow control). Default 64, as many as OpenSSH's sftp keeps outstanding. */
  maxInFlight?: number;
  /** Open handles per session. Default 1024. */
  maxHandles?: number;
  /** User name, for `home-directory` and diagnostics. */
  username?: string;
  /**
   * Receives diagnostics (malformed requests, hooks that threw, why the
   * session closed), each prefixed "sftp-server: ". Default: dropped.
   */
  debug?: (message: string) => void;
}

class FailStatus {
  constructor(
    readonly code: number,
    readonly message?: string,
  ) {}
}

interface OpenHandle {
  handle: SFTPHandle | null;
  /** Directory listing, for handles from OPENDIR. */
  entries: SFTPAttributes[] | null;
  pos: number;
  queue: HandleQueue;
  closing: boolean;
  /** Coalesces WRITEs, for handles with `writev`. */
  writer: WriteBatcher | null;
  /** The path a file handle was opened with, normalized (null for directories): copy-data refuses a copy onto the same path. */
  path: string | null;
}

/** A WRITE that could not be parsed: answered with SSH_FX_BAD_MESSAGE, like any malformed body. */
function badWrite(why: string): ProtocolError {
  return new ProtocolError(`SFTP WRITE: ${why}`);
}

const OPS: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(FXP).map(([k, v]) => [v, k]));

/** Unwraps an interface result: a number is a failure status (OK counts as success). */
function unwrap<T>(v: T | number): T {
  if (typeof v === 'number') {
    if (v === FX.OK) return undefined as T;
    throw new FailStatus(v);
  }
  return v;
}

function openFlags(pflags: number): number {
  let f: number;
  if (pflags & FXF.READ && pflags & FXF.WRITE) f = fsc.O_RDWR;
  else if (pflags & FXF.WRITE) f = fsc.O_WRONLY;
  else f = fsc.O_RDONLY;
  if (pflags & FXF.APPEND) f |= fsc.O_APPEND;
  if (pflags & FXF.CREAT) f |= fsc.O_CREAT;
  if (pflags & FXF.TRUNC) f |= fsc.O_TRUNC;
  if (pflags & FXF.EXCL) f |= fsc.O_EXCL;
  return f;
}

/** The handle's writev as a VectorWriter: a status result becomes a failure. */
function vectorWriter(handle: SFTPHandle): (offset: number, parts: Uint8Array[]) => Promise<void> {
  return async (offset, parts) => {
    unwrap(await handle.writev!(offset, parts));
  };
}

function safeOffset(r: SSHReader): number {
  const v = r.uint64();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FailStatus(FX.FAILURE, 'offset beyond 2^53');
  return Number(v);
}

/**
 * One SFTP session. Construct it on a stream whose peer is an SFTP client;
 * `done` resolves when the session is over (null: the client closed it;
 * else the protocol error that ended it).
 */
export class SFTPServerSession {
  /**
   * Resolves once the session is over and its open handles are closed: null
   * when the stream ended or closed, else the protocol or stream error that
   * ended it. Never rejects.
   */
  readonly done: Promise<Error | null>;
  readonly #stream: Duplex;
  readonly #fs: SFTPServerInterface;
  readonly #framer = new RequestFramer(SFTP_MAX_PACKET);
  readonly #maxInFlight: number;
  readonly #maxHandles: number;
  readonly #username: string;
  readonly #debug: (m: string) => void;
  readonly #handles = new Map<number, OpenHandle>();
  #nextHandle = 1;
  #initialized = false;
  #inFlight = 0;
  #inFlightBytes = 0;
  #paused = false;
  #corked = false;
  readonly #pathOrder = new InOrder();
  #ended = false;
  #finished = false;
  #resolveDone!: (e: Error | null) => void;
  #idle: (() => void) | null = null;
  /** Reused READ reply buffers; null when the stream may keep written chunks (anything but a Channel). */
  readonly #readBuffers: ReadBufferPool | null;

  constructor(stream: Duplex, fs: SFTPServerInterface, opts: SFTPServerSessionOptions = {}) {
    this.#stream = stream;
    this.#fs = fs;
    this.#maxInFlight = opts.maxInFlight ?? 64;
    this.#maxHandles = opts.maxHandles ?? 1024;
    this.#username = opts.username ?? '';
    const sink = opts.debug;
    this.#debug = sink ? (m) => sink(`sftp-server: ${m}`) : () => {};
    this.done = new Promise((r) => (this.#resolveDone = r));
    // A Channel calls a write back once the transport has copied the bytes
    // (or dropped them); any other Duplex may hand the chunk on by reference.
    this.#readBuffers = stream instanceof Channel ? new ReadBufferPool(MAX_INFLIGHT_BYTES + REPLY_BACKLOG) : null;
    stream.on('data', this.#onData);
    stream.once('end', () => void this.#finish(null));
    stream.once('close', () => void this.#finish(null));
    stream.on('error', (err: Error) => void this.#finish(err));
    stream.on('drain', this.#maybeResume);
  }

  // ─────────────────────────── input ───────────────────────────

  readonly #onData = (chunk: Buffer): void => {
    if (this.#ended) return;
    try {
      this.#framer.push(chunk, this.#onRequest);
    } catch (err) {
      const e = err instanceof SSHException ? err : new ProtocolError(`SFTP: ${(err as Error)?.message ?? String(err)}`);
      this.#debug(`closing session: ${e.message}`);
      void this.#finish(e);
    }
  };

  /** One request: `head` is the whole body, or its start with `rest` the views after it (RequestFramer). */
  readonly #onRequest = (head: Buffer, rest: Buffer[] | null): void => {
    if (this.#ended) return;
    const type = head[0]!;
    if (!this.#initialized) {
      if (type !== FXP.INIT) throw new ProtocolError(`SFTP: expected INIT, got packet type ${type}`);
      this.#initialized = true;
      void this.#start();
      return;
    }
    if (head.length < 5) throw new ProtocolError(`SFTP: packet type ${type} too short for a request id`);
    const id = head.readUInt32BE(1);
    let bytes = 0;
    let run: Promise<void>;
    if (type === FXP.WRITE) {
      bytes = head.length;
      if (rest) for (let i = 0; i < rest.length; i++) bytes += rest[i]!.length;
      run = this.#write(id, head, rest);
    } else {
      // Only WRITEs are big; anything else split over chunks is joined (rare, and short).
      const body = rest ? Buffer.concat([head, ...rest]) : head;
      if (type === FXP.READ && body.length >= 13) bytes = Math.min(SFTP_MAX_IO, body.readUInt32BE(body.length - 4));
      run = this.#handle(type, id, body);
    }
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    this.#checkPause();
    // #handle and #write never reject: failures become STATUS replies.
    void run.then(() => {
      this.#inFlight--;
      this.#inFlightBytes -= bytes;
      this.#maybeResume();
      if (this.#inFlight === 0) this.#idle?.();
    });
  };

  async #start(): Promise<void> {
    try {
      await this.#fs.sessionStarted?.();
    } catch (err) {
      this.#debug(`sessionStarted failed: ${(err as Error)?.message ?? String(err)}`);
    }
    const ext: [string, string][] = [
      [EXT.POSIX_RENAME, '1'],
      [EXT.STATVFS, '2'],
      [EXT.FSTATVFS, '2'],
      [EXT.HARDLINK, '1'],
      [EXT.FSYNC, '1'],
      [EXT.LSETSTAT, '1'],
      [EXT.LIMITS, '1'],
      [EXT.EXPAND_PATH, '1'],
      [EXT.COPY_DATA, '1'],
      [EXT.HOME_DIRECTORY, '1'],
      [EXT.USERS_GROUPS_BY_ID, '1'],
      [EXT.CHECK_FILE_HANDLE, CHECK_FILE_HASHES.join(',')],
    ];
    this.#send(encodeVersion(SFTP_VERSION, ext));
  }

  #checkPause(): void {
    if (this.#paused) return;
    if (this.#inFlight >= this.#maxInFlight || this.#inFlightBytes > MAX_INFLIGHT_BYTES || this.#stream.writableLength > REPLY_BACKLOG) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  readonly #maybeResume = (): void => {
    if (!this.#paused || this.#ended) return;
    if (this.#inFlight < this.#maxInFlight && this.#inFlightBytes <= MAX_INFLIGHT_BYTES && this.#stream.writableLength <= REPLY_BACKLOG) {
      this.#paused = false;
      this.#stream.resume();
    }
  };

  #send(buf: Uint8Array): void {
    if (this.#finished || this.#stream.destroyed || this.#stream.writableEnded) return;
    this.#cork();
    this.#stream.write(buf);
  }

  #cork(): void {
    if (!this.#corked) {
      // Replies made in this tick (a batch of WRITEs completing together)
      // reach the channel as one write, hence one SSH packet.
      this.#corked = true;
      this.#stream.cork();
      process.nextTick(this.#uncork);
    }
  }

  /**
   * Sends `buf[0, len)`, a reply in a buffer from `#readBuffers` (or a fresh
   * one); the buffer goes back to the pool once the write has called back
   * without an error, i.e. once the channel is done with the bytes. The
   * callback also lets a session paused for its reply backlog resume as soon
   * as the backlog is below the limit again, rather than at 'drain' (an empty
   * buffer), which would leave the channel idle while new READs get going.
   */
  #sendOwned(buf: Buffer, len: number): void {
    const pool = this.#readBuffers;
    if (this.#finished || this.#stream.destroyed || this.#stream.writableEnded) {
      pool?.give(buf);
      return;
    }
    this.#cork();
    const chunk = len === buf.length ? buf : buf.subarray(0, len);
    this.#stream.write(chunk, (err) => {
      if (err == null) pool?.give(buf);
      this.#maybeResume();
    });
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#stream.uncork();
  };

  // ─────────────────────────── dispatch ───────────────────────────

  async #handle(type: number, id: number, body: Buffer): Promise<void> {
    const r = new SSHReader(body, `SFTP ${OPS[type] ?? type}`, 5);
    try {
      await this.#dispatch(type, id, r);
    } catch (err) {
      this.#fail(type, id, err);
    }
  }

  /** Answers a failed request with the matching STATUS. */
  #fail(type: number, id: number, err: unknown): void {
    if (err instanceof FailStatus) {
      this.#send(encodeStatus(id, err.code, err.message));
    } else if (err instanceof ProtocolError) {
      // A malformed request body: answer it, the stream itself is still in sync.
      this.#debug(`bad request ${OPS[type] ?? type}: ${err.message}`);
      this.#send(encodeStatus(id, FX.BAD_MESSAGE, 'Bad message'));
    } else {
      const s = statusOf(err);
      this.#send(encodeStatus(id, s.code, s.message));
    }
  }

  /**
   * SSH_FXP_WRITE, parsed straight from the head (the header always fits in
   * it, see REQUEST_HEAD) with the data left as views. Checks and statuses
   * are those of the general path: a truncated or oversized field is
   * BAD_MESSAGE, an unknown handle FAILURE.
   */
  #write(id: number, head: Buffer, rest: Buffer[] | null): Promise<void> {
    let h: OpenHandle;
    let offset: number;
    let length: number;
    let parts: Buffer[];
    try {
      let p = 5;
      if (head.length < p + 4) throw badWrite('truncated handle');
      const hlen = head.readUInt32BE(p);
      p += 4;
      if (hlen > MAX_HANDLE) throw badWrite(`handle of ${hlen} bytes exceeds limit ${MAX_HANDLE}`);
      if (head.length < p + hlen) throw badWrite('truncated handle');
      const found = hlen === 4 ? this.#handles.get(head.readUInt32BE(p)) : undefined;
      if (!found || found.closing) throw new FailStatus(FX.FAILURE, 'Invalid handle');
      h = found;
      p += hlen;
      if (head.length < p + 12) throw badWrite('truncated offset or length');
      const hi = head.readUInt32BE(p);
      if (hi > 0x1fffff) throw new FailStatus(FX.FAILURE, 'offset beyond 2^53');
      offset = hi * 0x100000000 + head.readUInt32BE(p + 4);
      length = head.readUInt32BE(p + 8);
      p += 12;
      if (length > SFTP_MAX_IO) throw badWrite(`data of ${length} bytes exceeds limit ${SFTP_MAX_IO}`);
      // The data: the head's tail, then views of the rest, exactly `length` bytes.
      const first = head.subarray(p, Math.min(head.length, p + length));
      parts = first.length > 0 ? [first] : [];
      let got = first.length;
      if (rest) {
        for (let i = 0; i < rest.length && got < length; i++) {
          const v = rest[i]!;
          const take = Math.min(v.length, length - got);
          parts.push(take === v.length ? v : v.subarray(0, take));
          got += take;
        }
      }
      if (got < length) throw badWrite(`truncated data (need ${length} bytes, ${got} left)`);
    } catch (err) {
      this.#fail(FXP.WRITE, id, err);
      return Promise.resolve();
    }
    const writer = h.writer;
    const run = writer
      ? h.queue.run('write', () => writer.write(offset, parts, length))
      : h.queue.run('write', async () => {
          const fh = h.handle;
          if (!fh?.write) throw new FailStatus(fh ? FX.OP_UNSUPPORTED : FX.FAILURE, 'not writable');
          unwrap(await fh.write(offset, parts.length === 1 ? parts[0]! : Buffer.concat(parts, length)));
        });
    return run.then(
      () => this.#send(okStatus(id)),
      (err: unknown) => this.#fail(FXP.WRITE, id, err),
    );
  }

  /** SSH_FXP_READ: DATA, or EOF at end of file. */
  async #read(h: OpenHandle, id: number, offset: number, length: number): Promise<void> {
    const fh = h.handle;
    if (fh?.readInto) {
      const pool = this.#readBuffers;
      const buf = pool ? pool.take(DATA_HEADER + length) : Buffer.allocUnsafe(DATA_HEADER + length);
      // On a throw the buffer is simply dropped: a failed implementation might still write to it.
      const n = await fh.readInto(offset, buf, DATA_HEADER, length);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > length) {
        throw new FailStatus(FX.FAILURE, `readInto returned ${String(n)} for ${length} bytes`);
      }
      if (n === 0) {
        pool?.give(buf);
        throw new FailStatus(FX.EOF, 'End of file');
      }
      writeDataHeader(buf, id, n);
      this.#sendOwned(buf, DATA_HEADER + n);
      return;
    }
    if (!fh?.read) throw new FailStatus(fh ? FX.OP_UNSUPPORTED : FX.FAILURE, 'not readable');
    const data = unwrap(await fh.read(offset, length));
    if (!data || data.length === 0) throw new FailStatus(FX.EOF, 'End of file');
    const d = data.length > length ? data.subarray(0, length) : data;
    this.#send(encodeDataHeader(id, d.length));
    this.#send(d);
  }

  /** Path operations: one at a time, in arrival order. */
  #ordered<T>(fn: () => Promise<T>): Promise<T> {
    return this.#pathOrder.run(fn);
  }

  #path(r: SSHReader): string {
    return lossyUtf8(r.string(65536));
  }

  #attrs(r: SSHReader): SFTPAttributes {
    return SFTPAttributes.fromFileAttrs(readAttrs(r));
  }

  #lookup(r: SSHReader): { key: number; h: OpenHandle } {
    const raw = r.string(256);
    const h = raw.length === 4 ? this.#handles.get(Buffer.from(raw).readUInt32BE(0)) : undefined;
    if (!h || h.closing) throw new FailStatus(FX.FAILURE, 'Invalid handle');
    return { key: Buffer.from(raw).readUInt32BE(0), h };
  }

  #need<K extends keyof SFTPServerInterface>(name: K): NonNullable<SFTPServerInterface[K]> {
    const f = this.#fs[name];
    if (typeof f !== 'function') throw new FailStatus(FX.OP_UNSUPPORTED, 'Operation unsupported');
    return (f as (...a: unknown[]) => unknown).bind(this.#fs) as NonNullable<SFTPServerInterface[K]>;
  }

  #ok(id: number): void {
    this.#send(okStatus(id));
  }

  #addHandle(h: OpenHandle): Buffer {
    if (this.#handles.size >= this.#maxHandles) throw new FailStatus(FX.FAILURE, `too many open handles (${this.#maxHandles})`);
    let key = this.#nextHandle;
    while (this.#handles.has(key)) key = (key + 1) >>> 0 || 1;
    this.#nextHandle = (key + 1) >>> 0 || 1;
    this.#handles.set(key, h);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(key, 0);
    return b;
  }

  #name(id: number, path: string, attrs?: SFTPAttributes): void {
    this.#send(encodeName(id, [{ filename: path, longname: attrs ? attrs.toString() : path, attrs: attrs?.toFileAttrs() ?? {} }]));
  }

  async #dispatch(type: number, id: number, r: SSHReader): Promise<void> {
    const fs = this.#fs;
    switch (type) {
      case FXP.OPEN: {
        const path = this.#path(r);
        const pflags = r.uint32();
        const attrs = this.#attrs(r);
        return this.#ordered(async () => {
          if (this.#handles.size >= this.#maxHandles) throw new FailStatus(FX.FAILURE, 'too many open handles');
          const handle = unwrap(await this.#need('open')(path, openFlags(pflags), attrs));
          const writer = typeof handle.writev === 'function' ? new WriteBatcher(vectorWriter(handle)) : null;
          const hb = this.#addHandle({ handle, entries: null, pos: 0, queue: new HandleQueue(), closing: false, writer, path: normalizeClientPath(path) });
          this.#send(encodeHandle(id, hb));
        });
      }
      case FXP.OPENDIR: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          if (this.#handles.size >= this.#maxHandles) throw new FailStatus(FX.FAILURE, 'too many open handles');
          const entries = unwrap(await this.#need('listFolder')(path));
          const hb = this.#addHandle({ handle: null, entries: [...entries], pos: 0, queue: new HandleQueue(), closing: false, writer: null, path: null });
          this.#send(encodeHandle(id, hb));
        });
      }
      case FXP.READDIR: {
        const { h } = this.#lookup(r);
        return h.queue.run('other', async () => {
          if (!h.entries) throw new FailStatus(FX.FAILURE, 'not a directory handle');
          if (h.pos >= h.entries.length) throw new FailStatus(FX.EOF, 'End of file');
          const batch = h.entries.slice(h.pos, h.pos + READDIR_BATCH);
          h.pos += batch.length;
          const out: SFTPNameEntry[] = batch.map((a) => ({ filename: a.filename, longname: a.longname || a.toString(), attrs: a.toFileAttrs() }));
          this.#send(encodeName(id, out));
        });
      }
      case FXP.CLOSE: {
        const { key, h } = this.#lookup(r);
        h.closing = true;
        return h.queue.run('other', async () => {
          this.#handles.delete(key);
          if (h.handle?.close) unwrap(await h.handle.close());
          this.#ok(id);
        });
      }
      case FXP.READ: {
        const { h } = this.#lookup(r);
        const offset = safeOffset(r);
        const length = Math.min(r.uint32(), SFTP_MAX_IO);
        return h.queue.run('read', () => this.#read(h, id, offset, length));
      }
      case FXP.FSTAT: {
        const { h } = this.#lookup(r);
        return h.queue.run('other', async () => {
          if (!h.handle?.stat) throw new FailStatus(FX.OP_UNSUPPORTED, 'Operation unsupported');
          this.#send(encodeAttrs(id, unwrap(await h.handle.stat()).toFileAttrs()));
        });
      }
      case FXP.FSETSTAT: {
        const { h } = this.#lookup(r);
        const attrs = this.#attrs(r);
        return h.queue.run('other', async () => {
          if (!h.handle?.chattr) throw new FailStatus(FX.OP_UNSUPPORTED, 'Operation unsupported');
          unwrap(await h.handle.chattr(attrs));
          this.#ok(id);
        });
      }
      case FXP.LSTAT:
      case FXP.STAT: {
        const path = this.#path(r);
        // Version 3 has no flags here, but some clients append a uint32; ignore it.
        return this.#ordered(async () => {
          const a = unwrap(await this.#need(type === FXP.STAT ? 'stat' : 'lstat')(path));
          this.#send(encodeAttrs(id, a.toFileAttrs()));
        });
      }
      case FXP.SETSTAT: {
        const path = this.#path(r);
        const attrs = this.#attrs(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('chattr')(path, attrs));
          this.#ok(id);
        });
      }
      case FXP.REMOVE:
      case FXP.RMDIR: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          unwrap(await this.#need(type === FXP.REMOVE ? 'remove' : 'rmdir')(path));
          this.#ok(id);
        });
      }
      case FXP.MKDIR: {
        const path = this.#path(r);
        const attrs = this.#attrs(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('mkdir')(path, attrs));
          this.#ok(id);
        });
      }
      case FXP.REALPATH: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          const canon = fs.canonicalize ? unwrap(await fs.canonicalize(path)) : defaultCanonicalize(path);
          this.#name(id, canon);
        });
      }
      case FXP.RENAME: {
        const from = this.#path(r);
        const to = this.#path(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('rename')(from, to));
          this.#ok(id);
        });
      }
      case FXP.READLINK: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          const target = unwrap(await this.#need('readlink')(path));
          this.#name(id, target);
        });
      }
      case FXP.SYMLINK: {
        // OpenSSH sends the target first and the link second (the reverse of
        // the draft); every client in use follows OpenSSH.
        const target = this.#path(r);
        const link = this.#path(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('symlink')(target, link));
          this.#ok(id);
        });
      }
      case FXP.EXTENDED:
        return this.#extended(id, r);
      default:
        throw new FailStatus(FX.OP_UNSUPPORTED, `unsupported request type ${type}`);
    }
  }

  async #extended(id: number, r: SSHReader): Promise<void> {
    const name = r.ascii(256);
    switch (name) {
      case EXT.POSIX_RENAME: {
        const from = this.#path(r);
        const to = this.#path(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('posixRename')(from, to));
          this.#ok(id);
        });
      }
      case EXT.HARDLINK: {
        const from = this.#path(r);
        const to = this.#path(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('hardlink')(from, to));
          this.#ok(id);
        });
      }
      case EXT.STATVFS: {
        const path = this.#path(r);
        return this.#ordered(async () => this.#sendStatvfs(id, unwrap(await this.#need('statvfs')(path))));
      }
      case EXT.FSTATVFS: {
        const { h } = this.#lookup(r);
        return h.queue.run('other', async () => {
          if (!h.handle?.statvfs) throw new FailStatus(FX.OP_UNSUPPORTED, 'Operation unsupported');
          this.#sendStatvfs(id, unwrap(await h.handle.statvfs()));
        });
      }
      case EXT.FSYNC: {
        const { h } = this.#lookup(r);
        return h.queue.run('other', async () => {
          if (!h.handle?.fsync) throw new FailStatus(FX.OP_UNSUPPORTED, 'Operation unsupported');
          unwrap(await h.handle.fsync());
          this.#ok(id);
        });
      }
      case EXT.LSETSTAT: {
        const path = this.#path(r);
        const attrs = this.#attrs(r);
        return this.#ordered(async () => {
          unwrap(await this.#need('lchattr')(path, attrs));
          this.#ok(id);
        });
      }
      case EXT.LIMITS:
        this.#send(
          encodePacket(FXP.EXTENDED_REPLY, id, (w) =>
            w.uint64(SFTP_MAX_PACKET).uint64(SFTP_MAX_IO).uint64(SFTP_MAX_IO).uint64(this.#maxHandles),
          ),
        );
        return;
      case EXT.EXPAND_PATH: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          let p = path;
          if (p === '~' || p.startsWith('~/')) {
            const home = this.#fs.homeDirectory ? unwrap(await this.#fs.homeDirectory(this.#username)) : '/';
            p = home.replace(/\/+$/, '') + '/' + p.slice(2);
          } else if (p.startsWith('~')) {
            throw new FailStatus(FX.NO_SUCH_FILE, 'unknown user');
          }
          const canon = this.#fs.canonicalize ? unwrap(await this.#fs.canonicalize(p)) : defaultCanonicalize(p);
          this.#name(id, canon);
        });
      }
      case EXT.HOME_DIRECTORY: {
        const user = r.utf8(1024);
        return this.#ordered(async () => {
          const home = this.#fs.homeDirectory ? unwrap(await this.#fs.homeDirectory(user || this.#username)) : '/';
          this.#name(id, home);
        });
      }
      case EXT.USERS_GROUPS_BY_ID: {
        const uids = readIdList(r.string(65536));
        const gids = readIdList(r.string(65536));
        const users = this.#fs.userNames ? await this.#fs.userNames(uids) : uids.map(() => '');
        const groups = this.#fs.groupNames ? await this.#fs.groupNames(gids) : gids.map(() => '');
        this.#send(encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.string(packStrings(users)).string(packStrings(groups))));
        return;
      }
      case EXT.COPY_DATA:
        return this.#copyData(id, r);
      case EXT.CHECK_FILE_HANDLE:
      case 'check-file': // Paramiko's name for the same request
        return this.#checkFile(id, r);
      default:
        throw new FailStatus(FX.OP_UNSUPPORTED, `unsupported extension ${name.replace(/[^\x20-\x7e]/g, '?')}`);
    }
  }

  #sendStatvfs(id: number, s: SFTPStatVFSInfo): void {
    this.#send(
      encodePacket(FXP.EXTENDED_REPLY, id, (w) => {
        for (const v of [s.bsize, s.frsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.favail, s.fsid, s.flag, s.namemax]) {
          w.uint64(BigInt(Math.max(0, Math.floor(Number(v) || 0))));
        }
      }),
    );
  }

  #checkFile(id: number, r: SSHReader): Promise<void> {
    const { h } = this.#lookup(r);
    const hashes = r.ascii(1024);
    const offset = safeOffset(r);
    const length = safeOffset(r);
    const blockSize = r.uint32();
    const read = h.handle?.read?.bind(h.handle);
    if (!read) throw new FailStatus(FX.OP_UNSUPPORTED, 'this handle cannot be read');
    return h.queue.run('read', async () => {
      try {
        const hash = chooseCheckFileHash(hashes);
        const digests = await hashFileRange(async (o, n) => unwrap(await read(o, n)), hash, offset, length, blockSize, () => this.#ended);
        this.#send(encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.string('check-file').string(hash).raw(digests)));
      } catch (err) {
        if (err instanceof CheckFileRefused) throw new FailStatus(err.status === 'unsupported' ? FX.OP_UNSUPPORTED : FX.FAILURE, err.message);
        throw err;
      }
    });
  }

  /**
   * copy-data: like OpenSSH's sftp-server, a copy within one handle or one
   * path is refused (reading what it just wrote, it could run for ever,
   * a byte at a time), and so is one between two names of one file when
   * the handles tell their identity. Length 0 copies up to the source's
   * size when the copy starts, so a copy onto itself by a name we cannot
   * see through still ends.
   */
  async #copyData(id: number, r: SSHReader): Promise<void> {
    const from = this.#lookup(r);
    const src = from.h;
    let readOffset = safeOffset(r);
    const length = safeOffset(r);
    const to = this.#lookup(r);
    const dst = to.h;
    let writeOffset = safeOffset(r);
    if (!src.handle?.read || !dst.handle?.write) throw new FailStatus(FX.OP_UNSUPPORTED, 'handles cannot be copied');
    const sameFile = async (): Promise<boolean> => {
      if (from.key === to.key || src.path === dst.path) return true;
      if (!src.handle?.identity || !dst.handle?.identity) return false;
      return (await src.handle.identity()) === (await dst.handle.identity());
    };
    if (await sameFile()) throw new FailStatus(FX.FAILURE, 'copy-data: source and destination are the same file');
    const read = src.handle.read.bind(src.handle);
    const write = dst.handle.write.bind(dst.handle);
    const stat = length === 0 && src.handle.stat ? src.handle.stat.bind(src.handle) : null;
    return dst.queue.run('other', async () => {
      // length 0 means "until end of file": the end as the copy starts, when the handle can tell.
      const size = stat ? unwrap(await stat()).st_size : undefined;
      let left = length !== 0 ? length : size !== undefined ? Math.max(0, size - readOffset) : Number.MAX_SAFE_INTEGER;
      while (left > 0) {
        if (this.#ended) throw new FailStatus(FX.CONNECTION_LOST);
        const chunk = unwrap(await read(readOffset, Math.min(COPY_CHUNK, left)));
        if (!chunk || chunk.length === 0) break;
        unwrap(await write(writeOffset, chunk));
        readOffset += chunk.length;
        writeOffset += chunk.length;
        left -= chunk.length;
      }
      if (length !== 0 && left > 0) throw new FailStatus(FX.EOF, 'source ended before length bytes');
      this.#ok(id);
    });
  }

  // ─────────────────────────── ending ───────────────────────────

  async #finish(err: Error | null): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#stream.off('data', this.#onData);
    if (err) {
      // Protocol error: stop at once; replies to anything still running are dropped.
      this.#finished = true;
    } else if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    for (const h of this.#handles.values()) {
      try {
        await h.handle?.close?.();
      } catch {
        // The session is over; a failing close has nobody left to tell.
      }
    }
    this.#handles.clear();
    this.#readBuffers?.close();
    try {
      await this.#fs.sessionEnded?.();
    } catch (e) {
      this.#debug(`sessionEnded failed: ${(e as Error)?.message ?? String(e)}`);
    }
    this.#finished = true;
    if (err) this.#stream.destroy();
    else if (!this.#stream.writableEnded) this.#stream.end();
    this.#resolveDone(err);
  }
}

/** Paramiko's default canonicalize: normpath('/' + path). */
export function defaultCanonicalize(path: string): string {
  const parts: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

function readIdList(b: Uint8Array): number[] {
  if (b.length % 4 !== 0 || b.length / 4 > 16384) throw new ProtocolError('users-groups-by-id: bad id list');
  const r = new SSHReader(b, 'users-groups-by-id');
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.uint32());
  return out;
}

function packStrings(list: readonly string[]): Uint8Array {
  const w = new SSHWriter(64);
  for (const s of list) w.string(s);
  return w.toBytes();
}

export type { FileAttrs };
