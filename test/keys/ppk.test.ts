/**
 * PuTTY key files (.ppk versions 2 and 3) and RFC 4716 public keys, against
 * PuTTYgen 0.78 (Debian's putty-tools) and ssh-keygen: files PuTTYgen writes
 * load with the same private material as the OpenSSH key they came from,
 * files we write load in PuTTYgen, and damaged or hostile files are refused
 * with typed errors.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../ts/client.js';
import { loadKey } from '../../ts/client/identities.js';
import { loadHostKeys } from '../../ts/server/options.js';
import { KeyFormatError, PasswordRequiredException } from '../../ts/errors.js';
import { PrivateKey, privateMaterialOf } from '../../ts/keys/privateKey.js';
import { PublicKey } from '../../ts/keys/publicKey.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { useSshdTrusting } from '../helpers/sshdFixture.js';
import { rootLogin } from '../helpers/sshd.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen } from './helpers.js';

const TYPES: { name: string; type: string; bits?: number }[] = [
  { name: 'ed25519', type: 'ed25519' },
  { name: 'p256', type: 'ecdsa', bits: 256 },
  { name: 'p384', type: 'ecdsa', bits: 384 },
  { name: 'p521', type: 'ecdsa', bits: 521 },
  { name: 'rsa', type: 'rsa', bits: 2048 },
  { name: 'dsa', type: 'dsa' },
];
/** Cheap Argon2 costs, so the encrypted cases stay quick. */
const CHEAP = 'memory=256,passes=2';
const PASS = 'correct horse';

let tmp: { dir: string; cleanup: () => void };
const at = (name: string): string => join(tmp.dir, name);

function puttygen(args: string[]): string {
  return execFileSync('puttygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** A file holding `text` (for PuTTYgen's passphrase options). */
function passFile(name: string, text: string): string {
  writeFileSync(at(name), text + '\n');
  return at(name);
}

/** An unencrypted version 3 file with the MAC computed here, for contents PuTTYgen would never write. */
function craftV3(algorithm: string, comment: string, publicBlob: Uint8Array, privateBlob: Uint8Array): string {
  const w = new SSHWriter();
  for (const f of [algorithm, 'none', comment]) w.string(f);
  w.string(publicBlob).string(privateBlob);
  const mac = createHmac('sha256', new Uint8Array(0)).update(w.toBytes()).digest('hex');
  const b64 = (b: Uint8Array) => (Buffer.from(b).toString('base64').match(/.{1,64}/g) ?? []);
  const pub = b64(publicBlob);
  const priv = b64(privateBlob);
  return [`PuTTY-User-Key-File-3: ${algorithm}`, 'Encryption: none', `Comment: ${comment}`, `Public-Lines: ${pub.length}`, ...pub, `Private-Lines: ${priv.length}`, ...priv, `Private-MAC: ${mac}`, ''].join('\n');
}

/** The Private-Lines blob of a .ppk text. */
function privateBlobOf(text: string): Uint8Array {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Private-Lines:'));
  const n = Number(lines[i]!.split(': ')[1]);
  return new Uint8Array(Buffer.from(lines.slice(i + 1, i + 1 + n).join(''), 'base64'));
}

beforeAll(() => {
  tmp = makeTempDir('sshwire-ppk-');
  passFile('pass', PASS);
  passFile('empty', '');
  for (const t of TYPES) generateWithSshKeygen(at(t.name), t.type, t.bits, '', [], `key ${t.name}`);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('reading PuTTYgen files', () => {
  for (const t of TYPES) {
    for (const version of [2, 3]) {
      it(`${t.name}, version ${version}, unencrypted: the OpenSSH key's private material and comment`, () => {
        const file = at(`${t.name}.v${version}.ppk`);
        puttygen([at(t.name), '-O', 'private', '--ppk-param', `version=${version}`, '-o', file]);
        const ref = PrivateKey.fromFile(at(t.name));
        const k = PrivateKey.fromFile(file);
        expect(privateMaterialOf(k)).toEqual(privateMaterialOf(ref));
        expect(k.comment).toBe(`key ${t.name}`);
        expect(k.source).toEqual({ format: 'ppk' });
        // The public half alone, as PublicKey reads it.
        const pub = PublicKey.fromFile(file);
        expect(pub.fingerprint).toBe(ref.fingerprint);
        expect(pub.comment).toBe(`key ${t.name}`);
      });
    }
  }

  for (const t of TYPES.filter((x) => ['ed25519', 'p384', 'rsa'].includes(x.name))) {
    it(`${t.name}, encrypted, version 2 and version 3 with each Argon2 variant: loads with the passphrase, refuses without`, () => {
      const ref = privateMaterialOf(PrivateKey.fromFile(at(t.name)));
      const variants: [string, string][] = [
        ['v2', 'version=2'],
        ['argon2id', `version=3,kdf=argon2id,${CHEAP}`],
        ['argon2i', `version=3,kdf=argon2i,${CHEAP}`],
        ['argon2d', `version=3,kdf=argon2d,${CHEAP},parallelism=2`],
      ];
      for (const [label, param] of variants) {
        const file = at(`${t.name}.enc-${label}.ppk`);
        puttygen([at(t.name), '-O', 'private', '--new-passphrase', at('pass'), '--ppk-param', param, '-o', file]);
        const k = PrivateKey.fromFile(file, PASS);
        expect(privateMaterialOf(k), label).toEqual(ref);
        if (label === 'v2') expect(k.source.encryption).toEqual({ version: 2, cipher: 'aes256-cbc' });
        else {
          expect(k.source.encryption).toEqual({
            version: 3, cipher: 'aes256-cbc', kdf: { argon2id: 'Argon2id', argon2i: 'Argon2i', argon2d: 'Argon2d' }[label],
            memory: 256, passes: 2, parallelism: label === 'argon2d' ? 2 : 1,
          });
        }
        expect(() => PrivateKey.fromFile(file), label).toThrow(PasswordRequiredException);
        expect(() => PrivateKey.fromFile(file, 'wrong'), label).toThrow(/incorrect passphrase/);
        expect(() => PrivateKey.fromFile(file, ''), label).toThrow(PasswordRequiredException);
        // The public half needs no passphrase.
        expect(PublicKey.fromFile(file).equals(PublicKey.fromBlob(PrivateKey.fromFile(at(t.name)).publicKeyBlob))).toBe(true);
      }
    });
  }

  it("PuTTYgen's default encryption (Argon2id, 8 MiB, passes timed to ~100 ms in C)", () => {
    const file = at('default-enc.ppk');
    puttygen([at('ed25519'), '-O', 'private', '--new-passphrase', at('pass'), '-o', file]);
    const k = PrivateKey.fromFile(file, PASS);
    expect(privateMaterialOf(k)).toEqual(privateMaterialOf(PrivateKey.fromFile(at('ed25519'))));
    expect(k.source.encryption).toMatchObject({ version: 3, kdf: 'Argon2id', memory: 8192 });
  }, 30_000);

  it("PuTTYgen's OpenSSH export loads (it pads to 16 bytes even unencrypted, which OpenSSH accepts)", () => {
    for (const t of TYPES) {
      const out = at(`${t.name}.from-ppk.openssh`);
      puttygen([at(`${t.name}.v3.ppk`), '-O', 'private-openssh-new', '-o', out]);
      expect(privateMaterialOf(PrivateKey.fromFile(out)), t.name).toEqual(privateMaterialOf(PrivateKey.fromFile(at(t.name))));
    }
  });

  it('CRLF line endings, a byte-order mark and bytes (not a string) are read the same', () => {
    const text = readFileSync(at('rsa.v3.ppk'), 'utf8');
    const ref = privateMaterialOf(PrivateKey.fromFile(at('rsa')));
    expect(privateMaterialOf(PrivateKey.fromString(text.replace(/\n/g, '\r\n')))).toEqual(ref);
    expect(privateMaterialOf(PrivateKey.fromString('\uFEFF' + text))).toEqual(ref);
    expect(privateMaterialOf(PrivateKey.fromString(new Uint8Array(Buffer.from(text))))).toEqual(ref);
  });

  it('a key type sshwire has no signer for (ssh-ed448) is refused by name', () => {
    puttygen(['-t', 'ed448', '-O', 'private', '-o', at('ed448.ppk'), '--new-passphrase', at('empty')]);
    expect(() => PrivateKey.fromFile(at('ed448.ppk'))).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromFile(at('ed448.ppk'))).toThrow(/ssh-ed448/);
  });
});

describe('writing .ppk files PuTTYgen reads', () => {
  for (const t of TYPES) {
    it(`${t.name}: versions 2 and 3, plain and encrypted, convert back to the same OpenSSH key`, () => {
      const key = PrivateKey.fromFile(at(t.name));
      key.comment = `ours ${t.name} é`;
      const wanted = readFileSync(at(`${t.name}.pub`), 'utf8').split(' ')[1];
      const cases: [string, string, boolean][] = [
        ['v2', key.toPPK(undefined, { version: 2 }), false],
        ['v3', key.toPPK(), false],
        ['v2-enc', key.toPPK(PASS, { version: 2 }), true],
        ['v3-enc', key.toPPK(PASS, { passes: 2, memory: 256 }), true],
      ];
      for (const [label, text, encrypted] of cases) {
        const file = at(`ours-${t.name}-${label}.ppk`);
        writeFileSync(file, text);
        const out = at(`ours-${t.name}-${label}.openssh`);
        puttygen([file, ...(encrypted ? ['--old-passphrase', at('pass')] : []), '--new-passphrase', at('empty'), '-O', 'private-openssh-new', '-o', out]);
        expect(sshKeygen(['-y', '-f', out]).split(' ')[1], label).toBe(wanted);
        // PuTTYgen kept the comment, UTF-8 and all, so our MAC covered the same bytes.
        expect(puttygen([file, ...(encrypted ? ['--old-passphrase', at('pass')] : []), '-O', 'public-openssh']).trim().endsWith(`ours ${t.name} é`), label).toBe(true);
        const back = PrivateKey.fromString(text, encrypted ? PASS : undefined);
        expect(privateMaterialOf(back), label).toEqual(privateMaterialOf(key));
        expect(back.comment, label).toBe(`ours ${t.name} é`);
      }
    });
  }

  it('Argon2i and Argon2d with two lanes, as PuTTYgen reads them', () => {
    const key = PrivateKey.fromFile(at('p256'));
    for (const kdf of ['Argon2i', 'Argon2d'] as const) {
      const file = at(`ours-${kdf}.ppk`);
      writeFileSync(file, key.toPPK(PASS, { kdf, parallelism: 2, memory: 64, passes: 1 }));
      expect(readFileSync(file, 'utf8')).toContain(`Key-Derivation: ${kdf}\nArgon2-Memory: 64\nArgon2-Passes: 1\nArgon2-Parallelism: 2\n`);
      const out = at(`ours-${kdf}.openssh`);
      puttygen([file, '--old-passphrase', at('pass'), '--new-passphrase', at('empty'), '-O', 'private-openssh-new', '-o', out]);
      expect(privateMaterialOf(PrivateKey.fromFile(out))).toEqual(privateMaterialOf(key));
    }
  });

  it('options out of range and comments with line breaks are refused before anything is written', () => {
    const key = PrivateKey.fromFile(at('ed25519'));
    expect(() => key.toPPK(PASS, { memory: 4 })).toThrow(KeyFormatError);
    expect(() => key.toPPK(PASS, { passes: 0 })).toThrow(KeyFormatError);
    expect(() => key.toPPK(PASS, { passes: 1.5 })).toThrow(KeyFormatError);
    expect(() => key.toPPK(PASS, { memory: 1024 * 1024 })).toThrow(/Argon2 memory/);
    expect(() => key.toPPK(PASS, { memory: 256 * 1024, passes: 17 })).toThrow(/Argon2 passes must be an integer 1..16/);
    expect(() => key.toPPK(PASS, { version: 4 as 3 })).toThrow(/version 2 or 3/);
    expect(() => key.toPPK(PASS, { kdf: 'scrypt' as 'Argon2id' })).toThrow(/key derivation/);
    key.comment = 'two\nlines';
    expect(() => key.toPPK()).toThrow(/line breaks/);
  });

  it('an empty passphrase writes an unencrypted file, as PuTTYgen does', () => {
    const text = PrivateKey.fromFile(at('ed25519')).toPPK('');
    expect(text).toContain('Encryption: none\n');
    expect(text).not.toContain('Key-Derivation');
  });
});

describe('damaged and hostile .ppk files', () => {
  const plain = (): string => readFileSync(at('ed25519.v3.ppk'), 'utf8');
  const enc = (): string => readFileSync(at('ed25519.enc-argon2id.ppk'), 'utf8');

  it('a changed comment, public key or private key breaks the MAC', () => {
    expect(() => PrivateKey.fromString(plain().replace('Comment: key ed25519', 'Comment: key ed25518'))).toThrow(/MAC does not match/);
    const withOtherPublic = plain().replace(/Public-Lines: \d+\n(?:.*\n)*?(?=Private-Lines)/, () => {
      const lines = Buffer.from(PrivateKey.generate('ed25519').publicKeyBlob).toString('base64').match(/.{1,64}/g)!;
      return `Public-Lines: ${lines.length}\n${lines.join('\n')}\n`;
    });
    expect(() => PrivateKey.fromString(withOtherPublic)).toThrow(/MAC does not match/);
    const flipped = plain().replace(/Private-MAC: (.)/, (_m, c: string) => `Private-MAC: ${c === '0' ? '1' : '0'}`);
    expect(() => PrivateKey.fromString(flipped)).toThrow(KeyFormatError);
    // Encrypted, damage looks like a wrong passphrase: the MAC is keyed by it.
    expect(() => PrivateKey.fromString(enc().replace('Comment: key ed25519', 'Comment: key ed25518'), PASS)).toThrow(PasswordRequiredException);
  });

  it('a valid MAC over a private key that does not belong to the public key is refused', () => {
    const a = PrivateKey.fromFile(at('ed25519'));
    const b = PrivateKey.generate('ed25519');
    const bPrivate = privateBlobOf(b.toPPK());
    expect(() => PrivateKey.fromString(craftV3('ssh-ed25519', 'x', a.publicKeyBlob, bPrivate))).toThrow(/does not match its public key/);
    for (const name of ['p256', 'rsa', 'dsa']) {
      const k = PrivateKey.fromFile(at(name));
      const other = PrivateKey.generate(name === 'p256' ? 'ecdsa' : name === 'rsa' ? 'rsa' : 'dsa', name === 'rsa' ? 2048 : undefined);
      expect(() => PrivateKey.fromString(craftV3(k.keyType, 'x', k.publicKeyBlob, privateBlobOf(other.toPPK()))), name).toThrow(KeyFormatError);
    }
    // The header's type must be the public blob's.
    expect(() => PrivateKey.fromString(craftV3('ssh-rsa', 'x', a.publicKeyBlob, privateBlobOf(a.toPPK())))).toThrow(/says "ssh-rsa"/);
    // Extra fields after the private key.
    const padded = new Uint8Array([...privateBlobOf(a.toPPK()), ...new Uint8Array(40)]);
    expect(() => PrivateKey.fromString(craftV3('ssh-ed25519', 'x', a.publicKeyBlob, padded))).toThrow(/data after its fields/);
    // A well-formed file built the same way loads, so the refusals above are about the contents.
    expect(PrivateKey.fromString(craftV3('ssh-ed25519', 'x', a.publicKeyBlob, privateBlobOf(a.toPPK()))).equals(a)).toBe(true);
  });

  it('Argon2 costs past the bounds are refused before any work, and quickly', () => {
    const t0 = Date.now();
    const cases: [RegExp, string][] = [
      [/Argon2-Memory: \d+/, 'Argon2-Memory: 4194304'],
      [/Argon2-Memory: \d+/, 'Argon2-Memory: 99999999999'],
      [/Argon2-Passes: \d+/, 'Argon2-Passes: 4000000'],
      [/Argon2-Parallelism: \d+/, 'Argon2-Parallelism: 1000'],
      [/Argon2-Parallelism: \d+/, 'Argon2-Parallelism: 0'],
      [/Argon2-Salt: \w+/, 'Argon2-Salt: 00'],
      [/Argon2-Salt: \w+/, 'Argon2-Salt: xyz0123456789abc'],
      [/Key-Derivation: \w+/, 'Key-Derivation: scrypt'],
    ];
    for (const [re, line] of cases) {
      expect(() => PrivateKey.fromString(enc().replace(re, line), PASS), line).toThrow(KeyFormatError);
    }
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('structure errors: versions, encryptions, truncation, line counts, trailing text, bad base64', () => {
    const cases: [string, string, RegExp][] = [
      ['version 1', plain().replace('PuTTY-User-Key-File-3', 'PuTTY-User-Key-File-1'), /version 1 is not supported/],
      ['version 4', plain().replace('PuTTY-User-Key-File-3', 'PuTTY-User-Key-File-4'), /version 4 is not supported/],
      ['encryption', plain().replace('Encryption: none', 'Encryption: aes128-cbc'), /unsupported encryption "aes128-cbc"/],
      ['truncated', plain().split('Private-MAC')[0]!, /ends before its Private-MAC line/],
      ['huge line count', plain().replace(/Private-Lines: \d+/, 'Private-Lines: 999999'), /Private-Lines must be 0\.\.4096/],
      ['line count past the end', plain().replace(/Private-Lines: \d+/, 'Private-Lines: 40'), /ends inside/],
      ['order', plain().replace('Encryption: none\nComment', 'Comment: x\nEncryption: none\nComment'), /expected "Encryption:", found "Comment: x"/],
      ['trailing text', plain() + 'Extra: 1\n', /text after its Private-MAC/],
      ['bad base64', plain().replace(/(Public-Lines: 2\n)./, '$1*'), /not valid base64/],
      ['short MAC', plain().replace(/Private-MAC: (\w+)/, (_m, h: string) => `Private-MAC: ${h.slice(2)}`), /right length/],
    ];
    for (const [label, text, re] of cases) {
      expect(() => PrivateKey.fromString(text), label).toThrow(KeyFormatError);
      expect(() => PrivateKey.fromString(text), label).toThrow(re);
    }
    // An encrypted private blob that is not whole AES blocks.
    const v2 = readFileSync(at('ed25519.enc-v2.ppk'), 'utf8');
    const shortened = v2.replace(/Private-Lines: 1\n(\S+)\n/, (_m, l: string) => `Private-Lines: 1\n${Buffer.from(Buffer.from(l, 'base64').subarray(0, 40)).toString('base64')}\n`);
    expect(() => PrivateKey.fromString(shortened, PASS)).toThrow(/multiple of 16/);
  });
});

describe('RFC 4716 public keys', () => {
  it("ssh-keygen -e and PuTTYgen's public export, with the comment", () => {
    for (const t of TYPES) {
      const ref = PublicKey.fromFile(at(`${t.name}.pub`));
      const fromKeygen = PublicKey.fromString(sshKeygen(['-e', '-f', at(`${t.name}.pub`)]));
      expect(fromKeygen.equals(ref), t.name).toBe(true);
      const fromPutty = PublicKey.fromString(puttygen([at(t.name), '-O', 'public']));
      expect(fromPutty.equals(ref), t.name).toBe(true);
      expect(fromPutty.comment, t.name).toBe(`key ${t.name}`);
    }
  });

  it('continued header lines, other headers and CRLF; a missing END line or bad base64 is refused', () => {
    const ref = PublicKey.fromFile(at('rsa.pub'));
    const body = Buffer.from(ref.publicKeyBlob).toString('base64').match(/.{1,70}/g)!;
    const text = ['---- BEGIN SSH2 PUBLIC KEY ----', 'Subject: someone', 'Comment: "a long \\', 'comment"', 'x-private: 1', ...body, '---- END SSH2 PUBLIC KEY ----', ''].join('\r\n');
    const k = PublicKey.fromString(text);
    expect(k.equals(ref)).toBe(true);
    expect(k.comment).toBe('a long comment');
    expect(() => PublicKey.fromString(text.replace('---- END SSH2 PUBLIC KEY ----', ''))).toThrow(KeyFormatError);
    expect(() => PublicKey.fromString(text.replace(body[1]!, '!' + body[1]!.slice(1)))).toThrow(/not valid base64/);
  });
});

describe('.ppk text where keys are taken', () => {
  it('client keys and host keys given as .ppk text are read as keys, not taken for file paths', () => {
    const ref = PrivateKey.fromFile(at('p256'));
    puttygen([at('p256'), '-O', 'private', '-o', at('text-plain.ppk')]);
    puttygen([at('p384'), '-O', 'private', '--new-passphrase', at('pass'), '--ppk-param', 'version=2', '-o', at('text-enc.ppk')]);
    const plainText = readFileSync(at('text-plain.ppk'), 'utf8');
    const encText = readFileSync(at('text-enc.ppk'), 'utf8');
    expect(loadKey(plainText).publicKeyBlob).toEqual(ref.publicKeyBlob);
    expect(loadKey(encText, PASS).publicKeyBlob).toEqual(PrivateKey.fromFile(at('p384')).publicKeyBlob);
    expect(() => loadKey(encText)).toThrow(PasswordRequiredException);
    const [host] = loadHostKeys([plainText]);
    expect(host!.equals(ref)).toBe(true);
  });
});

describe('a .ppk key against OpenSSH sshd', () => {
  const fx = useSshdTrusting('sshwire-ppk-sshd-');

  it('connect() authenticates with an encrypted version 3 .ppk file and its passphrase', async () => {
    const file = at('sshd-client.ppk');
    puttygen([fx.key, '-O', 'private', '--new-passphrase', at('pass'), '--ppk-param', CHEAP, '-o', file]);
    await using conn = await connect(rootLogin(fx.sshd, file, { passphrase: PASS }));
    const r = await conn.run('echo ppk-ok');
    expect(r.stdout).toBe('ppk-ok\n');
    await expect(connect(rootLogin(fx.sshd, file, { passphrase: 'wrong' }))).rejects.toThrow(PasswordRequiredException);
  }, 30_000);
});
