/**
 * Certificate signing pieces: the certified signer and verifier (algorithm
 * names, plain inner signature), malformed certificate blobs, and our server
 * refusing a certificate whose CA signature was tampered with even though
 * its CA is trusted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifiedKeyBlob, certifiedSigner, createVerifier } from '../../ts/crypto/index.js';
import { AuthenticationException, KeyFormatError } from '../../ts/errors.js';
import { connect, listen, PrivateKey, PublicKey } from '../../ts/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const p = (n: string) => join(tmp.dir, n);

beforeAll(() => {
  tmp = makeTempDir('sshwire-cert-unit-');
  generateWithSshKeygen(p('ca'), 'ed25519', undefined, '');
  generateWithSshKeygen(p('rsa'), 'rsa', 2048, '');
  generateWithSshKeygen(p('ed'), 'ed25519', undefined, '');
  for (const k of ['rsa', 'ed']) sshKeygen(['-q', '-s', p('ca'), '-I', k, '-n', 'tester', '-V', '-5m:+1h', p(`${k}.pub`)]);
});
afterAll(() => tmp.cleanup());

describe('certified signer and verifier', () => {
  it('an RSA certificate offers the certificate forms of its algorithms and signs as the key', () => {
    const key = PrivateKey.fromFile(p('rsa'));
    const cert = PublicKey.fromFile(p('rsa-cert.pub'));
    const s = certifiedSigner(key, cert.publicKeyBlob);
    expect(s.keyType).toBe('ssh-rsa-cert-v01@openssh.com');
    expect(s.signatureAlgorithms).toEqual(['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com']);
    const data = new TextEncoder().encode('signed data');
    const sig = s.sign('rsa-sha2-256-cert-v01@openssh.com', data) as Uint8Array;
    expect(key.verify('rsa-sha2-256', data, sig)).toBe(true);
    const v = createVerifier(cert.publicKeyBlob);
    expect(v.verify('rsa-sha2-256-cert-v01@openssh.com', data, sig)).toBe(true);
    // The algorithm must match the blob: a plain name over a certificate is refused.
    expect(v.verify('rsa-sha2-256', data, sig)).toBe(false);
    expect(v.verify('rsa-sha2-512-cert-v01@openssh.com', data, sig)).toBe(false);
    expect(Buffer.from(certifiedKeyBlob(cert.publicKeyBlob)).equals(key.publicKeyBlob)).toBe(true);
  });

  it('refuses a certificate for another key type, and malformed certificate blobs', () => {
    const ed = PrivateKey.fromFile(p('ed'));
    const rsaCert = PublicKey.fromFile(p('rsa-cert.pub')).publicKeyBlob;
    expect(() => certifiedSigner(ed, rsaCert)).toThrow(KeyFormatError);
    expect(() => certifiedKeyBlob(rsaCert.subarray(0, 60))).toThrow(KeyFormatError);
    expect(() => certifiedKeyBlob(ed.publicKeyBlob)).toThrow(KeyFormatError);
    expect(() => createVerifier(rsaCert.subarray(0, 60))).toThrow(KeyFormatError);
  });
});

describe('our server and certificates', () => {
  it('a certificate whose CA signature does not verify is refused although its CA is trusted; the genuine one logs in', async () => {
    writeFileSync(p('authorized'), `cert-authority ${readFileSync(p('ca.pub'), 'utf8')}`);
    const server = await listen({ hostKeys: ['ed25519'], authorizedClientKeys: p('authorized'), processFactory: (proc) => proc.exit(0) });
    try {
      const base = { host: '127.0.0.1', port: server.address().port, username: 'tester', privateKey: PrivateKey.fromFile(p('ed')), knownHosts: null, agent: false as const, lookForKeys: false, config: false as const };
      const genuine = PublicKey.fromFile(p('ed-cert.pub'));
      const conn = await connect({ ...base, clientCerts: [genuine] });
      await conn.close();
      // Flip a byte of the key id: the blob still parses, the CA signature no longer verifies.
      const blob = Uint8Array.from(genuine.publicKeyBlob);
      const id = Buffer.from(blob).indexOf(Buffer.from([0, 0, 0, 2, 0x65, 0x64])) + 4; // string "ed", the key id
      blob[id]! ^= 0x20;
      const forged = PublicKey.fromBlob(blob);
      expect(forged.certificate?.keyId).toBe('Ed');
      await expect(connect({ ...base, clientCerts: [forged] })).rejects.toThrow(AuthenticationException);
    } finally {
      await server.close();
    }
  });
});
