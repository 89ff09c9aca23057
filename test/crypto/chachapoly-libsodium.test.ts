/**
 * chacha20-poly1305@openssh.com packets cross-checked against an
 * independent construction from libsodium: ChaCha20 with the original
 * 64-bit nonce (crypto_stream_chacha20_xor_ic) and Poly1305
 * (crypto_onetimeauth), assembled here per OpenSSH PROTOCOL.chacha20poly1305.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import _sodium from 'libsodium-wrappers-sumo';
import { buildOpener, buildSealer } from '../../ts/crypto/backends.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { keysFor, layoutBatch, payloadsFrom, prng, samePayloads, sealingImpls, toHex } from './helpers.js';

const CIPHER = 'chacha20-poly1305@openssh.com';
let sodium: typeof _sodium;

beforeAll(async () => {
  await _sodium.ready;
  sodium = _sodium;
});

/** OpenSSH's construction from libsodium primitives: [enc len][enc body][tag]. */
function referenceSeal(key: Uint8Array, plain: Uint8Array, seq: number): Uint8Array {
  const k2 = key.subarray(0, 32);
  const k1 = key.subarray(32, 64);
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, seq >>> 0);
  const encLen = sodium.crypto_stream_chacha20_xor_ic(plain.subarray(0, 4), nonce, 0, k1);
  const encBody = sodium.crypto_stream_chacha20_xor_ic(plain.subarray(4), nonce, 1, k2);
  const polyKey = sodium.crypto_stream_chacha20_xor_ic(new Uint8Array(32), nonce, 0, k2);
  const aad = new Uint8Array(4 + encBody.length);
  aad.set(encLen);
  aad.set(encBody, 4);
  const tag = sodium.crypto_onetimeauth(aad, polyKey);
  const out = new Uint8Array(aad.length + 16);
  out.set(aad);
  out.set(tag, aad.length);
  return out;
}

describe.each(servingImpls(CIPHER))('%s vs libsodium', (impl) => {
  it('seals byte for byte what libsodium builds, and opens it, for random packets and seq numbers (incl. wrap)', () => {
    const r = prng(2024);
    for (const seq of [0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff, r.int(2 ** 32)]) {
      const keys = keysFor(CIPHER, 'none', seq);
      const payloads = Array.from({ length: 3 }, () => r.bytes(r.int(3000)));
      const s = buildSealer(keys, sealingImpls(CIPHER, { cipher: impl }));
      const { buf, offsets } = layoutBatch(payloads, s);
      const expected = offsets.map((off, i) => {
        const len = new DataView(buf.buffer).getUint32(off);
        return referenceSeal(keys.encKey, buf.slice(off, off + 4 + len), (seq + i) >>> 0);
      });
      s.sealPackets(buf, 0, payloads.length, seq);
      offsets.forEach((off, i) => expect(toHex(buf.subarray(off, off + expected[i]!.length))).toBe(toHex(expected[i]!)));
      // And libsodium's bytes open with our opener.
      const joined = Buffer.concat(expected);
      const spans = new Uint32Array(8);
      const n = buildOpener(keys, { cipher: impl }).openPackets(joined, 0, joined.length, seq, 65536, spans);
      expect(n).toBe(3);
      expect(samePayloads(payloadsFrom(joined, spans, n), payloads)).toBe(true);
    }
  });
});
