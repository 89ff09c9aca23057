/**
 * SFTPClient: Paramiko's SFTPClient in camelCase, async, over any byte
 * stream (an SSH channel running the `sftp` subsystem, or a local
 * `sftp-server` child's stdio). Requests are matched by id and may complete
 * in any order; the stream closing fails every outstanding call with an
 * SFTPError.
 */
import type { Readable, Writable } from 'node:stream';
import { ProtocolError, SFTPError } from '../../errors.js';
import type { SSHWriter } from '../../wire/writer.js';
import { halfPairs, writeAttrs, type FileAttrs } from '../../wire/sftpAttrs.js';
import { FXP, FX, FXF, EXT } from '../../wire/sftpConstants.js';
import { encodePacket, lossyUtf8, readName, readStatus, type SFTPNameEntry } from '../../wire/sftpPacket.js';
import { SSHReader } from '../../wire/reader.js';
import { readAttrs } from '../../wire/sftpAttrs.js';
import { SFTPAttributes } from '../attributes.js';
import { SFTPSession, expectOk, replyReader, statusError, type SFTPStream, type SessionOptions, type SFTPLimits } from './session.js';
import { adjustPath, samePathName } from './paths.js';
import { parseMode } from './mode.js';
import { SFTPFile } from './file.js';
import { SFTPReadStream, SFTPWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';
import { globRemote } from './glob.js';
import { getFile, putFile, getToWritable, putFromReadable, type TransferOptions, type GetOptions, type PutOptions } from '../transfer/fileTransfer.js';
import { getDir, putDir, type TreeOptions } from '../transfer/tree.js';
import { LanePool, type LaneOpener } from './lanes.js';

/** Per-call options: most methods take `{ signal }`. */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * Options of `openSftp` (`conn.sftp()`) and `SFTPClient.fromStream`: the
 * session's timeouts and read-ahead, plus the defaults every transfer starts
 * from (each transfer may override them).
 */
export interface SFTPClientOptions extends SessionOptions {
  /** Default READ/WRITE size; capped by the server's limits. */
  chunkSize?: number;
  /** Default requests in flight per transfer. Default 64. */
  concurrency?: number;
  /**
   * Default SFTP channels a large upload is spread over (see
   * `PutOptions.channels`). Default 2; 1 keeps every transfer on this
   * client's own channel.
   */
  channels?: number;
  /**
   * Receive window of the SFTP channel when `openSftp` opens it. By default
   * it starts at the connection's (2 MiB) and grows with the round trip
   * measured during the handshake: 1 MiB per millisecond from 4 ms, up to
   * 32 MiB, since a get has at most one window in flight per round trip; a
   * fast local link keeps 2 MiB, where more only adds buffering. Set it to
   * fix the size instead. A download's memory stays bounded by `readAhead`.
   */
  window?: number;
}

/** statvfs@openssh.com reply, named like POSIX struct statvfs. */
export interface SFTPStatVFS {
  /** File system block size (statvfs `f_bsize`). */
  f_bsize: number;
  /** Fragment size: the unit of `f_blocks`, `f_bfree` and `f_bavail`. */
  f_frsize: number;
  /** Size of the file system, in `f_frsize` units. */
  f_blocks: number;
  /** Free blocks. */
  f_bfree: number;
  /** Free blocks available to unprivileged users. */
  f_bavail: number;
  /** Total inodes. */
  f_files: number;
  /** Free inodes. */
  f_ffree: number;
  /** Free inodes available to unprivileged users. */
  f_favail: number;
  /** File system id (a full uint64, hence bigint). */
  f_fsid: bigint;
  /** Mount flags: 0x1 read-only (ST_RDONLY), 0x2 nosuid (ST_NOSUID). */
  f_flag: number;
  /** Longest file name the file system accepts. */
  f_namemax: number;
}

const MAX_HANDLE = 256;
/** Longest readlink/realpath answer we accept. */
const MAX_PATH = 64 * 1024;

/**
 * An SFTP v3 client: Paramiko's `SFTPClient` in camelCase, every call async.
 * Get one from `conn.sftp()` / `openSftp`, or `SFTPClient.fromStream` over any
 * byte stream. Relative paths resolve against the client-side cwd (`chdir`),
 * else go to the server as given. A failed request rejects with SFTPError
 * (`status` the server's SSH_FX_* code, `path` the path); a method needing
 * an extension the server did not advertise rejects with OP_UNSUPPORTED
 * without a round trip (unless it has a fallback, as `expandPath` does); an
 * aborted `signal` rejects with its reason.
 */
export class SFTPClient {
  /** @internal the request engine; exposed for the transfer helpers. */
  readonly session: SFTPSession;
  #cwd: string | null = null;
  readonly #defaults: { chunkSize?: number; concurrency: number; channels: number };
  #lanes: LanePool | null = null;

  private constructor(session: SFTPSession, opts: SFTPClientOptions) {
    this.session = session;
    this.#defaults = { chunkSize: opts.chunkSize, concurrency: opts.concurrency ?? 64, channels: opts.channels ?? 2 };
  }

  /**
   * @internal Lets transfers open more SFTP sessions on the same connection
   * (`openSftp` does this; a client over a plain stream has none).
   */
  useLanes(open: LaneOpener): void {
    const pool = new LanePool(open);
    this.#lanes = pool;
    void this.session.whenClosed().then(() => pool.close());
  }

  /** @internal The extra sessions transfers may borrow, or null. */
  get lanes(): LanePool | null {
    return this.#lanes;
  }

  /**
   * Starts SFTP over an already-open byte stream: a Duplex (an SSH channel
   * after `subsystem('sftp')`) or `{ readable, writable }` (a child
   * process's stdout and stdin). Sends INIT and waits for VERSION.
   */
  static async fromStream(stream: SFTPStream | { readable: Readable; writable: Writable }, opts: SFTPClientOptions = {}): Promise<SFTPClient> {
    const session = new SFTPSession(stream, opts);
    await session.init(opts);
    return new SFTPClient(session, opts);
  }

  /** Protocol version the server answered with. */
  get version(): number {
    return this.session.version;
  }

  /** Extensions the server advertised (name → version). */
  get extensions(): ReadonlyMap<string, string> {
    return this.session.extensions;
  }

  /** The server's limits (from limits@openssh.com, else conservative defaults). */
  get limits(): Readonly<SFTPLimits> {
    return this.session.limits;
  }

  /** True once the session has ended. */
  get closed(): boolean {
    return this.session.closed;
  }

  /** @internal chunk size, requests in flight and SFTP channels for a transfer. */
  transferShape(opts: { chunkSize?: number; concurrency?: number; channels?: number }, direction: 'read' | 'write'): { chunkSize: number; concurrency: number; channels: number } {
    const max = direction === 'read' ? this.session.limits.maxReadLength : this.session.limits.maxWriteLength;
    const want = opts.chunkSize ?? this.#defaults.chunkSize ?? max;
    const chunkSize = Math.max(1, Math.min(want, max));
    const concurrency = Math.max(1, Math.floor(opts.concurrency ?? this.#defaults.concurrency));
    const channels = Math.max(1, Math.floor(opts.channels ?? this.#defaults.channels));
    return { chunkSize, concurrency, channels };
  }

  /** @internal a path resolved against the client-side cwd. */
  resolve(path: string): string {
    if (typeof path !== 'string') throw new SFTPError('path must be a string', FX.FAILURE);
    return adjustPath(this.#cwd, path);
  }

  /** @internal sends one request; `fill` writes the payload after the id. */
  request(type: number, fill: ((w: SSHWriter) => void) | undefined, signal?: AbortSignal, onLate?: Parameters<SFTPSession['call']>[2]): Promise<Buffer> {
    return this.session.call((id) => encodePacket(type, id, fill), signal, onLate);
  }

  async #status(type: number, what: string, path: string | undefined, fill: (w: SSHWriter) => void, opts?: CallOptions): Promise<void> {
    expectOk(await this.request(type, fill, opts?.signal), what, path);
  }

  async #extended(name: string, what: string, path: string | undefined, fill: ((w: SSHWriter) => void) | undefined, opts?: CallOptions): Promise<Buffer> {
    if (!this.session.has(name)) throw new SFTPError(`${what}: server does not support ${name}`, FX.OP_UNSUPPORTED, path);
    return this.request(
      FXP.EXTENDED,
      (w) => {
        w.string(name);
        fill?.(w);
      },
      opts?.signal,
    );
  }

  async #attrsCall(type: number, what: string, path: string | undefined, fill: (w: SSHWriter) => void, opts?: CallOptions): Promise<SFTPAttributes> {
    const r = replyReader(await this.request(type, fill, opts?.signal), FXP.ATTRS, what, path);
    return SFTPAttributes.fromFileAttrs(readAttrs(r));
  }

  async #nameCall(type: number, what: string, path: string | undefined, fill: (w: SSHWriter) => void, opts?: CallOptions): Promise<SFTPNameEntry[]> {
    return readName(replyReader(await this.request(type, fill, opts?.signal), FXP.NAME, what, path));
  }

  /** The single name a REALPATH-like request returns. */
  async #oneName(type: number, what: string, path: string | undefined, fill: (w: SSHWriter) => void, opts?: CallOptions): Promise<string> {
    const names = await this.#nameCall(type, what, path, fill, opts);
    if (names.length !== 1) throw new ProtocolError(`SFTP ${what}: expected one name, got ${names.length}`);
    if (names[0]!.filename.length > MAX_PATH) throw new ProtocolError(`SFTP ${what}: path too long`);
    return names[0]!.filename;
  }

  // ---- handles ----------------------------------------------------------

  /**
   * @internal Opens a remote file and returns its handle. An OPEN abandoned
   * by the signal still gets its handle closed when the reply turns up.
   */
  async openHandle(path: string, pflags: number, attrs: FileAttrs = {}, opts?: CallOptions): Promise<Buffer> {
    const body = await this.request(
      FXP.OPEN,
      (w) => writeAttrs(w.string(path).uint32(pflags), attrs),
      opts?.signal,
      (err, type, late) => {
        if (!err && type === FXP.HANDLE) {
          try {
            const h = replyReader(late, FXP.HANDLE, 'open').string(MAX_HANDLE);
            void this.closeHandle(Buffer.from(h)).catch(() => {});
          } catch {
            // nothing to close
          }
        }
      },
    );
    return this.#handleFrom(body, 'open', path);
  }

  #handleFrom(body: Buffer, what: string, path: string): Buffer {
    const r = replyReader(body, FXP.HANDLE, what, path);
    // Copied: the reply buffer may be a view of a large received chunk.
    return Buffer.from(r.string(MAX_HANDLE));
  }

  /** @internal */
  async closeHandle(handle: Buffer, path?: string, opts?: CallOptions): Promise<void> {
    await this.#status(FXP.CLOSE, 'close', path, (w) => w.string(handle), opts);
  }

  /** @internal SSH_FXP_FSTAT */
  fstatHandle(handle: Buffer, path?: string, opts?: CallOptions): Promise<SFTPAttributes> {
    return this.#attrsCall(FXP.FSTAT, 'stat', path, (w) => w.string(handle), opts);
  }

  /**
   * @internal SSH_FXP_FSETSTAT. One of uid/gid or atime/mtime alone is
   * completed from an FSTAT first (see `setstat`).
   */
  async fsetstatHandle(handle: Buffer, attrs: FileAttrs, path?: string, opts?: CallOptions): Promise<void> {
    const a = await completePairs(attrs, () => this.fstatHandle(handle, path, opts), path);
    await this.#status(FXP.FSETSTAT, 'setstat', path, (w) => writeAttrs(w.string(handle), a), opts);
  }

  /** @internal fsync@openssh.com on a handle. */
  async fsyncHandle(handle: Buffer, path?: string, opts?: CallOptions): Promise<void> {
    expectOk(await this.#extended(EXT.FSYNC, 'fsync', path, (w) => w.string(handle), opts), 'fsync', path);
  }

  /** @internal fstatvfs@openssh.com on a handle. */
  async fstatvfsHandle(handle: Buffer, path?: string, opts?: CallOptions): Promise<SFTPStatVFS> {
    return parseStatVFS(replyReader(await this.#extended(EXT.FSTATVFS, 'fstatvfs', path, (w) => w.string(handle), opts), FXP.EXTENDED_REPLY, 'fstatvfs', path));
  }

  /**
   * @internal check-file on an open handle: the server's digests of the
   * range (see SFTPFile.check). Uses `check-file-handle` (the draft), or
   * `check-file` (Paramiko's server) when that is what the server announced.
   */
  async checkFileHandle(handle: Buffer, path: string, hashAlgorithm: string, offset: number, length: number, blockSize: number, opts?: CallOptions): Promise<Buffer> {
    const name = this.session.has(EXT.CHECK_FILE_HANDLE) || !this.session.has('check-file') ? EXT.CHECK_FILE_HANDLE : 'check-file';
    const body = await this.#extended(name, 'check', path, (w) => w.string(handle).string(hashAlgorithm).uint64(offset).uint64(length).uint32(blockSize), opts);
    const r = replyReader(body, FXP.EXTENDED_REPLY, 'check', path);
    const reply = r.ascii(64);
    const used = r.ascii(64);
    if (reply !== 'check-file' || !hashAlgorithm.split(',').includes(used)) {
      throw new ProtocolError(`SFTP check-file: reply ${JSON.stringify(reply)} with hash ${JSON.stringify(used)} for a request of ${hashAlgorithm}`);
    }
    return Buffer.from(r.rest());
  }

  /** @internal one READDIR batch, or null at end of directory. */
  async readdirHandle(handle: Buffer, path: string, opts?: CallOptions): Promise<SFTPAttributes[] | null> {
    const body = await this.request(FXP.READDIR, (w) => w.string(handle), opts?.signal);
    if (body[0] === FXP.STATUS) {
      const r = new SSHReader(body, 'SFTP readdir');
      r.byte();
      r.uint32();
      const st = readStatus(r);
      if (st.code === FX.EOF) return null;
      throw statusError(st, 'listdir', path);
    }
    return readName(replyReader(body, FXP.NAME, 'listdir', path)).map((e) => SFTPAttributes.fromFileAttrs(e.attrs, e.filename, e.longname));
  }

  /** @internal SSH_FXP_OPENDIR */
  async opendirHandle(path: string, opts?: CallOptions): Promise<Buffer> {
    const body = await this.request(FXP.OPENDIR, (w) => w.string(path), opts?.signal, (err, type, late) => {
      if (!err && type === FXP.HANDLE) void this.closeHandle(Buffer.from(replyReader(late, FXP.HANDLE, 'opendir').string(MAX_HANDLE))).catch(() => {});
    });
    return this.#handleFrom(body, 'opendir', path);
  }

  // ---- Paramiko's SFTPClient ------------------------------------------

  /** Names in a directory (not '.' or '..'), in server order. */
  async listdir(path = '.', opts?: CallOptions): Promise<string[]> {
    return (await this.listdirAttr(path, opts)).map((a) => a.filename);
  }

  /** SFTPAttributes of each entry, with `filename` and `longname` set. */
  async listdirAttr(path = '.', opts?: CallOptions): Promise<SFTPAttributes[]> {
    const out: SFTPAttributes[] = [];
    for await (const a of this.listdirIter(path, opts)) out.push(a);
    return out;
  }

  /**
   * Directory entries as they arrive, with `readAheads` READDIR requests
   * kept in flight (a server answers READDIR in order per handle).
   */
  async *listdirIter(path = '.', opts?: CallOptions & { readAheads?: number }): AsyncGenerator<SFTPAttributes, void, undefined> {
    const p = this.resolve(path);
    const handle = await this.opendirHandle(p, opts);
    const ahead = Math.max(1, opts?.readAheads ?? 8);
    const queue: Array<Promise<SFTPAttributes[] | null>> = [];
    let ended = false;
    const fill = (): void => {
      while (!ended && queue.length < ahead) {
        const q = this.readdirHandle(handle, p, opts);
        // Rejections surface when consumed; keep them from being "unhandled" meanwhile.
        q.catch(() => {});
        queue.push(q);
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const batch = await queue.shift()!;
        if (batch === null) {
          ended = true;
          continue;
        }
        for (const a of batch) if (a.filename !== '.' && a.filename !== '..') yield a;
        fill();
      }
    } finally {
      ended = true;
      // Outstanding READDIRs answer EOF or error; the handle goes either way.
      await Promise.allSettled(queue);
      if (!this.session.closed) await this.closeHandle(handle, p).catch(() => {});
    }
  }

  /** Follows symlinks. */
  stat(path: string, opts?: CallOptions): Promise<SFTPAttributes> {
    const p = this.resolve(path);
    return this.#attrsCall(FXP.STAT, 'stat', p, (w) => w.string(p), opts);
  }

  /** Does not follow symlinks. */
  lstat(path: string, opts?: CallOptions): Promise<SFTPAttributes> {
    const p = this.resolve(path);
    return this.#attrsCall(FXP.LSTAT, 'lstat', p, (w) => w.string(p), opts);
  }

  /** True if `path` exists (stat succeeds); false on NO_SUCH_FILE; other errors throw. */
  async exists(path: string, opts?: CallOptions): Promise<boolean> {
    try {
      await this.stat(path, opts);
      return true;
    } catch (err) {
      if (err instanceof SFTPError && err.status === FX.NO_SUCH_FILE) return false;
      throw err;
    }
  }

  /**
   * Opens a remote file. `mode` as Python's open(): r, w, a, r+, w+, a+, x,
   * each optionally with 'b'. `bufsize` sizes the read buffer.
   */
  async open(path: string, mode = 'r', bufsize = -1, opts?: CallOptions & { mode?: number }): Promise<SFTPFile> {
    const p = this.resolve(path);
    const m = parseMode(mode);
    const attrs: FileAttrs = opts?.mode !== undefined ? { permissions: opts.mode } : {};
    const handle = await this.openHandle(p, m.pflags, attrs, opts);
    const file = new SFTPFile(this, handle, p, m, bufsize);
    if (m.append) {
      try {
        await file.seek(0, 2);
      } catch (err) {
        await file.close().catch(() => {});
        throw err;
      }
    }
    return file;
  }

  /** Alias of `open`, as Paramiko's `file`. */
  file(path: string, mode = 'r', bufsize = -1, opts?: CallOptions): Promise<SFTPFile> {
    return this.open(path, mode, bufsize, opts);
  }

  /**
   * Deletes a file (SSH_FXP_REMOVE), as Paramiko's `SFTPClient.remove`. Not
   * for directories (see `rmdir`); a missing file rejects with NO_SUCH_FILE.
   */
  async remove(path: string, opts?: CallOptions): Promise<void> {
    const p = this.resolve(path);
    await this.#status(FXP.REMOVE, 'remove', p, (w) => w.string(p), opts);
  }

  /** Same as `remove` (Paramiko's `unlink`). */
  unlink(path: string, opts?: CallOptions): Promise<void> {
    return this.remove(path, opts);
  }

  /** SSH_FXP_RENAME: fails if `newpath` exists (v3 semantics). */
  async rename(oldpath: string, newpath: string, opts?: CallOptions): Promise<void> {
    const a = this.resolve(oldpath);
    const b = this.resolve(newpath);
    await this.#status(FXP.RENAME, 'rename', a, (w) => w.string(a).string(b), opts);
  }

  /** posix-rename@openssh.com: atomically replaces `newpath`. */
  async posixRename(oldpath: string, newpath: string, opts?: CallOptions): Promise<void> {
    const a = this.resolve(oldpath);
    const b = this.resolve(newpath);
    expectOk(await this.#extended(EXT.POSIX_RENAME, 'posix-rename', a, (w) => w.string(a).string(b), opts), 'posix-rename', a);
  }

  /**
   * Creates one directory (SSH_FXP_MKDIR) with permission bits `mode`
   * (default 0o777, less the server's umask), as Paramiko's `mkdir`.
   * Parents are not created; an existing path rejects (OpenSSH: FAILURE).
   */
  async mkdir(path: string, mode = 0o777, opts?: CallOptions): Promise<void> {
    const p = this.resolve(path);
    await this.#status(FXP.MKDIR, 'mkdir', p, (w) => writeAttrs(w.string(p), { permissions: mode }), opts);
  }

  /** Removes an empty directory (SSH_FXP_RMDIR), as Paramiko's `rmdir`. */
  async rmdir(path: string, opts?: CallOptions): Promise<void> {
    const p = this.resolve(path);
    await this.#status(FXP.RMDIR, 'rmdir', p, (w) => w.string(p), opts);
  }

  /**
   * Sets attributes by path (SSH_FXP_SETSTAT), following symlinks; only the
   * fields given change. SFTP v3 sends uid with gid and atime with mtime, so
   * when only one of a pair is given the other is first read with `stat`
   * and sent unchanged (two requests, not atomic: a change to the other
   * field in between is undone).
   */
  async setstat(path: string, attrs: FileAttrs | SFTPAttributes, opts?: CallOptions): Promise<void> {
    const p = this.resolve(path);
    const a = await completePairs(attrs instanceof SFTPAttributes ? attrs.toFileAttrs() : attrs, () => this.stat(p, opts), p);
    await this.#status(FXP.SETSTAT, 'setstat', p, (w) => writeAttrs(w.string(p), a), opts);
  }

  /**
   * lsetstat@openssh.com: like setstat but does not follow a final symlink
   * (one of a pair alone is completed with `lstat`).
   */
  async lsetstat(path: string, attrs: FileAttrs | SFTPAttributes, opts?: CallOptions): Promise<void> {
    const p = this.resolve(path);
    if (!this.session.has(EXT.LSETSTAT)) throw new SFTPError(`lsetstat: server does not support ${EXT.LSETSTAT}`, FX.OP_UNSUPPORTED, p);
    const a = await completePairs(attrs instanceof SFTPAttributes ? attrs.toFileAttrs() : attrs, () => this.lstat(p, opts), p);
    expectOk(await this.#extended(EXT.LSETSTAT, 'lsetstat', p, (w) => writeAttrs(w.string(p), a), opts), 'lsetstat', p);
  }

  /** Sets permission bits (SSH_FXP_SETSTAT, following symlinks), as Paramiko's `chmod`. */
  chmod(path: string, mode: number, opts?: CallOptions): Promise<void> {
    return this.setstat(path, { permissions: mode }, opts);
  }

  /** Sets the numeric owner and group (SSH_FXP_SETSTAT), as Paramiko's `chown`. */
  chown(path: string, uid: number, gid: number, opts?: CallOptions): Promise<void> {
    return this.setstat(path, { uid, gid }, opts);
  }

  /** Sets [atime, mtime] in seconds (or Dates); omitted means now. */
  utime(path: string, times?: [number | Date, number | Date] | null, opts?: CallOptions): Promise<void> {
    const [atime, mtime] = toTimes(times);
    return this.setstat(path, { atime, mtime }, opts);
  }

  /** Sets the file's size to `size` bytes (SSH_FXP_SETSTAT), as Paramiko's `truncate`. */
  truncate(path: string, size: number, opts?: CallOptions): Promise<void> {
    return this.setstat(path, { size }, opts);
  }

  /** The target of a symlink. */
  async readlink(path: string, opts?: CallOptions): Promise<string> {
    const p = this.resolve(path);
    return this.#oneName(FXP.READLINK, 'readlink', p, (w) => w.string(p), opts);
  }

  /**
   * Creates symlink `dest` pointing at `source` (Paramiko's order). OpenSSH
   * takes SSH_FXP_SYMLINK's arguments as (target, link), the reverse of the
   * draft; we send what OpenSSH expects, as every client does.
   */
  async symlink(source: string, dest: string, opts?: CallOptions): Promise<void> {
    const d = this.resolve(dest);
    await this.#status(FXP.SYMLINK, 'symlink', d, (w) => w.string(source).string(d), opts);
  }

  /** hardlink@openssh.com: `newpath` becomes another name of `oldpath`. */
  async hardlink(oldpath: string, newpath: string, opts?: CallOptions): Promise<void> {
    const a = this.resolve(oldpath);
    const b = this.resolve(newpath);
    expectOk(await this.#extended(EXT.HARDLINK, 'hardlink', b, (w) => w.string(a).string(b), opts), 'hardlink', b);
  }

  /** The server's canonical absolute form of `path` (SSH_FXP_REALPATH). */
  normalize(path: string, opts?: CallOptions): Promise<string> {
    const p = this.resolve(path);
    return this.#oneName(FXP.REALPATH, 'normalize', p, (w) => w.string(p), opts);
  }

  /** Same as normalize. */
  realpath(path: string, opts?: CallOptions): Promise<string> {
    return this.normalize(path, opts);
  }

  /**
   * expand-path@openssh.com: like realpath, and also expands `~` and
   * `~user`. Falls back to normalize when the server lacks it.
   */
  async expandPath(path: string, opts?: CallOptions): Promise<string> {
    if (!this.session.has(EXT.EXPAND_PATH)) return this.normalize(path, opts);
    const p = path.startsWith('~') ? path : this.resolve(path);
    const r = replyReader(await this.#extended(EXT.EXPAND_PATH, 'expand-path', p, (w) => w.string(p), opts), FXP.NAME, 'expand-path', p);
    const names = readName(r);
    if (names.length !== 1) throw new ProtocolError(`SFTP expand-path: expected one name, got ${names.length}`);
    return names[0]!.filename;
  }

  /**
   * home-directory: a user's home directory. Without a username it is ours,
   * which OpenSSH answers through expand-path '~' (its home-directory
   * refuses an empty name).
   */
  async homeDirectory(username = '', opts?: CallOptions): Promise<string> {
    if (username === '' || !this.session.has(EXT.HOME_DIRECTORY)) return this.expandPath(username ? `~${username}` : '~', opts);
    const r = replyReader(await this.#extended(EXT.HOME_DIRECTORY, 'home-directory', username, (w) => w.string(username), opts), FXP.NAME, 'home-directory', username);
    const names = readName(r);
    if (names.length !== 1) throw new ProtocolError(`SFTP home-directory: expected one name, got ${names.length}`);
    return names[0]!.filename;
  }

  /** users-groups-by-id@openssh.com: names for uids and gids ('' where unknown). */
  async usersGroupsById(uids: number[], gids: number[], opts?: CallOptions): Promise<{ users: string[]; groups: string[] }> {
    const pack = (ids: number[]): Buffer => {
      const b = Buffer.allocUnsafe(ids.length * 4);
      ids.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
      return b;
    };
    const r = replyReader(await this.#extended(EXT.USERS_GROUPS_BY_ID, 'users-groups-by-id', undefined, (w) => w.string(pack(uids)).string(pack(gids)), opts), FXP.EXTENDED_REPLY, 'users-groups-by-id');
    const names = (bytes: Uint8Array, n: number): string[] => {
      const sub = new SSHReader(bytes, 'SFTP users-groups-by-id');
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(lossyUtf8(sub.string(1024)));
      sub.end();
      return out;
    };
    const users = names(r.string(), uids.length);
    const groups = names(r.string(), gids.length);
    return { users, groups };
  }

  /** statvfs@openssh.com on a path. */
  async statvfs(path: string, opts?: CallOptions): Promise<SFTPStatVFS> {
    const p = this.resolve(path);
    return parseStatVFS(replyReader(await this.#extended(EXT.STATVFS, 'statvfs', p, (w) => w.string(p), opts), FXP.EXTENDED_REPLY, 'statvfs', p));
  }

  /**
   * Server-side copy (copy-data): `src` to `dst` without the data crossing
   * the network. `dst` is created if missing; its mode follows `src`'s
   * permission bits. A copy onto the same path is refused (SFTPError
   * FAILURE) before anything is opened. `dst` is not truncated when opened
   * but cut to the source's length once the copy is done, so a `dst` that
   * is the source under another name (a symlink or hard link) is never
   * emptied: the server refuses the copy or rewrites the bytes in place.
   * If the copy fails part-way, `dst` holds the copied prefix followed by
   * whatever it held before.
   */
  async copy(src: string, dst: string, opts?: CallOptions & { overwrite?: boolean }): Promise<void> {
    const a = this.resolve(src);
    const b = this.resolve(dst);
    if (!this.session.has(EXT.COPY_DATA)) throw new SFTPError('copy: server does not support copy-data', FX.OP_UNSUPPORTED, a);
    if (samePathName(a, b)) throw new SFTPError(`copy: ${JSON.stringify(src)} and ${JSON.stringify(dst)} are the same file`, FX.FAILURE, a);
    const st = await this.stat(a, opts);
    const rh = await this.openHandle(a, FXF.READ, {}, opts);
    try {
      const flags = FXF.WRITE | FXF.CREAT | (opts?.overwrite === false ? FXF.EXCL : 0);
      const wh = await this.openHandle(b, flags, st.st_mode !== undefined ? { permissions: st.st_mode & 0o7777 } : {}, opts);
      try {
        const body = await this.#extended(
          EXT.COPY_DATA,
          'copy',
          a,
          (w) => w.string(rh).uint64(0).uint64(0).string(wh).uint64(0),
          opts,
        );
        expectOk(body, 'copy', a);
        // Length 0 copied up to the source's end: what an older, longer dst held past it goes.
        const { st_size: size } = await this.fstatHandle(rh, a, opts);
        if (size === undefined) throw new SFTPError('copy: the server did not report the source size, so the destination could not be cut to it', FX.FAILURE, a);
        await this.fsetstatHandle(wh, { size }, b, opts);
      } finally {
        await this.closeHandle(wh, b).catch(() => {});
      }
    } finally {
      await this.closeHandle(rh, a).catch(() => {});
    }
  }

  /**
   * Changes the client-side working directory (Paramiko keeps it on the
   * client: the protocol has none). `null`/undefined resets it.
   */
  async chdir(path?: string | null, opts?: CallOptions): Promise<void> {
    if (path === undefined || path === null) {
      this.#cwd = null;
      return;
    }
    const st = await this.stat(path, opts);
    if (!st.isDirectory()) throw new SFTPError(`chdir ${JSON.stringify(path)}: not a directory`, FX.NO_SUCH_FILE, this.resolve(path));
    this.#cwd = await this.normalize(path, opts);
  }

  /** The client-side working directory, or null if chdir was never called. */
  getcwd(): string | null {
    return this.#cwd;
  }

  /** Remote paths matching a glob (`*`, `?`, `[...]`, `**`), sorted. */
  glob(pattern: string, opts?: CallOptions): Promise<string[]> {
    return globRemote(this, pattern, opts);
  }

  // ---- transfers ----------------------------------------------------------

  /** Downloads `remotePath` to the local file `localPath`. Resolves with the byte count. */
  get(remotePath: string, localPath: string, opts?: GetOptions): Promise<number> {
    return getFile(this, this.resolve(remotePath), localPath, opts ?? {});
  }

  /** Uploads a local file; resolves with the remote file's attributes (stat when `confirm`). */
  put(localPath: string, remotePath: string, opts?: PutOptions): Promise<SFTPAttributes> {
    return putFile(this, localPath, this.resolve(remotePath), opts ?? {});
  }

  /**
   * Downloads into a Writable (not ended), honouring its backpressure.
   * Resolves with the byte count. Reads ahead as much as a read stream
   * does: on a short round trip about 1 MiB per millisecond of it, else the
   * session's `readAhead`.
   */
  getfo(remotePath: string, writable: Writable, opts?: TransferOptions): Promise<number> {
    return getToWritable(this, this.resolve(remotePath), writable, opts ?? {});
  }

  /** Uploads everything a Readable yields. `fileSize` (if known) feeds progress. */
  putfo(readable: Readable | AsyncIterable<Uint8Array>, remotePath: string, opts?: TransferOptions & { fileSize?: number; confirm?: boolean; mode?: number }): Promise<SFTPAttributes> {
    return putFromReadable(this, readable, this.resolve(remotePath), opts ?? {});
  }

  /**
   * Recursive download of a remote directory into a local one. Symlinked
   * directories are not followed. A listed name that is not one path
   * component (`..`, or one holding `/`) rejects the whole download with
   * SFTPError (BAD_MESSAGE) before any file is written: a hostile server
   * cannot place files outside `localDir`.
   */
  getDir(remoteDir: string, localDir: string, opts?: TreeOptions): Promise<{ files: number; bytes: number }> {
    return getDir(this, this.resolve(remoteDir), localDir, opts ?? {});
  }

  /** Recursive upload of a local directory. */
  putDir(localDir: string, remoteDir: string, opts?: TreeOptions): Promise<{ files: number; bytes: number }> {
    return putDir(this, localDir, this.resolve(remoteDir), opts ?? {});
  }

  /** A Readable of the remote file (`end` inclusive, as fs.createReadStream), pipelined. */
  createReadStream(path: string, opts?: ReadStreamOptions): SFTPReadStream {
    return new SFTPReadStream(this, this.resolve(path), opts ?? {});
  }

  /** A Writable to the remote file, pipelined; 'finish' means every write was acknowledged and the handle closed. */
  createWriteStream(path: string, opts?: WriteStreamOptions): SFTPWriteStream {
    return new SFTPWriteStream(this, this.resolve(path), opts ?? {});
  }

  /** Ends the session; outstanding requests fail with SFTPError(NO_CONNECTION). */
  async close(): Promise<void> {
    const lanes = this.#lanes?.close();
    this.session.close();
    await this.session.whenClosed();
    await lanes;
  }

  /** For `await using`: `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function parseStatVFS(r: SSHReader): SFTPStatVFS {
  const n = (): number => Number(r.uint64());
  return {
    f_bsize: n(),
    f_frsize: n(),
    f_blocks: n(),
    f_bfree: n(),
    f_bavail: n(),
    f_files: n(),
    f_ffree: n(),
    f_favail: n(),
    f_fsid: r.uint64(),
    f_flag: n(),
    f_namemax: n(),
  };
}

/**
 * `attrs` with both halves of every pair SFTP v3 sends together (uid and
 * gid, atime and mtime): a half given alone gets its partner's current
 * value from `current` (stat, lstat or fstat, asked at most once), so a
 * setstat changes only what the caller named. Attrs that need nothing are
 * returned as they are, without a request.
 */
async function completePairs(attrs: FileAttrs, current: () => Promise<SFTPAttributes>, path?: string): Promise<FileAttrs> {
  const { ids, times } = halfPairs(attrs);
  if (!ids && !times) return attrs;
  const now = await current();
  const a: FileAttrs = { ...attrs };
  const take = (field: string, pair: string, value: number | undefined): number => {
    if (value === undefined) throw new SFTPError(`setstat: SFTP v3 sets ${pair} together and the server did not report the current ${field} to keep`, FX.OP_UNSUPPORTED, path);
    return value;
  };
  if (ids) {
    a.uid ??= take('uid', 'uid and gid', now.st_uid);
    a.gid ??= take('gid', 'uid and gid', now.st_gid);
  }
  if (times) {
    a.atime ??= take('atime', 'atime and mtime', now.st_atime);
    a.mtime ??= take('mtime', 'atime and mtime', now.st_mtime);
  }
  return a;
}

/** [atime, mtime] in whole seconds; missing means now. */
export function toTimes(times?: [number | Date, number | Date] | null): [number, number] {
  const sec = (t: number | Date): number => Math.floor(t instanceof Date ? t.getTime() / 1000 : t);
  if (!times) {
    const now = Math.floor(Date.now() / 1000);
    return [now, now];
  }
  return [sec(times[0]), sec(times[1])];
}

export { statusError };
