/**
 * Sealing in place must not bring V8's full collections: node:crypto hands
 * back every packet's ciphertext as a fresh allocation, and taken as
 * Buffers alone those pile up outside the heap until mark-compacts run
 * (about 45 per GiB). `updateInPlace` takes a share as latin1 strings so
 * scavenges come often enough (ts/crypto/native/packet.ts). Collections
 * and bytes are counted, not time, in a fresh process so nothing else is on
 * its heap.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CHILD = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { NativeGcm } from ${JSON.stringify(new URL('../../ts/crypto/native/packet.ts', import.meta.url).href)};
const gcm = new NativeGcm('aes-128-gcm', Buffer.alloc(16, 7));
const PACKET = 32768, BATCH = 8, TOTAL = 256 * 1024 * 1024;
const batch = Buffer.alloc(BATCH * (4 + PACKET + 16), 1);
const nonce = Buffer.alloc(12);
const counts = { major: 0, minor: 0, peakExternal: 0 };
const external0 = process.memoryUsage().arrayBuffers;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
  }
});
obs.observe({ entryTypes: ['gc'] });
for (let sealed = 0, n = 0; sealed < TOTAL; n++) {
  for (let i = 0; i < BATCH; i++, sealed += PACKET) {
    nonce.writeUInt32BE(n * BATCH + i, 8);
    gcm.seal(nonce, batch, i * (4 + PACKET + 16), PACKET);
  }
  counts.peakExternal = Math.max(counts.peakExternal, process.memoryUsage().arrayBuffers - external0);
  // Let the observer's callbacks run now and then, as a socket write would.
  if (n % 64 === 63) await new Promise((r) => setImmediate(r));
}
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify(counts));
`;

describe('sealing in place and V8', () => {
  it('256 MiB of AES-GCM packets sealed in place: scavenges keep the dead ciphertext buffers few', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 60_000 });
    const { major, minor, peakExternal } = JSON.parse(out.trim().split('\n').pop()!) as { major: number; minor: number; peakExternal: number };
    // Buffers alone: 8 scavenges, one per 32 MB of dead buffers, the pile
    // that outgrows a small heap's headroom. Measured: 7-11 MB with a
    // third as strings, 33 MB without.
    expect(minor).toBeGreaterThan(16);
    expect(peakExternal).toBeLessThan(20 * 1024 * 1024);
    expect(major).toBeLessThanOrEqual(2);
  });
});
