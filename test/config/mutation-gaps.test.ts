/**
 * Behaviour that mutation testing of ts/config found unpinned. Where OpenSSH
 * is the reference, the expectation is also checked against `ssh -G`, so the
 * test says what ssh does, not only what sshwire does today.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSyntaxError, SSHConfig, type LookupOptions } from '../../ts/config/index.js';
import { CouldNotCanonicalize } from '../../ts/errors.js';
import { LOCAL, configOracle, fakeResolver } from './helpers.js';

const oracle = configOracle('sshcfg-gaps-');
const sshGText = oracle.sshG;

const look = (text: string, host: string, extra: LookupOptions = {}) => SSHConfig.fromText(text).lookupSync(host, { ...LOCAL, ...extra });

describe('Match all after other criteria', () => {
  // ssh -G: "Match user nobody all" does not apply to another user; "Match !all" never applies.
  const text = 'Match user nobody all\n  Port 2201\nMatch !all\n  Compression yes\nMatch user bob all\n  ForwardAgent yes\n';

  it('`all` keeps the result of the criteria before it (Match user nobody all is false for bob)', () => {
    const g = sshGText(text, 'h', 'bob');
    expect(g.get('port')).toEqual(['22']);
    expect(g.get('forwardagent')).toEqual(['yes']);
    const d = look(text, 'h', { user: 'bob' });
    expect(d.has('port')).toBe(false);
    expect(d.get('forwardagent')).toBe('yes');
  });

  it('`!all` never matches', () => {
    expect(sshGText(text, 'h', 'bob').get('compression')).toEqual(['no']);
    expect(look(text, 'h', { user: 'bob' }).has('compression')).toBe(false);
  });
});

describe('Include from an inactive block', () => {
  it('a `Match final` in a file included from a non-matching block still asks for the final pass (as ssh -G)', () => {
    const inc = oracle.path('final-only.conf');
    writeFileSync(inc, 'Match final\n');
    const text = `Host alias\n  HostName real\nHost nomatch\n  Include ${inc}\nHost real\n  User realuser\n`;
    // The final pass matches "Host real" against the final hostname.
    expect(sshGText(text, 'alias').get('user')).toEqual(['realuser']);
    expect(look(text, 'alias').user).toBe('realuser');
  });
});

describe('Include globbing', () => {
  it('sorts matches by whole path, as glob(3) does: a-b/x.conf comes before a/x.conf (\'-\' < \'/\')', () => {
    // Sorting only each directory listing would give a/x.conf first.
    const top = oracle.path('globsort');
    mkdirSync(join(top, 'a'), { recursive: true });
    mkdirSync(join(top, 'a-b'));
    writeFileSync(join(top, 'a', 'x.conf'), 'User from-a\nIdentityFile /k/a\n');
    writeFileSync(join(top, 'a-b', 'x.conf'), 'User from-ab\nIdentityFile /k/a-b\n');
    const text = `Include ${top}/a*/x.conf\n`;
    expect(sshGText(text, 'h').get('user')).toEqual(['from-ab']);
    const d = SSHConfig.fromText(text).lookupSync('h', LOCAL);
    expect(d.user).toBe('from-ab');
    expect(d.identityFiles).toEqual(['/k/a-b', '/k/a']);
  });
});

describe('quoting', () => {
  it('a backslash before a space inside quotes is kept (only outside quotes does it escape the space)', () => {
    const text = 'IdentityFile "a\\ b"\nIdentityFile c\\ d\n';
    expect(sshGText(text, 'h').get('identityfile')).toEqual(['a\\ b', 'c d']);
    expect(look(text, 'h', { expandTokens: false }).identityFiles).toEqual(['a\\ b', 'c d']);
  });
});

describe('~ expansion', () => {
  it('a home of "/" does not produce "//"', () => {
    expect(look('IdentityFile ~/k\n', 'h', { homeDir: '/' }).identityFiles).toEqual(['/k']);
  });

  it('~localuser/ uses the local home given to the lookup', () => {
    const d = look('IdentityFile ~alice/k\n', 'h', { localUser: 'alice', homeDir: '/srv/alice-home' });
    expect(d.identityFiles).toEqual(['/srv/alice-home/k']);
  });
});

describe('Match host pattern case', () => {
  it('patterns of Match host are lowercased (Match host WEB* applies to web1)', () => {
    const text = 'Match host WEB*\n  User upper\n';
    expect(sshGText(text, 'web1').get('user')).toEqual(['upper']);
    expect(look(text, 'web1').user).toBe('upper');
  });
});

describe('final pass', () => {
  it('Match host sees the final hostname as it is, not %-expanded again (HostName x%%hy gives x%hy)', () => {
    const text = 'Host h\n  HostName x%%hy\nMatch final host x%hy\n  User pct\n';
    const g = sshGText(text, 'h');
    expect(g.get('hostname')).toEqual(['x%hy']);
    expect(g.get('user')).toEqual(['pct']);
    const d = look(text, 'h');
    expect(d.hostname).toBe('x%hy');
    expect(d.user).toBe('pct');
  });
});

describe('Port', () => {
  it('Port 0 is refused with its line (ssh: "Bad port")', () => {
    expect(() => SSHConfig.fromText('\nPort 0\n')).toThrow(ConfigSyntaxError);
    expect(() => SSHConfig.fromText('\nPort 0\n')).toThrow(/line 2: bad port/);
  });
});

describe('canonicalization settings', () => {
  const base = 'CanonicalDomains a.example\n';

  it('a name with exactly CanonicalizeMaxDots dots is canonicalized; one more dot is not', async () => {
    const resolver = fakeResolver(['x.y.a.example.', 'x.y.z.a.example.']);
    const cfg = SSHConfig.fromText('CanonicalizeHostname yes\nCanonicalizeMaxDots 1\n' + base);
    expect((await cfg.lookup('x.y', { ...LOCAL, resolver })).hostname).toBe('x.y.a.example');
    expect((await cfg.lookup('x.y.z', { ...LOCAL, resolver })).hostname).toBe('x.y.z');
    expect(resolver.queries).toEqual(['x.y.a.example.']);
  });

  it('addresses are never canonicalized, however many dots are allowed', async () => {
    const resolver = fakeResolver([]);
    const cfg = SSHConfig.fromText('CanonicalizeHostname yes\nCanonicalizeMaxDots 9\n' + base);
    expect((await cfg.lookup('192.0.2.7', { ...LOCAL, resolver })).hostname).toBe('192.0.2.7');
    expect(resolver.queries).toEqual([]);
  });

  it('CanonicalizeHostname true means yes', async () => {
    const resolver = fakeResolver(['web.a.example.']);
    const d = await SSHConfig.fromText('CanonicalizeHostname true\n' + base).lookup('web', { ...LOCAL, resolver });
    expect(d.hostname).toBe('web.a.example');
  });

  it('CanonicalizeFallbackLocal false means no', async () => {
    const resolver = fakeResolver([]);
    const cfg = SSHConfig.fromText('CanonicalizeHostname yes\nCanonicalizeFallbackLocal false\n' + base);
    await expect(cfg.lookup('web', { ...LOCAL, resolver })).rejects.toBeInstanceOf(CouldNotCanonicalize);
  });
});
