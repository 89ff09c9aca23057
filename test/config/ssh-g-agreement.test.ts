/**
 * Places where sshwire disagreed with OpenSSH, found while mutation-testing
 * ts/config (all fixed). Each test checks what `ssh -G` (the reference, as
 * in oracle.test.ts) does, then that sshwire does the same.
 */
import { describe, expect, it } from 'vitest';
import { SSHConfig } from '../../ts/config/index.js';
import { LOCAL, configOracle } from './helpers.js';

const oracle = configOracle('sshcfg-agree-');
const sshGText = oracle.sshG;

describe('Match host / originalhost compare the host name case-insensitively (OpenSSH lowercases it)', () => {
  it('Match originalhost web1 applies to a lookup of WEB1', () => {
    const text = 'Match originalhost web1\n  User matched\n';
    expect(sshGText(text, 'WEB1').get('user')).toEqual(['matched']);
    expect(SSHConfig.fromText(text).lookupSync('WEB1', LOCAL).user).toBe('matched');
  });

  it('Match host real applies when HostName is written Real', () => {
    const text = 'Host alias\n  HostName Real\nMatch host real\n  User matched\n';
    expect(sshGText(text, 'alias').get('user')).toEqual(['matched']);
    expect(SSHConfig.fromText(text).lookupSync('alias', LOCAL).user).toBe('matched');
  });
});

describe('ProxyJump none', () => {
  it('does not block a later ProxyCommand (only a real jump host does)', () => {
    const text = 'Host h\n  ProxyJump none\n  ProxyCommand nc %h %p\n';
    const g = sshGText(text, 'h');
    expect(g.get('proxycommand')).toEqual(['nc %h %p']);
    expect(g.has('proxyjump')).toBe(false);
    const d = SSHConfig.fromText(text).lookupSync('h', { ...LOCAL, expandTokens: false });
    expect(d.proxyCommand).toBe('nc %h %p');
  });

  it('still blocks a later ProxyJump, and ProxyCommand none blocks ProxyJump', () => {
    const text = 'Host m\n  ProxyJump none\n  ProxyCommand nc\n  ProxyJump j\nHost i\n  ProxyCommand none\n  ProxyJump j\n';
    const gm = sshGText(text, 'm');
    expect(gm.get('proxycommand')).toEqual(['nc']);
    expect(gm.has('proxyjump')).toBe(false);
    const gi = sshGText(text, 'i');
    expect(gi.has('proxycommand') || gi.has('proxyjump')).toBe(false);
    const cfg = SSHConfig.fromText(text);
    const m = cfg.lookupSync('m', { ...LOCAL, expandTokens: false });
    expect(m.proxyCommand).toBe('nc');
    expect(m.proxyJumpHops()).toEqual([]);
    const i = cfg.lookupSync('i', { ...LOCAL, expandTokens: false });
    expect(i.proxyCommand).toBeUndefined();
    expect(i.proxyJumpHops()).toEqual([]);
    expect(cfg.lookupSync('i', { ...LOCAL, expandTokens: false }).get('proxyjump')).toBeUndefined();
  });
});

describe('Host patterns', () => {
  it('a lone "!" pattern is accepted, as ssh does (it negates an empty pattern and matches nothing)', () => {
    const text = 'Host * !\n  User bang\n';
    expect(sshGText(text, 'h').get('user')).toEqual(['bang']);
    expect(SSHConfig.fromText(text).lookupSync('h', LOCAL).user).toBe('bang');
  });
});
