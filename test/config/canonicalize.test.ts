import { describe, expect, it } from 'vitest';

import { CouldNotCanonicalize } from '../../ts/errors.js';
import { SSHConfig, SSHConfigDict, systemResolver, type HostResolver } from '../../ts/config/index.js';
import { LOCAL, fakeResolver } from './helpers.js';

const CFG = `
CanonicalizeHostname yes
CanonicalDomains a.example b.example
Host *.b.example
  User b-user
Match canonical host web*
  Port 2222
Host *
  IdentityFile /id_%h
`;

describe('canonicalization', () => {
  it('tries each domain with a rooted name and re-parses with the canonical name', async () => {
    const resolver = fakeResolver(['web.b.example.']);
    const d = await SSHConfig.fromText(CFG).lookup('web', { ...LOCAL, resolver });
    expect(resolver.queries).toEqual(['web.a.example.', 'web.b.example.']);
    expect(d.hostname).toBe('web.b.example');
    expect(d.user).toBe('b-user');
    expect(d.port).toBe(2222);
    expect(d.identityFiles).toEqual(['/id_web.b.example']);
  });

  it('falls back to the given name by default', async () => {
    const resolver = fakeResolver([]);
    const d = await SSHConfig.fromText(CFG).lookup('web', { ...LOCAL, resolver });
    expect(d.hostname).toBe('web');
    // The final pass still happens, so Match canonical applies.
    expect(d.port).toBe(2222);
  });

  it('CanonicalizeFallbackLocal no raises CouldNotCanonicalize', async () => {
    const resolver = fakeResolver([]);
    const cfg = SSHConfig.fromText(CFG + 'CanonicalizeFallbackLocal no\n');
    await expect(cfg.lookup('web', { ...LOCAL, resolver })).rejects.toThrow(CouldNotCanonicalize);
  });

  it('skips names with more dots than CanonicalizeMaxDots, and addresses', async () => {
    const resolver = fakeResolver(['x.y.z.a.example.']);
    const cfg = SSHConfig.fromText(CFG + 'CanonicalizeMaxDots 1\n');
    const d = await cfg.lookup('x.y.z', { ...LOCAL, resolver });
    expect(d.hostname).toBe('x.y.z');
    await cfg.lookup('10.1.2.3', { ...LOCAL, resolver });
    expect(resolver.queries).toEqual([]);
    const more = await SSHConfig.fromText(CFG + 'CanonicalizeMaxDots 3\n').lookup('x.y.z', { ...LOCAL, resolver });
    expect(more.hostname).toBe('x.y.z.a.example');
  });

  it('yes does not canonicalize proxied connections; always does', async () => {
    const resolver = fakeResolver(['web.a.example.']);
    const proxied = await SSHConfig.fromText(CFG + 'ProxyJump gw\n').lookup('web', { ...LOCAL, resolver });
    expect(proxied.hostname).toBe('web');
    const always = await SSHConfig.fromText(CFG.replace('yes', 'always') + 'ProxyJump gw\n').lookup('web', { ...LOCAL, resolver });
    expect(always.hostname).toBe('web.a.example');
  });

  it('canonicalizes the HostName-substituted name', async () => {
    const resolver = fakeResolver(['real.a.example.']);
    const d = await SSHConfig.fromText('Host alias\n  HostName real\n' + CFG).lookup('alias', { ...LOCAL, resolver });
    expect(d.hostname).toBe('real.a.example');
  });

  it('lookupSync does no DNS but still makes the final pass', () => {
    const d = SSHConfig.fromText(CFG).lookupSync('web', LOCAL);
    expect(d.hostname).toBe('web');
    expect(d.port).toBe(2222);
  });

  it('canonicalize() with Paramiko signature', async () => {
    const cfg = new SSHConfig();
    const resolver = fakeResolver(['h.two.']);
    const opts = new SSHConfigDict();
    expect(await cfg.canonicalize('h', opts, ['one', 'two'], { resolver })).toBe('h.two');
    expect(await cfg.canonicalize('zz', opts, ['one'], { resolver })).toBe('zz');
    opts.set('canonicalizefallbacklocal', 'no');
    await expect(cfg.canonicalize('zz', opts, ['one'], { resolver })).rejects.toBeInstanceOf(CouldNotCanonicalize);
  });

  it('passes AddressFamily to the resolver', async () => {
    const families: number[] = [];
    const resolver: HostResolver = async (_n, family) => {
      families.push(family);
      return true;
    };
    await SSHConfig.fromText('AddressFamily inet6\n' + CFG).lookup('web', { ...LOCAL, resolver });
    expect(families).toEqual([6]);
  });

  it('systemResolver resolves localhost through getaddrinfo and rejects a .invalid name', async () => {
    const r = systemResolver(2000);
    // (Rooted "localhost." is not in /etc/hosts for glibc, so ask for the plain name here.)
    expect(await r('localhost', 4)).toBe(true);
    expect(await r('no-such-host.invalid.', 0)).toBe(false);
  });
});
