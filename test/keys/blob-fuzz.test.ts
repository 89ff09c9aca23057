/**
 * Public key blobs, certificates and KRLs come from peers and files we do
 * not control: mutated ones (bit flips, cuts, inflated lengths, junk at the
 * end) are refused with KeyFormatError or parsed, never an untyped error;
 * what parses can be fingerprinted, checked and used to verify (a bad
 * signature is false, not a throw).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSHException } from '../../ts/errors.js';
import { checkCertificate, KeyRevocationList, PublicKey, verifyCertificateSignature } from '../../ts/keys/index.js';
import { xorshift32 } from '../helpers/prng.js';
import { generateWithSshKeygen, makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const p = (n: string) => join(tmp.dir, n);
const blobs: [string, Buffer][] = [];
let krl: Buffer;

const KEYS: [string, string, number | undefined][] = [
  ['ed25519', 'ed25519', undefined],
  ['ecdsa256', 'ecdsa', 256],
  ['ecdsa384', 'ecdsa', 384],
  ['ecdsa521', 'ecdsa', 521],
  ['rsa', 'rsa', 2048],
];

beforeAll(() => {
  tmp = makeTempDir('sshwire-blobfuzz-');
  generateWithSshKeygen(p('ca'), 'ed25519', undefined, '');
  for (const [name, type, bits] of KEYS) {
    generateWithSshKeygen(p(name), type, bits, '');
    execFileSync('ssh-keygen', ['-q', '-s', p('ca'), '-I', `id-${name}`, '-z', '42', '-n', 'alice,bob', '-O', 'force-command=true', '-O', 'source-address=127.0.0.1', p(`${name}.pub`)]);
    blobs.push([name, Buffer.from(readFileSync(p(`${name}.pub`), 'utf8').split(' ')[1]!, 'base64')]);
    blobs.push([`${name}-cert`, Buffer.from(readFileSync(p(`${name}-cert.pub`), 'utf8').split(' ')[1]!, 'base64')]);
  }
  writeFileSync(p('spec'), ['serial: 5', 'serial: 100-200', 'id: gone', `key: ${readFileSync(p('ed25519.pub'), 'utf8').trim()}`, `sha256: ${readFileSync(p('rsa.pub'), 'utf8').trim()}`].join('\n') + '\n');
  execFileSync('ssh-keygen', ['-q', '-k', '-f', p('krl'), '-s', p('ca.pub'), '-z', '3', p('spec')]);
  krl = readFileSync(p('krl'));
}, 60_000);
afterAll(() => tmp?.cleanup());

/** One mutation of `b`: flips, a cut, an inflated or shrunk length field, junk appended. */
function mutate(b: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(b);
  switch (rnd() % 5) {
    case 0:
      for (let i = 1 + (rnd() % 3); i > 0; i--) out[rnd() % out.length] ^= 1 << (rnd() % 8);
      return out;
    case 1:
      return out.subarray(0, rnd() % out.length);
    case 2: {
      // A uint32 somewhere (often a length prefix) set to something large or small.
      const at = rnd() % Math.max(1, out.length - 4);
      out.writeUInt32BE([0, 1, 0x7fffffff, 0xffffffff, out.length, rnd() % 70000][rnd() % 6]!, at);
      return out;
    }
    case 3:
      return Buffer.concat([out, Buffer.from([rnd() & 0xff, rnd() & 0xff, rnd() & 0xff])]);
    default: {
      const a = rnd() % out.length;
      return Buffer.concat([out.subarray(0, a), out.subarray(a + 1 + (rnd() % 8))]);
    }
  }
}

/** Runs `f`; a throw must be an SSHException (KeyFormatError and kin). */
function typedOnly(what: string, f: () => void): 'ok' | 'refused' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof SSHException)) throw new Error(`${what}: untyped ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    return 'refused';
  }
}

describe('mutated key material', () => {
  it('public key and certificate blobs: KeyFormatError or a usable key', () => {
    const rnd = xorshift32(0x5eed);
    const seen = { ok: 0, refused: 0 };
    for (const [name, blob] of blobs) {
      for (let t = 0; t < 400; t++) {
        const bad = mutate(blob, rnd);
        const outcome = typedOnly(`${name} trial ${t}`, () => {
          const k = PublicKey.fromBlob(bad);
          void k.fingerprint;
          void k.getBits();
          void k.toString();
          // A random signature neither verifies nor throws.
          expect(k.verify(k.baseKeyType === 'ssh-rsa' ? 'rsa-sha2-256' : k.keyType, Buffer.from('data'), bad)).toBe(false);
          if (k.certificate) {
            typedOnly(`${name} trial ${t} signature`, () => void verifyCertificateSignature(k.certificate!));
            typedOnly(`${name} trial ${t} check`, () => void checkCertificate(k.certificate!, { type: 'user', principal: 'alice' }));
          }
        });
        seen[outcome]++;
      }
    }
    // Most mutations are refused, and some still parse (a flipped bit inside a key's numbers).
    expect(seen.refused).toBeGreaterThan(seen.ok);
    expect(seen.ok).toBeGreaterThan(0);
  });

  it('KRLs: KeyFormatError or a list that answers isRevoked', () => {
    const rnd = xorshift32(0xc0ffee);
    const probe = PublicKey.fromFile(p('ed25519-cert.pub'));
    const plain = PublicKey.fromFile(p('rsa.pub'));
    let ok = 0;
    for (let t = 0; t < 1500; t++) {
      const bad = mutate(krl, rnd);
      if (
        typedOnly(`KRL trial ${t}`, () => {
          const list = new KeyRevocationList(bad);
          void list.isRevoked(probe);
          void list.isRevoked(plain);
        }) === 'ok'
      )
        ok++;
    }
    expect(ok).toBeLessThan(1500);
  });
});
