/**
 * SFTPFile: Paramiko's SFTPFile, async. A position, a read buffer, and
 * writes that are either awaited (default) or pipelined (`setPipelined`:
 * they return at once and any failure surfaces at the next call).
 * Large reads and writes go through the same pipelined engine as get/put.
 *
 * A pipelined write's WRITEs are not all sent when it returns: the engine
 * keeps at most `concurrency` in flight and waits for the stream to drain,
 * so most of a large write is still on our side. Whatever asks the server
 * about the file's size, times or contents (stat, seek from the end,
 * fsetstat, reads, check) therefore waits for the outstanding writes
 * first, as `truncate` does: a later request sees the earlier writes, as
 * with Paramiko. A write starts sending only once the earlier ones have
 * sent all of their WRITEs, so where writes overlap the later one wins.
 */
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import type { FileAttrs } from '../../wire/sftpAttrs.js';
import type { SFTPAttributes } from '../attributes.js';
import { pipelinedRead } from '../transfer/pipelinedRead.js';
import { pipelinedWrite } from '../transfer/pipelinedWrite.js';
import type { SFTPClient, CallOptions, SFTPStatVFS } from './client.js';
import { toTimes } from './client.js';
import type { ParsedMode } from './mode.js';

const DEFAULT_BUFSIZE = 32 * 1024;
const EMPTY = Buffer.alloc(0);

/** State of a background prefetch: contiguous data from `start`. */
interface Prefetch {
  start: number;
  chunks: Buffer[];
  /** Offset one past the last byte received. */
  end: number;
  done: boolean;
  error: Error | null;
  wake: Array<() => void>;
  abort: AbortController;
}

/**
 * An open remote file (Paramiko's `SFTPFile`), from `SFTPClient.open`. Keeps
 * its own position; reads go through a buffer, writes are awaited unless
 * `setPipelined` is on. Close it (or `await using`) to release the server's
 * handle; requests after `close` reject with SFTPError FAILURE.
 */
export class SFTPFile {
  readonly #client: SFTPClient;
  readonly #handle: Buffer;
  /** The remote path, as opened. */
  readonly path: string;
  readonly #mode: ParsedMode;
  readonly #bufsize: number;
  #pos = 0;
  /** Buffered file bytes [#rbufAt, #rbufAt + #rbuf.length). */
  #rbuf: Buffer = EMPTY;
  #rbufAt = 0;
  #pipelined = false;
  #writes = new Set<Promise<unknown>>();
  /** Bytes of pipelined writes not yet acknowledged (or failed). */
  #pipelinedBytes = 0;
  /**
   * The latest write's progress in sending: `sent` once all of its WRITEs
   * were handed to the session (or it stopped). Each write starts sending
   * only then, so overlapping writes land in the order they were made.
   */
  #lastSend: { sent: boolean; done: Promise<void> } = { sent: true, done: Promise.resolve() };
  #writeError: Error | null = null;
  #prefetch: Prefetch | null = null;
  #closed = false;

  /** @internal use SFTPClient.open */
  constructor(client: SFTPClient, handle: Buffer, path: string, mode: ParsedMode, bufsize: number) {
    this.#client = client;
    this.#handle = handle;
    this.path = path;
    this.#mode = mode;
    this.#bufsize = bufsize < 0 ? DEFAULT_BUFSIZE : bufsize;
  }

  /** The raw SFTP handle. */
  get handle(): Buffer {
    return this.#handle;
  }

  /** True once `close` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new SFTPError(`file ${JSON.stringify(this.path)} is closed`, FX.FAILURE, this.path);
    if (this.#writeError) {
      const e = this.#writeError;
      this.#writeError = null;
      throw e;
    }
  }

  /** Reads `[offset, offset+length)`, shorter only at EOF. */
  async #fetch(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const parts: Buffer[] = [];
    const { chunkSize, concurrency } = this.#client.transferShape({}, 'read');
    await pipelinedRead(
      this.#client.session,
      this.#handle,
      (chunks) => {
        // Copy out of the received packets: callers may keep the result long.
        for (const c of chunks) parts.push(Buffer.from(c));
      },
      { start: offset, end: offset + length, chunkSize, concurrency, signal, path: this.path },
    ).catch((err: unknown) => {
      throw err instanceof SFTPError && err.cause instanceof SFTPError ? err.cause : err;
    });
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Reads to EOF from `offset`. */
  async #fetchAll(offset: number, signal?: AbortSignal): Promise<Buffer> {
    const parts: Buffer[] = [];
    const { chunkSize, concurrency } = this.#client.transferShape({}, 'read');
    await pipelinedRead(this.#client.session, this.#handle, (chunks) => {
      for (const c of chunks) parts.push(Buffer.from(c));
    }, { start: offset, chunkSize, concurrency, signal, path: this.path }).catch((err: unknown) => {
      throw err instanceof SFTPError && err.cause instanceof SFTPError ? err.cause : err;
    });
    return Buffer.concat(parts);
  }

  /** Takes up to `n` bytes at the position from the read buffer or prefetch. */
  #fromBuffers(n: number): Buffer | null {
    const off = this.#pos - this.#rbufAt;
    if (off >= 0 && off < this.#rbuf.length) {
      const take = Math.min(n, this.#rbuf.length - off);
      return this.#rbuf.subarray(off, off + take);
    }
    const pf = this.#prefetch;
    if (pf && this.#pos >= pf.start && this.#pos < pf.end) {
      // Drop chunks wholly behind the position; serve from the first one.
      while (pf.chunks.length > 0 && pf.start + pf.chunks[0]!.length <= this.#pos) pf.start += pf.chunks.shift()!.length;
      const c = pf.chunks[0]!;
      const o = this.#pos - pf.start;
      return c.subarray(o, o + Math.min(n, c.length - o));
    }
    return null;
  }

  /**
   * Reads up to `size` bytes (all the rest when omitted). Returns fewer only
   * at EOF; an empty Buffer means EOF.
   */
  async read(size?: number, opts?: CallOptions): Promise<Buffer> {
    await this.flush();
    if (!this.#mode.readable) throw new SFTPError(`file ${JSON.stringify(this.path)} is not open for reading`, FX.PERMISSION_DENIED, this.path);
    const parts: Buffer[] = [];
    let got = 0;
    const want = size === undefined || size < 0 ? Number.POSITIVE_INFINITY : size;
    while (got < want) {
      const b = this.#fromBuffers(want - got);
      if (b) {
        parts.push(b);
        got += b.length;
        this.#pos += b.length;
        continue;
      }
      const pf = this.#prefetch;
      if (pf && !pf.done && this.#pos >= pf.start && this.#pos >= pf.end) {
        await new Promise<void>((r) => pf.wake.push(r));
        continue;
      }
      if (pf?.error) throw pf.error;
      if (want === Number.POSITIVE_INFINITY) {
        const rest = await this.#fetchAll(this.#pos, opts?.signal);
        parts.push(rest);
        got += rest.length;
        this.#pos += rest.length;
        break;
      }
      const need = want - got;
      const data = await this.#fetch(this.#pos, Math.max(need, this.#bufsize), opts?.signal);
      if (data.length === 0) break;
      const take = Math.min(need, data.length);
      parts.push(data.subarray(0, take));
      got += take;
      this.#rbuf = data;
      this.#rbufAt = this.#pos;
      this.#pos += take;
      if (data.length < Math.max(need, this.#bufsize) && take === data.length) break; // EOF reached
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * One line including its '\n' (a string, or a Buffer in 'b' mode); empty
   * at EOF, as Python's readline.
   */
  async readline(opts?: CallOptions): Promise<string | Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      let b = this.#fromBuffers(Number.MAX_SAFE_INTEGER);
      if (!b) {
        const peek = await this.read(Math.max(this.#bufsize, 1), opts);
        if (peek.length === 0) break;
        // Put it back as the read buffer so the scan below sees it.
        this.#pos -= peek.length;
        this.#rbuf = peek;
        this.#rbufAt = this.#pos;
        b = peek;
      }
      const nl = b.indexOf(10);
      const take = nl >= 0 ? nl + 1 : b.length;
      parts.push(Buffer.from(b.subarray(0, take)));
      this.#pos += take;
      if (nl >= 0) break;
    }
    const line = Buffer.concat(parts);
    return this.#mode.binary ? line : line.toString('utf8');
  }

  /** Every remaining line. */
  async readlines(opts?: CallOptions): Promise<Array<string | Buffer>> {
    const out: Array<string | Buffer> = [];
    for (;;) {
      const l = await this.readline(opts);
      if (l.length === 0) return out;
      out.push(l);
    }
  }

  /** Lines, as `for await (const line of file)`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<string | Buffer, void, undefined> {
    for (;;) {
      const l = await this.readline();
      if (l.length === 0) return;
      yield l;
    }
  }

  /**
   * Reads several `[offset, length]` ranges with their requests pipelined;
   * yields each range's data in the order given.
   */
  async *readv(chunks: ReadonlyArray<readonly [number, number]>, opts?: CallOptions & { concurrency?: number }): AsyncGenerator<Buffer, void, undefined> {
    await this.flush();
    const ahead = Math.max(1, opts?.concurrency ?? 16);
    const queue: Array<Promise<Buffer>> = [];
    let next = 0;
    const fill = (): void => {
      while (queue.length < ahead && next < chunks.length) {
        const [off, len] = chunks[next++]!;
        const p = this.#fetch(off, len, opts?.signal);
        p.catch(() => {});
        queue.push(p);
      }
    };
    fill();
    while (queue.length > 0) {
      const b = await queue.shift()!;
      fill();
      yield b;
    }
  }

  /** Writes all of `data` at the position (pipelined internally for large data). */
  async write(data: Uint8Array | string, opts?: CallOptions): Promise<void> {
    this.#check();
    if (!this.#mode.writable) throw new SFTPError(`file ${JSON.stringify(this.path)} is not open for writing`, FX.PERMISSION_DENIED, this.path);
    // A pipelined write resolves before its data is sent: it keeps a copy,
    // so the caller may reuse the buffer at once (as with an awaited write).
    const buf =
      typeof data === 'string' ? Buffer.from(data, 'utf8') : this.#pipelined ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length === 0) return;
    const at = this.#pos;
    this.#pos += buf.length;
    this.#rbuf = EMPTY;
    // Prefetched bytes from here on may be the ones this write replaces: drop
    // the prefetch, and later reads ask the server.
    const pf = this.#prefetch;
    if (pf && at + buf.length > pf.start) {
      pf.abort.abort();
      this.#prefetch = null;
    }
    // A pipelined write may still hold unsent WRITEs (the engine keeps
    // `concurrency` in flight and waits for the stream to drain). This one
    // starts once they are all sent: the server applies requests in order,
    // so where the two overlap, the later write wins, as with Paramiko.
    const before = this.#lastSend;
    let sent!: () => void;
    const mine = { sent: false, done: new Promise<void>((r) => (sent = r)) };
    const markSent = (): void => {
      mine.sent = true;
      sent();
    };
    this.#lastSend = mine;
    const { chunkSize, concurrency } = this.#client.transferShape({}, 'write');
    let given = false;
    const start = (): Promise<number> =>
      pipelinedWrite(
        this.#client.session,
        this.#handle,
        // The engine asks again only once all of `buf` has gone out.
        () => (given ? (markSent(), null) : ((given = true), buf)),
        { start: at, chunkSize, concurrency, signal: opts?.signal, path: this.path },
      );
    const p = (before.sent ? start() : before.done.then(start))
      .finally(markSent)
      .catch((err: unknown) => {
        throw err instanceof SFTPError && err.cause instanceof SFTPError ? err.cause : err;
      });
    if (!this.#pipelined) {
      await p;
      return;
    }
    this.#pipelinedBytes += buf.length;
    const settle = (): void => {
      this.#writes.delete(tracked);
      this.#pipelinedBytes -= buf.length;
    };
    const tracked = p.then(settle, (err: Error) => {
      settle();
      this.#writeError ??= err;
    });
    this.#writes.add(tracked);
    // Backpressure: beyond what one write keeps in flight, wait for earlier
    // writes to be acknowledged, so a loop of pipelined writes holds a
    // bounded amount in memory (Paramiko's stall on the channel window).
    // The session's own timeout bounds the wait; the latest write never
    // waits for itself.
    const limit = chunkSize * concurrency;
    while (this.#pipelinedBytes > limit && this.#writes.size > 1) await Promise.race(this.#writes);
  }

  /**
   * Moves the position: whence 0 = absolute, 1 = relative, 2 = from the end
   * (the size from `stat`, so after any pipelined writes).
   */
  async seek(offset: number, whence: 0 | 1 | 2 = 0, opts?: CallOptions): Promise<number> {
    this.#check();
    let base = 0;
    if (whence === 1) base = this.#pos;
    else if (whence === 2) base = (await this.stat(opts)).st_size ?? 0;
    const pos = base + offset;
    if (!Number.isSafeInteger(pos) || pos < 0) throw new SFTPError(`seek to invalid offset ${pos}`, FX.FAILURE, this.path);
    this.#pos = pos;
    return pos;
  }

  /** The current position in bytes, as Paramiko's `tell` (no request is sent). */
  tell(): number {
    return this.#pos;
  }

  /** Attributes of the open file (SSH_FXP_FSTAT), once pipelined writes are acknowledged. */
  async stat(opts?: CallOptions): Promise<SFTPAttributes> {
    await this.flush();
    return this.#client.fstatHandle(this.#handle, this.path, opts);
  }

  /** FSETSTAT after the pipelined writes, which could otherwise land after it (and move the mtime). */
  async #setstat(attrs: FileAttrs, opts?: CallOptions): Promise<void> {
    await this.flush();
    await this.#client.fsetstatHandle(this.#handle, attrs, this.path, opts);
  }

  /** Sets permission bits on the open file (SSH_FXP_FSETSTAT), as Paramiko's `SFTPFile.chmod`. */
  chmod(mode: number, opts?: CallOptions): Promise<void> {
    return this.#setstat({ permissions: mode }, opts);
  }

  /** Sets the numeric owner and group (SSH_FXP_FSETSTAT), as Paramiko's `SFTPFile.chown`. */
  chown(uid: number, gid: number, opts?: CallOptions): Promise<void> {
    return this.#setstat({ uid, gid }, opts);
  }

  /**
   * Sets [atime, mtime] in seconds (or Dates); omitted means now
   * (SSH_FXP_FSETSTAT). As Paramiko's `SFTPFile.utime`.
   */
  utime(times?: [number | Date, number | Date] | null, opts?: CallOptions): Promise<void> {
    const [atime, mtime] = toTimes(times);
    return this.#setstat({ atime, mtime }, opts);
  }

  /**
   * Waits for pipelined writes, then sets the size to `size` bytes
   * (SSH_FXP_FSETSTAT), as Paramiko's `SFTPFile.truncate`. The position stays
   * where it was.
   */
  async truncate(size: number, opts?: CallOptions): Promise<void> {
    await this.flush();
    this.#rbuf = EMPTY;
    return this.#setstat({ size }, opts);
  }

  /** Waits for every pipelined write; throws the first failure. */
  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
    this.#check();
  }

  /** flush, then fsync@openssh.com: the data is on the server's disk. */
  async fsync(opts?: CallOptions): Promise<void> {
    await this.flush();
    await this.#client.fsyncHandle(this.#handle, this.path, opts);
  }

  /**
   * Asks the server for hashes of part of this file (the `check-file`
   * extension; Paramiko's `check`), to verify a transfer without reading
   * the data back. `hashAlgorithm` is a name or a comma-separated list in
   * order of preference (md5, sha1, sha224, sha256, sha384, sha512); the
   * range is [offset, offset + length), length 0 meaning to the end of
   * the file; `blockSize` 0 gives one hash of the range, else one per block
   * (at least 256 bytes). Returns the digests concatenated. Servers
   * without the extension (OpenSSH's) give SFTPError OP_UNSUPPORTED.
   */
  async check(hashAlgorithm: string, offset = 0, length = 0, blockSize = 0, opts?: CallOptions): Promise<Buffer> {
    await this.flush();
    for (const [n, v] of [['offset', offset], ['length', length], ['blockSize', blockSize]] as const) {
      if (!Number.isSafeInteger(v) || v < 0 || (n === 'blockSize' && v > 0xffffffff)) throw new SFTPError(`check: ${n} must be a non-negative integer, got ${String(v)}`, FX.FAILURE, this.path);
    }
    return this.#client.checkFileHandle(this.#handle, this.path, hashAlgorithm, offset, length, blockSize, opts);
  }

  /** fstatvfs@openssh.com for the filesystem holding this file. */
  async statvfs(opts?: CallOptions): Promise<SFTPStatVFS> {
    this.#check();
    return this.#client.fstatvfsHandle(this.#handle, this.path, opts);
  }

  /**
   * When on, `write` returns without waiting for the server (much of a
   * large write may not even be sent yet); errors are raised by the next
   * call (or flush/close), and requests about the file wait for the writes
   * first. Paramiko's set_pipelined. Each pipelined write keeps a copy of
   * its data, so the caller may reuse a buffer as soon as `write` resolves.
   * Memory stays bounded: once earlier
   * writes hold more than one write's worth in flight (chunk size ×
   * concurrency, 16 MiB by default against OpenSSH), `write` waits for some
   * of them to be acknowledged before it returns.
   */
  setPipelined(pipelined = true): void {
    this.#pipelined = pipelined;
  }

  /**
   * Starts reading the rest of the file in the background (many requests in
   * flight) so later reads are served from memory. `fileSize` saves a stat.
   * A write into the prefetched range drops the prefetch (reads then go to
   * the server), so a read never returns bytes older than a write.
   */
  async prefetch(fileSize?: number, opts?: { concurrency?: number }): Promise<void> {
    await this.flush();
    if (this.#prefetch && !this.#prefetch.done) return;
    const size = fileSize ?? (await this.stat()).st_size;
    const start = this.#pos;
    const pf: Prefetch = { start, chunks: [], end: start, done: false, error: null, wake: [], abort: new AbortController() };
    this.#prefetch = pf;
    const wake = (): void => {
      for (const w of pf.wake.splice(0)) w();
    };
    const { chunkSize, concurrency } = this.#client.transferShape({ concurrency: opts?.concurrency }, 'read');
    pipelinedRead(
      this.#client.session,
      this.#handle,
      (chunks, _offset, length) => {
        for (const c of chunks) pf.chunks.push(Buffer.from(c));
        pf.end += length;
        wake();
      },
      { start, end: size, chunkSize, concurrency, signal: pf.abort.signal, path: this.path },
    ).then(
      () => {
        pf.done = true;
        wake();
      },
      (err: Error) => {
        pf.done = true;
        if (!pf.abort.signal.aborted) pf.error = err;
        wake();
      },
    );
  }

  /** Flushes pipelined writes, then closes the handle. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    let firstError: unknown = null;
    try {
      await this.flush();
    } catch (err) {
      firstError = err;
    }
    this.#closed = true;
    this.#prefetch?.abort.abort();
    this.#prefetch = null;
    this.#rbuf = EMPTY;
    if (!this.#client.session.closed) {
      try {
        await this.#client.closeHandle(this.#handle, this.path);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
  }

  /** For `await using`: `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
