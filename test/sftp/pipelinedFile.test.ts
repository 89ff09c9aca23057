/**
 * SFTPFile with setPipelined: `write` returns before most of a large
 * write's WRITEs are even sent, so whatever asks about the file next
 * (stat, seek from the end, fsetstat, a read) waits for them first, and
 * sees every earlier write, as with Paramiko; a later write goes out after
 * the earlier ones, so where they overlap it wins.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { patternBytes, removeDir, scratchDir, serverForFile, startServer } from './helpers.js';
import { within } from '../helpers/within.js';

/**
 * 8 WRITEs in flight (2 MiB): most of an 8 MiB write waits on our side.
 * With the defaults (64 in flight, and a pause once 8 MiB are queued on
 * the stream) it takes over 16 MiB; see the last test.
 */
const ctx = serverForFile({ concurrency: 8 });
const byDefault = serverForFile();
const SIZE = 8 * 1024 * 1024 + 123;

describe('pipelined writes, then a request about the file', () => {
  it('stat() right after a large pipelined write reports the full size', async () => {
    const f = await ctx.client.open(join(ctx.dir, 'stat'), 'w');
    f.setPipelined(true);
    await f.write(patternBytes(SIZE, 1));
    expect((await f.stat()).st_size).toBe(SIZE);
    await f.close();
  });

  it('seek(0, 2) right after a large pipelined write lands at the full size', async () => {
    const f = await ctx.client.open(join(ctx.dir, 'seek'), 'w');
    f.setPipelined(true);
    await f.write(patternBytes(SIZE, 2));
    expect(await f.seek(0, 2)).toBe(SIZE);
    await f.write('tail');
    await f.close();
    expect(statSync(join(ctx.dir, 'seek')).size).toBe(SIZE + 4);
  });

  it('utime and chmod right after a large pipelined write are not undone by it', async () => {
    const p = join(ctx.dir, 'utime');
    const f = await ctx.client.open(p, 'w');
    f.setPipelined(true);
    await f.write(patternBytes(SIZE, 3));
    await f.utime([100, 200]);
    await f.chmod(0o640);
    await f.close();
    const st = statSync(p);
    expect([st.size, st.mtimeMs, st.mode & 0o777]).toEqual([SIZE, 200_000, 0o640]);
  });

  it('a read right after a large pipelined write returns what was written', async () => {
    const p = join(ctx.dir, 'read');
    const data = patternBytes(SIZE, 4);
    const f = await ctx.client.open(p, 'w+');
    f.setPipelined(true);
    await f.write(data);
    // The end first: its WRITEs are the last to go out.
    await f.seek(SIZE - 4096);
    const tail = await f.read(4096);
    await f.seek(0);
    const back = await f.read();
    await f.close();
    expect(tail.equals(data.subarray(SIZE - 4096))).toBe(true);
    expect(back.length).toBe(SIZE);
    expect(back.equals(data)).toBe(true);
    expect(readFileSync(p).equals(data)).toBe(true);
  });
});

describe('pipelined writes that overlap', () => {
  it('a later write over part of an earlier, still unsent one wins, as it would unpipelined', async () => {
    const p = join(ctx.dir, 'overlap');
    const data = patternBytes(SIZE, 7);
    const patch = Buffer.alloc(100, 0x55);
    const at = 6 * 1024 * 1024;
    const f = await ctx.client.open(p, 'w');
    f.setPipelined(true);
    await f.write(data);
    await f.seek(at);
    await f.write(patch);
    await f.close();
    patch.copy(data, at);
    expect(readFileSync(p).equals(data)).toBe(true);
  });
});

describe('pipelined writes with the default concurrency', () => {
  it('stat() and seek(0, 2) right after a 24 MiB pipelined write see all of it', async () => {
    const big = 24 * 1024 * 1024 + 5;
    const f = await byDefault.client.open(join(byDefault.dir, 'big'), 'w');
    f.setPipelined(true);
    await f.write(patternBytes(big, 5));
    expect((await f.stat()).st_size).toBe(big);
    await f.write(patternBytes(big, 6));
    expect(await f.seek(0, 2)).toBe(2 * big);
    await f.close();
  });
});

describe('writes into a prefetched range', () => {
  it('a read after a write into prefetched bytes returns the new bytes, not the prefetched ones', async () => {
    const p = join(ctx.dir, 'prefetched');
    const data = patternBytes(1024 * 1024, 8);
    const f0 = await ctx.client.open(p, 'w');
    await f0.write(data);
    await f0.close();
    const f = await ctx.client.open(p, 'r+');
    await f.prefetch();
    expect((await f.read(16)).equals(data.subarray(0, 16))).toBe(true);
    await f.seek(300_000);
    await f.write('new bytes');
    await f.seek(300_000);
    expect((await f.read(9)).toString()).toBe('new bytes');
    expect((await f.read(100)).equals(data.subarray(300_009, 300_109))).toBe(true);
    await f.close();
  });
});

describe('pipelined writes hold a bounded amount', () => {
  it('a loop of pipelined writes stops returning while the server acknowledges nothing, and then completes', async () => {
    const dir = scratchDir();
    // 4 WRITEs of 64 KiB in flight: a write waits once earlier ones hold more than 256 KiB.
    const server = await startServer({ concurrency: 4, chunkSize: 64 * 1024 });
    try {
      const p = join(dir, 'bounded');
      const piece = 128 * 1024;
      const count = 40;
      const data = patternBytes(piece * count, 9);
      const f = await server.client.open(p, 'w');
      f.setPipelined(true);
      server.proc.kill('SIGSTOP');
      let returned = 0;
      const loop = (async () => {
        for (let i = 0; i < count; i++) {
          await f.write(data.subarray(i * piece, (i + 1) * piece));
          returned++;
        }
      })();
      await new Promise((r) => setTimeout(r, 400));
      // Unbounded, all 40 (5 MiB) would have returned by now.
      expect(returned).toBeLessThanOrEqual(4);
      server.proc.kill('SIGCONT');
      await within(loop, 20_000, 'the pipelined writes');
      expect(returned).toBe(count);
      await f.close();
      expect(readFileSync(p).equals(data)).toBe(true);
    } finally {
      server.proc.kill('SIGCONT');
      await server.client.close();
      removeDir(dir);
    }
  });
});
