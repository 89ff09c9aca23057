/**
 * DSA (`ssh-dss`) keys: every file format ssh-keygen writes them in, our
 * OpenSSH-format output read back by ssh-keygen, signatures checked across
 * the OpenSSL and bigint implementations, and malformed keys refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSigner, buildVerifier } from '../../ts/crypto/backends.js';
import type { PrivateKeyMaterial } from '../../ts/crypto/types.js';
import { KeyFormatError, PasswordRequiredException } from '../../ts/errors.js';
import { PrivateKey, PublicKey } from '../../ts/keys/index.js';
import { privateMaterialOf } from '../../ts/keys/privateKey.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen, sshKeygenFingerprint } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);
const PASS = 'dsa passphrase';

/** ssh-keygen's output formats for a DSA key: [file, passphrase, -m format]. */
const FORMATS: [string, string, string | null][] = [
  ['openssh', '', null],
  ['openssh-enc', PASS, null],
  ['pem', '', 'PEM'],
  ['pem-enc', PASS, 'PEM'],
  ['pkcs8', '', 'PKCS8'],
  ['pkcs8-enc', PASS, 'PKCS8'],
];

beforeAll(() => {
  tmp = makeTempDir('sshwire-dsa-');
  for (const [name, pass, format] of FORMATS) generateWithSshKeygen(path(name), 'dsa', undefined, pass, format ? ['-m', format] : [], `${name} key`);
});
afterAll(() => tmp.cleanup());

const data = new TextEncoder().encode('data to sign');

describe('DSA key files from ssh-keygen', () => {
  it.each(FORMATS)('reads %s: type, size and fingerprint as ssh-keygen -l prints them; signs and verifies', (name, pass) => {
    const key = PrivateKey.fromFile(path(name), pass || undefined);
    const expected = sshKeygenFingerprint(path(`${name}.pub`));
    expect(key.keyType).toBe('ssh-dss');
    expect(key.getBits()).toBe(1024);
    expect(key.getBits()).toBe(expected.bits);
    expect(key.fingerprint).toBe(expected.fingerprint);
    expect(key.signatureAlgorithms).toEqual(['ssh-dss']);
    const pub = PublicKey.fromFile(path(`${name}.pub`));
    const sig = key.sign('ssh-dss', data);
    expect(sig.length).toBe(40);
    expect(pub.verify('ssh-dss', data, sig)).toBe(true);
    expect(pub.verify('ssh-dss', new Uint8Array(1), sig)).toBe(false);
    expect(() => key.sign('rsa-sha2-256', data)).toThrow(KeyFormatError);
  });

  it('an encrypted DSA key without or with a wrong passphrase is PasswordRequiredException', () => {
    for (const name of ['openssh-enc', 'pem-enc', 'pkcs8-enc']) {
      expect(() => PrivateKey.fromFile(path(name))).toThrow(PasswordRequiredException);
      expect(() => PrivateKey.fromFile(path(name), 'not it')).toThrow(PasswordRequiredException);
    }
  });

  it('a generated key written in OpenSSH format (encrypted) is read by ssh-keygen, which derives the same public key', () => {
    const key = PrivateKey.generate('dsa');
    key.comment = 'made by sshwire';
    expect(key.getBits()).toBe(1024);
    writeFileSync(path('ours'), key.toOpenSSH(PASS), { mode: 0o600 });
    const derived = sshKeygen(['-y', '-P', PASS, '-f', path('ours')]).trim();
    expect(derived.split(' ').slice(0, 2).join(' ')).toBe(key.publicKey.toString().split(' ').slice(0, 2).join(' '));
    const back = PrivateKey.fromFile(path('ours'), PASS);
    expect(back.fingerprint).toBe(key.fingerprint);
    expect(back.comment).toBe('made by sshwire');
    expect(() => PrivateKey.generate('dsa', 2048)).toThrow(KeyFormatError);
  });
});

describe('DSA signatures across implementations', () => {
  it('OpenSSL signatures verify with the bigint verifier and bigint ones with OpenSSL, and tampering fails both', () => {
    const m = privateMaterialOf(PrivateKey.fromFile(path('openssh')));
    const blob = PublicKey.fromFile(path('openssh.pub')).publicKeyBlob;
    const verifiers = { native: buildVerifier(blob, 'native'), js: buildVerifier(blob, 'js') };
    for (const signerImpl of ['native', 'js'] as const) {
      const signer = buildSigner(m, signerImpl);
      for (let i = 0; i < 8; i++) {
        const msg = new TextEncoder().encode(`message ${i}`);
        const sig = signer.sign('ssh-dss', msg) as Uint8Array;
        for (const [impl, v] of Object.entries(verifiers)) {
          expect(v.verify('ssh-dss', msg, sig), `${signerImpl} → ${impl}`).toBe(true);
          const bad = Uint8Array.from(sig);
          bad[39]! ^= 1;
          expect(v.verify('ssh-dss', msg, bad)).toBe(false);
          expect(v.verify('ssh-dss', msg, sig.subarray(0, 39))).toBe(false);
          expect(v.verify('ssh-rsa', msg, sig)).toBe(false);
        }
      }
    }
    // r = 0 and s = 0 are never valid.
    expect(verifiers.js.verify('ssh-dss', data, new Uint8Array(40))).toBe(false);
    expect(verifiers.native.verify('ssh-dss', data, new Uint8Array(40))).toBe(false);
  });
});

describe('malformed DSA keys', () => {
  const good = (): Extract<PrivateKeyMaterial, { type: 'ssh-dss' }> => {
    const m = privateMaterialOf(PrivateKey.fromFile(path('openssh')));
    if (m.type !== 'ssh-dss') throw new Error('not DSA');
    return m;
  };
  const blob = (p: Uint8Array, q: Uint8Array, g: Uint8Array, y: Uint8Array): Uint8Array =>
    new SSHWriter(512).string('ssh-dss').mpintFromUnsigned(p).mpintFromUnsigned(q).mpintFromUnsigned(g).mpintFromUnsigned(y).toBytes();

  it('public blobs with a short modulus, a wrong-size q, or g/y out of range are KeyFormatError', () => {
    const m = good();
    expect(PublicKey.fromBlob(blob(m.p, m.q, m.g, m.y)).keyType).toBe('ssh-dss');
    const cases: [string, Uint8Array][] = [
      ['512-bit p', blob(m.p.subarray(64), m.q, m.g, m.y)],
      ['short q', blob(m.p, m.q.subarray(1), m.g, m.y)],
      ['g = 1', blob(m.p, m.q, Uint8Array.of(1), m.y)],
      ['y = p', blob(m.p, m.q, m.g, m.p)],
    ];
    for (const [what, b] of cases) expect(() => PublicKey.fromBlob(b), what).toThrow(KeyFormatError);
    expect(() => PublicKey.fromBlob(blob(m.p, m.q, m.g, m.y).subarray(0, 100))).toThrow(KeyFormatError);
  });

  it('a private key whose x does not match y is refused on load', () => {
    const m = good();
    const x = Uint8Array.from(m.x);
    x[x.length - 1]! ^= 1;
    // The writer does not check; the reader must.
    const file = PrivateKey.fromMaterial({ ...m, x }, 'bad').toOpenSSH();
    expect(() => PrivateKey.fromString(file)).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromString(file)).toThrow(/does not match the public key/);
    expect(PrivateKey.fromString(readFileSync(path('openssh'), 'utf8')).keyType).toBe('ssh-dss');
  });
});
