/**
 * Crypto throughput: MB/s per packet construction per implementation, for
 * 32 KiB packets sealed/opened in batches of 16, median of several runs.
 * Also a raw node:crypto AES-GCM loop (to show the wrapper's overhead) and
 * @noble's own chacha20-poly1305 composition. Prints a table; writes nothing.
 *
 *   npm run bench:crypto
 */
import { median } from './util.js';
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { buildOpener, buildSealer, type PacketImpls } from '../../ts/crypto/backends.js';
import { cipherInfo, macInfo } from '../../ts/crypto/algorithms.js';
import { CHACHAPOLY_SEAL, servingImpls } from '../../ts/crypto/select.js';
import { CHACHAPOLY } from '../../ts/crypto/packet/chachapoly.js';
import type { DirectionKeys } from '../../ts/crypto/types.js';

const PAYLOAD = 32 * 1024;
const BATCH = 16;
const RUNS = 5;
/** Time budget per measurement run, ms. */
const RUN_MS = 120;

function keys(cipher: string, mac: string): DirectionKeys {
  const ci = cipherInfo(cipher)!;
  const mi = ci.aead ? { keyLength: 0 } : macInfo(mac)!;
  const fill = (n: number, v: number) => new Uint8Array(n).map((_, i) => (i * 31 + v) & 255);
  return { cipher, mac, encKey: fill(ci.keyLength, 1), iv: fill(ci.ivLength, 2), macKey: fill(mi.keyLength, 3) };
}

/** A batch of plaintext packets for this layout (padding to the block multiple). */
function layout(blockSize: number, macLength: number, padsLengthField: boolean): { buf: Uint8Array; len: number } {
  let len = 1 + PAYLOAD + 4;
  while ((len + (padsLengthField ? 4 : 0)) % blockSize) len++;
  const size = 4 + len + macLength;
  const buf = new Uint8Array(size * BATCH);
  for (let i = 0; i < BATCH; i++) {
    new DataView(buf.buffer).setUint32(i * size, len);
    buf[i * size + 4] = len - 1 - PAYLOAD;
  }
  return { buf, len };
}

/** One timed run of `step` (which processes `bytes` payload bytes): MB/s. */
function run(bytes: number, step: () => void): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < RUN_MS) {
    step();
    n++;
    t = performance.now();
  }
  return (n * bytes) / ((t - t0) / 1000) / 1e6;
}

/** Runs `step` repeatedly; MB/s median over RUNS. */
function measure(bytes: number, step: () => void): number {
  for (let i = 0; i < 3; i++) step(); // warm up the JIT
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) rates.push(run(bytes, step));
  return median(rates);
}

/**
 * Two steps measured in alternating runs, so machine noise (other
 * processes on a shared box) hits both alike; returns both medians and the
 * median of the per-pair ratios b/a.
 */
function measurePair(bytes: number, a: () => void, b: () => void): { a: number; b: number; ratio: number } {
  for (let i = 0; i < 3; i++) {
    a();
    b();
  }
  const ra: number[] = [];
  const rb: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < 2 * RUNS + 1; r++) {
    const x = run(bytes, a);
    const y = run(bytes, b);
    ra.push(x);
    rb.push(y);
    ratios.push(y / x);
  }
  return { a: median(ra), b: median(rb), ratio: median(ratios) };
}

function benchConstruction(cipher: string, mac: string, impls: PacketImpls): { seal: number; open: number } {
  const k = keys(cipher, mac);
  // An implementation that only opens (chacha20-poly1305's `native`) has no seal figure; its packets come from the default sealer.
  const seals = servingImpls(cipher === CHACHAPOLY ? CHACHAPOLY_SEAL : cipher).includes(impls.cipher!);
  const sealImpls = seals ? impls : { mac: impls.mac };
  const sealer = buildSealer(k, sealImpls);
  const { buf: plain } = layout(sealer.blockSize, sealer.macLength, sealer.padsLengthField);
  const work = plain.slice();
  let seq = 0;
  const seal = seals
    ? measure(PAYLOAD * BATCH, () => {
        work.set(plain);
        sealer.sealPackets(work, 0, BATCH, seq);
        seq = (seq + BATCH) >>> 0;
      })
    : Number.NaN;
  // Pre-seal enough consecutive batches for the opener, which keeps stream state.
  const batches: Uint8Array[] = [];
  const s2 = buildSealer(k, sealImpls);
  for (let i = 0; i < 64; i++) {
    const b = plain.slice();
    s2.sealPackets(b, 0, BATCH, i * BATCH);
    batches.push(b);
  }
  const spans = new Uint32Array(2 * BATCH);
  let opener = buildOpener(k, impls);
  let i = 0;
  const open = measure(PAYLOAD * BATCH, () => {
    if (i === batches.length) {
      // Start over with a fresh opener (and fresh ciphertext copies) at seq 0.
      opener = buildOpener(k, impls);
      i = 0;
    }
    work.set(batches[i]!);
    if (opener.openPackets(work, 0, work.length, i * BATCH, 1 << 20, spans) !== BATCH) throw new Error('benchmark open failed');
    i++;
  });
  return { seal, open };
}

/**
 * The sshwire native AES-GCM sealer/opener against a raw node:crypto loop
 * doing the same per-packet work (createCipheriv, setAAD, update, final,
 * tag), measured in alternating runs. The raw loop leaves its output in
 * node's Buffers; the wrapper must also copy it back into the batch buffer
 * (the in-place contract), which is the bulk of the difference.
 */
function gcmOverhead(bits: 128 | 256): { raw: { seal: number; open: number }; ratio: { seal: number; open: number } } {
  const cipher = `aes${bits}-gcm@openssh.com`;
  const k = keys(cipher, 'none');
  const alg = bits === 128 ? 'aes-128-gcm' : 'aes-256-gcm';
  const key = createSecretKey(k.encKey);
  const sealer = buildSealer(k, { cipher: 'native' });
  const { buf: plain, len } = layout(16, 16, false);
  const ivs = Array.from({ length: BATCH }, (_, i) => {
    const v = Buffer.from(k.iv);
    v.writeUInt32BE(v.readUInt32BE(8) + i, 8);
    return v;
  });
  const size = 4 + len + 16;
  const work = plain.slice();
  const wrapSeal = () => {
    work.set(plain);
    sealer.sealPackets(work, 0, BATCH, 0);
  };
  // Both sides pay the same harness copy that resets the batch.
  const scratch = plain.slice();
  const rawSeal = () => {
    scratch.set(plain);
    for (let i = 0; i < BATCH; i++) {
      const off = i * size;
      const c = createCipheriv(alg, key, ivs[i]!);
      c.setAAD(plain.subarray(off, off + 4));
      c.update(plain.subarray(off + 4, off + 4 + len));
      c.final();
      c.getAuthTag();
    }
  };
  const seal = measurePair(PAYLOAD * BATCH, rawSeal, wrapSeal);
  // Open: one sealed batch (consecutive nonces), opened by a fresh opener per
  // batch (its nonce must restart) and by the raw loop with the same nonces.
  const sealed = plain.slice();
  buildSealer(k, { cipher: 'native' }).sealPackets(sealed, 0, BATCH, 0);
  const spans = new Uint32Array(2 * BATCH);
  const wrapOpen = () => {
    work.set(sealed);
    buildOpener(k, { cipher: 'native' }).openPackets(work, 0, work.length, 0, 1 << 20, spans);
  };
  const rawOpen = () => {
    scratch.set(sealed);
    for (let i = 0; i < BATCH; i++) {
      const off = i * size;
      const d = createDecipheriv(alg, key, ivs[i]!);
      d.setAAD(sealed.subarray(off, off + 4));
      d.setAuthTag(sealed.subarray(off + 4 + len, off + 4 + len + 16));
      d.update(sealed.subarray(off + 4, off + 4 + len));
      d.final();
    }
  };
  const open = measurePair(PAYLOAD * BATCH, rawOpen, wrapOpen);
  return { raw: { seal: seal.a, open: open.a }, ratio: { seal: seal.ratio, open: open.ratio } };
}

/** @noble's own composition of OpenSSH chacha20-poly1305 (allocating), as a reference point. */
function nobleComposition(): { seal: number; open: number } {
  const k2 = new Uint8Array(32).fill(1);
  const k1 = new Uint8Array(32).fill(2);
  const nonce = new Uint8Array(8);
  const body = new Uint8Array(PAYLOAD + 8).fill(3);
  const one = () => {
    const len = chacha20orig(k1, nonce, new Uint8Array(4));
    const ct = chacha20orig(k2, nonce, body, undefined, 1);
    const pk = chacha20orig(k2, nonce, new Uint8Array(32));
    const all = new Uint8Array(4 + ct.length);
    all.set(len);
    all.set(ct, 4);
    return poly1305(all, pk);
  };
  const r = measure(PAYLOAD * BATCH, () => {
    for (let i = 0; i < BATCH; i++) one();
  });
  return { seal: r, open: r };
}

const rows: [string, string, number, number][] = [];
const overheads: string[] = [];
const add = (construction: string, impl: string, r: { seal: number; open: number }) => {
  rows.push([construction, impl, r.seal, r.open]);
  process.stderr.write('.');
};

const t0 = Date.now();
const cases: [string, string][] = [
  ['chacha20-poly1305@openssh.com', 'none'],
  ['aes128-gcm@openssh.com', 'none'],
  ['aes256-gcm@openssh.com', 'none'],
  ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
  ['aes256-ctr', 'hmac-sha2-512-etm@openssh.com'],
  ['aes128-ctr', 'hmac-sha2-256'],
];
for (const [cipher, mac] of cases) {
  const label = cipherInfo(cipher)!.aead ? cipher : `${cipher} + ${mac}`;
  for (const impl of servingImpls(cipher)) {
    // Slow pure-JS AES at full size would dominate the runtime; it is still measured.
    add(label, cipherInfo(cipher)!.aead ? impl : `${impl} (mac ${impl === 'js' ? 'js' : 'native'})`, benchConstruction(cipher, mac, { cipher: impl, mac: impl === 'js' ? 'js' : 'native' }));
  }
  if (cipher.includes('-gcm@')) {
    const bits = cipher.startsWith('aes128') ? 128 : 256;
    const r = gcmOverhead(bits);
    add(label, 'raw node:crypto loop', r.raw);
    overheads.push(`aes${bits}-gcm native wrapper vs raw node loop (paired runs): seal ${((1 - r.ratio.seal) * 100).toFixed(1)}% slower, open ${((1 - r.ratio.open) * 100).toFixed(1)}% slower`);
  }
  if (cipher.startsWith('chacha')) add(label, '@noble composition (reference)', nobleComposition());
}
process.stderr.write('\n');

const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0]!)}  ${b.padEnd(w[1]!)}  ${c.padStart(9)}  ${d.padStart(9)}`;
console.log(`crypto throughput, ${PAYLOAD / 1024} KiB payloads, batches of ${BATCH}, median of ${RUNS} runs (MB/s = 10^6 bytes of payload per second)`);
console.log(`node ${process.version}, ${process.arch}`);
console.log(line('construction', 'implementation', 'seal MB/s', 'open MB/s'));
console.log('-'.repeat(w[0]! + w[1]! + 24));
for (const [a, b, c, d] of rows) console.log(line(a, b, Number.isFinite(c) ? c.toFixed(0) : '–', d.toFixed(0)));
for (const o of overheads) console.log(o);
console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
