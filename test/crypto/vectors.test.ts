/**
 * Known-answer tests for the primitives under every backend that has them:
 * RFC 8439 ChaCha20/Poly1305 (wasm raw exports, @noble), the GCM spec's
 * AES-GCM test cases (node:crypto, @noble), RFC 2202/4231 HMAC and the
 * hashes (every hash backend), RFC 7748 X25519 (every X25519 backend).
 */
import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20, chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { wasmCore } from '../../ts/crypto/wasm/instance.js';
import { buildHash, computeHmac } from '../../ts/crypto/backends.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { nativeX25519 } from '../../ts/crypto/native/kex.js';
import { jsX25519 } from '../../ts/crypto/js/kex.js';
import { hex, toHex } from './helpers.js';

const KEY_0_31 = Uint8Array.from({ length: 32 }, (_, i) => i);
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
// RFC 8439 section 2.4.2
const SUNSCREEN_CT =
  '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d';
// RFC 8439 section 2.5.2
const POLY_KEY = '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b';
const POLY_MSG = new TextEncoder().encode('Cryptographic Forum Research Group');
const POLY_TAG = 'a8061dc1305136c6c22b8baf0c0127a9';

/** Raw ChaCha20/Poly1305 through rust-core's exports, using memory it allocates. */
function wasmRaw() {
  const core = wasmCore();
  if (!core) return null;
  const alloc = core.fn('sw_alloc');
  const free = core.fn('sw_free');
  const put = (b: Uint8Array) => {
    const p = alloc(Math.max(1, b.length)) >>> 0;
    core.bytes().set(b, p);
    return p;
  };
  const take = (p: number, n: number) => core.bytes().slice(p, p + n);
  return {
    chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
      const k = put(key), n = put(nonce), d = put(data);
      expect(core.fn('sw_chacha20')(k, n, counter, d, data.length)).toBe(0);
      const out = take(d, data.length);
      [k, n, d].forEach((p, i) => free(p, [32, 12, Math.max(1, data.length)][i]!));
      return out;
    },
    chacha20djb(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
      const k = put(key), n = put(nonce), d = put(data);
      expect(core.fn('sw_chacha20_djb')(k, n, counter, 0, d, data.length)).toBe(0);
      const out = take(d, data.length);
      [k, n, d].forEach((p, i) => free(p, [32, 8, Math.max(1, data.length)][i]!));
      return out;
    },
    poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
      const k = put(key), m = put(msg), o = put(new Uint8Array(16));
      expect(core.fn('sw_poly1305')(k, m, msg.length, o)).toBe(0);
      const out = take(o, 16);
      [k, m, o].forEach((p, i) => free(p, [32, Math.max(1, msg.length), 16][i]!));
      return out;
    },
  };
}

const raw = wasmRaw();
const chachaImpls: [string, (k: Uint8Array, n: Uint8Array, c: number, d: Uint8Array) => Uint8Array][] = [['noble', (k, n, c, d) => chacha20(k, n, d, undefined, c)]];
const polyImpls: [string, (k: Uint8Array, m: Uint8Array) => Uint8Array][] = [['noble', (k, m) => poly1305(m, k)]];
if (raw) {
  chachaImpls.push(['wasm', raw.chacha20]);
  polyImpls.push(['wasm', raw.poly1305]);
}

describe('RFC 8439 ChaCha20', () => {
  it.each(chachaImpls)('%s: section 2.4.2 encryption', (_name, fn) => {
    expect(toHex(fn(KEY_0_31, hex('000000000000004a00000000'), 1, SUNSCREEN))).toBe(SUNSCREEN_CT);
  });
  it.each(chachaImpls)('%s: section 2.3.2 block (keystream of zeros)', (_name, fn) => {
    expect(toHex(fn(KEY_0_31, hex('000000090000004a00000000'), 1, new Uint8Array(64)))).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
    );
  });
  it.runIf(raw !== null)('wasm: the 64-bit-nonce (OpenSSH) variant matches @noble chacha20orig', () => {
    const key = KEY_0_31, nonce = hex('0102030405060708'), data = new Uint8Array(1000).map((_, i) => i * 7);
    for (const counter of [0, 1, 5]) expect(toHex(raw!.chacha20djb(key, nonce, counter, data))).toBe(toHex(chacha20orig(key, nonce, data, undefined, counter)));
  });
});

describe('RFC 8439 Poly1305', () => {
  it.each(polyImpls)('%s: section 2.5.2', (_name, fn) => {
    expect(toHex(fn(hex(POLY_KEY), POLY_MSG))).toBe(POLY_TAG);
  });
  it.each(polyImpls)('%s: appendix A.3 #1 (zero key, zero message)', (_name, fn) => {
    expect(toHex(fn(new Uint8Array(32), new Uint8Array(64)))).toBe('00000000000000000000000000000000');
  });
  it.each(polyImpls)('%s: appendix A.3 #5 (r carries, wraps to 2)', (_name, fn) => {
    const key = hex('02000000000000000000000000000000' + '00000000000000000000000000000000');
    expect(toHex(fn(key, hex('ffffffffffffffffffffffffffffffff')))).toBe('03000000000000000000000000000000');
  });
});

// The GCM specification's test cases 3, 4, 15, 16 (McGrew & Viega).
const GCM_P = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255');
const GCM_IV = hex('cafebabefacedbaddecaf888');
const GCM_AAD = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
const GCM_K128 = hex('feffe9928665731c6d6a8f9467308308');
const GCM_K256 = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
const GCM_CASES: [string, Uint8Array, Uint8Array, Uint8Array, string, string][] = [
  ['3', GCM_K128, new Uint8Array(0), GCM_P, '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985', '4d5c2af327cd64a62cf35abd2ba6fab4'],
  ['4', GCM_K128, GCM_AAD, GCM_P.subarray(0, 60), '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091', '5bc94fbc3221a5db94fae95ae7121a47'],
  ['15', GCM_K256, new Uint8Array(0), GCM_P, '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad', 'b094dac5d93471bdec1a502270e3cc6c'],
  ['16', GCM_K256, GCM_AAD, GCM_P.subarray(0, 60), '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662', '76fc6ece0f4e1768cddf8853bb2d551b'],
];

describe('AES-GCM (GCM spec test cases) in the libraries the backends wrap', () => {
  it.each(GCM_CASES)('native: test case %s', (_n, key, aad, p, ct, tag) => {
    const c = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, GCM_IV);
    c.setAAD(aad);
    const out = c.update(p);
    c.final();
    expect(toHex(out)).toBe(ct);
    expect(toHex(c.getAuthTag())).toBe(tag);
  });
  it.each(GCM_CASES)('js: test case %s', (_n, key, aad, p, ct, tag) => {
    expect(toHex(gcm(key, GCM_IV, aad).encrypt(p))).toBe(ct + tag);
  });
});

const enc = (s: string) => new TextEncoder().encode(s);
// [hash, key, data, expected] from RFC 2202 (SHA-1) and RFC 4231 (SHA-2), test cases 1, 2 and 6.
const HMAC_CASES: ['sha1' | 'sha256' | 'sha384' | 'sha512', Uint8Array, Uint8Array, string][] = [
  ['sha1', new Uint8Array(20).fill(0x0b), enc('Hi There'), 'b617318655057264e28bc0b6fb378c8ef146be00'],
  ['sha1', enc('Jefe'), enc('what do ya want for nothing?'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'],
  ['sha1', new Uint8Array(80).fill(0xaa), enc('Test Using Larger Than Block-Size Key - Hash Key First'), 'aa4ae5e15272d00e95705637ce8a3b55ed402112'],
  ['sha256', new Uint8Array(20).fill(0x0b), enc('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  ['sha256', enc('Jefe'), enc('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ['sha256', new Uint8Array(131).fill(0xaa), enc('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ['sha384', new Uint8Array(20).fill(0x0b), enc('Hi There'), 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6'],
  ['sha512', new Uint8Array(20).fill(0x0b), enc('Hi There'), '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854'],
  ['sha512', enc('Jefe'), enc('what do ya want for nothing?'), '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737'],
];

describe('HMAC (RFC 2202, RFC 4231)', () => {
  const rows = HMAC_CASES.flatMap(([h, k, d, e], i) => servingImpls(h).map((impl) => [impl, h, i, k, d, e] as const));
  it.each(rows)('%s %s case #%i', (impl, h, _i, key, data, expected) => {
    expect(toHex(computeHmac(h, key, [data], impl))).toBe(expected);
    // Split input must give the same MAC.
    expect(toHex(computeHmac(h, key, [data.subarray(0, 3), data.subarray(3)], impl))).toBe(expected);
  });
});

describe('hashes ("abc", FIPS 180 examples)', () => {
  const expected = {
    sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    sha384: 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    sha512: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  } as const;
  const rows = (Object.keys(expected) as (keyof typeof expected)[]).flatMap((h) => servingImpls(h).map((impl) => [impl, h] as const));
  it.each(rows)('%s %s', (impl, h) => {
    expect(toHex(buildHash(h, impl).update(enc('a')).update(enc('bc')).digest())).toBe(expected[h]);
  });
});

describe('RFC 7748 X25519', () => {
  const impls = servingImpls('x25519').map((i) => [i, i === 'native' ? nativeX25519 : jsX25519] as const);
  it.each(impls)('%s: section 5.2 vector 1', (_i, make) => {
    const ka = make(hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'));
    expect(toHex(ka.computeSecret(hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c')))).toBe(
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
    );
  });
  it.each(impls)('%s: section 6.1 Alice and Bob', (_i, make) => {
    const alice = make(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = make(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(alice.computeSecret(bob.publicKey))).toBe(shared);
    expect(toHex(bob.computeSecret(alice.publicKey))).toBe(shared);
  });
  it.each(impls)('%s: section 5.2 iterated, 1 and 1000 iterations', (_i, make) => {
    let k = hex('0900000000000000000000000000000000000000000000000000000000000000');
    let u = k;
    for (let i = 1; i <= 1000; i++) {
      const next = make(k).computeSecret(u);
      u = k;
      k = next;
      if (i === 1) expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    expect(toHex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });
  it.each(impls)('%s: a low-order peer value (all-zero secret) is a CryptoError', (_i, make) => {
    expect(() => make().computeSecret(new Uint8Array(32))).toThrow(expect.objectContaining({ name: 'CryptoError' }));
  });
});
