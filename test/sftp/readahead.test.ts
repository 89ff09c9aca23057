/**
 * A download's memory: READs in flight and data waiting for the local side
 * together stay within the session's read-ahead; the local file writer
 * writes inline until the destination proves slow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { SFTPClient } from '../../ts/sftp/index.js';
import { LocalFileWriter } from '../../ts/sftp/transfer/localWrite.js';
import { streamReadAhead } from '../../ts/sftp/client/streams.js';
import { FXP } from '../../ts/wire/sftpConstants.js';
import { SFTP_SERVER, patternBytes, removeDir, scratchDir } from './helpers.js';

const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = scratchDir();
});
afterAll(() => removeDir(dir));

interface CountingServer {
  client: SFTPClient;
  proc: ChildProcess;
  /** Bytes asked for by every READ so far. */
  requested: () => number;
  /** READs sent so far. */
  reads: () => number;
  /** Event-loop turns in which the client sent READs: one socket write each on a real channel. */
  readBatches: () => number;
}

/** sftp-server on stdio, with the READs the client sends counted. */
async function countingServer(readAhead: number): Promise<CountingServer> {
  const proc = spawn(SFTP_SERVER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const tap = new PassThrough();
  let requested = 0;
  let reads = 0;
  let readBatches = 0;
  let inBatch = false;
  let pending = Buffer.alloc(0);
  tap.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const len = pending.readUInt32BE(0);
      const pkt = pending.subarray(4, 4 + len);
      if (pkt[0] === FXP.READ) {
        const handleLen = pkt.readUInt32BE(5);
        requested += pkt.readUInt32BE(9 + handleLen + 8);
        reads++;
        if (!inBatch) {
          readBatches++;
          inBatch = true;
          setImmediate(() => (inBatch = false));
        }
      }
      pending = pending.subarray(4 + len);
    }
  });
  tap.pipe(proc.stdin!);
  const client = await SFTPClient.fromStream({ readable: proc.stdout!, writable: tap }, { readAhead, concurrency: 64 });
  return { client, proc, requested: () => requested, reads: () => reads, readBatches: () => readBatches };
}

/** A sink that keeps what it is given but calls back only after `release()`. */
function stallingSink(): { stalled: Writable; got: Buffer[]; accepted: () => number; release: () => void } {
  const got: Buffer[] = [];
  let accepted = 0;
  let held: Array<() => void> | null = [];
  const stalled = new Writable({
    highWaterMark: 1,
    write(c: Buffer, _e, cb) {
      got.push(Buffer.from(c));
      accepted += c.length;
      if (held) held.push(() => cb());
      else cb();
    },
  });
  const release = (): void => {
    const waiting = held ?? [];
    held = null;
    for (const f of waiting) f();
  };
  return { stalled, got, accepted: () => accepted, release };
}

/**
 * A file of `size` pattern bytes and a counting server whose session has a
 * short round trip. sftp-server on a pipe answers in well under a
 * millisecond, but the one round trip `init` measures took over 4 ms once
 * on CI's two loaded cores, so the round trip is pinned (the measurement
 * itself is checked in lanes.test.ts).
 */
async function shortRoundTrip(name: string, size: number, seed: number) {
  const data = patternBytes(size, seed);
  const path = join(dir, name);
  writeFileSync(path, data);
  const server = await countingServer(8 * MiB);
  server.client.session.roundTripMs = 0.5;
  return { ...server, data, path, fit: streamReadAhead(server.client.session) };
}

describe('read-ahead', () => {
  it('a consumer that stops taking data stops the READs at the read-ahead, and nothing is lost', async () => {
    const data = patternBytes(40 * MiB, 9);
    writeFileSync(join(dir, 'ra'), data);
    const readAhead = 4 * MiB;
    const { client, proc, requested } = await countingServer(readAhead);
    const chunk = client.limits.maxReadLength;
    const { stalled, got, accepted, release } = stallingSink();
    const done = client.getfo(join(dir, 'ra'), stalled, { chunkSize: chunk });
    await new Promise((r) => setTimeout(r, 400));
    // Without the bound, 64 READs of a whole chunk each would be out (16 MiB).
    expect(accepted()).toBeGreaterThan(0);
    expect(requested()).toBeLessThanOrEqual(accepted() + readAhead + chunk);
    release();
    expect(await done).toBe(data.length);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    await client.close();
    proc.kill();
  });

  it('READs go out in steps once the read-ahead binds, not one per reply', async () => {
    const data = patternBytes(40 * MiB, 11);
    writeFileSync(join(dir, 'steps'), data);
    const { client, proc, reads, readBatches } = await countingServer(8 * MiB);
    // A long round trip: getfo keeps the session's read-ahead (a short one fits it like a read stream's).
    client.session.roundTripMs = 10;
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    // 64 requests of 255 KiB would be 16 MiB: the 8 MiB read-ahead is the bound that binds.
    expect(await client.getfo(join(dir, 'steps'), sink)).toBe(data.length);
    // ~165 READs: 32 at the start, then steps of 8 (2 MiB of room). One READ per
    // reply would make about as many batches as READs.
    expect(reads()).toBeGreaterThan(150);
    expect(readBatches()).toBeLessThan(reads() / 4);
    await client.close();
    proc.kill();
  });

  it('getfo on a short round trip reads ahead as a read stream does, and loses nothing while stalled', async () => {
    const { data, path, client, proc, requested, fit } = await shortRoundTrip('fo', 24 * MiB, 13);
    const chunk = client.limits.maxReadLength;
    const { stalled, got, accepted, release } = stallingSink();
    const done = client.getfo(path, stalled, { chunkSize: chunk });
    await new Promise((r) => setTimeout(r, 400));
    // At most the fitted read-ahead (or four READs) past what the sink took; the session's 8 MiB would be far more.
    expect(accepted()).toBeGreaterThan(0);
    expect(requested()).toBeLessThanOrEqual(accepted() + Math.max(fit.readAhead, 4 * chunk) + chunk);
    expect(requested()).toBeLessThan(accepted() + 4 * MiB);
    release();
    expect(await done).toBe(data.length);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    await client.close();
    proc.kill();
  });

  it('a read stream on a short round trip reads ahead 1 MiB per millisecond of it, and loses nothing while stalled', async () => {
    const { data, path, client, proc, requested, fit } = await shortRoundTrip('rs', 40 * MiB, 5);
    expect(fit.fast).toBe(true);
    expect(fit.readAhead).toBeLessThan(4 * MiB);
    const stream = client.createReadStream(path);
    expect(stream.readableHighWaterMark).toBe(MiB);
    const { stalled, got, accepted, release } = stallingSink();
    stream.pipe(stalled);
    await new Promise((r) => setTimeout(r, 400));
    // The pipeline's read-ahead, one batch of it in the stream's buffer and
    // one push over the high-water mark; the session's 8 MiB would be far more.
    expect(accepted()).toBeGreaterThan(0);
    expect(requested()).toBeLessThanOrEqual(accepted() + 2 * fit.readAhead + MiB + client.limits.maxReadLength);
    release();
    await new Promise<void>((resolve, reject) => {
      stalled.on('finish', resolve);
      stream.on('error', reject);
    });
    expect(Buffer.concat(got).equals(data)).toBe(true);
    await client.close();
    proc.kill();
  });

  it('streamReadAhead keeps the session read-ahead for a long or unknown round trip', () => {
    expect(streamReadAhead({ roundTripMs: undefined, readAhead: 8 * MiB })).toEqual({ readAhead: 8 * MiB, fast: false });
    expect(streamReadAhead({ roundTripMs: 4, readAhead: 20 * MiB })).toEqual({ readAhead: 20 * MiB, fast: false });
    expect(streamReadAhead({ roundTripMs: 0.2, readAhead: 8 * MiB })).toEqual({ readAhead: MiB, fast: true });
    expect(streamReadAhead({ roundTripMs: 2.5, readAhead: 8 * MiB })).toEqual({ readAhead: 3 * MiB, fast: true });
    expect(streamReadAhead({ roundTripMs: 0.2, readAhead: MiB / 2 })).toEqual({ readAhead: MiB / 2, fast: true });
  });

  it('the readAhead option reaches the session', async () => {
    const { client, proc } = await countingServer(3 * MiB);
    expect(client.session.readAhead).toBe(3 * MiB);
    await client.close();
    proc.kill();
  });
});

describe('LocalFileWriter', () => {
  it('writes inline, then through the thread pool once writes run over budget, finishing every byte in place', async () => {
    const path = join(dir, 'lw');
    const fh = await open(path, 'w');
    // Every write takes thousands of times its budget: the running average crosses 1 at once.
    const writer = new LocalFileWriter(fh, { budgetMs: () => 1e-9 });
    const a = patternBytes(300_000, 1);
    const b = patternBytes(123_457, 2);
    expect(writer.inline).toBe(true);
    expect(writer.write([a.subarray(0, 1000), a.subarray(1000)], 0, a.length)).toBeUndefined();
    expect(writer.inline).toBe(false);
    // On the thread pool the batch is copied and written behind: accepted at once.
    expect(writer.write([b], a.length, b.length)).toBeUndefined();
    await writer.flush();
    expect(writer.written).toBe(a.length + b.length);
    await fh.close();
    expect(readFileSync(path).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('stays inline while writes are quick; inline: false always uses the thread pool', async () => {
    const fh = await open(join(dir, 'lw2'), 'w');
    const quick = new LocalFileWriter(fh, { budgetMs: () => 60_000 });
    for (let i = 0; i < 8; i++) expect(quick.write([patternBytes(65_536, i)], i * 65_536, 65_536)).toBeUndefined();
    expect(quick.inline).toBe(true);
    // One write past the hard limit is enough, whatever the budget says.
    const strict = new LocalFileWriter(fh, { budgetMs: () => 60_000, hardLimitMs: -1 });
    expect(strict.write([patternBytes(65_536, 9)], 0, 65_536)).toBeUndefined();
    expect(strict.inline).toBe(false);
    const pool = new LocalFileWriter(fh, { inline: false });
    expect(pool.inline).toBe(false);
    expect(pool.write([Buffer.from('tail')], 8 * 65_536, 4)).toBeUndefined();
    await pool.flush();
    await fh.close();
    expect(readFileSync(join(dir, 'lw2')).subarray(8 * 65_536).toString()).toBe('tail');
  });

  it('writes to anything but a regular file go through the thread pool (a FIFO or device could block the loop)', async () => {
    const fh = await open('/dev/null', 'w');
    const writer = new LocalFileWriter(fh);
    expect(writer.inline).toBe(false);
    await writer.write([Buffer.from('x')], 0, 1);
    await writer.flush();
    await fh.close();
  });

  it('writes behind from its own slabs: the caller may reuse its buffers at once, and waits only when every slab is full', async () => {
    const path = join(dir, 'wb');
    const fh = await open(path, 'w');
    const writer = new LocalFileWriter(fh, { inline: false, slabBytes: 4096, slabs: 2 });
    const data = patternBytes(100_000, 7);
    const scratch = Buffer.alloc(10_000);
    let waits = 0;
    for (let off = 0; off < data.length; off += scratch.length) {
      const n = data.copy(scratch, 0, off);
      // Handed over in uneven pieces, from one buffer that is overwritten at once.
      const r = writer.write([scratch.subarray(0, 3), scratch.subarray(3, 5000), scratch.subarray(5000, n)], off, n);
      if (r instanceof Promise) {
        waits++;
        await r;
      }
      scratch.fill(0xee);
    }
    // 10 000 bytes never fit two 4 KiB slabs: every write waited for one.
    expect(waits).toBe(10);
    await writer.flush();
    expect(writer.written).toBe(data.length);
    await fh.close();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('a failed write-behind is reported by the next write and by flush; settle says how much is in the file', async () => {
    const path = join(dir, 'wbfail');
    const fh = await open(path, 'w');
    const writes = { n: 0 };
    const real = fh.writev.bind(fh);
    // The first thread-pool write lands, the second fails as a full disk would.
    fh.writev = (async (buffers: NodeJS.ArrayBufferView[], position?: number) => {
      if (writes.n++ >= 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return real(buffers, position);
    }) as typeof fh.writev;
    const writer = new LocalFileWriter(fh, { inline: false, slabBytes: 1024, slabs: 4 });
    const a = patternBytes(700, 1);
    expect(writer.write([a], 0, a.length)).toBeUndefined();
    expect(await writer.settle()).toBe(700);
    const b = patternBytes(900, 2);
    expect(writer.write([b], 700, b.length)).toBeUndefined();
    await expect(writer.flush()).rejects.toThrow(/ENOSPC/);
    expect(await writer.settle()).toBe(700);
    expect(() => writer.write([b], 1600, b.length)).toThrow(/ENOSPC/);
    await fh.close();
    expect(readFileSync(path).equals(a)).toBe(true);
  });

  it('a write that waits for a slab rejects when the write-behind fails', async () => {
    const fh = await open(join(dir, 'wbfail2'), 'w');
    fh.writev = (async () => {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    }) as typeof fh.writev;
    const writer = new LocalFileWriter(fh, { inline: false, slabBytes: 1024, slabs: 2 });
    const r = writer.write([patternBytes(5000, 3)], 0, 5000);
    expect(r).toBeInstanceOf(Promise);
    await expect(r).rejects.toThrow(/EIO/);
    expect(await writer.settle()).toBe(0);
    await fh.close();
  });

  it('a write to a closed file is an error, not a hang', async () => {
    const fh = await open(join(dir, 'lw3'), 'w');
    const writer = new LocalFileWriter(fh);
    await fh.close();
    expect(() => writer.write([Buffer.from('x')], 0, 1)).toThrow();
  });
});
