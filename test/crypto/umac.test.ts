/**
 * UMAC through rust-core's wasm exports: the RFC 4418 appendix vectors,
 * OpenSSH umac.c's self-test vectors, and the SSH composition
 * (umac-64/128 and -etm with aes128-ctr): nonce = uint64 sequence number,
 * MAC over the packet alone (the plaintext packet, or length || ciphertext
 * for -etm), tampering refused.
 */
import { describe, expect, it } from 'vitest';
import { buildOpener, buildSealer } from '../../ts/crypto/backends.js';
import { macInfo } from '../../ts/crypto/algorithms.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { WasmUmac, umacBinding } from '../../ts/crypto/wasm/umac.js';
import { CryptoError, IntegrityError } from '../../ts/errors.js';
import { keysFor, layoutBatch, payloadsFrom, prng, samePayloads, toHex } from './helpers.js';

const KEY = new TextEncoder().encode('abcdefghijklmnop');
const be32 = (s: string, at: number) => new DataView(new TextEncoder().encode(s).buffer).getUint32(at);

function tagOf(len: 8 | 16, msg: Uint8Array, nonce: string, u = new WasmUmac(KEY, len)): string {
  const out = new Uint8Array(len);
  u.tag(msg, 0, msg.length, be32(nonce, 0), be32(nonce, 4), out, 0);
  return toHex(out);
}

const rep = (pattern: string, len: number) => new TextEncoder().encode(pattern.repeat(Math.ceil(len / pattern.length)).slice(0, len));

describe('rust-core UMAC', () => {
  it('is served by the wasm backend', () => {
    expect(umacBinding()).not.toBeNull();
    for (const m of ['umac-64@openssh.com', 'umac-128@openssh.com', 'umac-64-etm@openssh.com', 'umac-128-etm@openssh.com']) {
      expect(servingImpls(m)).toEqual(['wasm']);
    }
  });

  it('matches the RFC 4418 appendix vectors (key "abcdefghijklmnop", nonce "bcdefghi")', () => {
    // 'a' * 2^25 needs 32 MiB, more than the I/O buffer: covered by the Rust host tests.
    const vectors: [Uint8Array, string, string][] = [
      [rep('a', 0), '6E155FAD26900BE1', '32FEDB100C79AD58F07FF7643CC60465'],
      [rep('a', 3), '44B5CB542F220104', '185E4FE905CBA7BD85E4C2DC3D117D8D'],
      [rep('a', 1 << 10), '26BF2F5D60118BD9', '7A54ABE04AF82D60FB298C3CBD195BCB'],
      [rep('a', 1 << 15), '27F8EF643B0D118D', '7B136BD911E4B734286EF2BE501F2C3C'],
      [rep('a', 1 << 20), 'A4477E87E9F55853', 'F8ACFA3AC31CFEEA047F7B115B03BEF5'],
      // The RFC prints 96-bit tags for these: UMAC-128's first 12 bytes.
      [rep('abc', 3), 'D4D7B9F6BD4FBFCF', '883C3D4B97A61976FFCF2323'],
      [rep('abc', 1500), 'D4CF26DDEFD5C01A', '8824A260C53C66A36C9260A6'],
    ];
    for (const [msg, t64, t128] of vectors) {
      expect(tagOf(8, msg, 'bcdefghi'), `UMAC-64, ${msg.length} bytes`).toBe(t64.toLowerCase());
      expect(tagOf(16, msg, 'bcdefghi').slice(0, t128.length), `UMAC-128, ${msg.length} bytes`).toBe(t128.toLowerCase());
    }
  });

  it("matches OpenSSH umac.c's self-test (nonce \"abcdefgh\")", () => {
    const vectors: [number, string][] = [
      [0, '4D61E4F5AAB959C8B800A2BE546302AD'],
      [3, '67C1700CA30B532DCD9B970655B47B45'],
      [1024, '05CB9405EC38D9F0B356D9E6D5BC5D03'],
      [32768, '048C543CB72443A46011A76438BA2AF4'],
    ];
    for (const [len, t] of vectors) {
      expect(tagOf(16, rep('a', len), 'abcdefgh')).toBe(t.toLowerCase());
      expect(tagOf(8, rep('a', len), 'abcdefgh')).toBe(t.toLowerCase().slice(0, 16));
    }
  });

  it('one context gives the same tags as fresh ones for any order of nonces (PDF cache)', () => {
    const msg = prng(3).bytes(777);
    for (const len of [8, 16] as const) {
      const u = new WasmUmac(KEY, len);
      for (const seq of [0, 1, 2, 3, 2, 9, 8, 0xffffffff, 0xfffffffe, 5]) {
        const a = new Uint8Array(len);
        const b = new Uint8Array(len);
        u.compute(seq, msg, 0, msg.length, a, 0);
        new WasmUmac(KEY, len).compute(seq, msg, 0, msg.length, b, 0);
        expect(toHex(a), `seq ${seq}`).toBe(toHex(b));
      }
    }
  });

  it('refuses bad keys, tag lengths, ranges and inputs larger than the I/O buffer with CryptoError', () => {
    expect(() => new WasmUmac(new Uint8Array(15), 8)).toThrow(CryptoError);
    expect(() => new WasmUmac(KEY, 12)).toThrow(CryptoError);
    const u = new WasmUmac(KEY, 8);
    const out = new Uint8Array(8);
    expect(() => u.tag(new Uint8Array(4), 2, 8, 0, 0, out, 0)).toThrow(CryptoError);
    expect(() => u.tag(new Uint8Array(4), 0, 4, 0, 0, out, 4)).toThrow(CryptoError);
    const big = new Uint8Array(4 * 1024 * 1024);
    expect(() => u.tag(big, 0, big.length, 0, 0, out, 0)).toThrow(CryptoError);
  });
});

describe.each(['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com'])('aes128-ctr + %s', (mac) => {
  const keys = keysFor('aes128-ctr', mac, 11);
  const mi = macInfo(mac)!;
  const r = prng(5);
  const payloads = [new Uint8Array(0), r.bytes(1), r.bytes(100), r.bytes(5000), r.bytes(40000)];
  const seq = 0xfffffffe; // crosses the u32 wrap: 0xfffffffe, 0xffffffff, 0, 1, 2

  function sealed(): { plain: Uint8Array; buf: Uint8Array; offsets: number[] } {
    const s = buildSealer(keys, { mac: 'wasm' });
    expect(s.macLength).toBe(mi.length);
    const { buf, offsets } = layoutBatch(payloads, s);
    const plain = buf.slice();
    s.sealPackets(buf, 0, payloads.length, seq);
    return { plain, buf, offsets };
  }

  it('tags each packet with UMAC(nonce = uint64 seq) over the packet alone, as OpenSSH does', () => {
    const { plain, buf, offsets } = sealed();
    const u = new WasmUmac(keys.macKey, mi.length);
    offsets.forEach((off, i) => {
      const len = new DataView(plain.buffer).getUint32(off);
      const macOff = off + 4 + len;
      // -etm: over length || ciphertext as sent; otherwise over the plaintext packet.
      const src = mi.etm ? buf : plain;
      const want = new Uint8Array(mi.length);
      u.compute((seq + i) >>> 0, src, off, macOff, want, 0);
      expect(toHex(buf.subarray(macOff, macOff + mi.length)), `packet ${i}`).toBe(toHex(want));
    });
  });

  it('opens what it sealed, in one call and byte by byte', () => {
    const { buf } = sealed();
    const o = buildOpener(keys, { mac: 'wasm' });
    const spans = new Uint32Array(2 * (payloads.length + 1));
    expect(o.openPackets(buf.slice(), 0, buf.length, seq, 64 * 1024, spans)).toBe(payloads.length);
    const copy = buf.slice();
    expect(buildOpener(keys, { mac: 'wasm' }).openPackets(copy, 0, copy.length, seq, 64 * 1024, spans)).toBe(payloads.length);
    expect(samePayloads(payloadsFrom(copy, spans, payloads.length), payloads)).toBe(true);

    // Incremental delivery: the opener must wait for each whole packet.
    const o2 = buildOpener(keys, { mac: 'wasm' });
    const inc = buf.slice();
    let pos = 0;
    let s = seq;
    const got: Uint8Array[] = [];
    const one = new Uint32Array(2);
    for (let end = 1; end <= inc.length; end += 997) {
      const n = o2.openPackets(inc, pos, Math.min(end + 997, inc.length), s, 64 * 1024, one);
      if (n === 1) {
        got.push(...payloadsFrom(inc, one, 1));
        pos = one[0]! + one[1]! + mi.length;
        s = (s + 1) >>> 0;
        end = pos - 997;
      }
    }
    expect(samePayloads(got, payloads)).toBe(true);
  });

  it('refuses a flipped tag byte, a flipped body byte and a wrong sequence number (IntegrityError)', () => {
    // Always from the start of the batch: the CTR keystream runs across packets.
    const { buf, offsets } = sealed();
    const spans = new Uint32Array(2 * (payloads.length + 1));
    const openAll = (b: Uint8Array, s: number) => buildOpener(keys, { mac: 'wasm' }).openPackets(b, 0, b.length, s, 64 * 1024, spans);
    expect(openAll(buf.slice(), seq)).toBe(payloads.length);
    const tag = buf.slice();
    tag[offsets[2]! - 1]! ^= 0x80; // last byte of packet 1's tag
    expect(() => openAll(tag, seq)).toThrow(IntegrityError);
    const body = buf.slice();
    body[offsets[3]! + 20]! ^= 4; // inside packet 3's body
    expect(() => openAll(body, seq)).toThrow(IntegrityError);
    expect(() => openAll(buf.slice(), (seq + 2) >>> 0)).toThrow(IntegrityError);
  });
});
