/**
 * copyingSource (ts/sftp/transfer/producerSource.ts): a producer's chunks,
 * whatever their sizes, come out as full slabs of `chunkSize` bytes in
 * order (the last one short), every byte copied, and slabs given back are
 * filled again instead of new ones being allocated.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { copyingSource } from '../../ts/sftp/transfer/producerSource.js';
import { heapReserve } from '../../ts/transport/heap-reserve.js';
import { patternBytes } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  heapReserve.release();
});

async function* chunksOf(data: Buffer, sizes: number[]): AsyncGenerator<Uint8Array | string> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - at);
    // A fresh copy each time, as fs.ReadStream hands out; one chunk as a latin1-safe string.
    const piece = Buffer.from(data.subarray(at, at + n));
    yield i === 3 ? piece.toString('latin1') : piece;
    at += n;
  }
}

describe('copyingSource', () => {
  it('cuts chunks of any size into full slabs in order, the last one short', async () => {
    const chunk = 1000;
    // Strings go through Buffer.from(string) (utf8), so keep that chunk ASCII.
    const data = Buffer.from(patternBytes(10 * chunk + 123, 3).map((b) => b & 0x7f));
    const { source } = copyingSource(chunksOf(data, [1, 999, 2500, 64, 1000, 7]), chunk);
    const out: Buffer[] = [];
    for (;;) {
      const b = await source();
      if (b === null) break;
      expect(Buffer.isBuffer(b)).toBe(true);
      out.push(Buffer.from(b as Buffer));
    }
    expect(out.map((b) => b.length)).toEqual([...new Array(10).fill(chunk), 123]);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(await source()).toBeNull();
  });

  it('fills released slabs again instead of allocating', async () => {
    const chunk = 4096;
    const data = Buffer.from(patternBytes(64 * chunk, 9).map((b) => b & 0x7f));
    const slow = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const { source, release } = copyingSource(chunksOf(data, [1500]), chunk);
    const out: Buffer[] = [];
    for (;;) {
      const b = (await source()) as Buffer | null;
      if (b === null) break;
      out.push(Buffer.from(b));
      release(b);
    }
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(slow.mock.calls.filter(([n]) => n === chunk).length).toBe(1);
  });

  it('an empty producer gives null at once', async () => {
    async function* none(): AsyncGenerator<Uint8Array> {}
    const { source } = copyingSource(none(), 512);
    expect(await source()).toBeNull();
  });
});
