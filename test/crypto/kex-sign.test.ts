/**
 * Key agreement and signatures under every backend that serves them:
 * both sides agree across backends, signatures round-trip and cross-verify
 * (including ones made by node:crypto directly), tampering is rejected,
 * malformed blobs and peer values are typed errors.
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { buildFfdh, buildKeyAgreement, buildSigner, buildVerifier, generateKey, type CurveName } from '../../ts/crypto/backends.js';
import { servingImpls } from '../../ts/crypto/select.js';
import { publicKeyBlobOf } from '../../ts/crypto/keyblob.js';
import { modpGroup } from '../../ts/crypto/modp-groups.js';
import { CryptoError, KeyFormatError } from '../../ts/errors.js';
import { SSHWriter } from '../../ts/wire/index.js';
import * as api from '../../ts/crypto/index.js';
import { toHex } from './helpers.js';

const pairs = (impls: string[]) => impls.flatMap((a) => impls.map((b) => [a, b] as const));

describe('ECDH and X25519', () => {
  for (const curve of ['x25519', 'nistp256', 'nistp384', 'nistp521'] as CurveName[]) {
    it.each(pairs(servingImpls(curve)))(`${curve}: %s and %s agree`, (a, b) => {
      const x = buildKeyAgreement(curve, a);
      const y = buildKeyAgreement(curve, b);
      const s1 = x.computeSecret(y.publicKey);
      expect(toHex(s1)).toBe(toHex(y.computeSecret(x.publicKey)));
      expect(s1.length).toBe(curve === 'x25519' ? 32 : curve === 'nistp256' ? 32 : curve === 'nistp384' ? 48 : 66);
    });
    it.each(servingImpls(curve))(`${curve}: %s rejects malformed peer values with CryptoError`, (impl) => {
      const ka = buildKeyAgreement(curve, impl);
      const bad = ka.publicKey.slice();
      bad[bad.length - 1] ^= 1; // off the curve for NIST points (x25519 accepts any u with a non-zero result)
      expect(() => ka.computeSecret(ka.publicKey.subarray(1))).toThrow(CryptoError);
      if (curve !== 'x25519') expect(() => ka.computeSecret(bad)).toThrow(CryptoError);
    });
  }
});

describe('finite-field DH', () => {
  it.each(pairs(servingImpls('group14')))('group14: %s and %s agree', (a, b) => {
    const x = buildFfdh('group14', a);
    const y = buildFfdh('group14', b);
    expect(toHex(x.computeSecret(y.publicKey))).toBe(toHex(y.computeSecret(x.publicKey)));
  });
  it.each(servingImpls('group1'))('group1 and a gex group: %s agrees with itself and the other backends', (impl) => {
    for (const g of ['group1', modpGroup('group16')] as const) {
      const x = buildFfdh(g, impl);
      for (const other of servingImpls('gex')) {
        const y = buildFfdh(g, other);
        expect(toHex(x.computeSecret(y.publicKey))).toBe(toHex(y.computeSecret(x.publicKey)));
      }
    }
  });
  it.each(servingImpls('group14'))('%s: peer values outside 1 < f < p-1 are CryptoErrors', (impl) => {
    const p = modpGroup('group14').prime;
    const x = buildFfdh('group14', impl);
    const bytes = (v: bigint) => Uint8Array.from(Buffer.from(v.toString(16).padStart(512, '0'), 'hex'));
    for (const v of [0n, 1n, p - 1n, p, p + 5n]) expect(() => x.computeSecret(bytes(v))).toThrow(CryptoError);
    expect(() => x.computeSecret(bytes(2n))).not.toThrow();
  });
  it('rejects unusable gex groups', () => {
    expect(() => buildFfdh({ prime: 23n, generator: 5n })).toThrow(CryptoError);
    expect(() => buildFfdh({ prime: modpGroup('group14').prime, generator: 1n })).toThrow(CryptoError);
  });
});

const KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
// One RSA key for the whole file: generation is the slow part.
const materials = Object.fromEntries(KEY_TYPES.map((t) => [t, generateKey(t, 2048)]));

describe('signatures', () => {
  const data = new TextEncoder().encode('exchange hash');
  const rows = KEY_TYPES.flatMap((t) => {
    const algs = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    return algs.flatMap((alg) => pairs(servingImpls(alg)).map(([s, v]) => [t, alg, s, v] as const));
  });
  it.each(rows)('%s %s: signed by %s, verified by %s; a modified signature or message is rejected', async (type, alg, s, v) => {
    const signer = buildSigner(materials[type]!, s);
    expect(signer.keyType).toBe(type);
    const sig = await signer.sign(alg, data);
    const verifier = buildVerifier(signer.publicKeyBlob, v);
    expect(verifier.verify(alg, data, sig)).toBe(true);
    const bad = sig.slice();
    bad[bad.length - 2] ^= 4;
    expect(verifier.verify(alg, data, bad)).toBe(false);
    expect(verifier.verify(alg, data.subarray(1), sig)).toBe(false);
    expect(verifier.verify(type === 'ssh-rsa' ? 'ssh-ed25519' : 'rsa-sha2-256', data, sig)).toBe(false);
  });

  it.each(servingImpls('ssh-ed25519').concat(servingImpls('ecdsa-sha2-nistp384')).filter((v, i, a) => a.indexOf(v) === i))(
    '%s verifies signatures made by node:crypto directly',
    (impl) => {
      const ed = generateKeyPairSync('ed25519');
      const edJwk = ed.publicKey.export({ format: 'jwk' });
      const edBlob = new SSHWriter().string('ssh-ed25519').string(Buffer.from(edJwk.x!, 'base64url')).toBytes();
      expect(buildVerifier(edBlob, impl).verify('ssh-ed25519', data, nodeSign(null, data, ed.privateKey))).toBe(true);

      const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      const ecJwk = ec.publicKey.export({ format: 'jwk' });
      const q = Buffer.concat([Buffer.from([4]), Buffer.from(ecJwk.x!, 'base64url'), Buffer.from(ecJwk.y!, 'base64url')]);
      const ecBlob = new SSHWriter().string('ecdsa-sha2-nistp384').string('nistp384').string(q).toBytes();
      const rs = nodeSign('sha384', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      const sig = new SSHWriter().mpintFromUnsigned(rs.subarray(0, 48)).mpintFromUnsigned(rs.subarray(48)).toBytes();
      expect(buildVerifier(ecBlob, impl).verify('ecdsa-sha2-nistp384', data, sig)).toBe(true);

      const rsa = materials['ssh-rsa']!;
      const nodeRsa = buildSigner(rsa, 'native');
      expect(buildVerifier(publicKeyBlobOf(rsa), impl).verify('rsa-sha2-256', data, nodeRsa.sign('rsa-sha2-256', data) as Uint8Array)).toBe(true);
    },
  );

  it('malformed or unsupported public key blobs are KeyFormatErrors', () => {
    const ed = publicKeyBlobOf(materials['ssh-ed25519']!);
    const junk = [
      new Uint8Array(0),
      new Uint8Array([0, 0, 0, 100, 1]),
      ed.subarray(0, ed.length - 1),
      Uint8Array.from([...ed, 0]),
      new SSHWriter().string('ssh-dss').string('x').toBytes(),
      new SSHWriter().string('ecdsa-sha2-nistp256').string('nistp384').string(new Uint8Array(65)).toBytes(),
      new SSHWriter().string('ssh-rsa').mpint(65537n).mpint(12345n).toBytes(),
    ];
    for (const blob of junk) expect(() => buildVerifier(blob)).toThrow(KeyFormatError);
  });

  it('a point off the curve is a typed error, not a crash', () => {
    const m = materials['ecdsa-sha2-nistp256']! as { q: Uint8Array };
    const q = m.q.slice();
    q[64] ^= 1;
    const blob = new SSHWriter().string('ecdsa-sha2-nistp256').string('nistp256').string(q).toBytes();
    for (const impl of servingImpls('ecdsa-sha2-nistp256')) expect(() => buildVerifier(blob, impl)).toThrow(CryptoError);
  });

  it('signing with an algorithm the key cannot make is a CryptoError', () => {
    expect(() => buildSigner(materials['ssh-ed25519']!).sign('rsa-sha2-256', data)).toThrow(CryptoError);
  });
});

describe('public API', () => {
  it('exposes backend info and capability checks consistent with it', () => {
    const info = api.getBackendInfo();
    expect(info.available.native.available).toBe(true);
    for (const name of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'hmac-sha2-256-etm@openssh.com', 'x25519', 'ssh-ed25519', 'none']) {
      expect(info.primitives[name]?.reason.length).toBeGreaterThan(0);
    }
    expect(api.canServeCipher('aes128-ctr')).toBe(true);
    expect(api.canServeCipher('rot13')).toBe(false);
    expect(api.canServeMac('none')).toBe(true);
    expect(api.canServeMac('hmac-md5')).toBe(false);
    expect(api.canServeMac('umac-64@openssh.com')).toBe(info.available.wasm.available);
    expect(api.canServeKeyAgreement('gex')).toBe(true);
    expect(api.canServeSignature('ssh-dss')).toBe(true);
    expect(api.canServeSignature('ssh-dss-sha256@example.com')).toBe(false);
    expect(api.cipherInfo('aes256-gcm@openssh.com')).toMatchObject({ keyLength: 32, ivLength: 12, aead: true, tagLength: 16, blockSize: 16 });
    expect(api.cipherInfo('aes128-ctr')!.rekeyBytes).toBe(2 ** 30);
    expect(api.macInfo('hmac-sha2-512-etm@openssh.com')).toMatchObject({ keyLength: 64, length: 64, etm: true });
  });
  it('hash, hmac, randomBytes and constantTimeEqual', () => {
    expect(toHex(api.hash('sha256', new TextEncoder().encode('a'), new TextEncoder().encode('bc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(api.hmac('sha512', new Uint8Array(3), new Uint8Array(1)).length).toBe(64);
    expect(() => api.createHash('md5' as 'sha1')).toThrow(CryptoError);
    expect(api.randomBytes(16).length).toBe(16);
    expect(toHex(api.randomBytes(32))).not.toBe(toHex(api.randomBytes(32)));
    expect(api.constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(api.constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(api.constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
  it('generatePrivateKey rejects bad RSA sizes and unknown types', () => {
    expect(() => api.generatePrivateKey('ssh-rsa', 512)).toThrow(CryptoError);
    expect(() => api.generatePrivateKey('ssh-xmss@openssh.com' as 'ssh-rsa')).toThrow(CryptoError);
    expect(api.generatePrivateKey('ssh-dss').type).toBe('ssh-dss');
  });
});
