/** Shared test helpers for test/crypto: a seeded PRNG, packet layout, key material. */
import { cipherInfo, macInfo } from '../../ts/crypto/algorithms.js';
import type { DirectionKeys } from '../../ts/crypto/types.js';
import type { PacketImpls } from '../../ts/crypto/backends.js';
import { CHACHAPOLY_SEAL, servingImpls } from '../../ts/crypto/select.js';

/** Deterministic PRNG (mulberry32) so every run tests the same cases. */
export function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Uint8Array } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Deterministic keys for a direction. */
export function keysFor(cipher: string, mac: string, seed: number): DirectionKeys {
  const r = prng(seed);
  const ci = cipherInfo(cipher)!;
  const mi = ci.aead ? { keyLength: 0 } : macInfo(mac)!;
  return { cipher, mac, encKey: r.bytes(ci.keyLength), iv: r.bytes(ci.ivLength), macKey: r.bytes(mi.keyLength) };
}

export interface Layout {
  blockSize: number;
  macLength: number;
  padsLengthField: boolean;
}

/** Padded packet_length for a payload (padding >= 4, block-aligned as the layout says). */
export function packetLength(payloadLen: number, l: Layout): number {
  const base = l.padsLengthField ? 4 : 0;
  let pad = 4;
  while ((base + 1 + payloadLen + pad) % l.blockSize !== 0) pad++;
  return 1 + payloadLen + pad;
}

/** Lays out plaintext packets back to back as sealPackets expects; returns the buffer and each packet's offset. */
export function layoutBatch(payloads: Uint8Array[], l: Layout, padSeed = 1): { buf: Uint8Array; offsets: number[] } {
  const r = prng(padSeed);
  const sizes = payloads.map((p) => 4 + packetLength(p.length, l) + l.macLength);
  const buf = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const offsets: number[] = [];
  let off = 0;
  payloads.forEach((p, i) => {
    const len = packetLength(p.length, l);
    new DataView(buf.buffer).setUint32(off, len);
    buf[off + 4] = len - 1 - p.length;
    buf.set(p, off + 5);
    buf.set(r.bytes(len - 1 - p.length), off + 5 + p.length);
    offsets.push(off);
    off += sizes[i]!;
  });
  return { buf, offsets };
}

/** Payloads out of opened spans. */
export function payloadsFrom(buf: Uint8Array, spans: Uint32Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const off = spans[2 * i]!;
    const len = spans[2 * i + 1]!;
    out.push(buf.slice(off + 1, off + len - buf[off]!));
  }
  return out;
}

/** Fast equality of two lists of byte arrays (vitest's deep equality walks typed arrays element by element). */
export function samePayloads(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(b[i]!));
}

/**
 * `impls` for a sealer: an implementation that only opens (chacha20-poly1305's
 * `native`, whose OpenSSL Poly1305 can check a tag but not make one) seals
 * with the default instead.
 */
export function sealingImpls(cipher: string, impls: PacketImpls): PacketImpls {
  const name = cipher === 'chacha20-poly1305@openssh.com' ? CHACHAPOLY_SEAL : cipher;
  return impls.cipher === undefined || servingImpls(name).includes(impls.cipher) ? impls : { ...impls, cipher: undefined };
}
