/**
 * The server's READ path: `readInto` straight into the DATA reply, short
 * reads and EOF, failures as statuses, the `read` fallback, the reply-buffer
 * pool (ReadBufferPool), and, over a real SSH channel, buffers reused only
 * once the transport has copied them: pipelined READs read back late through
 * a small, oddly sized window must arrive intact.
 */
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SFTPError } from '../../ts/errors.js';
import { LocalFilesystem, SFTPServerSession, type SFTPHandle, type SFTPServerInterface } from '../../ts/sftp/server/index.js';
import { DATA_HEADER, MIN_POOLED, ReadBufferPool } from '../../ts/sftp/server/readBuffers.js';
import { FX, FXF, FXP } from '../../ts/wire/sftpConstants.js';
import { connectionPair, type ConnPair } from '../connection/helpers.js';
import { patternBytes, removeDir, scratchDir } from '../sftp/helpers.js';
import { packet, ReplyReader, str, u32, u64 } from './raw.js';

/** Raw SFTP on the client end of a stream: requests out, reply bodies in (type first). */
class RawPeer {
  readonly #replies: ReplyReader;
  constructor(
    readonly out: Writable,
    readonly input: Readable,
  ) {
    this.#replies = new ReplyReader(input);
  }

  send(b: Buffer): void {
    this.out.write(b);
  }

  reply(timeoutMs = 10_000): Promise<Buffer> {
    return this.#replies.reply(timeoutMs);
  }

  async init(): Promise<void> {
    this.send(packet(FXP.INIT, null, u32(3)));
    expect((await this.reply())[0]).toBe(FXP.VERSION);
  }

  async openRead(path: string, id = 1): Promise<Buffer> {
    this.send(packet(FXP.OPEN, id, str(path), u32(FXF.READ), u32(0)));
    const b = await this.reply();
    expect(b[0]).toBe(FXP.HANDLE);
    return Buffer.from(b.subarray(9, 9 + b.readUInt32BE(5)));
  }

  read(id: number, handle: Buffer, offset: number, length: number): void {
    this.send(packet(FXP.READ, id, str(handle), u64(offset), u32(length)));
  }
}

/** Splits a reply into DATA (id, bytes) or STATUS (id, code). */
function parse(b: Buffer): { id: number; data?: Buffer; code?: number } {
  const id = b.readUInt32BE(1);
  if (b[0] === FXP.DATA) return { id, data: b.subarray(9, 9 + b.readUInt32BE(5)) };
  expect(b[0]).toBe(FXP.STATUS);
  return { id, code: b.readUInt32BE(5) };
}

/** Our server on a PassThrough pair (not a Channel: its write callback does not mean "copied"). */
function plainStreamPeer(fs: SFTPServerInterface): { peer: RawPeer; toServer: PassThrough; session: SFTPServerSession } {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const session = new SFTPServerSession(Duplex.from({ readable: toServer, writable: fromServer }), fs);
  return { peer: new RawPeer(toServer, fromServer), toServer, session };
}

/** An in-memory file whose handle offers only `readInto`, recording the buffers it was given. */
class IntoOnlyFs implements SFTPServerInterface {
  readonly intos = new Set<ArrayBufferLike>();
  calls = 0;
  constructor(
    readonly data: Buffer,
    readonly fail?: (offset: number) => Error | number | null,
  ) {}
  open(): SFTPHandle {
    return {
      readInto: async (offset, into, at, length) => {
        this.calls++;
        this.intos.add(into.buffer);
        // Scribble at once, as a thread-pool read would start writing while
        // we still run: bytes of a buffer reused too early get corrupted.
        into.fill(0xee, at, at + length);
        await new Promise((r) => setImmediate(r));
        const f = this.fail?.(offset);
        if (typeof f === 'number') return f;
        if (f) throw f;
        const n = Math.max(0, Math.min(length, this.data.length - offset));
        into.set(this.data.subarray(offset, offset + n), at);
        return n;
      },
    };
  }
}

let dir: string | null = null;
let pair: ConnPair | null = null;
afterEach(async () => {
  if (dir) removeDir(dir);
  dir = null;
  await pair?.close();
  pair = null;
  vi.useRealTimers();
});

describe('ReadBufferPool', () => {
  it('reuses buffers by size class, keeps at most its cap, ignores small and foreign buffers', () => {
    const pool = new ReadBufferPool(3 * (256 * 1024 + 64));
    const a = pool.take(DATA_HEADER + 255 * 1024);
    expect(a.length).toBeGreaterThanOrEqual(DATA_HEADER + 255 * 1024);
    pool.give(a);
    // 256 KiB plus the header falls in the same class: the same buffer comes back.
    expect(pool.take(DATA_HEADER + 256 * 1024)).toBe(a);
    const b = pool.take(DATA_HEADER + 32 * 1024);
    expect(b.length).toBeLessThan(a.length);
    pool.give(b);
    expect(pool.take(DATA_HEADER + 255 * 1024)).not.toBe(b);
    expect(pool.take(DATA_HEADER + 32 * 1024)).toBe(b);
    // Below MIN_POOLED: a plain buffer, never kept.
    const small = pool.take(100);
    pool.give(small);
    expect(pool.keptBytes).toBe(0);
    // Not from the pool (wrong size, or a view): ignored.
    pool.give(Buffer.allocUnsafeSlow(300_000));
    pool.give(Buffer.allocUnsafeSlow(256 * 1024 + 64).subarray(1));
    expect(pool.keptBytes).toBe(0);
    const four = [0, 1, 2, 3].map(() => pool.take(DATA_HEADER + 255 * 1024));
    for (const x of four) pool.give(x);
    expect(pool.keptBytes).toBe(3 * (256 * 1024 + 64));
    pool.close();
    expect(pool.keptBytes).toBe(0);
    pool.give(four[0]!);
    expect(pool.keptBytes).toBe(0);
  });

  it('drops its free buffers once idle, even those given back after the last take', () => {
    vi.useFakeTimers();
    const pool = new ReadBufferPool(16 << 20);
    const bufs = [0, 1, 2].map(() => pool.take(MIN_POOLED * 4));
    pool.give(bufs[0]!);
    vi.advanceTimersByTime(500);
    expect(pool.keptBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(600);
    expect(pool.keptBytes).toBe(0);
    // Returned late, with no take since: dropped one idle period later.
    pool.give(bufs[1]!);
    pool.give(bufs[2]!);
    expect(pool.keptBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(1100);
    expect(pool.keptBytes).toBe(0);
    pool.close();
  });
});

describe('SFTPServerSession READ', () => {
  it.each([true, false])('serves pipelined READs byte-exact on a stream read late, a short read at the end, then EOF (LocalFilesystem, inlineReads %s)', async (inlineReads) => {
    dir = scratchDir();
    const n = 60;
    const size = (n - 1) * 255 * 1024 + 777;
    const data = patternBytes(size, 7);
    writeFileSync(join(dir, 'f.bin'), data);
    const { peer, toServer } = plainStreamPeer(new LocalFilesystem(dir, { inlineReads }));
    await peer.init();
    const h = await peer.openRead('/f.bin');
    // The chunks exactly as the stream hands them over, kept and parsed only
    // at the end: a server that reused a reply buffer once this stream
    // called its write back (PassThrough does so before anyone read it)
    // would show here as corrupted data.
    const chunks: Buffer[] = [];
    peer.input.on('data', (c: Buffer) => chunks.push(c));
    // Two waves; in each, nothing is read back until every request is out,
    // so replies pile up in the stream. The second wave's reads would land
    // in the first wave's buffers if they were recycled.
    for (const [from, to] of [[0, 30], [30, n]] as const) {
      peer.input.pause();
      for (let i = from; i < to; i++) peer.read(100 + i, h, i * 255 * 1024, 255 * 1024);
      if (to === n) peer.read(500, h, size, 1000);
      await new Promise((r) => setTimeout(r, 50));
      peer.input.resume();
      for (let i = from; i < to; i++) await peer.reply();
    }
    await peer.reply();
    const all = Buffer.concat(chunks);
    const got = new Map<number, { data?: Buffer; code?: number }>();
    for (let off = 0; off < all.length; ) {
      const len = all.readUInt32BE(off);
      const r = parse(all.subarray(off + 4, off + 4 + len));
      got.set(r.id, r);
      off += 4 + len;
    }
    for (let i = 0; i < n; i++) {
      const want = data.subarray(i * 255 * 1024, Math.min(size, (i + 1) * 255 * 1024));
      expect(got.get(100 + i)!.data?.equals(want), `READ ${i}`).toBe(true);
    }
    expect(got.get(100 + n - 1)!.data!.length).toBe(777);
    expect(got.get(500)!.code).toBe(FX.EOF);
    toServer.end();
  });

  it('turns readInto failures into statuses and refuses an impossible byte count', async () => {
    const data = patternBytes(64 * 1024, 3);
    const fs = new IntoOnlyFs(data, (off) => (off === 0 ? new SFTPError('nope', FX.PERMISSION_DENIED) : off === 1 ? Object.assign(new Error('gone'), { code: 'ENOENT' }) : off === 2 ? 999_999 : null));
    const { peer, toServer } = plainStreamPeer(fs);
    await peer.init();
    const h = await peer.openRead('/x');
    peer.read(1, h, 0, 1000);
    expect(parse(await peer.reply())).toEqual({ id: 1, code: FX.PERMISSION_DENIED });
    peer.read(2, h, 1, 1000);
    expect(parse(await peer.reply())).toEqual({ id: 2, code: FX.NO_SUCH_FILE });
    peer.read(3, h, 2, 1000);
    expect(parse(await peer.reply())).toEqual({ id: 3, code: FX.FAILURE });
    peer.read(4, h, 5, 100);
    expect(parse(await peer.reply()).data!.equals(data.subarray(5, 105))).toBe(true);
    toServer.end();
  });

  it('still serves handles that only have read()', async () => {
    const data = patternBytes(50_000, 5);
    const fs: SFTPServerInterface = { open: () => ({ read: (off: number, len: number) => data.subarray(off, off + len) }) };
    const { peer, toServer } = plainStreamPeer(fs);
    await peer.init();
    const h = await peer.openRead('/y');
    peer.read(1, h, 10_000, 32_768);
    expect(parse(await peer.reply()).data!.equals(data.subarray(10_000, 42_768))).toBe(true);
    peer.read(2, h, 50_000, 10);
    expect(parse(await peer.reply()).code).toBe(FX.EOF);
    toServer.end();
  });
});

describe('READ over an SSH channel', () => {
  it('reuses reply buffers only once the transport has copied them', async () => {
    // An odd window: credit comes back in odd amounts, so writes often end in
    // packets too small to be gathered while earlier parts still wait to be
    // copied; and, as OpenSSH's sftp does, the client keeps READs
    // outstanding, so new READs arrive together with WINDOW_ADJUSTs.
    pair = await connectionPair({ client: { window: 32768 + 1500 } });
    const total = 96;
    const outstanding = 24;
    const data = patternBytes(total * 255 * 1024, 11);
    const fs = new IntoOnlyFs(data);
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({
        onRequest: (r) => {
          if (r.info?.type !== 'subsystem') return false;
          new SFTPServerSession(ch, fs);
          return true;
        },
      });
    });
    const ch = await pair.client.openSession();
    await ch.subsystem('sftp');
    const peer = new RawPeer(ch, ch);
    await peer.init();
    const h = await peer.openRead('/z');
    let next = 0;
    const ask = (): void => {
      peer.read(10 + next, h, next * 255 * 1024, 255 * 1024);
      next++;
    };
    while (next < outstanding) ask();
    for (let done = 0; done < total; done++) {
      const r = parse(await peer.reply(20_000));
      const k = r.id - 10;
      expect(r.data?.equals(data.subarray(k * 255 * 1024, (k + 1) * 255 * 1024)), `READ ${k}`).toBe(true);
      if (next < total) ask();
    }
    expect(fs.calls).toBe(total);
    // Buffers were reused (far fewer distinct ones than READs), and every reply arrived intact.
    expect(fs.intos.size).toBeLessThan(total / 2);
    ch.end();
  }, 30_000);
});
