import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyEntry, HostKeys, hashHostname, knownHostsName, PublicKey } from '../../ts/keys/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen, sshKeygenStatus } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);
let ed: PublicKey;
let ec: PublicKey;
let rsa: PublicKey;
let other: PublicKey;

beforeAll(() => {
  tmp = makeTempDir();
  generateWithSshKeygen(path('ed'), 'ed25519', undefined, '');
  generateWithSshKeygen(path('ec'), 'ecdsa', 256, '');
  generateWithSshKeygen(path('rsa'), 'rsa', 2048, '');
  generateWithSshKeygen(path('other'), 'ed25519', undefined, '');
  generateWithSshKeygen(path('ca'), 'ed25519', undefined, '');
  ed = PublicKey.fromFile(path('ed.pub'));
  ec = PublicKey.fromFile(path('ec.pub'));
  rsa = PublicKey.fromFile(path('rsa.pub'));
  other = PublicKey.fromFile(path('other.pub'));
});
afterAll(() => tmp.cleanup());

/** ssh-keygen -F: the line numbers it reports for `host` in `file`. */
function sshKeygenFind(host: string, file: string): number[] {
  const r = sshKeygenStatus(['-F', host, '-f', file]);
  if (r.status !== 0) return [];
  return [...r.stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

describe('files OpenSSH can read', () => {
  it('plain, [host]:port and hashed entries made by add+save are found by ssh-keygen -F', () => {
    const hk = new HostKeys();
    hk.add('server.example.com', 'ssh-ed25519', ed);
    hk.add(knownHostsName('server.example.com', 2222), 'ecdsa-sha2-nistp256', ec);
    hk.add('10.0.0.7', 'ssh-rsa', rsa, { hash: true });
    hk.add(knownHostsName('hashed.example.com', 2200), 'ssh-ed25519', other, { hash: true });
    const f = path('kh1');
    hk.save(f);
    expect(sshKeygenFind('server.example.com', f)).toEqual([1]);
    expect(sshKeygenFind('[server.example.com]:2222', f)).toEqual([2]);
    expect(sshKeygenFind('10.0.0.7', f)).toEqual([3]);
    expect(sshKeygenFind('[hashed.example.com]:2200', f)).toEqual([4]);
    expect(sshKeygenFind('hashed.example.com', f)).toEqual([]);
    expect(sshKeygenFind('nowhere.example.com', f)).toEqual([]);
    const text = readFileSync(f, 'utf8');
    expect(text).not.toContain('10.0.0.7');
    expect(text.split('\n')[2]).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-rsa /);
  });

  it('the hashHostnames option hashes every added name', () => {
    const hk = new HostKeys(undefined, { hashHostnames: true });
    hk.add('a.example.com', 'ssh-ed25519', ed);
    hk.add('[b.example.com]:2022', 'ssh-ed25519', other);
    const f = path('kh2');
    hk.save(f);
    expect(readFileSync(f, 'utf8')).not.toMatch(/example/);
    expect(sshKeygenFind('a.example.com', f)).toEqual([1]);
    expect(sshKeygenFind('[b.example.com]:2022', f)).toEqual([2]);
  });

  it('reads files hashed by ssh-keygen -H', () => {
    const f = path('kh3');
    writeFileSync(f, `host1.example.com,192.168.0.1 ${ed.keyType} ${ed.base64}\n[host2.example.com]:2222 ${ec.keyType} ${ec.base64}\n`);
    sshKeygen(['-H', '-f', f]);
    const hk = new HostKeys(f);
    expect(hk.entries.every((e) => e.hostnames[0]!.startsWith('|1|'))).toBe(true);
    expect(hk.verify('host1.example.com', 22, ed).status).toBe('match');
    expect(hk.verify('192.168.0.1', 22, ed).status).toBe('match');
    expect(hk.verify('host2.example.com', 2222, ec).status).toBe('match');
    expect(hk.verify('host2.example.com', 22, ec).status).toBe('unknown');
    expect(hk.lookup('host1.example.com')!.get('ssh-ed25519')!.equals(ed)).toBe(true);
  });

  it('hashHostname matches what OpenSSH computes for a given salt', () => {
    const salt = Buffer.alloc(20, 7);
    const line = `${hashHostname('example.org', salt)} ${ed.keyType} ${ed.base64}\n`;
    const f = path('kh4');
    writeFileSync(f, line);
    expect(sshKeygenFind('example.org', f)).toEqual([1]);
    expect(hashHostname('example.org', salt)).toBe(HostKeys.hashHost('example.org', salt));
  });
});

describe('round trip', () => {
  it('an unchanged file is written back byte for byte, odd lines included', () => {
    const text = [
      '# known hosts with everything',
      '',
      `host-a,host-b ${ed.keyType} ${ed.base64} a comment with  two spaces`,
      `   indented.example.com ${ec.keyType} ${ec.base64}`,
      `@cert-authority *.example.com ${ed.keyType} ${ed.base64}`,
      `@revoked * ${other.keyType} ${other.base64}`,
      'this line is not valid at all',
      `weird.example.com ssh-dss AAAAB3NzaC1kc3MAAACBAP`,
      `crlf.example.com ${rsa.keyType} ${rsa.base64}\r`,
      `${hashHostname('h.example.com')} ${ed.keyType} ${ed.base64}`,
      `last.example.com ${ed.keyType} ${ed.base64}`,
    ].join('\n'); // no final newline
    for (const t of [text, text + '\n']) {
      const f = path('rt');
      writeFileSync(f, t);
      const hk = new HostKeys(f);
      expect(hk.entries.length).toBe(7);
      expect(hk.invalidLines.map((l) => l.location!.lineNumber)).toEqual([7, 8]);
      const out = path('rt.out');
      hk.save(out);
      expect(readFileSync(out, 'utf8')).toBe(t);
    }
  });

  it('add appends after existing lines, keeping them verbatim', () => {
    const f = path('rt2');
    const original = `# mine\nold.example.com ${ed.keyType} ${ed.base64}   trailing\n`;
    writeFileSync(f, original);
    const hk = new HostKeys(f);
    hk.add('new.example.com', 'ecdsa-sha2-nistp256', ec);
    hk.save(f);
    expect(readFileSync(f, 'utf8')).toBe(`${original}new.example.com ${ec.keyType} ${ec.base64}\n`);
  });

  it('add replaces the key of an existing single-host entry of the same type (Paramiko rule)', () => {
    const hk = new HostKeys();
    hk.loadText(`# c\nsame.example.com ${ed.keyType} ${ed.base64}\n`);
    hk.add('same.example.com', 'ssh-ed25519', other);
    expect(hk.toString()).toBe(`# c\nsame.example.com ${other.keyType} ${other.base64}\n`);
    expect(hk.check('same.example.com', other)).toBe(true);
    expect(hk.check('same.example.com', ed)).toBe(false);
  });

  it('add with replace: false appends a second key of the same type', () => {
    const hk = new HostKeys();
    hk.loadText(`same.example.com ${ed.keyType} ${ed.base64}\n`);
    hk.add('same.example.com', 'ssh-ed25519', other, { replace: false });
    expect(hk.check('same.example.com', ed)).toBe(true);
    expect(hk.check('same.example.com', other)).toBe(true);
    expect(hk.entries).toHaveLength(2);
  });

  it('remove deletes only unmarked lines naming the host alone (plain or hashed) with that key', () => {
    const hk = new HostKeys();
    const lines = [
      `gone.example.com ${ed.keyType} ${ed.base64}`,
      `${hashHostname('gone.example.com')} ${ed.keyType} ${ed.base64}`,
      `GONE.example.com ${ec.keyType} ${ec.base64}`,
      `gone.example.com,10.0.0.1 ${ed.keyType} ${ed.base64}`,
      `*.example.com ${ed.keyType} ${ed.base64}`,
      `@revoked gone.example.com ${ed.keyType} ${ed.base64}`,
      `kept.example.com ${ed.keyType} ${ed.base64}`,
    ];
    hk.loadText(lines.join('\n') + '\n');
    expect(hk.remove('Gone.Example.com', ed)).toBe(2);
    expect(hk.toString()).toBe([lines[2], lines[3], lines[4], lines[5], lines[6]].join('\n') + '\n');
    expect(hk.remove('gone.example.com', rsa)).toBe(0);
    expect(hk.remove('gone.example.com', ec)).toBe(1);
  });

  it('hashesHost tells whether a line naming the host alone is hashed', () => {
    const hk = new HostKeys();
    hk.loadText(`${hashHostname('h.example.com')} ${ed.keyType} ${ed.base64}\nplain.example.com ${ed.keyType} ${ed.base64}\nh2.example.com,x ${ed.keyType} ${ed.base64}\n`);
    expect(hk.hashesHost('h.example.com')).toBe(true);
    expect(hk.hashesHost('plain.example.com')).toBe(false);
    expect(hk.hashesHost('h2.example.com')).toBe(false);
    expect(hk.hashesHost('nowhere.example.com')).toBe(false);
  });
});

describe('verify', () => {
  const file = () => [
    `server.example.com,10.0.0.1 ${ed.keyType} ${ed.base64}`,
    `[server.example.com]:2222 ${ec.keyType} ${ec.base64}`,
    `*.wild.example.com,!bad.wild.example.com ${rsa.keyType} ${rsa.base64}`,
    `node?.example.com ${ed.keyType} ${ed.base64}`,
    `@revoked * ${other.keyType} ${other.base64}`,
    `revoked.example.com ${other.keyType} ${other.base64}`,
  ].join('\n') + '\n';

  it('match, mismatch, unknown and revoked, with the line', () => {
    const f = path('v');
    writeFileSync(f, file());
    const hk = new HostKeys(f);
    expect(hk.verify('server.example.com', 22, ed)).toEqual({ status: 'match', line: { file: f, lineNumber: 1 } });
    expect(hk.verify('SERVER.example.com', 22, ed).status).toBe('match');
    expect(hk.verify('10.0.0.1', 22, ed).status).toBe('match');
    const mm = hk.verify('server.example.com', 22, PublicKey.fromFile(path('ca.pub')));
    expect(mm.status).toBe('mismatch');
    expect(mm.expected!.equals(ed)).toBe(true);
    expect(mm.line).toEqual({ file: f, lineNumber: 1 });
    expect(hk.verify('server.example.com', 22, ec).status).toBe('unknown'); // known host, no key of this type
    expect(hk.verify('server.example.com', 2222, ec)).toEqual({ status: 'match', line: { file: f, lineNumber: 2 } });
    expect(hk.verify('server.example.com', 2223, ec).status).toBe('unknown');
    expect(hk.verify('a.wild.example.com', 22, rsa).status).toBe('match');
    expect(hk.verify('bad.wild.example.com', 22, rsa).status).toBe('unknown'); // negated
    expect(hk.verify('node1.example.com', 22, ed).status).toBe('match');
    expect(hk.verify('node12.example.com', 22, ed).status).toBe('unknown');
    expect(hk.verify('revoked.example.com', 22, other)).toEqual({ status: 'revoked', line: { file: f, lineNumber: 5 } });
    expect(hk.verify('anything.example.org', 22, other).status).toBe('revoked');
    expect(hk.check('server.example.com', ed)).toBe(true);
    expect(hk.check('revoked.example.com', other)).toBe(false);
    expect(hk.lookup('unknown.example.net')).toBeNull();
    expect([...hk.lookup('server.example.com')!.keys()]).toEqual(['ssh-ed25519']);
  });

  it('host certificates through @cert-authority', () => {
    sshKeygen(['-q', '-s', path('ca'), '-h', '-I', 'host', '-n', 'cert.example.com', path('ec.pub')]);
    const cert = PublicKey.fromFile(path('ec-cert.pub'));
    const ca = PublicKey.fromFile(path('ca.pub'));
    const hk = new HostKeys();
    hk.loadText(`@cert-authority *.example.com ${ca.keyType} ${ca.base64}\n`, 'ca-file');
    expect(hk.verify('cert.example.com', 22, cert)).toEqual({ status: 'match', line: { file: 'ca-file', lineNumber: 1 } });
    // the CA vouches for *.example.com but the certificate does not name this host
    const wrong = hk.verify('other.example.com', 22, cert);
    expect(wrong.status).toBe('unknown');
    expect(wrong.reason).toMatch(/principal/);
    // a CA line does not make the plain key trusted
    expect(hk.verify('cert.example.com', 22, ec).status).toBe('unknown');
    // revoking the CA revokes its certificates
    hk.loadText(`@revoked * ${ca.keyType} ${ca.base64}\n`);
    expect(hk.verify('cert.example.com', 22, cert).status).toBe('revoked');
  });

  it('HostKeyEntry parses and prints lines', () => {
    const e = HostKeyEntry.fromLine(`@cert-authority a,b ${ed.keyType} ${ed.base64} c`)!;
    expect(e.marker).toBe('cert-authority');
    expect(e.hostnames).toEqual(['a', 'b']);
    expect(e.comment).toBe('c');
    expect(HostKeyEntry.fromLine('# comment')).toBeNull();
    expect(() => HostKeyEntry.fromLine('@bogus a ssh-ed25519 AAAA')).toThrow(/marker/);
    expect(() => HostKeyEntry.fromLine('host ssh-ed25519')).toThrow();
    const built = new HostKeyEntry(['x.example.com'], ed);
    expect(built.toLine()).toBe(`x.example.com ${ed.keyType} ${ed.base64}`);
  });
});
