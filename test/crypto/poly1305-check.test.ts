/**
 * OpenSSH's Poly1305 tags checked through OpenSSL's IETF chacha20-poly1305
 * AEAD (ts/crypto/native/poly1305-check.ts): the relation between the two
 * polynomials against a plain bigint Poly1305 written here, the check
 * against rust-core's and @noble's tags, and every corruption rejected.
 */
import { describe, expect, it } from 'vitest';
import { createSecretKey } from 'node:crypto';
import { OpenSslPolyCheck, openSslPolyCheckWorks, tagsAgree } from '../../ts/crypto/native/poly1305-check.js';
import { ChaChaBlock0 } from '../../ts/crypto/packet/chacha-block0.js';
import { NativeChaChaPolyCore } from '../../ts/crypto/native/packet.js';
import { buildSealer } from '../../ts/crypto/backends.js';
import { jsPoly1305 } from '../../ts/crypto/js/packet.js';
import { wasmPoly1305 } from '../../ts/crypto/wasm/chachapoly.js';
import { CryptoError } from '../../ts/errors.js';
import { keysFor, prng } from './helpers.js';

const P = (1n << 130n) - 5n;
const MASK128 = (1n << 128n) - 1n;

function le(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** Poly1305's accumulator (before s), block by block as RFC 8439 describes it. */
function accumulator(r: bigint, msg: Uint8Array): bigint {
  let h = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    h = ((h + le(block) + (1n << BigInt(8 * block.length))) * r) % P;
  }
  return h;
}

function tagOf(otk: Uint8Array, msg: Uint8Array): Buffer {
  const r = le(otk.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const t = (accumulator(r, msg) + le(otk.subarray(16))) & MASK128;
  return Buffer.from(t.toString(16).padStart(32, '0'), 'hex').reverse();
}

/** The IETF AEAD's tag over `aad` alone: aad, zero padding, then both lengths. */
function aeadTagOf(otk: Uint8Array, aad: Uint8Array): Buffer {
  const padded = new Uint8Array(Math.ceil(aad.length / 16) * 16 + 16);
  padded.set(aad);
  new DataView(padded.buffer).setBigUint64(padded.length - 16, BigInt(aad.length), true);
  return tagOf(otk, padded);
}

const LENGTHS = [...Array.from({ length: 48 }, (_, i) => i), 255, 256, 4 + 8 * 511, 32772, 65540, 262148];

describe('OpenSSL Poly1305 checks OpenSSH tags', () => {
  it('the relation holds for every length mod 16, against a bigint Poly1305 written here, and every candidate slot is used', () => {
    const r = prng(1305);
    const slots = new Set<bigint>();
    for (const n of LENGTHS) {
      for (let i = 0; i < 6; i++) {
        const otk = Buffer.from(r.bytes(32));
        const msg = r.bytes(n);
        const tag = tagOf(otk, msg);
        expect(tagsAgree(otk, n, tag, aeadTagOf(otk, msg))).toBe(true);
        const rr = le(otk.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
        slots.add(accumulator(rr, msg) >> 128n);
        // A tag one off in any bit is refused.
        const bad = Buffer.from(tag);
        bad[r.int(16)]! ^= 1 << r.int(8);
        expect(tagsAgree(otk, n, bad, aeadTagOf(otk, msg))).toBe(false);
      }
    }
    // h = T - s + k 2^128 for k = 0..3: all four appear among ~300 random accumulators.
    expect([...slots].sort()).toEqual([0n, 1n, 2n, 3n]);
  });

  it('accepts the tags rust-core and @noble make for OpenSSH packets, and refuses any changed bit, byte or sequence number', () => {
    const r = prng(7);
    const raw = r.bytes(32);
    const keys = new ChaChaBlock0(raw);
    const check = new OpenSslPolyCheck(createSecretKey(raw), keys);
    const macs = [jsPoly1305, wasmPoly1305()].filter((m) => m !== null);
    expect(macs.length).toBeGreaterThan(0);
    const otk = new Uint8Array(32);
    for (const seq of [0, 1, 3, 0x7fffffff, 0xffffffff, r.int(2 ** 32)]) {
      for (const n of [12, 20, 36, 1028, 32772]) {
        const buf = new Uint8Array(n + 16);
        buf.set(r.bytes(n));
        keys.keyBytes(seq, otk, 0);
        for (const mac of macs) {
          mac.mac(otk, buf, 0, n, buf, n);
          expect(check.check(seq, buf, 0, n, n), `${mac.label} seq ${seq} n ${n}`).toBe(true);
        }
        expect(check.check((seq + 1) >>> 0, buf, 0, n, n)).toBe(false);
        const at = r.int(n + 16);
        buf[at]! ^= 1 << r.int(8);
        expect(check.check(seq, buf, 0, n, n)).toBe(false);
      }
    }
  });

  it('checks at an offset, and leaves the packet as it found it', () => {
    const raw = new Uint8Array(32).fill(9);
    const keys = new ChaChaBlock0(raw);
    const check = new OpenSslPolyCheck(createSecretKey(raw), keys);
    const buf = new Uint8Array(100).fill(0x5a);
    const otk = new Uint8Array(32);
    keys.keyBytes(42, otk, 0);
    jsPoly1305.mac(otk, buf, 10, 44, buf, 60);
    const before = Buffer.from(buf);
    expect(check.check(42, buf, 10, 44, 60)).toBe(true);
    expect(Buffer.from(buf).equals(before)).toBe(true);
  });

  it('passes its known answer here; a core without a Poly1305 of its own refuses to seal, and so does buildSealer', () => {
    expect(openSslPolyCheckWorks()).toBe(true);
    const key = keysFor('chacha20-poly1305@openssh.com', 'none', 5);
    const core = new NativeChaChaPolyCore(key.encKey, null);
    const packet = new Uint8Array(4 + 8 + 16).fill(1);
    expect(() => core.seal(packet, 0, 8, 0)).toThrow(CryptoError);
    expect(packet.every((b) => b === 1)).toBe(true);
    expect(() => buildSealer(key, { cipher: 'native' })).toThrow(/cannot|no Poly1305/);
  });
});
