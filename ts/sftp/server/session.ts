/**
 * The server side of the SFTP protocol (draft-ietf-secsh-filexfer-02, version
 * 3, and the OpenSSH extensions) over any byte stream, usually an SSH
 * session channel after `subsystem sftp`. Requests are decoded here and
 * answered by an SFTPServerInterface.
 *
 * Pipelining: requests start as they arrive and replies go out as they
 * complete. Path operations (open, stat, rename, ...) run one after another
 * in arrival order, so a client that pipelines dependent operations sees
 * them in order; reads and writes on handles overlap (see HandleQueue).
 * At most `maxInFlight` requests run at once and nothing new starts while
 * the reply stream is backed up: the stream is paused, the channel stops
 * crediting its window, and the client has to wait. A malformed packet
 * length ends the session with a ProtocolError.
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
  encodeHandle,
  encodeName,
  encodePacket,
  encodeStatus,
  encodeVersion,
  lossyUtf8,
  SFTPFramer,
  type SFTPNameEntry,
} from '../../wire/sftpPacket.js';
import { SFTPAttributes } from '../attributes.js';
import { HandleQueue } from './handleQueue.js';
import type { SFTPHandle, SFTPServerInterface, SFTPStatVFSInfo } from './interface.js';
import { statusOf } from './status.js';

/** Largest read or write we serve, advertised in limits@openssh.com. */
export const SFTP_MAX_IO = 256 * 1024;
/** Largest packet we accept: a 256 KiB WRITE plus its header and a long handle. */
export const SFTP_MAX_PACKET = SFTP_MAX_IO + 1024;
const READDIR_BATCH = 100;
const COPY_CHUNK = 64 * 1024;
/** Bytes of replies waiting to go out before we stop starting new requests. */
const REPLY_BACKLOG = 1024 * 1024;

export interface SFTPServerSessionOptions {
  /** Requests processed at once; more wait in the channel (flow control). Default 32. */
  maxInFlight?: number;
  /** Open handles per session. Default 1024. */
  maxHandles?: number;
  /** User name, for `home-directory` and diagnostics. */
  username?: string;
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
  readonly done: Promise<Error | null>;
  readonly #stream: Duplex;
  readonly #fs: SFTPServerInterface;
  readonly #framer = new SFTPFramer(SFTP_MAX_PACKET);
  readonly #maxInFlight: number;
  readonly #maxHandles: number;
  readonly #username: string;
  readonly #debug: (m: string) => void;
  readonly #handles = new Map<number, OpenHandle>();
  #nextHandle = 1;
  #initialized = false;
  #inFlight = 0;
  #paused = false;
  #pathChain: Promise<void> = Promise.resolve();
  #ended = false;
  #finished = false;
  #resolveDone!: (e: Error | null) => void;
  #idle: (() => void) | null = null;

  constructor(stream: Duplex, fs: SFTPServerInterface, opts: SFTPServerSessionOptions = {}) {
    this.#stream = stream;
    this.#fs = fs;
    this.#maxInFlight = opts.maxInFlight ?? 32;
    this.#maxHandles = opts.maxHandles ?? 1024;
    this.#username = opts.username ?? '';
    const sink = opts.debug;
    this.#debug = sink ? (m) => sink(`sftp-server: ${m}`) : () => {};
    this.done = new Promise((r) => (this.#resolveDone = r));
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
      this.#framer.push(chunk, this.#onPacket);
    } catch (err) {
      const e = err instanceof SSHException ? err : new ProtocolError(`SFTP: ${(err as Error)?.message ?? String(err)}`);
      this.#debug(`closing session: ${e.message}`);
      void this.#finish(e);
    }
  };

  readonly #onPacket = (body: Buffer): void => {
    if (this.#ended) return;
    const type = body[0]!;
    if (!this.#initialized) {
      if (type !== FXP.INIT) throw new ProtocolError(`SFTP: expected INIT, got packet type ${type}`);
      this.#initialized = true;
      void this.#start();
      return;
    }
    if (body.length < 5) throw new ProtocolError(`SFTP: packet type ${type} too short for a request id`);
    const id = body.readUInt32BE(1);
    this.#inFlight++;
    this.#checkPause();
    this.#handle(type, id, body).finally(() => {
      this.#inFlight--;
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
    ];
    this.#send(encodeVersion(SFTP_VERSION, ext));
  }

  #checkPause(): void {
    if (this.#paused) return;
    if (this.#inFlight >= this.#maxInFlight || this.#stream.writableLength > REPLY_BACKLOG) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  readonly #maybeResume = (): void => {
    if (!this.#paused || this.#ended) return;
    if (this.#inFlight < this.#maxInFlight && this.#stream.writableLength <= REPLY_BACKLOG) {
      this.#paused = false;
      this.#stream.resume();
    }
  };

  #send(buf: Uint8Array): void {
    if (this.#finished || this.#stream.destroyed || this.#stream.writableEnded) return;
    this.#stream.write(buf);
  }

  // ─────────────────────────── dispatch ───────────────────────────

  async #handle(type: number, id: number, body: Buffer): Promise<void> {
    const r = new SSHReader(body, `SFTP ${OPS[type] ?? type}`, 5);
    try {
      await this.#dispatch(type, id, r);
    } catch (err) {
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
  }

  /** Path operations: one at a time, in arrival order. */
  #ordered<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#pathChain.then(fn);
    this.#pathChain = p.then(
      () => {},
      () => {},
    );
    return p;
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
    this.#send(encodeStatus(id, FX.OK, 'Success'));
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
          const hb = this.#addHandle({ handle, entries: null, pos: 0, queue: new HandleQueue(), closing: false });
          this.#send(encodeHandle(id, hb));
        });
      }
      case FXP.OPENDIR: {
        const path = this.#path(r);
        return this.#ordered(async () => {
          if (this.#handles.size >= this.#maxHandles) throw new FailStatus(FX.FAILURE, 'too many open handles');
          const entries = unwrap(await this.#need('listFolder')(path));
          const hb = this.#addHandle({ handle: null, entries: [...entries], pos: 0, queue: new HandleQueue(), closing: false });
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
        return h.queue.run('read', async () => {
          const fh = h.handle;
          if (!fh?.read) throw new FailStatus(fh ? FX.OP_UNSUPPORTED : FX.FAILURE, 'not readable');
          const data = unwrap(await fh.read(offset, length));
          if (!data || data.length === 0) throw new FailStatus(FX.EOF, 'End of file');
          const d = data.length > length ? data.subarray(0, length) : data;
          this.#send(encodeDataHeader(id, d.length));
          this.#send(d);
        });
      }
      case FXP.WRITE: {
        const { h } = this.#lookup(r);
        const offset = safeOffset(r);
        const data = r.string(SFTP_MAX_IO);
        return h.queue.run('write', async () => {
          const fh = h.handle;
          if (!fh?.write) throw new FailStatus(fh ? FX.OP_UNSUPPORTED : FX.FAILURE, 'not writable');
          unwrap(await fh.write(offset, data));
          this.#ok(id);
        });
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

  async #copyData(id: number, r: SSHReader): Promise<void> {
    const src = this.#lookup(r).h;
    let readOffset = safeOffset(r);
    const length = safeOffset(r);
    const dst = this.#lookup(r).h;
    let writeOffset = safeOffset(r);
    if (!src.handle?.read || !dst.handle?.write) throw new FailStatus(FX.OP_UNSUPPORTED, 'handles cannot be copied');
    const read = src.handle.read.bind(src.handle);
    const write = dst.handle.write.bind(dst.handle);
    return dst.queue.run('other', async () => {
      // length 0 means "until end of file".
      let left = length === 0 ? Number.MAX_SAFE_INTEGER : length;
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
