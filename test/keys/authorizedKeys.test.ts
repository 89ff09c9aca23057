import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findAuthorizedKey, loadAuthorizedKeys, matchAddressList, matchHostAndAddress, matchPattern, parseAuthorizedKeyLine,
  parseAuthorizedKeys, PublicKey,
} from '../../ts/keys/index.js';
import { generateWithSshKeygen, makeTempDir, sshKeygen } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);
let alice: PublicKey;
let bob: PublicKey;
let ca: PublicKey;

beforeAll(() => {
  tmp = makeTempDir();
  generateWithSshKeygen(path('alice'), 'ed25519', undefined, '', [], 'alice@home');
  generateWithSshKeygen(path('bob'), 'ecdsa', 256, '', [], 'bob');
  generateWithSshKeygen(path('ca'), 'ed25519', undefined, '', [], 'user CA');
  alice = PublicKey.fromFile(path('alice.pub'));
  bob = PublicKey.fromFile(path('bob.pub'));
  ca = PublicKey.fromFile(path('ca.pub'));
});
afterAll(() => tmp.cleanup());

describe('parsing', () => {
  it('a plain key line', () => {
    const e = parseAuthorizedKeyLine(alice.toString(), 3)!;
    expect(e.key.equals(alice)).toBe(true);
    expect(e.comment).toBe('alice@home');
    expect(e.lineNumber).toBe(3);
    expect(e.options.certAuthority).toBe(false);
    expect(e.permissions).toEqual({ pty: true, portForwarding: true, agentForwarding: true, x11Forwarding: true, userRc: true });
  });

  it('every documented option, quoted values with escaped quotes', () => {
    const line = 'command="echo \\"hi there\\"; exit",environment="LANG=C.UTF-8",from="*.example.com,!bad.example.com,10.0.0.0/8",' +
      'no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc,permitopen="db:5432",permitopen="cache:6379",' +
      'permitlisten="localhost:8080",expiry-time="20991231Z",tunnel="3",no-touch-required,verify-required ' + alice.toString();
    const e = parseAuthorizedKeyLine(line)!;
    const o = e.options;
    expect(o.command).toBe('echo "hi there"; exit');
    expect(o.environment).toEqual([{ name: 'LANG', value: 'C.UTF-8' }]);
    expect(o.from).toEqual(['*.example.com', '!bad.example.com', '10.0.0.0/8']);
    expect(o.permitOpen).toEqual(['db:5432', 'cache:6379']);
    expect(o.permitListen).toEqual(['localhost:8080']);
    expect(o.expiryTime!.toISOString()).toBe('2099-12-31T00:00:00.000Z');
    expect(o.tunnel).toBe(3);
    expect(o.noTouchRequired && o.verifyRequired).toBe(true);
    expect(e.permissions).toEqual({ pty: false, portForwarding: false, agentForwarding: false, x11Forwarding: false, userRc: false });
    expect(e.hasUnknownOptions).toBe(false);
    expect(e.key.equals(alice)).toBe(true);
    expect(e.comment).toBe('alice@home');
  });

  it('restrict, with explicit re-enables', () => {
    const e = parseAuthorizedKeyLine(`restrict,pty,port-forwarding ${alice.toString()}`)!;
    expect(e.options.restrict).toBe(true);
    expect(e.permissions).toEqual({ pty: true, portForwarding: true, agentForwarding: false, x11Forwarding: false, userRc: false });
  });

  it('options apply left to right, the last one winning, as sshd applies them', () => {
    const perms = (opts: string) => parseAuthorizedKeyLine(`${opts} ${alice.toString()}`)!.permissions;
    expect(perms('no-pty,pty').pty).toBe(true);
    expect(perms('pty,no-pty').pty).toBe(false);
    expect(perms('pty,restrict')).toEqual({ pty: false, portForwarding: false, agentForwarding: false, x11Forwarding: false, userRc: false });
    expect(perms('restrict,X11-forwarding,no-x11-forwarding,user-rc')).toEqual({ pty: false, portForwarding: false, agentForwarding: false, x11Forwarding: false, userRc: true });
    expect(perms('no-agent-forwarding,Agent-Forwarding').agentForwarding).toBe(true);
  });

  it('cert-authority with principals, unknown options kept and flagged', () => {
    const e = parseAuthorizedKeyLine(`cert-authority,principals="alice,ops",frobnicate,zap="x y" ${ca.toString()}`)!;
    expect(e.options.certAuthority).toBe(true);
    expect(e.options.principals).toEqual(['alice', 'ops']);
    expect(e.hasUnknownOptions).toBe(true);
    expect(e.options.unknown).toEqual([{ name: 'frobnicate', value: undefined }, { name: 'zap', value: 'x y' }]);
  });

  it('a file with comments, blanks and bad lines', () => {
    const text = [
      '# keys',
      '',
      alice.toString(),
      'no-pty,command="unterminated ' + bob.toString(),
      'garbage line',
      `expiry-time="2020" ${bob.toString()}`,
      `environment="NOEQUALS" ${bob.toString()}`,
      `no-pty=\"x\" ${bob.toString()}`,
      `  ${bob.keyType} ${bob.base64}`,
    ].join('\n');
    writeFileSync(path('ak'), text);
    const { entries, errors } = loadAuthorizedKeys(path('ak'));
    expect(entries.map((e) => e.lineNumber)).toEqual([3, 9]);
    expect(errors.map((e) => e.lineNumber)).toEqual([4, 5, 6, 7, 8]);
    expect(errors[0]!.message).toMatch(/closing quote/);
    expect(errors[1]!.message).toMatch(/no valid public key/);
    expect(errors[2]!.message).toMatch(/expiry-time/);
  });

  it('certificates cannot be listed directly', () => {
    sshKeygen(['-q', '-s', path('ca'), '-I', 'id', '-n', 'alice', path('alice.pub')]);
    const cert = PublicKey.fromFile(path('alice-cert.pub'));
    expect(() => parseAuthorizedKeyLine(cert.toString())).toThrow(/cert-authority/);
  });
});

describe('patterns', () => {
  it('wildcards', () => {
    expect(matchPattern('abc.example.com', '*.example.com')).toBe(true);
    expect(matchPattern('example.com', '*.example.com')).toBe(false);
    expect(matchPattern('node7', 'node?')).toBe(true);
    expect(matchPattern('node17', 'node?')).toBe(false);
    expect(matchPattern('a'.repeat(5000), '*a*a*a*a*a*b')).toBe(false); // no blow-up
  });

  it('a * in the pattern stays a wildcard where the text holds a * too (OpenSSH match_pattern)', () => {
    expect(matchPattern('*', '*?')).toBe(true);
    expect(matchPattern('*ba', '*a')).toBe(true);
    expect(matchPattern('*b', '*a')).toBe(false);
  });

  it('addresses: CIDR, wildcards, negation, IPv6 and mapped IPv4', () => {
    expect(matchAddressList('10.1.2.3', ['10.0.0.0/8'])).toBe(1);
    expect(matchAddressList('11.1.2.3', ['10.0.0.0/8'])).toBe(0);
    expect(matchAddressList('192.168.1.9', ['192.168.1.*'])).toBe(1);
    expect(matchAddressList('10.9.9.9', ['10.0.0.0/8', '!10.9.0.0/16'])).toBe(-1);
    expect(matchAddressList('2001:db8::1', ['2001:db8::/32'])).toBe(1);
    expect(matchAddressList('::ffff:10.0.0.1', ['10.0.0.0/24'])).toBe(1);
    expect(matchAddressList('10.0.0.1', ['10.0.0.0/99'])).toBe(0);
    expect(matchHostAndAddress('ws.example.com', '192.0.2.1', ['*.example.com'])).toBe(true);
    expect(matchHostAndAddress('ws.example.com', '192.0.2.1', ['*.example.com', '!192.0.2.1'])).toBe(false);
    expect(matchHostAndAddress(undefined, '192.0.2.1', ['*.example.com'])).toBe(false);
  });
});

describe('findAuthorizedKey', () => {
  it('plain keys honour from= and expiry-time', () => {
    const { entries } = parseAuthorizedKeys([
      `from="10.0.0.0/8,!10.66.0.0/16" ${alice.toString()}`,
      `expiry-time="20000101" ${bob.toString()}`,
    ].join('\n'));
    expect(findAuthorizedKey(entries, alice.publicKeyBlob, { clientAddress: '10.1.1.1' })).toBe(entries[0]);
    expect(findAuthorizedKey(entries, alice.publicKeyBlob, { clientAddress: '10.66.1.1' })).toBeNull();
    expect(findAuthorizedKey(entries, alice.publicKeyBlob, { clientAddress: '192.168.0.1' })).toBeNull();
    expect(findAuthorizedKey(entries, alice.publicKeyBlob)).toBeNull(); // from= needs an address
    expect(findAuthorizedKey(entries, bob.publicKeyBlob)).toBeNull(); // expired
    expect(findAuthorizedKey(entries, bob.publicKeyBlob, { now: new Date(1999, 0, 1) })).toBe(entries[1]);
    expect(findAuthorizedKey(entries, ca.publicKeyBlob, { clientAddress: '10.1.1.1' })).toBeNull();
    expect(findAuthorizedKey(entries, new Uint8Array([1, 2, 3]))).toBeNull();
  });

  it('a line with an option sshd does not know authorizes nothing, as sshd refuses it', () => {
    const { entries } = parseAuthorizedKeys([
      `no-port-forwardng ${alice.toString()}`, // a typo must not leave the key unrestricted
      `no-pty ${alice.toString()}`,
      `cert-authority,frobnicate ${ca.toString()}`,
    ].join('\n'));
    expect(entries.map((e) => e.hasUnknownOptions)).toEqual([true, false, true]);
    expect(findAuthorizedKey(entries, alice.publicKeyBlob)).toBe(entries[1]);
    expect(findAuthorizedKey(entries.slice(0, 1), alice.publicKeyBlob)).toBeNull();
    sshKeygen(['-q', '-s', path('ca'), '-I', 'alice-cert', '-n', 'alice', path('alice.pub')]);
    expect(findAuthorizedKey(entries, PublicKey.fromFile(path('alice-cert.pub')).publicKeyBlob, { username: 'alice' })).toBeNull();
  });

  it('user certificates through cert-authority, by username or principals=', () => {
    sshKeygen(['-q', '-s', path('ca'), '-I', 'bob-cert', '-n', 'bob,ops', '-O', 'source-address=192.0.2.0/24', path('bob.pub')]);
    const cert = PublicKey.fromFile(path('bob-cert.pub'));
    const byName = parseAuthorizedKeys(`cert-authority ${ca.toString()}`).entries;
    // The CA's entry, narrowed by the certificate (ssh-keygen's default extensions permit everything).
    expect(findAuthorizedKey(byName, cert.publicKeyBlob, { username: 'bob', clientAddress: '192.0.2.5' })).toEqual(byName[0]);
    expect(findAuthorizedKey(byName, cert.publicKeyBlob, { username: 'carol', clientAddress: '192.0.2.5' })).toBeNull();
    expect(findAuthorizedKey(byName, cert.publicKeyBlob, { username: 'bob', clientAddress: '198.51.100.1' })).toBeNull(); // source-address
    const byPrincipals = parseAuthorizedKeys(`cert-authority,principals="ops" ${ca.toString()}`).entries;
    expect(findAuthorizedKey(byPrincipals, cert.publicKeyBlob, { username: 'root', clientAddress: '192.0.2.5' })).toEqual(byPrincipals[0]);
    // A certificate without permit-pty and with a force-command narrows what the entry allows.
    sshKeygen(['-q', '-s', path('ca'), '-I', 'bob-narrow', '-n', 'bob', '-O', 'no-pty', '-O', 'force-command=uptime', path('bob.pub')]);
    const narrow = findAuthorizedKey(byName, PublicKey.fromFile(path('bob-cert.pub')).publicKeyBlob, { username: 'bob' });
    expect(narrow?.permissions).toEqual({ ...byName[0]!.permissions, pty: false });
    expect(narrow?.options.command).toBe('uptime');
    expect(byName[0]!.permissions.pty).toBe(true);
    const clash = parseAuthorizedKeys(`cert-authority,command="date" ${ca.toString()}`).entries;
    expect(findAuthorizedKey(clash, PublicKey.fromFile(path('bob-cert.pub')).publicKeyBlob, { username: 'bob' })).toBeNull();
    // the CA key listed without cert-authority does not accept certificates, and the plain key is not accepted by a CA line
    const plainCa = parseAuthorizedKeys(ca.toString()).entries;
    expect(findAuthorizedKey(plainCa, cert.publicKeyBlob, { username: 'bob', clientAddress: '192.0.2.5' })).toBeNull();
    expect(findAuthorizedKey(byName, bob.publicKeyBlob, { username: 'bob' })).toBeNull();
  });
});
