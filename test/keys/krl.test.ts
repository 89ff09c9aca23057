/**
 * OpenSSH KRLs from `ssh-keygen -k`: revoked certificates by serial, serial
 * range, serial bitmap and key ID under their CA, revoked plain keys by
 * blob and by hash, and malformed KRLs refused.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyFormatError } from '../../ts/errors.js';
import { KeyRevocationList, PublicKey } from '../../ts/keys/index.js';
import { generateWithSshKeygen, makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const p = (n: string) => join(tmp.dir, n);

/** A certificate of `key` with this serial and key ID, signed by `ca`. */
function cert(key: string, serial: number, id: string, ca = 'ca'): PublicKey {
  execFileSync('ssh-keygen', ['-q', '-s', p(ca), '-I', id, '-z', String(serial), '-n', 'u', p(`${key}.pub`)]);
  return PublicKey.fromFile(p(`${key}-cert.pub`));
}

beforeAll(() => {
  tmp = makeTempDir('sshwire-krl-');
  for (const n of ['ca', 'other_ca', 'k1', 'k2', 'k3', 'plain1', 'plain2', 'plain3']) generateWithSshKeygen(p(n), 'ed25519', undefined, '');
});
afterAll(() => tmp?.cleanup());

describe('KeyRevocationList', () => {
  it('revokes certificates by serial, range, bitmap-sized sets and key ID, only under their CA; and plain keys by blob or hash', () => {
    const serials = Array.from({ length: 40 }, (_, i) => `serial: ${1000 + 2 * i}`);
    // ssh-keygen picks each set's encoding by size: these give a serial list, a bitmap and a range section.
    writeFileSync(p('spec'), ['serial: 5', 'serial: 100000-2000000', 'serial: 50000000', 'serial: 90000000', ...serials, 'id: revoked-id', `key: ${readFileSync(p('plain1.pub'), 'utf8').trim()}`, `sha256: ${readFileSync(p('plain2.pub'), 'utf8').trim()}`].join('\n') + '\n');
    execFileSync('ssh-keygen', ['-q', '-k', '-f', p('krl'), '-s', p('ca.pub'), '-z', '7', p('spec')]);
    const krl = new KeyRevocationList(readFileSync(p('krl')));
    expect(krl.version).toBe(7n);
    const cases: [PublicKey, boolean][] = [
      [cert('k1', 5, 'a'), true],
      [cert('k1', 6, 'a'), false],
      [cert('k1', 100000, 'a'), true],
      [cert('k1', 1234567, 'a'), true],
      [cert('k1', 2000001, 'a'), false],
      [cert('k1', 90000000, 'a'), true],
      [cert('k1', 90000001, 'a'), false],
      [cert('k1', 1000, 'a'), true],
      [cert('k1', 1038, 'a'), true],
      [cert('k1', 1039, 'a'), false],
      [cert('k1', 1078, 'a'), true],
      [cert('k1', 1080, 'a'), false],
      [cert('k2', 99, 'revoked-id'), true],
      [cert('k2', 99, 'fine-id'), false],
      // The same serial from another CA is not revoked.
      [cert('k3', 5, 'a', 'other_ca'), false],
      [PublicKey.fromFile(p('plain1.pub')), true],
      [PublicKey.fromFile(p('plain2.pub')), true],
      [PublicKey.fromFile(p('plain3.pub')), false],
      // A certificate of a revoked plain key is revoked too.
      [cert('plain1', 1, 'x'), true],
    ];
    expect(cases.map(([k, want]) => [k.certificate ? `${k.certificate.keyId}#${k.certificate.serial}` : k.fingerprint, krl.isRevoked(k)])).toEqual(
      cases.map(([k, want]) => [k.certificate ? `${k.certificate.keyId}#${k.certificate.serial}` : k.fingerprint, want]),
    );
  });

  it('serial 0 (a certificate issued without a serial) is revoked only by key ID, as OpenSSH checks it', () => {
    writeFileSync(p('spec0'), 'serial: 1-100000\nid: gone\n');
    execFileSync('ssh-keygen', ['-q', '-k', '-f', p('krl0'), '-s', p('ca.pub'), p('spec0')]);
    const bytes = Buffer.from(readFileSync(p('krl0')));
    // ssh-keygen will not write serial 0; lower the range's start from 1 to 0 by hand.
    const range = bytes.indexOf(Buffer.from([0x21, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1]));
    expect(range).toBeGreaterThan(0);
    bytes[range + 12] = 0;
    const krl = new KeyRevocationList(bytes);
    expect(krl.isRevoked(cert('k1', 5, 'a'))).toBe(true);
    expect(krl.isRevoked(cert('k1', 0, 'a'))).toBe(false);
    expect(krl.isRevoked(cert('k1', 0, 'gone'))).toBe(true);
    expect(krl.isRevoked(cert('k1', 100001, 'a'))).toBe(false);
  });

  it('a malformed or foreign KRL is KeyFormatError', () => {
    execFileSync('ssh-keygen', ['-q', '-k', '-f', p('krl2'), p('plain3.pub')]);
    const good = readFileSync(p('krl2'));
    expect(new KeyRevocationList(good).isRevoked(PublicKey.fromFile(p('plain3.pub')))).toBe(true);
    expect(() => new KeyRevocationList(good.subarray(0, good.length - 3))).toThrow(KeyFormatError);
    const v2 = Buffer.from(good);
    v2.writeUInt32BE(2, 8);
    expect(() => new KeyRevocationList(v2)).toThrow(/format version 2/);
    expect(() => new KeyRevocationList(Buffer.from('ssh-ed25519 AAAA'))).toThrow(/bad magic/);
  });
});
