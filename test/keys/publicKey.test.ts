import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyFormatError } from '../../ts/errors.js';
import {
  CERT_FOREVER, checkCertificate, fingerprintMd5, fingerprintSha256, parseCertificate, PrivateKey, PublicKey,
  SSH_CERT_TYPE_HOST, SSH_CERT_TYPE_USER, verifyCertificateSignature,
} from '../../ts/keys/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen, sshKeygenFingerprint } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);

beforeAll(() => {
  tmp = makeTempDir();
  generateWithSshKeygen(path('ca_ed'), 'ed25519', undefined, '', [], 'ed CA');
  generateWithSshKeygen(path('ca_rsa'), 'rsa', 2048, '', [], 'rsa CA');
  generateWithSshKeygen(path('ca_ec'), 'ecdsa', 384, '', [], 'ec CA');
  generateWithSshKeygen(path('user'), 'ecdsa', 256, '', [], 'alice@laptop');
  generateWithSshKeygen(path('host'), 'ed25519', undefined, '', [], 'host key');
  generateWithSshKeygen(path('user_rsa'), 'rsa', 2048, '', [], 'rsa user');
});
afterAll(() => tmp.cleanup());

describe('PublicKey', () => {
  it('parses .pub lines, prints them back, and fingerprints like ssh-keygen', () => {
    for (const f of ['ca_ed', 'ca_rsa', 'ca_ec', 'user']) {
      const text = readFileSync(path(`${f}.pub`), 'utf8');
      const key = PublicKey.fromString(text);
      expect(key.toString()).toBe(text.trim());
      expect(key.fingerprint).toBe(sshKeygenFingerprint(path(`${f}.pub`)).fingerprint);
      expect(key.md5Fingerprint).toBe(sshKeygenFingerprint(path(`${f}.pub`), 'md5').fingerprint);
      expect(fingerprintSha256(key.publicKeyBlob)).toBe(key.fingerprint);
      expect(fingerprintMd5(key.publicKeyBlob)).toBe(key.md5Fingerprint);
      expect(key.getBits()).toBe(sshKeygenFingerprint(path(`${f}.pub`)).bits);
      const again = PublicKey.fromBlob(key.publicKeyBlob);
      expect(again.equals(key)).toBe(true);
      expect(again.comment).toBe('');
    }
    expect(PublicKey.fromFile(path('user.pub')).comment).toBe('alice@laptop');
    expect(PublicKey.fromFile(path('user.pub')).equals(PublicKey.fromFile(path('ca_ec.pub')))).toBe(false);
  });

  it('fingerprint formats match ssh-keygen output shape', () => {
    const key = PublicKey.fromFile(path('ca_ed.pub'));
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(key.md5Fingerprint).toMatch(/^MD5:([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
  });

  it('verifies SSH-encoded signatures and rejects wrong ones', () => {
    const priv = PrivateKey.fromFile(path('user_rsa'));
    const pub = PublicKey.fromFile(path('user_rsa.pub'));
    const data = new TextEncoder().encode('session data');
    for (const alg of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
      const sig = priv.signSshData(data, alg);
      expect(pub.verifySshSignature(data, sig)).toBe(true);
      expect(pub.verifySshSignature(new Uint8Array(0), sig)).toBe(false);
    }
    // algorithm that does not fit the key, and garbage signatures: false, not a throw
    expect(pub.verify('ssh-ed25519', data, new Uint8Array(64))).toBe(false);
    expect(pub.verify('rsa-sha2-256', data, new Uint8Array(3))).toBe(false);
    expect(pub.verifySshSignature(data, new Uint8Array([0, 0, 0, 99]))).toBe(false);
  });

  it('refuses malformed lines and blobs with KeyFormatError', () => {
    const good = readFileSync(path('ca_ed.pub'), 'utf8').trim().split(' ');
    expect(() => PublicKey.fromString('ssh-ed25519')).toThrow(KeyFormatError);
    expect(() => PublicKey.fromString(`ssh-ed25519 ${good[1]!.slice(0, -4)}`)).toThrow(KeyFormatError);
    expect(() => PublicKey.fromString(`ssh-ed25519 ${good[1]}!`)).toThrow(KeyFormatError);
    expect(() => PublicKey.fromString(`ssh-rsa ${good[1]}`)).toThrow(/says "ssh-rsa"/);
    expect(() => PublicKey.fromBlob(new Uint8Array([0, 0, 0, 7, 115, 115, 104, 45, 120, 121, 122]))).toThrow(/unsupported key type "ssh-xyz"/);
    // ssh-dss is read, but its fields are checked.
    expect(() => PublicKey.fromBlob(new Uint8Array([0, 0, 0, 7, 115, 115, 104, 45, 100, 115, 115]))).toThrow(KeyFormatError);
    expect(() => PublicKey.fromBlob(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(KeyFormatError);
    const blob = PublicKey.fromString(good.join(' ')).publicKeyBlob;
    expect(() => PublicKey.fromBlob(Uint8Array.from([...blob, 0]))).toThrow(KeyFormatError); // trailing byte
    for (let n = 0; n < blob.length; n++) expect(() => PublicKey.fromBlob(blob.subarray(0, n))).toThrow(KeyFormatError);
  });
});

describe('OpenSSH certificates', () => {
  const sign = (ca: string, key: string, args: string[]) => {
    sshKeygen(['-q', '-s', path(ca), ...args, path(`${key}.pub`)]);
    return PublicKey.fromFile(path(`${key}-cert.pub`));
  };

  it('parses a user certificate made by ssh-keygen -s and verifies the CA signature', () => {
    const cert = sign('ca_ed', 'user', ['-I', 'alice-key-1', '-n', 'alice,deploy', '-V', '20200101:20991231', '-z', '42',
      '-O', 'force-command=/usr/bin/true', '-O', 'source-address=10.0.0.0/8,192.168.1.1', '-O', 'no-pty']);
    expect(cert.keyType).toBe('ecdsa-sha2-nistp256-cert-v01@openssh.com');
    expect(cert.isCertificate).toBe(true);
    expect(cert.baseKeyType).toBe('ecdsa-sha2-nistp256');
    const c = cert.certificate!;
    expect(c.keyId).toBe('alice-key-1');
    expect(c.principals).toEqual(['alice', 'deploy']);
    expect(c.serial).toBe(42n);
    expect(c.type).toBe(SSH_CERT_TYPE_USER);
    expect(c.validAfter).toBe(BigInt(Date.UTC(2020, 0, 1) / 1000) + BigInt(new Date(2020, 0, 1).getTimezoneOffset() * 60));
    expect(c.criticalOptions.get('force-command')).toBe('/usr/bin/true');
    expect(c.criticalOptions.get('source-address')).toBe('10.0.0.0/8,192.168.1.1');
    expect([...c.extensions.keys()]).toEqual(['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-user-rc']);
    expect(c.extensions.get('permit-port-forwarding')).toBe('');
    expect(PublicKey.fromBlob(c.signatureKey).equals(PublicKey.fromFile(path('ca_ed.pub')))).toBe(true);
    expect(PublicKey.fromBlob(c.keyBlob).equals(PublicKey.fromFile(path('user.pub')))).toBe(true);
    expect(c.signatureAlgorithm).toBe('ssh-ed25519');
    expect(verifyCertificateSignature(c)).toBe(true);
    expect(checkCertificate(c, { type: 'user', principal: 'alice', now: new Date(Date.UTC(2030, 0, 1)) })).toBeNull();
    expect(checkCertificate(c, { type: 'user', principal: 'mallory', now: new Date(Date.UTC(2030, 0, 1)) })).toMatch(/not listed/);
    expect(checkCertificate(c, { type: 'host' })).toMatch(/not a host/);
    expect(checkCertificate(c, { now: new Date(Date.UTC(2019, 0, 1)) })).toMatch(/not yet valid/);
    expect(checkCertificate(c, { now: new Date(Date.UTC(2100, 1, 1)) })).toMatch(/expired/);
  });

  it('RSA and ECDSA CAs, host certificates, forever validity', () => {
    const hostCert = sign('ca_rsa', 'host', ['-h', '-I', 'host-1', '-n', 'server.example.com,10.1.2.3']);
    const c = hostCert.certificate!;
    expect(c.type).toBe(SSH_CERT_TYPE_HOST);
    expect(c.validAfter).toBe(0n);
    expect(c.validBefore).toBe(CERT_FOREVER);
    expect(c.signatureAlgorithm).toBe('rsa-sha2-512');
    expect(c.extensions.size).toBe(0);
    expect(verifyCertificateSignature(c)).toBe(true);
    expect(checkCertificate(c, { type: 'host', principal: 'server.example.com' })).toBeNull();

    const ecCert = sign('ca_ec', 'user_rsa', ['-I', 'rsa-user', '-n', 'bob']);
    expect(ecCert.certificate!.signatureAlgorithm).toBe('ecdsa-sha2-nistp384');
    expect(verifyCertificateSignature(ecCert.certificate!)).toBe(true);
    expect(ecCert.toString()).toBe(readFileSync(path('user_rsa-cert.pub'), 'utf8').trim());
  });

  it('a certificate verifies signatures with its certified key, and attaches to its private key', () => {
    const cert = PublicKey.fromFile(path('user_rsa-cert.pub'));
    const priv = PrivateKey.fromFile(path('user_rsa'));
    const data = new TextEncoder().encode('x');
    expect(cert.verify('rsa-sha2-256', data, priv.sign('rsa-sha2-256', data))).toBe(true);
    priv.loadCertificate(readFileSync(path('user_rsa-cert.pub'), 'utf8'));
    expect(priv.certificate!.keyType).toBe('ssh-rsa-cert-v01@openssh.com');
    expect(() => PrivateKey.fromFile(path('host')).loadCertificate(cert)).toThrow(/different key/);
  });

  it('a tampered certificate fails verification; damaged ones fail to parse', () => {
    const cert = PublicKey.fromFile(path('user-cert.pub'));
    const blob = Uint8Array.from(cert.publicKeyBlob);
    // change the key id's last character: the blob still parses but the CA signature must fail
    const idx = Buffer.from(blob).indexOf('alice-key-1') + 10;
    blob[idx] ^= 0x02;
    const tampered = parseCertificate(blob);
    expect(tampered.keyId).toBe('alice-key-3');
    expect(verifyCertificateSignature(tampered)).toBe(false);
    expect(checkCertificate(tampered, { now: new Date(Date.UTC(2030, 0, 1)) })).toMatch(/signature/);
    for (let n = 0; n < cert.publicKeyBlob.length; n += 7) {
      expect(() => parseCertificate(cert.publicKeyBlob.subarray(0, n))).toThrow(KeyFormatError);
    }
    writeFileSync(path('junk-cert.pub'), `ssh-ed25519-cert-v01@openssh.com ${Buffer.from('junk data').toString('base64')}\n`);
    expect(() => PublicKey.fromFile(path('junk-cert.pub'))).toThrow(KeyFormatError);
  });
});
