/**
 * `updateInPlace` (ts/crypto/native/packet.ts) asks node:crypto for a share
 * of its output as latin1 strings, balanced by bytes against the Buffers it
 * takes, so scavenges come often enough to free the Buffers; `oweExternal`
 * adds other garbage Buffers (a producer's chunks, copied by an upload) to
 * that balance. Checked through a stand-in cipher context that records
 * which output it was asked for and copies its input (so the result in
 * place is checked too).
 */
import { describe, expect, it } from 'vitest';
import type { Cipher } from 'node:crypto';
import { oweExternal, updateInPlace } from '../../ts/crypto/native/packet.js';

/** A cipher context stand-in: output = input XOR 0x5a, as a Buffer or a latin1 string. */
function recorder(): { ctx: Cipher; asked: string[] } {
  const asked: string[] = [];
  const ctx = {
    update(input: Uint8Array, _in?: string, out?: string): Buffer | string {
      const b = Buffer.from(input.map((x) => x ^ 0x5a));
      asked.push(out ?? 'buffer');
      return out === 'latin1' ? b.toString('latin1') : b;
    },
  } as unknown as Cipher;
  return { ctx, asked };
}

/** Runs `n` updates of `size` bytes; returns the output kinds asked for. */
function run(n: number, size: number): string[] {
  const { ctx, asked } = recorder();
  const buf = Buffer.alloc(size + 8, 0x11);
  for (let i = 0; i < n; i++) {
    updateInPlace(ctx, buf, 4, 4 + size);
    expect(buf[3]).toBe(0x11);
    expect(buf[4 + size]).toBe(0x11);
    // XOR twice is the identity: every other update restores the input.
    expect(buf[4]).toBe(i % 2 === 0 ? 0x11 ^ 0x5a : 0x11);
  }
  return asked;
}

describe('updateInPlace output mix', () => {
  it('takes one latin1 output per two Buffers by bytes, and writes every output back in place', () => {
    // Settle whatever balance earlier updates in this process left.
    run(4, 1024);
    const asked = run(300, 1024);
    const latin1 = asked.filter((k) => k === 'latin1').length;
    expect(latin1).toBeGreaterThanOrEqual(99);
    expect(latin1).toBeLessThanOrEqual(101);
  });

  it('bytes owed with oweExternal come back as latin1 outputs: two owed bytes per latin1 byte', () => {
    run(4, 1024);
    oweExternal(64 * 1024);
    const asked = run(64, 1024);
    const latin1 = asked.filter((k) => k === 'latin1').length;
    // Without the debt 21-22 of 64. With it the first 32 are latin1 (64 KiB
    // at two owed bytes per latin1 byte), then one in three again: 42-43.
    expect(asked.slice(0, 32).every((k) => k === 'latin1')).toBe(true);
    expect(latin1).toBeGreaterThanOrEqual(41);
    expect(latin1).toBeLessThanOrEqual(44);
  });
});
