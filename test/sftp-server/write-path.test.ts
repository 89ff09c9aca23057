/**
 * The server's WRITE path: requests split over chunks at every boundary
 * (RequestFramer), WRITEs parsed from a head plus views, contiguous WRITEs
 * coalesced into vectored writes in order (WriteBatcher), malformed WRITEs
 * answered with the same statuses as before, and STATUS OK bytes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../ts/errors.js';
import { LocalFilesystem, SFTPServerSession, type SFTPHandle, type SFTPServerInterface } from '../../ts/sftp/server/index.js';
import { REQUEST_HEAD, RequestFramer } from '../../ts/sftp/server/requestFramer.js';
import { okStatus } from '../../ts/sftp/server/status.js';
import { WriteBatcher } from '../../ts/sftp/server/writeBatcher.js';
import { FX, FXF, FXP } from '../../ts/wire/sftpConstants.js';
import { encodeStatus } from '../../ts/wire/sftpPacket.js';
import { SFTPAttributes } from '../../ts/sftp/attributes.js';
import { removeDir, scratchDir } from '../sftp/helpers.js';
import { packet, ReplyReader, str, u32, u64 } from './raw.js';

function writeReq(id: number, handle: Buffer, offset: bigint, data: Buffer, claimed = data.length): Buffer {
  return packet(FXP.WRITE, id, str(handle), u64(offset), u32(claimed), data);
}

/** Our SFTP server on a stream pair; the test speaks raw SFTP on the other end. */
class Harness {
  readonly toServer = new PassThrough();
  readonly fromServer = new PassThrough();
  readonly session: SFTPServerSession;
  readonly #replies = new ReplyReader(this.fromServer);

  constructor(fs: SFTPServerInterface) {
    const stream = Duplex.from({ readable: this.toServer, writable: this.fromServer });
    this.session = new SFTPServerSession(stream, fs);
  }

  /** Sends bytes cut into chunks of the given sizes (cycled). */
  send(bytes: Buffer, cuts: number[] = [bytes.length]): void {
    let pos = 0;
    for (let i = 0; pos < bytes.length; i++) {
      const n = Math.max(1, cuts[i % cuts.length]!);
      this.toServer.write(Buffer.from(bytes.subarray(pos, pos + n)));
      pos += n;
    }
  }

  /** The next reply body (type first), within 5 s. */
  reply(): Promise<Buffer> {
    return this.#replies.reply(5000);
  }

  async status(): Promise<{ id: number; code: number }> {
    const b = await this.reply();
    expect(b[0]).toBe(FXP.STATUS);
    return { id: b.readUInt32BE(1), code: b.readUInt32BE(5) };
  }

  async init(): Promise<void> {
    this.send(packet(FXP.INIT, null, u32(3)));
    expect((await this.reply())[0]).toBe(FXP.VERSION);
  }

  async open(path: string, id = 1): Promise<Buffer> {
    this.send(packet(FXP.OPEN, id, str(path), u32(FXF.WRITE | FXF.CREAT | FXF.TRUNC), u32(0)));
    const b = await this.reply();
    expect(b[0]).toBe(FXP.HANDLE);
    return Buffer.from(b.subarray(9, 9 + b.readUInt32BE(5)));
  }

  async close(handle: Buffer, id: number): Promise<void> {
    this.send(packet(FXP.CLOSE, id, str(handle)));
    expect(await this.status()).toEqual({ id, code: FX.OK });
  }

  end(): Promise<Error | null> {
    this.toServer.end();
    return this.session.done;
  }
}

let dir: string | null = null;
afterEach(() => {
  if (dir) removeDir(dir);
  dir = null;
});

describe('RequestFramer', () => {
  it('delivers every request intact whatever the chunk boundaries, bulk bytes as views', () => {
    const reqs = [Buffer.from([FXP.STAT, 0, 0, 0, 7, 1, 2, 3]), Buffer.concat([Buffer.from([FXP.WRITE]), randomBytes(40000)]), Buffer.from([FXP.CLOSE, 0, 0, 0, 9])];
    const wire = Buffer.concat(reqs.map((r) => Buffer.concat([u32(r.length), r])));
    for (const cut of [1, 3, 4, 5, 511, 512, 513, 4096, 32768, wire.length]) {
      const framer = new RequestFramer(1 << 20);
      const got: Buffer[] = [];
      const chunks: Buffer[] = [];
      for (let p = 0; p < wire.length; p += cut) chunks.push(Buffer.from(wire.subarray(p, p + cut)));
      const pushed = new Set(chunks.map((c) => c.buffer));
      for (const c of chunks) {
        framer.push(c, (head, rest) => {
          if (rest) {
            expect(head.length).toBe(REQUEST_HEAD);
            // The views point into the chunks we pushed: nothing was copied past the head.
            for (const v of rest) expect(pushed.has(v.buffer)).toBe(true);
          }
          got.push(Buffer.concat([head, ...(rest ?? [])]));
        });
      }
      expect(got.map((g) => g.toString('hex')), `cut ${cut}`).toEqual(reqs.map((r) => r.toString('hex')));
    }
  });

  it('refuses an empty or oversized request', () => {
    expect(() => new RequestFramer(100).push(u32(0), () => {})).toThrow(ProtocolError);
    expect(() => new RequestFramer(100).push(u32(101), () => {})).toThrow(ProtocolError);
  });
});

describe('WriteBatcher', () => {
  it('sends one write at a time, coalescing contiguous waiting writes in arrival order', async () => {
    const calls: { offset: number; data: string }[] = [];
    let release: (() => void) | null = null;
    const b = new WriteBatcher((offset, parts) => {
      calls.push({ offset, data: Buffer.concat(parts).toString() });
      return new Promise<void>((r) => (release = r));
    });
    const done: string[] = [];
    const w = (off: number, s: string): Promise<void> => b.write(off, [Buffer.from(s)], s.length).then(() => void done.push(s));
    const all = [w(0, 'ab'), w(2, 'cd'), w(4, 'ef'), w(100, 'xy'), w(102, 'zz'), w(0, 'AB')];
    expect(calls).toEqual([{ offset: 0, data: 'ab' }]);
    for (let i = 0; i < 4; i++) {
      release!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(calls).toEqual([
      { offset: 0, data: 'ab' },
      { offset: 2, data: 'cdef' },
      { offset: 100, data: 'xyzz' },
      { offset: 0, data: 'AB' },
    ]);
    expect(done).toEqual(['ab', 'cd', 'ef', 'xy', 'zz', 'AB']);
  });

  it('fails every request of a failed call, and carries on with the next', async () => {
    let n = 0;
    let release: ((ok: boolean) => void) | null = null;
    const b = new WriteBatcher(() => {
      n++;
      return new Promise<void>((res, rej) => (release = (ok) => (ok ? res() : rej(new Error('ENOSPC')))));
    });
    const first = b.write(0, [Buffer.from('a')], 1);
    const second = b.write(1, [Buffer.from('b')], 1);
    const third = b.write(2, [Buffer.from('c')], 1);
    release!(true);
    await first;
    await new Promise((r) => setImmediate(r));
    expect(n).toBe(2);
    release!(false);
    await expect(second).rejects.toThrow('ENOSPC');
    await expect(third).rejects.toThrow('ENOSPC');
    const fourth = b.write(3, [Buffer.from('d')], 1);
    expect(n).toBe(3);
    release!(true);
    await fourth;
  });
});

describe('STATUS OK', () => {
  it('is byte for byte what the general encoder makes', () => {
    for (const id of [0, 1, 0x01020304, 0xffffffff]) expect(okStatus(id).equals(encodeStatus(id, FX.OK, 'Success'))).toBe(true);
  });
});

describe('SFTPServerSession WRITE', () => {
  it('writes 64 pipelined WRITEs split at odd chunk boundaries into the right bytes (LocalFilesystem, writev)', async () => {
    dir = scratchDir('sshwire-write-path-');
    const h = new Harness(new LocalFilesystem(dir));
    await h.init();
    const handle = await h.open('/f.bin');
    const data = randomBytes(64 * 32768 + 1000);
    const reqs: Buffer[] = [];
    let id = 10;
    for (let off = 0; off < data.length; off += 32768) reqs.push(writeReq(id++, handle, BigInt(off), data.subarray(off, off + 32768)));
    h.send(Buffer.concat(reqs), [32768, 7, 1, 40000, 513, 5]);
    const seen = new Set<number>();
    for (let i = 0; i < reqs.length; i++) {
      const s = await h.status();
      expect(s.code).toBe(FX.OK);
      seen.add(s.id);
    }
    expect(seen.size).toBe(reqs.length);
    await h.close(handle, 5);
    expect(readFileSync(join(dir, 'f.bin')).equals(data)).toBe(true);
    expect(await h.end()).toBe(null);
  });

  it('answers malformed WRITEs as before: BAD_MESSAGE, FAILURE for a bad handle or offset', async () => {
    dir = scratchDir('sshwire-write-path-');
    const h = new Harness(new LocalFilesystem(dir));
    await h.init();
    const handle = await h.open('/g.bin');
    const cases: [Buffer, number][] = [
      [writeReq(20, handle, 0n, Buffer.alloc(10), 11), FX.BAD_MESSAGE], // data shorter than claimed
      [writeReq(21, handle, 0n, Buffer.alloc(0), 256 * 1024 + 1), FX.BAD_MESSAGE], // above SFTP_MAX_IO
      [packet(FXP.WRITE, 22, str(handle), u32(0)), FX.BAD_MESSAGE], // truncated offset
      [packet(FXP.WRITE, 23, u32(300)), FX.BAD_MESSAGE], // handle longer than 256
      [writeReq(24, Buffer.from([0, 0, 0, 99]), 0n, Buffer.from('x')), FX.FAILURE], // unknown handle
      [writeReq(25, handle, 1n << 60n, Buffer.from('x')), FX.FAILURE], // offset beyond 2^53
    ];
    for (const [req, code] of cases) {
      h.send(req, [3, 50000]);
      const s = await h.status();
      expect(s.code, `request ${s.id}`).toBe(code);
    }
    // The session is still in sync: a good WRITE after all that works.
    h.send(writeReq(30, handle, 0n, Buffer.from('fine')));
    expect(await h.status()).toEqual({ id: 30, code: FX.OK });
    await h.close(handle, 31);
    expect(readFileSync(join(dir, 'g.bin'), 'utf8')).toBe('fine');
    await h.end();
  });

  it('a handle with only write() gets each WRITE whole, joined when it was split', async () => {
    const writes: { offset: number; len: number }[] = [];
    let stored = Buffer.alloc(0);
    const handleObj: SFTPHandle = {
      write: (offset, data) => {
        writes.push({ offset, len: data.length });
        const next = Buffer.alloc(Math.max(stored.length, offset + data.length));
        stored.copy(next);
        next.set(data, offset);
        stored = next;
      },
    };
    const fs: SFTPServerInterface = { open: () => handleObj, stat: () => new SFTPAttributes() };
    const h = new Harness(fs);
    await h.init();
    const handle = await h.open('/m');
    const data = randomBytes(3 * 40000);
    for (let i = 0; i < 3; i++) h.send(writeReq(40 + i, handle, BigInt(i * 40000), data.subarray(i * 40000, (i + 1) * 40000)), [1000, 33]);
    for (let i = 0; i < 3; i++) expect((await h.status()).code).toBe(FX.OK);
    expect(writes.map((w) => w.len)).toEqual([40000, 40000, 40000]);
    expect(stored.equals(data)).toBe(true);
    await h.end();
  });
});
