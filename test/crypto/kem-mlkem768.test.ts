import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../ts/errors.js';
import { mlkem768Js } from '../../ts/crypto/kem/noble.js';
import { mlkem768Wasm } from '../../ts/crypto/kem/wasm.js';
import type { MlKem768Core } from '../../ts/crypto/kem/params.js';
import { NistKatDrbg, katHex, katSeeds } from './kem-nist-drbg.js';
import { concat, detBytes, hex, loadVectors, sha256Hex, toHex } from './kem-helpers.js';

interface AcvpVectors {
  keyGen: { tcId: number; d: string; z: string; ek: string; dkPke: string; hEk: string }[];
  encapsulation: { tcId: number; ek: string; m: string; c: string; k: string }[];
}
interface KatHashes {
  mlkem768: { singleSha256: string; allSha256: string };
}

const acvp = loadVectors<AcvpVectors>('mlkem768-acvp.json');
const kats = loadVectors<KatHashes>('kem-nist-drbg-kats.json');

const wasm = mlkem768Wasm();
const js = mlkem768Js();

it('loads the wasm ML-KEM-768', () => {
  expect(wasm).not.toBeNull();
});

/** J(z || c) = SHAKE256(z || c, 32): the implicit-rejection secret of FIPS 203. */
function rejectionSecret(dk: Uint8Array, ct: Uint8Array): string {
  return toHex(createHash('shake256', { outputLength: 32 }).update(dk.subarray(2368)).update(ct).digest());
}

/** The NIST-DRBG KAT entry `count` as liboqs's kat_kem prints it. */
function katEntry(core: MlKem768Core, count: number, seed: Uint8Array): string {
  const drbg = new NistKatDrbg(seed);
  const { publicKey, secretKey } = core.keypairFromSeed(drbg.randombytes(64));
  const { ciphertext, sharedSecret } = core.encapsulateWith(publicKey, drbg.randombytes(32));
  expect(toHex(core.decapsulate(ciphertext, secretKey))).toBe(toHex(sharedSecret));
  return `count = ${count}\nseed = ${katHex(seed)}\npk = ${katHex(publicKey)}\nsk = ${katHex(secretKey)}\nct = ${katHex(ciphertext)}\nss = ${katHex(sharedSecret)}\n`;
}

const backends: [string, MlKem768Core][] = [
  ['wasm', wasm!],
  ['js', js],
];

describe.each(backends)('ML-KEM-768 on %s', (_name, core) => {
  it('matches the ACVP keyGen vectors (FIPS 203)', () => {
    for (const v of acvp.keyGen) {
      const { publicKey, secretKey } = core.keypairFromSeed(concat(hex(v.d), hex(v.z)));
      expect(toHex(publicKey)).toBe(v.ek);
      expect(toHex(secretKey)).toBe(v.dkPke + v.ek + v.hEk + v.z);
    }
  });

  it('matches the ACVP encapsulation vectors', () => {
    for (const v of acvp.encapsulation) {
      const { ciphertext, sharedSecret } = core.encapsulateWith(hex(v.ek), hex(v.m));
      expect(toHex(ciphertext)).toBe(v.c);
      expect(toHex(sharedSecret)).toBe(v.k);
    }
  });

  it('reproduces the NIST-DRBG KAT entry 0 (liboqs kats.json)', () => {
    const [seed] = katSeeds(1);
    expect(sha256Hex(katEntry(core, 0, seed!))).toBe(kats.mlkem768.singleSha256);
  });

  it('rejects a public key with an unreduced coefficient (modulus check)', () => {
    const { publicKey } = core.keypairFromSeed(detBytes('mod', 64));
    const bad = publicKey.slice();
    // First coefficient := 3329 = q (12 bits little-endian across bytes 0-1).
    bad[0] = 3329 & 0xff;
    bad[1] = (bad[1]! & 0xf0) | (3329 >> 8);
    expect(() => core.encapsulateWith(bad, detBytes('m', 32))).toThrow(CryptoError);
    // q - 1 is fine.
    bad[0] = 3328 & 0xff;
    expect(() => core.encapsulateWith(bad, detBytes('m', 32))).not.toThrow();
  });

  it('rejects a secret key whose H(ek) does not match', () => {
    const { publicKey, secretKey } = core.keypairFromSeed(detBytes('hek', 64));
    const { ciphertext } = core.encapsulateWith(publicKey, detBytes('m', 32));
    const bad = secretKey.slice();
    bad[2336]! ^= 1;
    expect(() => core.decapsulate(ciphertext, bad)).toThrow(CryptoError);
  });

  it('refuses wrong sizes with CryptoError', () => {
    expect(() => core.keypairFromSeed(new Uint8Array(63))).toThrow(CryptoError);
    expect(() => core.encapsulateWith(new Uint8Array(1183), new Uint8Array(32))).toThrow(CryptoError);
    expect(() => core.encapsulateWith(new Uint8Array(1184), new Uint8Array(31))).toThrow(CryptoError);
    expect(() => core.decapsulate(new Uint8Array(1087), new Uint8Array(2400))).toThrow(CryptoError);
    expect(() => core.decapsulate(new Uint8Array(1088), new Uint8Array(2401))).toThrow(CryptoError);
  });
});

describe('ML-KEM-768 wasm', () => {
  it('reproduces all 100 NIST-DRBG KAT entries (liboqs kats.json "all")', () => {
    const seeds = katSeeds(100);
    const text = seeds.map((seed, i) => katEntry(wasm!, i, seed)).join('\n');
    expect(sha256Hex(text)).toBe(kats.mlkem768.allSha256);
  });

  it('agrees with @noble/post-quantum on random seeds, including implicit rejection', () => {
    for (let i = 0; i < 24; i++) {
      const seed = detBytes(`seed-${i}`, 64);
      const m = detBytes(`m-${i}`, 32);
      const a = wasm!.keypairFromSeed(seed);
      const b = js.keypairFromSeed(seed);
      expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
      expect(toHex(a.secretKey)).toBe(toHex(b.secretKey));

      const ea = wasm!.encapsulateWith(a.publicKey, m);
      const eb = js.encapsulateWith(b.publicKey, m);
      expect(toHex(ea.ciphertext)).toBe(toHex(eb.ciphertext));
      expect(toHex(ea.sharedSecret)).toBe(toHex(eb.sharedSecret));
      expect(toHex(wasm!.decapsulate(ea.ciphertext, a.secretKey))).toBe(toHex(ea.sharedSecret));

      // Flip one bit somewhere in the ciphertext: both must return J(z || c').
      const tampered = ea.ciphertext.slice();
      tampered[(i * 97) % tampered.length]! ^= 1 << (i % 8);
      const ra = wasm!.decapsulate(tampered, a.secretKey);
      const rb = js.decapsulate(tampered, b.secretKey);
      expect(toHex(ra)).toBe(toHex(rb));
      expect(toHex(ra)).not.toBe(toHex(ea.sharedSecret));
      expect(toHex(ra)).toBe(rejectionSecret(a.secretKey, tampered));
    }
  });

  it('leaves no secret in the shared I/O buffer', async () => {
    const { wasmCore } = await import('../../ts/crypto/wasm/instance.js');
    const core = wasmCore()!;
    const io = core.fn('sw_io_ptr')() >>> 0;
    const seed = new Uint8Array(64).fill(0xa5);
    const { publicKey, secretKey } = wasm!.keypairFromSeed(seed);
    wasm!.decapsulate(wasm!.encapsulateWith(publicKey, new Uint8Array(32).fill(0x5a)).ciphertext, secretKey);
    const region = core.bytes().subarray(io, io + 64 + 1184 + 2400 + 1088 + 32);
    expect(region.every((b) => b === 0)).toBe(true);
  });
});
