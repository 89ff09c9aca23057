/**
 * Cross-checks the committed rust-core module (wasm/sshwire_core.wasm,
 * loaded through ts/crypto/wasm/instance.ts) against libsodium: raw
 * ChaCha20 (both nonce layouts) and Poly1305, and the
 * chacha20-poly1305@openssh.com construction rebuilt from libsodium's
 * primitives, for random lengths up to 35000 and sequence numbers around
 * the 2^32 wrap. Also checks the ABI's error contract (bad handles,
 * tampering, length rules, refused pointers) and that contexts do not leak.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import sodium from 'libsodium-wrappers-sumo';
import { wasmCore, wasmUnavailableReason, type CoreInstance } from '../../ts/crypto/wasm/instance.js';
import { xorshift32 } from '../helpers/prng.js';

let core: CoreInstance;
const fn = (name: string) => core.fn(name);

function randomBytes(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** OpenSSH's nonce: the sequence number as a big-endian u64. */
function sshNonce(seq: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, seq >>> 0);
  return n;
}

/** chacha20-poly1305@openssh.com from libsodium primitives (PROTOCOL.chacha20poly1305). */
function referenceSeal(key: Uint8Array, body: Uint8Array, seq: number): Uint8Array {
  const k2 = key.subarray(0, 32);
  const k1 = key.subarray(32, 64);
  const nonce = sshNonce(seq);
  const encLen = sodium.crypto_stream_chacha20_xor_ic(be32(body.length), nonce, 0, k1);
  const polyKey = sodium.crypto_stream_chacha20_xor_ic(new Uint8Array(32), nonce, 0, k2);
  const encBody = sodium.crypto_stream_chacha20_xor_ic(body, nonce, 1, k2);
  const head = concat(encLen, encBody);
  return concat(head, sodium.crypto_onetimeauth(head, polyKey));
}

/** Copies `data` into the I/O buffer at `offset` and returns its address. */
function put(data: Uint8Array, offset = 0): number {
  const p = fn('sw_io_ptr')() + offset;
  core.bytes().set(data, p);
  return p;
}

/** Byte comparison via hex strings: fast for 35 KB buffers, readable diffs. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(Buffer.from(actual).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
}

function get(ptr: number, len: number): Uint8Array {
  return core.bytes().slice(ptr, ptr + len);
}

function newContext(key: Uint8Array): number {
  const ctx = fn('sw_chachapoly_new')();
  expect(ctx).not.toBe(0);
  const keyPtr = fn('sw_alloc')(64);
  core.bytes().set(key, keyPtr);
  expect(fn('sw_chachapoly_init')(ctx, keyPtr)).toBe(0);
  expect(fn('sw_free')(keyPtr, 64)).toBe(0);
  return ctx;
}

beforeAll(async () => {
  await sodium.ready;
  const c = wasmCore();
  if (!c) throw new Error(`rust-core did not load: ${wasmUnavailableReason()}`);
  core = c;
});

describe('rust-core raw primitives vs libsodium', () => {
  it('sw_chacha20_djb matches crypto_stream_chacha20_xor_ic', () => {
    const next = xorshift32(1);
    for (const len of [0, 1, 63, 64, 65, 255, 256, 257, 1000, 4096, 35000]) {
      const key = randomBytes(next, 32);
      const nonce = randomBytes(next, 8);
      const msg = randomBytes(next, len);
      const counter = next() % 1000;
      const keyPtr = put(key, 0);
      const noncePtr = put(nonce, 32);
      const dataPtr = put(msg, 64);
      expect(fn('sw_chacha20_djb')(keyPtr, noncePtr, counter, 0, dataPtr, len)).toBe(0);
      expectBytes(get(dataPtr, len), sodium.crypto_stream_chacha20_xor_ic(msg, nonce, counter, key));
    }
  });

  it('sw_chacha20 (RFC 8439) matches crypto_stream_chacha20_ietf_xor_ic', () => {
    const next = xorshift32(2);
    for (const len of [0, 1, 64, 200, 256, 777, 8192, 33333]) {
      const key = randomBytes(next, 32);
      const nonce = randomBytes(next, 12);
      const msg = randomBytes(next, len);
      const counter = next() % 100000;
      const keyPtr = put(key, 0);
      const noncePtr = put(nonce, 32);
      const dataPtr = put(msg, 64);
      expect(fn('sw_chacha20')(keyPtr, noncePtr, counter, dataPtr, len)).toBe(0);
      expectBytes(get(dataPtr, len), sodium.crypto_stream_chacha20_ietf_xor_ic(msg, nonce, counter, key));
    }
  });

  it('sw_chacha20 refuses to run the 32-bit block counter past 2^32', () => {
    const dataPtr = put(new Uint8Array(128), 64);
    expect(fn('sw_chacha20')(put(new Uint8Array(32)), put(new Uint8Array(12), 32), 0xffffffff | 0, dataPtr, 64)).toBe(0);
    expect(fn('sw_chacha20')(put(new Uint8Array(32)), put(new Uint8Array(12), 32), 0xffffffff | 0, dataPtr, 65)).toBe(-3);
  });

  it('sw_poly1305 matches crypto_onetimeauth', () => {
    const next = xorshift32(3);
    for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 100, 1024, 34999]) {
      const key = randomBytes(next, 32);
      const msg = randomBytes(next, len);
      const keyPtr = put(key, 0);
      const msgPtr = put(msg, 64);
      const outPtr = put(new Uint8Array(16), 48);
      expect(fn('sw_poly1305')(keyPtr, msgPtr, len, outPtr)).toBe(0);
      expectBytes(get(outPtr, 16), sodium.crypto_onetimeauth(msg, key));
    }
  });
});

describe('chacha20-poly1305@openssh.com vs a libsodium composition', () => {
  it('seal matches, open round-trips, length peek works, for random lengths and sequence numbers', () => {
    const next = xorshift32(4);
    const seqs = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    for (let i = 0; i < 48; i++) {
      const key = randomBytes(next, 64);
      const len = i < 6 ? [0, 5, 8, 64, 127, 35000][i] : next() % 35001;
      const seq = i < seqs.length ? seqs[i] : next();
      const body = randomBytes(next, len);
      const ctx = newContext(key);
      const p = put(concat(be32(len), body, new Uint8Array(16)));
      expect(fn('sw_chachapoly_seal')(ctx, p, len, seq | 0)).toBe(0);
      const sealed = get(p, len + 20);
      expectBytes(sealed, referenceSeal(key, body, seq));
      expect(fn('sw_chachapoly_length')(ctx, p, seq | 0)).toBe(len);
      expect(fn('sw_chachapoly_open')(ctx, p, len, seq | 0)).toBe(0);
      expectBytes(get(p + 4, len), body);
      expectBytes(get(p, 4), sealed.subarray(0, 4));
      expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
    }
  });

  it('open refuses tampering in constant-time order: memory is left unchanged', () => {
    const next = xorshift32(5);
    const key = randomBytes(next, 64);
    const body = randomBytes(next, 300);
    const ctx = newContext(key);
    const sealed = referenceSeal(key, body, 9);
    for (const pos of [0, 3, 4, 150, 303, 304, 319]) {
      const t = sealed.slice();
      t[pos] ^= 0x01;
      const p = put(t);
      expect(fn('sw_chachapoly_open')(ctx, p, 300, 9)).toBe(-1);
      expectBytes(get(p, t.length), t);
    }
    expect(fn('sw_chachapoly_open')(ctx, put(sealed), 300, 10)).toBe(-1);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
  });

  it('batch seal/open across the sequence-number wrap, with spans', () => {
    const next = xorshift32(6);
    const key = randomBytes(next, 64);
    const ctx = newContext(key);
    const bodies = [8, 32768, 16, 1000, 64, 8, 35000].map((n) => randomBytes(next, n - (n % 8)));
    const seq0 = 0xfffffffc;
    const plain = concat(...bodies.map((b) => concat(be32(b.length), b, new Uint8Array(16))));
    const p = put(plain);
    expect(fn('sw_chachapoly_seal_batch')(ctx, p, plain.length, bodies.length, seq0 | 0)).toBe(bodies.length);
    const expected = concat(...bodies.map((b, i) => referenceSeal(key, b, (seq0 + i) >>> 0)));
    expectBytes(get(p, plain.length), expected);

    const spans = fn('sw_alloc')(8 * 16);
    // Add half of one more packet: it stays for the next call.
    const extra = referenceSeal(key, new Uint8Array(64), (seq0 + bodies.length) >>> 0);
    const rx = concat(expected, extra.subarray(0, 40));
    put(rx);
    expect(fn('sw_chachapoly_open_batch')(ctx, p, rx.length, seq0 | 0, 40000, spans, 16)).toBe(bodies.length);
    expect(fn('sw_last_count')()).toBe(bodies.length);
    const view = new DataView(core.bytes().buffer);
    let off = 0;
    bodies.forEach((b, i) => {
      expect(view.getUint32(spans + 8 * i, true)).toBe(off + 4);
      expect(view.getUint32(spans + 8 * i + 4, true)).toBe(b.length);
      expectBytes(get(p + off + 4, b.length), b);
      off += b.length + 20;
    });
    expect(fn('sw_free')(spans, 8 * 16)).toBe(0);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
  });

  it('batch open stops at the first bad packet and reports how many were opened', () => {
    const next = xorshift32(7);
    const key = randomBytes(next, 64);
    const ctx = newContext(key);
    const spans = fn('sw_alloc')(64);
    const good = [16, 24, 48].map((n, i) => referenceSeal(key, randomBytes(next, n), 100 + i));
    const tampered = concat(...good);
    tampered[good[0].length + 10] ^= 0x80;
    const p = put(tampered);
    expect(fn('sw_chachapoly_open_batch')(ctx, p, tampered.length, 100, 1 << 16, spans, 8)).toBe(-1);
    expect(fn('sw_last_count')()).toBe(1);
    expectBytes(get(p + good[0].length, tampered.length - good[0].length), tampered.subarray(good[0].length));

    // Length rule: multiple of 8, at least 8, at most max_len; checked first.
    for (const n of [0, 4, 12, 1001]) {
      const pkt = referenceSeal(key, randomBytes(next, n), 7);
      expect(fn('sw_chachapoly_open_batch')(ctx, put(pkt), pkt.length, 7, 1 << 16, spans, 8)).toBe(-2);
      expect(fn('sw_last_count')()).toBe(0);
    }
    const big = referenceSeal(key, randomBytes(next, 64), 7);
    expect(fn('sw_chachapoly_open_batch')(ctx, put(big), big.length, 7, 56, spans, 8)).toBe(-2);
    expect(fn('sw_chachapoly_open_batch')(ctx, put(big), big.length, 7, 64, spans, 8)).toBe(1);
    expect(fn('sw_free')(spans, 64)).toBe(0);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
  });
});

describe('rust-core ABI contract', () => {
  it('rejects bad, stale and wild context handles with -5', () => {
    const ctx = newContext(new Uint8Array(64).fill(1));
    const p = put(concat(be32(8), new Uint8Array(8), new Uint8Array(16)));
    expect(fn('sw_chachapoly_seal')(ctx, p, 8, 0)).toBe(0);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(-5);
    for (const h of [0, 1, ctx, ctx + 16, fn('sw_io_ptr')(), 0x7ffffff0, -1]) {
      expect(fn('sw_chachapoly_seal')(h, p, 8, 0)).toBe(-5);
      expect(fn('sw_chachapoly_length')(h, p, 0)).toBe(-5);
      expect(fn('sw_chachapoly_open_batch')(h, p, 28, 0, 100, p + 64, 1)).toBe(-5);
    }
    // A plain allocation is not a context either.
    const blob = fn('sw_alloc')(72);
    expect(fn('sw_chachapoly_init')(blob, p)).toBe(-5);
    expect(fn('sw_free')(blob, 72)).toBe(0);
  });

  it('refuses pointers outside the I/O buffer and heap, and layout mismatches, with -3', () => {
    const ctx = newContext(new Uint8Array(64).fill(2));
    const io = fn('sw_io_ptr')();
    const cap = fn('sw_io_cap')();
    expect(cap).toBeGreaterThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(fn('sw_chachapoly_seal')(ctx, 0, 8, 0)).toBe(-3);
    expect(fn('sw_chachapoly_seal')(ctx, 16, 8, 0)).toBe(-3);
    expect(fn('sw_chachapoly_seal')(ctx, io + cap - 20, 8, 0)).toBe(-3);
    expect(fn('sw_chachapoly_seal')(ctx, 0x7fff0000, 8, 0)).toBe(-3);
    // The length field must match `len`; a batch must fill `total` exactly.
    const p = put(concat(be32(16), new Uint8Array(16), new Uint8Array(16)));
    expect(fn('sw_chachapoly_seal')(ctx, p, 8, 0)).toBe(-3);
    expect(fn('sw_chachapoly_seal_batch')(ctx, p, 37, 1, 0)).toBe(-3);
    expect(fn('sw_chachapoly_seal_batch')(ctx, p, 36, 2, 0)).toBe(-3);
    // Spans may not overlap the packets.
    expect(fn('sw_chachapoly_open_batch')(ctx, p, 36, 0, 100, p + 8, 1)).toBe(-3);
    expect(fn('sw_chachapoly_free')(ctx)).toBe(0);
  });

  it('reuses memory: opening and closing many contexts does not grow linear memory', () => {
    const warm: number[] = [];
    for (let i = 0; i < 64; i++) warm.push(newContext(new Uint8Array(64).fill(i)));
    for (const c of warm) expect(fn('sw_chachapoly_free')(c)).toBe(0);
    const before = core.exports.memory.buffer.byteLength;
    for (let i = 0; i < 20000; i++) {
      const c = fn('sw_chachapoly_new')();
      const scratch = fn('sw_alloc')(40000);
      expect(c !== 0 && scratch !== 0).toBe(true);
      expect(fn('sw_free')(scratch, 40000)).toBe(0);
      expect(fn('sw_chachapoly_free')(c)).toBe(0);
    }
    // At most the first 40 KB scratch block may have added pages.
    expect(core.exports.memory.buffer.byteLength - before).toBeLessThanOrEqual(65536);
    expect(fn('sw_free')(12345, 1)).toBe(-3);
  });
});
