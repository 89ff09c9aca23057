/**
 * The heap reserve held during bulk traffic (ts/transport/heap-reserve.ts):
 * taken only at bulk rates, made of JS-heap memory (what V8 sizes its
 * old-generation limit from), dropped once traffic slows.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { HeapReserve } from '../../ts/transport/heap-reserve.js';

const MiB = 1024 * 1024;

function clock(): { now: () => number; set: (t: number) => void } {
  let t = 0;
  return { now: () => t, set: (v) => (t = v) };
}

/** 1 MiB, taken at 1000 bytes within 100 ms, checked every 50 ms, on a fake clock. */
function small(): { c: ReturnType<typeof clock>; r: HeapReserve } {
  const c = clock();
  return { c, r: new HeapReserve({ sizeMiB: 1, bulkBytes: 1000, windowMs: 100, checkMs: 50, now: c.now }) };
}

describe('HeapReserve', () => {
  it('holds its size in the JS heap (large-object spaces), not outside it', () => {
    const largeObjects = (): number =>
      getHeapSpaceStatistics()
        .filter((sp) => sp.space_name === 'large_object_space' || sp.space_name === 'new_large_object_space')
        .reduce((n, sp) => n + sp.space_used_size, 0);
    const r = new HeapReserve({ sizeMiB: 8, bulkBytes: 1, windowMs: 1000 });
    const before = largeObjects();
    const external = process.memoryUsage().arrayBuffers;
    r.note(1);
    expect(r.held).toBe(true);
    const grew = largeObjects() - before;
    const grewOutside = process.memoryUsage().arrayBuffers - external;
    r.release();
    expect(grew).toBeGreaterThanOrEqual(8 * MiB);
    expect(grewOutside).toBeLessThan(MiB);
  });

  it('is taken when the bulk threshold is reached within the window', () => {
    const { c, r } = small();
    r.note(500);
    expect(r.held).toBe(false);
    c.set(90);
    r.note(600);
    expect(r.held).toBe(true);
    r.release();
    expect(r.held).toBe(false);
  });

  it('is not taken for traffic slower than the bulk rate', () => {
    const { c, r } = small();
    for (let t = 0; t <= 2000; t += 150) {
      c.set(t);
      r.note(999);
    }
    expect(r.held).toBe(false);
    // A burst after the slow stretch counts from a fresh window.
    c.set(2010);
    r.note(1000);
    expect(r.held).toBe(true);
    r.release();
  });

  it('stays while traffic keeps up and goes once it slows', () => {
    const { c, r } = small();
    r.note(1000);
    expect(r.held).toBe(true);
    // The rate that keeps it: a quarter of the bulk rate over a check period (125 bytes here).
    r.note(125);
    r.check();
    expect(r.held).toBe(true);
    r.note(124);
    r.check();
    expect(r.held).toBe(false);
  });

  it('does nothing when sized 0', () => {
    const r = new HeapReserve({ sizeMiB: 0, bulkBytes: 10, windowMs: 1000 });
    r.note(1_000_000);
    expect(r.held).toBe(false);
  });

  it('drops itself on its own timer once idle, and the timer does not keep the process alive', async () => {
    const r = new HeapReserve({ sizeMiB: 1, bulkBytes: 1, windowMs: 1000, checkMs: 10 });
    r.note(1);
    expect(r.held).toBe(true);
    const deadline = Date.now() + 2000;
    while (r.held && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    expect(r.held).toBe(false);
  });
});
