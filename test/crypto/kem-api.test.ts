import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../ts/errors.js';
import { createKem, isKemAvailable, kemBackends, kemSupport, type KemInstance, type KemName } from '../../ts/crypto/kem/index.js';
import type { BackendName } from '../../ts/crypto/types.js';

describe('KEM availability', () => {
  it('serves ML-KEM-768 on wasm and js, sntrup761 on wasm only', () => {
    expect(kemBackends('mlkem768')).toEqual(['wasm', 'js']);
    expect(kemBackends('sntrup761')).toEqual(['wasm']);
    expect(isKemAvailable('sntrup761')).toBe(true);
    expect(isKemAvailable('sntrup761', 'js')).toBe(false);
    const support = kemSupport();
    expect(support.sntrup761.js.available).toBe(false);
    expect(support.mlkem768.js.available).toBe(true);
    expect(support.mlkem768.native.available).toBe(false);
  });

  it('picks wasm by default (js for ML-KEM when SSHWIRE_BACKEND=js) and honours an explicit backend', () => {
    expect(createKem('mlkem768')!.backend).toBe(process.env.SSHWIRE_BACKEND === 'js' ? 'js' : 'wasm');
    expect(createKem('sntrup761')!.backend).toBe('wasm');
    expect(createKem('mlkem768', 'js')!.backend).toBe('js');
    expect(createKem('sntrup761', 'js')).toBeNull();
    expect(createKem('mlkem768', 'native')).toBeNull();
  });

  it('rejects unknown names and backends with CryptoError', () => {
    expect(() => createKem('kyber512' as KemName)).toThrow(CryptoError);
    expect(() => createKem('mlkem768', 'gpu' as BackendName)).toThrow(CryptoError);
    expect(() => kemBackends('x25519' as KemName)).toThrow(CryptoError);
  });
});

const instances: [string, KemInstance][] = [
  ['mlkem768/wasm', createKem('mlkem768', 'wasm')!],
  ['mlkem768/js', createKem('mlkem768', 'js')!],
  ['sntrup761/wasm', createKem('sntrup761', 'wasm')!],
];

describe.each(instances)('%s', (_label, kem) => {
  it('round-trips with fresh randomness', () => {
    const a = kem.keypair();
    const b = kem.keypair();
    expect(a.publicKey.length).toBe(kem.publicKeyLength);
    expect(Buffer.compare(a.publicKey, b.publicKey)).not.toBe(0);
    const { ciphertext, sharedSecret } = kem.encapsulate(a.publicKey);
    expect(ciphertext.length).toBe(kem.ciphertextLength);
    expect(sharedSecret.length).toBe(32);
    expect(Buffer.from(kem.decapsulate(ciphertext, a.secretKey))).toEqual(Buffer.from(sharedSecret));
    // The wrong key decapsulates to something else, not an error.
    expect(Buffer.from(kem.decapsulate(ciphertext, b.secretKey))).not.toEqual(Buffer.from(sharedSecret));
  });

  it('refuses bad sizes and non-byte input with CryptoError', () => {
    const { publicKey, secretKey } = kem.keypair();
    const { ciphertext } = kem.encapsulate(publicKey);
    expect(() => kem.encapsulate(publicKey.subarray(0, 10))).toThrow(CryptoError);
    expect(() => kem.encapsulate(new Uint8Array(kem.publicKeyLength + 1))).toThrow(CryptoError);
    expect(() => kem.decapsulate(ciphertext.subarray(1), secretKey)).toThrow(CryptoError);
    expect(() => kem.decapsulate(ciphertext, secretKey.subarray(1))).toThrow(CryptoError);
    expect(() => kem.encapsulate('not bytes' as unknown as Uint8Array)).toThrow(CryptoError);
  });
});

describe('ML-KEM-768 across backends', () => {
  it('interoperates: wasm keys, js encapsulation, wasm decapsulation (and back)', () => {
    const w = createKem('mlkem768', 'wasm')!;
    const j = createKem('mlkem768', 'js')!;
    const kw = w.keypair();
    const e1 = j.encapsulate(kw.publicKey);
    expect(Buffer.from(w.decapsulate(e1.ciphertext, kw.secretKey))).toEqual(Buffer.from(e1.sharedSecret));
    const kj = j.keypair();
    const e2 = w.encapsulate(kj.publicKey);
    expect(Buffer.from(j.decapsulate(e2.ciphertext, kj.secretKey))).toEqual(Buffer.from(e2.sharedSecret));
  });
});
