import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyFormatError, PasswordRequiredException, SSHException } from '../../ts/errors.js';
import { PrivateKey, PublicKey } from '../../ts/keys/index.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen, sshKeygenFingerprint, sshKeygenStatus } from './helpers.js';

const PASS = 'correct horse';
let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);

/** Every (type, bits) ssh-keygen makes that we support. */
const KEYS = [
  { name: 'ed25519', type: 'ed25519', bits: undefined, keyType: 'ssh-ed25519', bitsOut: 256 },
  { name: 'ecdsa256', type: 'ecdsa', bits: 256, keyType: 'ecdsa-sha2-nistp256', bitsOut: 256 },
  { name: 'ecdsa384', type: 'ecdsa', bits: 384, keyType: 'ecdsa-sha2-nistp384', bitsOut: 384 },
  { name: 'ecdsa521', type: 'ecdsa', bits: 521, keyType: 'ecdsa-sha2-nistp521', bitsOut: 521 },
  { name: 'rsa2048', type: 'rsa', bits: 2048, keyType: 'ssh-rsa', bitsOut: 2048 },
] as const;

/** Sign `message` as an SSHSIG (PROTOCOL.sshsig) so `ssh-keygen -Y check-novalidate` can check our signature. */
function sshsig(key: PrivateKey, algorithm: string, namespace: string, message: Uint8Array): string {
  const signed = new SSHWriter().raw(new TextEncoder().encode('SSHSIG')).string(namespace).string('').string('sha512')
    .string(createHash('sha512').update(message).digest()).toBytes();
  const blob = new SSHWriter().raw(new TextEncoder().encode('SSHSIG')).uint32(1).string(key.publicKeyBlob).string(namespace)
    .string('').string('sha512').string(key.signSshData(signed, algorithm)).toBytes();
  const b64 = Buffer.from(blob).toString('base64').match(/.{1,76}/g)!.join('\n');
  return `-----BEGIN SSH SIGNATURE-----\n${b64}\n-----END SSH SIGNATURE-----\n`;
}

beforeAll(() => {
  tmp = makeTempDir();
  for (const k of KEYS) {
    generateWithSshKeygen(path(k.name), k.type, k.bits, '', [], `${k.name} comment`);
    generateWithSshKeygen(path(`${k.name}_enc`), k.type, k.bits, PASS, [], `${k.name} encrypted`);
    if (k.type !== 'ed25519') {
      generateWithSshKeygen(path(`${k.name}_pem`), k.type, k.bits, '', ['-m', 'PEM']);
      generateWithSshKeygen(path(`${k.name}_pem_enc`), k.type, k.bits, PASS, ['-m', 'PEM']);
      generateWithSshKeygen(path(`${k.name}_p8_enc`), k.type, k.bits, PASS, ['-m', 'PKCS8']);
    }
    generateWithSshKeygen(path(`${k.name}_p8`), k.type, k.bits, '', ['-m', 'PKCS8']);
  }
});
afterAll(() => tmp.cleanup());

describe('reading keys made by ssh-keygen', () => {
  for (const k of KEYS) {
    const variants = [
      { file: k.name, pass: undefined, comment: `${k.name} comment` },
      { file: `${k.name}_enc`, pass: PASS, comment: `${k.name} encrypted` },
      { file: `${k.name}_p8`, pass: undefined, comment: undefined },
      ...(k.type === 'ed25519'
        ? []
        : [
            { file: `${k.name}_pem`, pass: undefined, comment: '' },
            { file: `${k.name}_pem_enc`, pass: PASS, comment: '' },
            { file: `${k.name}_p8_enc`, pass: PASS, comment: '' },
          ]),
    ];
    for (const v of variants) {
      it(`${v.file}: type, bits, fingerprints, comment, sign/verify`, () => {
        const key = PrivateKey.fromFile(path(v.file), v.pass);
        expect(key.keyType).toBe(k.keyType);
        expect(key.getBits()).toBe(k.bitsOut);
        const sha = sshKeygenFingerprint(path(`${v.file}.pub`));
        expect(key.fingerprint).toBe(sha.fingerprint);
        expect(sha.bits).toBe(k.bitsOut);
        expect(key.md5Fingerprint).toBe(sshKeygenFingerprint(path(`${v.file}.pub`), 'md5').fingerprint);
        if (v.comment !== undefined) expect(key.comment).toBe(v.comment);
        const pub = PublicKey.fromFile(path(`${v.file}.pub`));
        expect(pub.equals(key)).toBe(true);
        expect(key.publicKey.equals(pub)).toBe(true);
        const data = new TextEncoder().encode(`data for ${v.file}`);
        for (const alg of key.signatureAlgorithms) {
          const sig = key.sign(alg, data);
          expect(pub.verify(alg, data, sig)).toBe(true);
          expect(pub.verify(alg, new TextEncoder().encode('other data'), sig)).toBe(false);
        }
      });
    }
  }
});

describe('signatures accepted by OpenSSH (ssh-keygen -Y check-novalidate)', () => {
  for (const k of KEYS) {
    it(k.name, () => {
      const key = PrivateKey.fromFile(path(k.name));
      const message = new TextEncoder().encode(`message signed by ${k.name}\n`);
      writeFileSync(path('msg'), message);
      const algs = k.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [k.keyType];
      for (const alg of algs) {
        writeFileSync(path('msg.sig'), sshsig(key, alg, 'file', message));
        const ok = sshKeygen(['-Y', 'check-novalidate', '-n', 'file', '-s', path('msg.sig')], { input: Buffer.from(message).toString('utf8') });
        expect(ok).toMatch(/Good "file" signature/);
        // a different message must fail, so the check above is not vacuous
        const bad = sshKeygenStatus(['-Y', 'check-novalidate', '-n', 'other', '-s', path('msg.sig')]);
        expect(bad.status).not.toBe(0);
      }
    });
  }
});

describe('OpenSSH key file ciphers', () => {
  for (const cipher of ['aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes256-cbc', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
    it(`reads ${cipher} (made by ssh-keygen -Z), refuses a wrong passphrase`, () => {
      const f = path(`z_${cipher}`);
      generateWithSshKeygen(f, 'ed25519', undefined, PASS, ['-Z', cipher, '-a', '4']);
      const key = PrivateKey.fromFile(f, PASS);
      expect(key.fingerprint).toBe(sshKeygenFingerprint(`${f}.pub`).fingerprint);
      expect(key.source.encryption).toEqual({ cipher, kdf: 'bcrypt', rounds: 4 });
      expect(() => PrivateKey.fromFile(f, 'wrong')).toThrow(PasswordRequiredException);
      expect(() => PrivateKey.fromFile(f, 'wrong')).toThrow(/incorrect passphrase/);
    });
  }
});

describe('writing OpenSSH format', () => {
  for (const k of KEYS) {
    it(`${k.name}: ssh-keygen -y reads our unencrypted and encrypted output`, () => {
      const key = PrivateKey.fromFile(path(k.name));
      const pubLine = readFileSync(path(`${k.name}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ');
      const plain = path(`${k.name}_ours`);
      key.writePrivateKeyFile(plain);
      expect(sshKeygen(['-y', '-f', plain]).trim().split(' ').slice(0, 2).join(' ')).toBe(pubLine);
      const enc = path(`${k.name}_ours_enc`);
      key.writePrivateKeyFile(enc, PASS);
      expect(readFileSync(enc, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      expect(sshKeygen(['-y', '-P', PASS, '-f', enc]).trim().split(' ').slice(0, 2).join(' ')).toBe(pubLine);
      expect(sshKeygenStatus(['-y', '-P', 'wrong pass', '-f', enc]).status).not.toBe(0);
      const again = PrivateKey.fromFile(enc, PASS);
      expect(again.equals(key)).toBe(true);
      expect(again.comment).toBe(key.comment);
      expect(again.source.encryption).toEqual({ cipher: 'aes256-ctr', kdf: 'bcrypt', rounds: 16 });
    });
  }

  it('other ciphers round trip through ssh-keygen', () => {
    const key = PrivateKey.fromFile(path('ecdsa256'));
    for (const cipher of ['aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-cbc']) {
      const f = path(`ours_${cipher}`);
      writeFileSync(f, key.toOpenSSH(PASS, { cipher, rounds: 2 }), { mode: 0o600 });
      expect(sshKeygen(['-y', '-P', PASS, '-f', f])).toContain(key.getBase64());
      expect(PrivateKey.fromFile(f, PASS).equals(key)).toBe(true);
    }
  });

  it('generated keys are accepted by ssh-keygen', () => {
    for (const [type, bits, name] of [['ed25519', undefined, 'ssh-ed25519'], ['ecdsa', 384, 'ecdsa-sha2-nistp384'], ['rsa', 2048, 'ssh-rsa']] as const) {
      const key = PrivateKey.generate(type, bits);
      key.comment = 'generated';
      expect(key.keyType).toBe(name);
      const f = path(`gen_${type}`);
      key.writePrivateKeyFile(f);
      expect(sshKeygen(['-y', '-f', f]).trim()).toBe(`${name} ${key.getBase64()} generated`);
      writeFileSync(`${f}.pub`, key.publicKey.toString() + '\n');
      expect(sshKeygenFingerprint(`${f}.pub`).fingerprint).toBe(key.fingerprint);
      expect(key.getBits()).toBe(bits ?? 256);
    }
  });
});

describe('bad input gives typed errors', () => {
  it('missing passphrase', () => {
    for (const f of ['ed25519_enc', 'rsa2048_pem_enc', 'ecdsa256_p8_enc']) {
      expect(() => PrivateKey.fromFile(path(f))).toThrow(PasswordRequiredException);
      expect(() => PrivateKey.fromFile(path(f))).toThrow(/passphrase is required/);
    }
  });

  it('wrong passphrase', () => {
    for (const f of ['ed25519_enc', 'ecdsa384_enc', 'rsa2048_pem_enc', 'ecdsa256_pem_enc', 'ecdsa256_p8_enc', 'rsa2048_p8_enc']) {
      let err: unknown;
      try {
        PrivateKey.fromFile(path(f), 'not the passphrase');
      } catch (e) {
        err = e;
      }
      expect(err, f).toBeInstanceOf(PasswordRequiredException);
      expect((err as Error).message).toMatch(/incorrect passphrase/);
      expect((err as SSHException).code).toBe('ERR_SSH_PASSPHRASE');
    }
  });

  it('garbage and unsupported formats', () => {
    expect(() => PrivateKey.fromString('hello world')).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromString(Buffer.alloc(100, 0xff))).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromString('-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n')).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromString('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n')).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromString('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n')).toThrow(KeyFormatError);
    expect(() => PrivateKey.fromFile(path('does-not-exist'))).toThrow(KeyFormatError);
    // A PuTTY file cut short is a damaged PuTTY file (ppk.test.ts has the whole ones); ssh.com keys are refused by name.
    expect(() => PrivateKey.fromString('PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n')).toThrow(/PuTTY key file ends before its Comment line/);
    expect(() => PrivateKey.fromString('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nAAAA\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n')).toThrow(/ssh\.com SSH2 and PGP keys are not supported/);
  });

  it('truncated files', () => {
    for (const f of ['ed25519', 'rsa2048', 'ecdsa521_enc', 'rsa2048_pem', 'ecdsa256_p8']) {
      const text = readFileSync(path(f), 'utf8');
      const lines = text.trim().split('\n');
      const body = lines.slice(1, -1).join('');
      for (const keep of [0.25, 0.5, 0.9]) {
        let cut = body.slice(0, Math.floor((body.length * keep) / 4) * 4);
        const truncated = `${lines[0]}\n${cut}\n${lines[lines.length - 1]}\n`;
        expect(() => PrivateKey.fromString(truncated, PASS), `${f} at ${keep}`).toThrow(KeyFormatError);
        cut = text.slice(0, Math.floor(text.length * keep)); // also without the END line
        expect(() => PrivateKey.fromString(cut, PASS)).toThrow(KeyFormatError);
      }
    }
  });

  it('random corruption never escapes as an untyped error', () => {
    // deterministic xorshift so failures reproduce
    let s = 0x2545f491;
    const rnd = (n: number) => {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      return (s >>> 0) % n;
    };
    for (const f of ['ed25519', 'ecdsa256', 'rsa2048', 'ed25519_enc']) {
      const text = readFileSync(path(f), 'utf8');
      const lines = text.trim().split('\n');
      const bin = Buffer.from(lines.slice(1, -1).join(''), 'base64');
      const trials = f.endsWith('_enc') ? 10 : 150; // encrypted ones pay the KDF each time
      for (let t = 0; t < trials; t++) {
        const bad = Buffer.from(bin);
        const flips = 1 + rnd(3);
        for (let i = 0; i < flips; i++) bad[rnd(bad.length)] ^= 1 << rnd(8);
        const armored = `${lines[0]}\n${bad.toString('base64')}\n${lines[lines.length - 1]}\n`;
        try {
          PrivateKey.fromString(armored, PASS);
        } catch (e) {
          expect(e instanceof KeyFormatError || e instanceof PasswordRequiredException, String(e)).toBe(true);
        }
      }
    }
  });

  it('a mismatched public half is refused', () => {
    const a = readFileSync(path('ed25519'), 'utf8');
    const bin = Buffer.from(a.trim().split('\n').slice(1, -1).join(''), 'base64');
    // flip a byte inside the header's public key (after magic, "none", "none", "", count, blob length, type)
    const at = 15 + 8 + 8 + 4 + 4 + 4 + 4 + 11 + 4 + 5;
    bin[at] ^= 0x01;
    expect(() => PrivateKey.fromString(`-----BEGIN OPENSSH PRIVATE KEY-----\n${bin.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`)).toThrow(/do not match/);
  });

  it('a key file demanding absurd KDF work is refused at once', () => {
    const text = readFileSync(path('ed25519_enc'), 'utf8');
    const bin = Buffer.from(text.trim().split('\n').slice(1, -1).join(''), 'base64');
    // magic(15) + "aes256-ctr"(4+10) + "bcrypt"(4+6) + kdfoptions length(4) + salt(4+16) → rounds
    expect(bin.readUInt32BE(63)).toBe(16);
    bin.writeUInt32BE(0x7fffffff, 63);
    const armored = `-----BEGIN OPENSSH PRIVATE KEY-----\n${bin.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    expect(() => PrivateKey.fromString(armored, PASS)).toThrow(/rounds/);
  });

  it('sign refuses an algorithm the key cannot make', () => {
    const key = PrivateKey.fromFile(path('ed25519'));
    expect(() => key.sign('rsa-sha2-256', new Uint8Array(1))).toThrow(KeyFormatError);
  });

  it('does not show private material when inspected', async () => {
    const { inspect } = await import('node:util');
    const key = PrivateKey.fromFile(path('ed25519'));
    const shown = inspect(key) + JSON.stringify(key);
    expect(shown).toContain(key.fingerprint);
    expect(shown).not.toMatch(/seed|"d"/);
  });
});
