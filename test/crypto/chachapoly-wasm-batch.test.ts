/**
 * The wasm chacha20-poly1305 binding's batch handling: batches bigger than
 * rust-core's shared I/O buffer, packets that can never fit it, and
 * independent contexts interleaved (one failing).
 */
import { describe, expect, it } from 'vitest';
import { buildOpener, buildSealer } from '../../ts/crypto/backends.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { chachapolyBinding } from '../../ts/crypto/wasm/chachapoly.js';
import { CryptoError, IntegrityError, ProtocolError } from '../../ts/errors.js';
import { keysFor, layoutBatch, payloadsFrom, prng, samePayloads } from './helpers.js';

const CIPHER = 'chacha20-poly1305@openssh.com';
const hasWasm = servingImpls(CIPHER).includes('wasm');

describe.runIf(hasWasm)('wasm chacha20-poly1305 batches', () => {
  const cap = hasWasm ? chachapolyBinding()!.ioCap : 0;

  it('seals and opens a batch larger than the I/O buffer, identical to the JS implementation', () => {
    const keys = keysFor(CIPHER, 'none', 11);
    const r = prng(1);
    const count = Math.ceil((cap * 1.5) / 32768);
    const payloads = Array.from({ length: count }, () => r.bytes(32768 - 64 + r.int(64)));
    const w = buildSealer(keys, { cipher: 'wasm' });
    const j = buildSealer(keys, { cipher: 'js' });
    const a = layoutBatch(payloads, w).buf;
    const b = a.slice();
    expect(a.length).toBeGreaterThan(cap);
    w.sealPackets(a, 0, count, 0xfffffff0);
    j.sealPackets(b, 0, count, 0xfffffff0);
    expect(Buffer.compare(a, b)).toBe(0);
    const spans = new Uint32Array(2 * count);
    const n = buildOpener(keys, { cipher: 'wasm' }).openPackets(a, 0, a.length, 0xfffffff0, 65536, spans);
    expect(n).toBe(count);
    expect(samePayloads(payloadsFrom(a, spans, n), payloads)).toBe(true);
  });

  it('a packet bigger than the I/O buffer is refused: CryptoError to seal, ProtocolError to open', () => {
    const keys = keysFor(CIPHER, 'none', 12);
    const big = layoutBatch([new Uint8Array(cap)], { blockSize: 8, macLength: 16, padsLengthField: false }).buf;
    expect(() => buildSealer(keys, { cipher: 'wasm' }).sealPackets(big, 0, 1, 0)).toThrow(CryptoError);
    // Sealed by another backend, its length alone must get it refused by the wasm opener.
    buildSealer(keys, { cipher: 'js' }).sealPackets(big, 0, 1, 0);
    expect(() => buildOpener(keys, { cipher: 'wasm' }).openPackets(big, 0, 64, 0, 2 ** 31 - 1, new Uint32Array(2))).toThrow(ProtocolError);
  });

  it('two contexts interleaved, one failing, do not disturb each other', () => {
    const ka = keysFor(CIPHER, 'none', 21);
    const kb = keysFor(CIPHER, 'none', 22);
    const sa = buildSealer(ka, { cipher: 'wasm' });
    const sb = buildSealer(kb, { cipher: 'wasm' });
    const oa = buildOpener(ka, { cipher: 'wasm' });
    const ob = buildOpener(kb, { cipher: 'wasm' });
    const r = prng(3);
    for (let round = 0; round < 5; round++) {
      const pa = [r.bytes(r.int(2000))];
      const pb = [r.bytes(r.int(2000)), r.bytes(10)];
      const a = layoutBatch(pa, sa).buf;
      const b = layoutBatch(pb, sb).buf;
      sa.sealPackets(a, 0, 1, round);
      sb.sealPackets(b, 0, 2, round * 2);
      const bad = a.slice();
      bad[bad.length - 1] ^= 1;
      expect(() => oa.openPackets(bad, 0, bad.length, round, 65536, new Uint32Array(2))).toThrow(IntegrityError);
      // The wrong context reads a garbage length or a bad tag (both ProtocolErrors) and harms neither.
      expect(() => ob.openPackets(a.slice(), 0, a.length, round, 65536, new Uint32Array(2))).toThrow(ProtocolError);
      const sp = new Uint32Array(4);
      expect(ob.openPackets(b, 0, b.length, round * 2, 65536, sp)).toBe(2);
      expect(samePayloads(payloadsFrom(b, sp, 2), pb)).toBe(true);
      expect(oa.openPackets(a, 0, a.length, round, 65536, sp)).toBe(1);
      expect(samePayloads(payloadsFrom(a, sp, 1), pa)).toBe(true);
    }
  });

  it('a failure mid-batch reports the error after the packets before it were opened', () => {
    const keys = keysFor(CIPHER, 'none', 31);
    const s = buildSealer(keys, { cipher: 'wasm' });
    const payloads = [new Uint8Array(100), new Uint8Array(200), new Uint8Array(300)];
    const { buf, offsets } = layoutBatch(payloads, s);
    s.sealPackets(buf, 0, 3, 0);
    buf[offsets[1]! + 10] ^= 0x80;
    expect(() => buildOpener(keys, { cipher: 'wasm' }).openPackets(buf, 0, buf.length, 0, 65536, new Uint32Array(6))).toThrow(IntegrityError);
    // The first packet was decrypted in place before the failure.
    expect(buf.subarray(offsets[0]! + 5, offsets[0]! + 105).every((x) => x === 0)).toBe(true);
  });
});
