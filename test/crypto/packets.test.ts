/**
 * Sealer/opener behaviour for every construction under every implementation
 * that can serve it here: round trips, byte-identical output across
 * backends (differential), incremental delivery, tampering, bad lengths,
 * bad key sizes.
 */
import { describe, expect, it } from 'vitest';
import { buildOpener, buildSealer, type PacketImpls } from '../../ts/crypto/backends.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { cipherInfo } from '../../ts/crypto/algorithms.js';
import { CryptoError, IntegrityError, ProtocolError } from '../../ts/errors.js';
import type { DirectionKeys, PacketOpener, PacketSealer } from '../../ts/crypto/types.js';
import { keysFor, layoutBatch, payloadsFrom, prng, samePayloads, sealingImpls } from './helpers.js';

const CLASSIC_CIPHERS = ['aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'];
const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'];

/** [cipher, mac] for every construction. */
const CONSTRUCTIONS: [string, string][] = (
  [
    ['none', 'none'],
    ['chacha20-poly1305@openssh.com', 'none'],
    ['aes128-gcm@openssh.com', 'none'],
    ['aes256-gcm@openssh.com', 'none'],
    ...CLASSIC_CIPHERS.flatMap((c) => MACS.map((m) => [c, m] as [string, string])),
  ] as [string, string][]
).filter(([c, m]) => servingImpls(c).length > 0 && (cipherInfo(c)!.aead || servingImpls(m).length > 0));

/** Every implementation combination for a construction: cipher impl × MAC impl. */
function implCombos(cipher: string, mac: string): PacketImpls[] {
  const cs = servingImpls(cipher);
  if (cipherInfo(cipher)!.aead || mac === 'none') return cs.map((c) => ({ cipher: c }));
  return cs.flatMap((c) => servingImpls(mac).map((m) => ({ cipher: c, mac: m })));
}

const label = (i: PacketImpls) => (i.mac ? `${i.cipher}/${i.mac}` : `${i.cipher}`);

function randomPayloads(r: ReturnType<typeof prng>, count: number, maxLen: number): Uint8Array[] {
  return Array.from({ length: count }, () => r.bytes(r.int(maxLen + 1)));
}

/** Seals payloads into a fresh batch buffer. */
function sealBatch(s: PacketSealer, payloads: Uint8Array[], seq: number): Uint8Array {
  const { buf } = layoutBatch(payloads, s);
  s.sealPackets(buf, 0, payloads.length, seq);
  return buf;
}

/** Opens everything in buf with one call; returns the payloads. */
function openAll(o: PacketOpener, buf: Uint8Array, seq: number, count: number): Uint8Array[] {
  const spans = new Uint32Array(2 * (count + 1));
  const n = o.openPackets(buf, 0, buf.length, seq, 64 * 1024, spans);
  expect(n).toBe(count);
  return payloadsFrom(buf, spans, n);
}

const errorName = (fn: () => unknown): string => {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return (e as Error).constructor.name;
  }
};

describe.each(CONSTRUCTIONS)('%s + %s', (cipher, mac) => {
  const combos = implCombos(cipher, mac);
  const keys = keysFor(cipher, mac, 42);

  it.each(combos.map((c) => [label(c), c] as const))('%s: round trip of a batch, spans and layout facts', (_l, impls) => {
    const s = buildSealer(keys, sealingImpls(cipher, impls));
    const o = buildOpener(keys, impls);
    expect(s.blockSize).toBe(Math.max(8, cipherInfo(cipher)!.blockSize));
    expect(o.macLength).toBe(s.macLength);
    const r = prng(7);
    const payloads = [new Uint8Array(0), r.bytes(1), r.bytes(100), r.bytes(5000)];
    const buf = sealBatch(s, payloads, 3);
    if (cipher !== 'none') {
      // The payload must not survive sealing in clear.
      expect(Buffer.from(buf).indexOf(Buffer.from(payloads[3]!.subarray(0, 32)))).toBe(-1);
    }
    expect(samePayloads(openAll(o, buf, 3, payloads.length), payloads)).toBe(true);
  });

  it('differential: every implementation seals byte-identically and opens every other one (random lengths, batches, seq wrap)', () => {
    const r = prng(cipher.length * 131 + mac.length);
    const sealers = combos.map((c) => buildSealer(keys, sealingImpls(cipher, c)));
    const openers = combos.map((c) => buildOpener(keys, c));
    let seq = 0xfffffffd;
    for (let round = 0; round < 3; round++) {
      const payloads = randomPayloads(r, 1 + r.int(5), 35000);
      const sealed = sealers.map((s) => sealBatch(s, payloads, seq));
      for (let i = 1; i < sealed.length; i++) expect(Buffer.compare(sealed[i]!, sealed[0]!), `${label(combos[i]!)} vs ${label(combos[0]!)}`).toBe(0);
      // All outputs are identical, so each implementation's opener opening one
      // of them (a different one per implementation) opens every other's output.
      for (let i = 0; i < combos.length; i++) {
        const j = (i + 1) % combos.length;
        expect(samePayloads(openAll(openers[i]!, sealed[j]!, seq, payloads.length), payloads)).toBe(true);
      }
      seq = (seq + payloads.length) >>> 0;
    }
  });

  it.each(combos.map((c) => [label(c), c] as const))('%s: incremental delivery, moved buffer, and a spans limit of one packet', (_l, impls) => {
    const s = buildSealer(keys, sealingImpls(cipher, impls));
    const o = buildOpener(keys, impls);
    const r = prng(99);
    const payloads = randomPayloads(r, 4, 3000);
    const sealed = sealBatch(s, payloads, 0xffffffff);
    const got: Uint8Array[] = [];
    const spans = new Uint32Array(2);
    // Deliver in uneven chunks; the receive buffer is rebuilt (moved) on every call.
    let pending = new Uint8Array(0);
    let seq = 0xffffffff;
    let delivered = 0;
    while (delivered < sealed.length || pending.length > 0) {
      const step = Math.min(sealed.length - delivered, 1 + r.int(700));
      const next = new Uint8Array(pending.length + step);
      next.set(pending);
      next.set(sealed.subarray(delivered, delivered + step), pending.length);
      delivered += step;
      let pos = 0;
      for (;;) {
        const n = o.openPackets(next, pos, next.length, seq, 64 * 1024, spans);
        if (n === 0) break;
        expect(n).toBe(1);
        got.push(...payloadsFrom(next, spans, 1));
        pos = spans[0]! + spans[1]! + o.macLength;
        seq = (seq + 1) >>> 0;
      }
      pending = next.slice(pos);
      if (delivered === sealed.length && pending.length === 0) break;
      expect(delivered < sealed.length || pending.length === 0).toBe(true);
    }
    expect(samePayloads(got, payloads)).toBe(true);
    expect(seq).toBe(3);
  });

  it.each(combos.map((c) => [label(c), c] as const))('%s: every tampered byte is a typed error; the next good packet still opens where the construction allows', (_l, impls) => {
    const s = buildSealer(keys, sealingImpls(cipher, impls));
    const payload = prng(5).bytes(40);
    const good = sealBatch(s, [payload], 77);
    // Classic encrypt-and-MAC decrypts before it can check, so a failure leaves its stream state spent.
    const recovers = cipher !== 'none' && (cipherInfo(cipher)!.aead || mac.includes('-etm@'));
    let shared = buildOpener(keys, impls);
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i] ^= 0x01 << (i % 8);
      const o = recovers ? shared : buildOpener(keys, impls);
      const name = errorName(() => o.openPackets(bad, 0, bad.length, 77, 64 * 1024, new Uint32Array(2)));
      if (cipher === 'none') {
        // Nothing protects plaintext: only a broken length or padding is detectable.
        expect(['no error', 'ProtocolError']).toContain(name);
        continue;
      }
      // A corrupted length may also show up as an incomplete packet (returns 0) if it grew.
      expect(['IntegrityError', 'ProtocolError', 'no error']).toContain(name);
      if (name === 'no error') expect(i).toBeLessThan(Math.max(4, s.blockSize));
      if (recovers) {
        expect(samePayloads(openAll(shared, good.slice(), 77, 1), [payload])).toBe(true);
        shared = buildOpener(keys, impls);
      }
    }
  });

  it.each(combos.map((c) => [label(c), c] as const))('%s: a length over the limit is a ProtocolError as soon as the length is readable', (_l, impls) => {
    const s = buildSealer(keys, sealingImpls(cipher, impls));
    const sealed = sealBatch(s, [prng(3).bytes(2000)], 0);
    const o = buildOpener(keys, impls);
    // Only the first block (or length field) has arrived.
    const head = sealed.subarray(0, Math.max(4, s.blockSize));
    expect(() => o.openPackets(head, 0, head.length, 0, 1000, new Uint32Array(2))).toThrow(ProtocolError);
    expect(() => o.openPackets(head, 0, head.length, 0, 1000, new Uint32Array(2))).not.toThrow(IntegrityError);
  });
});

describe('argument checks', () => {
  it('bad key, IV and MAC key sizes and unknown names are CryptoErrors', () => {
    const good = keysFor('aes128-ctr', 'hmac-sha2-256', 1);
    const variants: DirectionKeys[] = [
      { ...good, encKey: new Uint8Array(15) },
      { ...good, iv: new Uint8Array(12) },
      { ...good, macKey: new Uint8Array(31) },
      { ...good, cipher: 'rot13' },
      { ...good, mac: 'crc32' },
      { ...keysFor('chacha20-poly1305@openssh.com', 'none', 1), encKey: new Uint8Array(32) },
      { ...keysFor('aes256-gcm@openssh.com', 'none', 1), iv: new Uint8Array(16) },
    ];
    for (const k of variants) {
      for (const impl of servingImpls(cipherInfo(k.cipher)?.name ?? 'aes128-ctr')) {
        expect(() => buildSealer(k, { cipher: impl })).toThrow(CryptoError);
        expect(() => buildOpener(k, { cipher: impl })).toThrow(CryptoError);
      }
    }
  });

  it.each(CONSTRUCTIONS)('%s + %s: an outgoing length that is not block-aligned or overruns the buffer is a CryptoError', (cipher, mac) => {
    for (const impls of implCombos(cipher, mac)) {
      const s = buildSealer(keysFor(cipher, mac, 2), sealingImpls(cipher, impls));
      const { buf } = layoutBatch([new Uint8Array(10)], s);
      const misaligned = buf.slice();
      new DataView(misaligned.buffer).setUint32(0, new DataView(buf.buffer).getUint32(0) + 1);
      expect(() => s.sealPackets(misaligned, 0, 1, 0)).toThrow(CryptoError);
      expect(() => s.sealPackets(buf, 0, 2, 0)).toThrow(CryptoError);
      expect(() => s.sealPackets(buf.subarray(0, buf.length - 1), 0, 1, 0)).toThrow(CryptoError);
    }
  });

  it('an opener resumed at a different sequence number while a first block is pending is a CryptoError', () => {
    for (const impl of servingImpls('aes128-cbc')) {
      const keys = keysFor('aes128-cbc', 'hmac-sha1', 3);
      const s = buildSealer(keys, { cipher: impl });
      const sealed = sealBatch(s, [new Uint8Array(100)], 10);
      const o = buildOpener(keys, { cipher: impl });
      expect(o.openPackets(sealed, 0, 20, 10, 65536, new Uint32Array(2))).toBe(0);
      expect(() => o.openPackets(sealed, 0, sealed.length, 11, 65536, new Uint32Array(2))).toThrow(CryptoError);
    }
  });
});
