/**
 * A small in-process SFTP v3 server over an in-memory file map, for driving
 * the client's transfer engine into cases a real server rarely produces:
 * short READ replies, replies in another order than the requests, a WRITE
 * refused at a chosen offset, data corrupted on the way in or out, a STAT
 * that lies about the size. Requests are applied in the order they arrive
 * (as a real server does); only the replies are held and reordered.
 *
 * It answers INIT, OPEN, CLOSE, READ, WRITE, STAT, LSTAT, FSTAT, SETSTAT,
 * FSETSTAT, REMOVE and REALPATH; limits@openssh.com and (when asked for)
 * check-file-handle with sha256; anything else gets OP_UNSUPPORTED. Every
 * request is logged, so tests can count what the client sent.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { EXT, FX, FXF, FXP } from '../../ts/wire/sftpConstants.js';
import { encodeAttrs, encodeHandle, encodeName, encodePacket, encodeStatus, encodeVersion, SFTPFramer } from '../../ts/wire/sftpPacket.js';
import { SSHReader } from '../../ts/wire/reader.js';
import { readAttrs } from '../../ts/wire/sftpAttrs.js';

/** One request as the server saw it. */
export interface LoggedRequest {
  type: number;
  id: number;
  path?: string;
  offset?: number;
  length?: number;
  /** EXTENDED request name. */
  ext?: string;
}

export interface FakeSftpOptions {
  /** Initial files, path → content (copied). */
  files?: Record<string, Buffer>;
  /** limits@openssh.com figures to advertise; null advertises no limits (client falls back to 32 KiB). Default 32 KiB reads and writes. */
  limits?: { read: number; write: number } | null;
  /** Advertise and answer check-file-handle (sha256 of what the server holds). */
  checkFile?: boolean;
  /** How many bytes to answer a READ with; clamped to [1, what is there]. Default all asked for. */
  readLength?: (offset: number, asked: number, path: string) => number;
  /** Alters data served by READ (gets a copy). */
  readData?: (data: Buffer, offset: number, path: string) => Buffer;
  /** Status for a WRITE; anything but FX.OK leaves the file untouched. */
  writeStatus?: (offset: number, length: number, path: string) => number;
  /** Alters data before a WRITE stores it (gets a copy). */
  writeData?: (data: Buffer, offset: number, path: string) => Buffer;
  /** Size STAT/LSTAT/FSTAT report, given the true one. */
  statSize?: (path: string, size: number) => number;
  /**
   * Reply order: replies are held until the client has sent everything it
   * sends in one turn of the event loop, then passed through this and
   * written in the order returned. Unset: each reply goes out at once.
   */
  order?: (replies: Buffer[]) => Buffer[];
}

interface StoredFile {
  buf: Buffer;
  size: number;
}

export class FakeSftpServer {
  /** The stream pair to give SFTPClient.fromStream. */
  readonly stream: { readable: PassThrough; writable: PassThrough };
  /** Every request received, in arrival order. */
  readonly log: LoggedRequest[] = [];
  /** Ids of replies in the order they were written to the client. */
  readonly replyIds: number[] = [];
  readonly #opts: FakeSftpOptions;
  readonly #files = new Map<string, StoredFile>();
  readonly #handles = new Map<string, string>();
  #nextHandle = 1;
  #held: Buffer[] = [];
  #toClient = new PassThrough();
  #toServer = new PassThrough();
  #framer = new SFTPFramer(4 * 1024 * 1024);
  #stopped = false;

  constructor(opts: FakeSftpOptions = {}) {
    this.#opts = opts;
    for (const [p, data] of Object.entries(opts.files ?? {})) this.setFile(p, data);
    this.stream = { readable: this.#toClient, writable: this.#toServer };
    this.#toServer.on('data', (chunk: Buffer) => {
      if (this.#stopped) return;
      this.#framer.push(chunk, (body) => this.#handle(Buffer.from(body)));
    });
  }

  /** Replaces a file's content. */
  setFile(path: string, data: Buffer): void {
    const buf = Buffer.alloc(Math.max(data.length, 1));
    data.copy(buf);
    this.#files.set(path, { buf, size: data.length });
  }

  /** A copy of what the server holds for `path`, or undefined. */
  file(path: string): Buffer | undefined {
    const f = this.#files.get(path);
    return f ? Buffer.from(f.buf.subarray(0, f.size)) : undefined;
  }

  /** Requests of one type logged so far (from index `since` of the log). */
  count(type: number, since = 0): number {
    let n = 0;
    for (let i = since; i < this.log.length; i++) if (this.log[i]!.type === type) n++;
    return n;
  }

  stop(): void {
    this.#stopped = true;
    this.#toClient.end();
  }

  #reply(b: Buffer): void {
    if (this.#stopped) return;
    if (!this.#opts.order) {
      this.replyIds.push(b.readUInt32BE(5));
      this.#toClient.write(b);
      return;
    }
    this.#held.push(b);
    if (this.#held.length === 1) {
      setImmediate(() => {
        const batch = this.#held;
        this.#held = [];
        for (const r of this.#opts.order!(batch)) {
          if (this.#stopped) return;
          this.replyIds.push(r.readUInt32BE(5));
          this.#toClient.write(r);
        }
      });
    }
  }

  #attrs(path: string, f: StoredFile): { size: number; permissions: number; uid: number; gid: number; atime: number; mtime: number } {
    const size = this.#opts.statSize ? this.#opts.statSize(path, f.size) : f.size;
    return { size, permissions: 0o100644, uid: 1000, gid: 1000, atime: 1_700_000_000, mtime: 1_700_000_000 };
  }

  #write(f: StoredFile, offset: number, data: Buffer): void {
    const end = offset + data.length;
    if (end > f.buf.length) {
      const grown = Buffer.alloc(Math.max(end, f.buf.length * 2));
      f.buf.copy(grown, 0, 0, f.size);
      f.buf = grown;
    }
    data.copy(f.buf, offset);
    if (end > f.size) f.size = end;
  }

  #handle(b: Buffer): void {
    const type = b[0]!;
    if (type === FXP.INIT) {
      const exts: [string, string][] = [];
      if (this.#opts.limits !== null) exts.push([EXT.LIMITS, '1']);
      if (this.#opts.checkFile) exts.push([EXT.CHECK_FILE_HANDLE, '1']);
      this.#toClient.write(encodeVersion(3, exts));
      return;
    }
    const r = new SSHReader(b, 'fake sftp');
    r.byte();
    const id = r.uint32();
    const entry: LoggedRequest = { type, id };
    this.log.push(entry);
    const byHandle = (): { path: string; f: StoredFile } | null => {
      const path = this.#handles.get(Buffer.from(r.string()).toString('hex'));
      const f = path === undefined ? undefined : this.#files.get(path);
      if (path !== undefined) entry.path = path;
      return f && path !== undefined ? { path, f } : null;
    };
    switch (type) {
      case FXP.OPEN: {
        const path = r.utf8();
        const pflags = r.uint32();
        readAttrs(r);
        entry.path = path;
        let f = this.#files.get(path);
        if (!f) {
          if (!(pflags & FXF.CREAT)) return this.#reply(encodeStatus(id, FX.NO_SUCH_FILE));
          this.setFile(path, Buffer.alloc(0));
          f = this.#files.get(path)!;
        } else if (pflags & FXF.TRUNC) f.size = 0;
        const h = Buffer.alloc(4);
        h.writeUInt32BE(this.#nextHandle++);
        this.#handles.set(h.toString('hex'), path);
        return this.#reply(encodeHandle(id, h));
      }
      case FXP.CLOSE: {
        const key = Buffer.from(r.string()).toString('hex');
        entry.path = this.#handles.get(key);
        return this.#reply(encodeStatus(id, this.#handles.delete(key) ? FX.OK : FX.FAILURE));
      }
      case FXP.READ: {
        const h = byHandle();
        const offset = Number(r.uint64());
        const asked = r.uint32();
        Object.assign(entry, { offset, length: asked });
        if (!h) return this.#reply(encodeStatus(id, FX.FAILURE, 'bad handle'));
        if (offset >= h.f.size) return this.#reply(encodeStatus(id, FX.EOF));
        const there = Math.min(asked, h.f.size - offset);
        const n = this.#opts.readLength ? Math.max(1, Math.min(there, this.#opts.readLength(offset, asked, h.path))) : there;
        let data: Buffer = Buffer.from(h.f.buf.subarray(offset, offset + n));
        if (this.#opts.readData) data = this.#opts.readData(data, offset, h.path);
        return this.#reply(encodePacket(FXP.DATA, id, (w) => w.string(data)));
      }
      case FXP.WRITE: {
        const h = byHandle();
        const offset = Number(r.uint64());
        let data: Buffer = Buffer.from(r.string());
        Object.assign(entry, { offset, length: data.length });
        if (!h) return this.#reply(encodeStatus(id, FX.FAILURE, 'bad handle'));
        const status = this.#opts.writeStatus?.(offset, data.length, h.path) ?? FX.OK;
        if (status !== FX.OK) return this.#reply(encodeStatus(id, status, `refused write at ${offset}`));
        if (this.#opts.writeData) data = this.#opts.writeData(data, offset, h.path);
        this.#write(h.f, offset, data);
        return this.#reply(encodeStatus(id, FX.OK));
      }
      case FXP.FSTAT: {
        const h = byHandle();
        if (!h) return this.#reply(encodeStatus(id, FX.FAILURE, 'bad handle'));
        return this.#reply(encodeAttrs(id, this.#attrs(h.path, h.f)));
      }
      case FXP.STAT:
      case FXP.LSTAT: {
        const path = r.utf8();
        entry.path = path;
        const f = this.#files.get(path);
        if (!f) return this.#reply(encodeStatus(id, FX.NO_SUCH_FILE));
        return this.#reply(encodeAttrs(id, this.#attrs(path, f)));
      }
      case FXP.SETSTAT:
      case FXP.FSETSTAT: {
        let f: StoredFile | undefined;
        if (type === FXP.FSETSTAT) f = byHandle()?.f;
        else {
          entry.path = r.utf8();
          f = this.#files.get(entry.path);
        }
        if (!f) return this.#reply(encodeStatus(id, FX.NO_SUCH_FILE));
        const a = readAttrs(r);
        if (a.size !== undefined && a.size < f.size) f.size = a.size;
        return this.#reply(encodeStatus(id, FX.OK));
      }
      case FXP.REMOVE: {
        entry.path = r.utf8();
        return this.#reply(encodeStatus(id, this.#files.delete(entry.path) ? FX.OK : FX.NO_SUCH_FILE));
      }
      case FXP.REALPATH: {
        const p = r.utf8();
        entry.path = p;
        return this.#reply(encodeName(id, [{ filename: p === '.' || p === '' ? '/' : p, longname: '', attrs: {} }]));
      }
      case FXP.EXTENDED: {
        const name = r.utf8();
        entry.ext = name;
        if (name === EXT.LIMITS && this.#opts.limits !== null) {
          const l = this.#opts.limits ?? { read: 32 * 1024, write: 32 * 1024 };
          return this.#reply(
            encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.uint64(BigInt(256 * 1024)).uint64(BigInt(l.read)).uint64(BigInt(l.write)).uint64(BigInt(0))),
          );
        }
        if (name === EXT.CHECK_FILE_HANDLE && this.#opts.checkFile) {
          const h = byHandle();
          const algos = r.utf8();
          const start = Number(r.uint64());
          let length = Number(r.uint64());
          Object.assign(entry, { offset: start, length });
          if (!h || !algos.split(',').includes('sha256')) return this.#reply(encodeStatus(id, FX.FAILURE));
          if (length === 0) length = h.f.size - start;
          const digest = createHash('sha256').update(h.f.buf.subarray(start, Math.min(h.f.size, start + length))).digest();
          return this.#reply(encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.string('check-file').string('sha256').raw(digest)));
        }
        return this.#reply(encodeStatus(id, FX.OP_UNSUPPORTED));
      }
      default:
        return this.#reply(encodeStatus(id, FX.OP_UNSUPPORTED));
    }
  }
}

/** Replies of each batch in reverse order. */
export const reverseOrder = (replies: Buffer[]): Buffer[] => replies.reverse();

/** Replies of each batch shuffled by `next` (e.g. a seeded Rand's int). */
export function shuffledOrder(int: (n: number) => number): (replies: Buffer[]) => Buffer[] {
  return (replies) => {
    for (let i = replies.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [replies[i], replies[j]] = [replies[j]!, replies[i]!];
    }
    return replies;
  };
}
