import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../ts/errors.js';
import { sntrup761Wasm } from '../../ts/crypto/kem/wasm.js';
import type { KemKeyPair, Sntrup761Core } from '../../ts/crypto/kem/params.js';
import { NistKatDrbg, katHex, katSeeds } from './kem-nist-drbg.js';
import { concat, detBytes, loadVectors, sha256Hex, toHex } from './kem-helpers.js';

interface KatHashes {
  sntrup761: {
    singleSha256: string;
    allSha256: string;
    entries: { count: number; seed: string; pkSha256: string; skSha256: string; ctSha256: string; ss: string }[];
  };
}
const kats = loadVectors<KatHashes>('kem-nist-drbg-kats.json').sntrup761;

const POLY_BYTES = 3044;
const RHO_BYTES = 191;

const core = sntrup761Wasm();

it('loads the wasm sntrup761 with the documented randomness sizes', () => {
  expect(core).not.toBeNull();
  expect(core!.keypairRandomLength).toBe(2 * POLY_BYTES + RHO_BYTES);
  expect(core!.encapsulateRandomLength).toBe(POLY_BYTES);
});

/**
 * One KAT entry, drawing from the DRBG as PQClean/liboqs do: one
 * randombytes() call per polynomial (g, retried while not invertible; f;
 * then r in encapsulation) and one for rho.
 */
function katEntry(nt: Sntrup761Core, seed: Uint8Array) {
  const base = new NistKatDrbg(seed);
  for (let attempts = 1; attempts <= 4; attempts++) {
    const drbg = base.clone();
    const gs = Array.from({ length: attempts }, () => drbg.randombytes(POLY_BYTES));
    const pair = nt.keypairFromRandom(concat(...gs, drbg.randombytes(POLY_BYTES), drbg.randombytes(RHO_BYTES)));
    if (!pair) continue;
    const enc = nt.encapsulateWith(pair.publicKey, drbg.randombytes(POLY_BYTES));
    expect(toHex(nt.decapsulate(enc.ciphertext, pair.secretKey))).toBe(toHex(enc.sharedSecret));
    return { ...pair, ...enc };
  }
  throw new Error('no invertible g within 4 attempts');
}

function katText(count: number, seed: Uint8Array, e: ReturnType<typeof katEntry>): string {
  return `count = ${count}\nseed = ${katHex(seed)}\npk = ${katHex(e.publicKey)}\nsk = ${katHex(e.secretKey)}\nct = ${katHex(e.ciphertext)}\nss = ${katHex(e.sharedSecret)}\n`;
}

/** Hash_prefix(b, x) of NTRU Prime: the first 32 bytes of SHA-512(b || x). */
function hashPrefix(b: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512').update(Uint8Array.of(b));
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, 32);
}

describe('sntrup761 known-answer tests (NIST DRBG)', () => {
  it('reproduces entries 0-2 field by field and the count-0 entry digest (PQClean and liboqs)', () => {
    const seeds = katSeeds(kats.entries.length);
    for (const want of kats.entries) {
      const seed = seeds[want.count]!;
      expect(katHex(seed)).toBe(want.seed);
      const e = katEntry(core!, seed);
      expect(sha256Hex(e.publicKey)).toBe(want.pkSha256);
      expect(sha256Hex(e.secretKey)).toBe(want.skSha256);
      expect(sha256Hex(e.ciphertext)).toBe(want.ctSha256);
      expect(toHex(e.sharedSecret)).toBe(want.ss);
      if (want.count === 0) expect(sha256Hex(katText(0, seed, e))).toBe(kats.singleSha256);
    }
  });

  it('reproduces the whole 100-entry KAT file (liboqs kats.json "all")', () => {
    const text = katSeeds(100)
      .map((seed, i) => katText(i, seed, katEntry(core!, seed)))
      .join('\n');
    expect(sha256Hex(text)).toBe(kats.allSha256);
  });
});

describe('sntrup761 wasm', () => {
  const keypair = (label: string): KemKeyPair => core!.keypairFromRandom(detBytes(label, core!.keypairRandomLength))!;

  it('round-trips, and a tampered ciphertext gives the implicit-rejection secret', () => {
    for (let i = 0; i < 4; i++) {
      const { publicKey, secretKey } = keypair(`kp-${i}`);
      expect(publicKey.length).toBe(1158);
      expect(secretKey.length).toBe(1763);
      const { ciphertext, sharedSecret } = core!.encapsulateWith(publicKey, detBytes(`enc-${i}`, POLY_BYTES));
      expect(ciphertext.length).toBe(1039);
      expect(toHex(core!.decapsulate(ciphertext, secretKey))).toBe(toHex(sharedSecret));

      const tampered = ciphertext.slice();
      tampered[(i * 331) % tampered.length]! ^= 0x10;
      const rejected = core!.decapsulate(tampered, secretKey);
      expect(toHex(rejected)).not.toBe(toHex(sharedSecret));
      // Rejection secret: Hash_prefix(0, Hash_prefix(3, rho) || c), rho = sk[1540, 1731).
      const rho = secretKey.subarray(1540, 1731);
      expect(toHex(rejected)).toBe(toHex(hashPrefix(0, hashPrefix(3, rho), tampered)));
    }
  });

  it('retries g when it is not invertible, consuming the next 3044 bytes', () => {
    // Words of 0x20000000 make every coefficient of g zero: never invertible.
    const zeroG = new Uint8Array(POLY_BYTES);
    for (let i = 0; i < POLY_BYTES; i += 4) zeroG[i + 3] = 0x20;
    const rest = detBytes('retry', core!.keypairRandomLength);
    expect(core!.keypairFromRandom(concat(zeroG, rest.subarray(POLY_BYTES)))).toBeNull();
    const retried = core!.keypairFromRandom(concat(zeroG, rest))!;
    const direct = core!.keypairFromRandom(rest)!;
    expect(toHex(retried.publicKey)).toBe(toHex(direct.publicKey));
    expect(toHex(retried.secretKey)).toBe(toHex(direct.secretKey));
  });

  it('refuses wrong sizes with CryptoError', () => {
    const { publicKey, secretKey } = keypair('sizes');
    expect(() => core!.keypairFromRandom(new Uint8Array(6278))).toThrow(CryptoError);
    expect(() => core!.encapsulateWith(publicKey.subarray(1), new Uint8Array(POLY_BYTES))).toThrow(CryptoError);
    expect(() => core!.encapsulateWith(publicKey, new Uint8Array(POLY_BYTES - 1))).toThrow(CryptoError);
    expect(() => core!.decapsulate(new Uint8Array(1038), secretKey)).toThrow(CryptoError);
    expect(() => core!.decapsulate(new Uint8Array(1039), secretKey.subarray(1))).toThrow(CryptoError);
  });
});
