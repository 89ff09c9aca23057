/**
 * Places where sshwire disagreed with OpenSSH, found while mutation-testing
 * ts/config (all fixed). Each test checks what `ssh -G` (the reference, as
 * in oracle.test.ts) does, then that sshwire does the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SSHConfig, type LookupOptions } from '../../ts/config/index.js';

const LOCAL: LookupOptions = { localUser: 'alice', homeDir: '/home/alice', localHostname: 'ws1', uid: 1000, env: {} };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sshcfg-bugs-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
function sshG(text: string, host: string): Map<string, string[]> {
  const file = join(dir, `g${seq++}.conf`);
  writeFileSync(file, text);
  const out = execFileSync('ssh', ['-G', '-F', file, host], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) map.set(line.slice(0, sp), [...(map.get(line.slice(0, sp)) ?? []), line.slice(sp + 1)]);
  }
  return map;
}

describe('Match host / originalhost compare the host name case-insensitively (OpenSSH lowercases it)', () => {
  it('Match originalhost web1 applies to a lookup of WEB1', () => {
    const text = 'Match originalhost web1\n  User matched\n';
    expect(sshG(text, 'WEB1').get('user')).toEqual(['matched']);
    expect(SSHConfig.fromText(text).lookupSync('WEB1', LOCAL).user).toBe('matched');
  });

  it('Match host real applies when HostName is written Real', () => {
    const text = 'Host alias\n  HostName Real\nMatch host real\n  User matched\n';
    expect(sshG(text, 'alias').get('user')).toEqual(['matched']);
    expect(SSHConfig.fromText(text).lookupSync('alias', LOCAL).user).toBe('matched');
  });
});

describe('ProxyJump none', () => {
  it('does not block a later ProxyCommand (only a real jump host does)', () => {
    const text = 'Host h\n  ProxyJump none\n  ProxyCommand nc %h %p\n';
    const g = sshG(text, 'h');
    expect(g.get('proxycommand')).toEqual(['nc %h %p']);
    expect(g.has('proxyjump')).toBe(false);
    const d = SSHConfig.fromText(text).lookupSync('h', { ...LOCAL, expandTokens: false });
    expect(d.proxyCommand).toBe('nc %h %p');
  });

  it('still blocks a later ProxyJump, and ProxyCommand none blocks ProxyJump', () => {
    const text = 'Host m\n  ProxyJump none\n  ProxyCommand nc\n  ProxyJump j\nHost i\n  ProxyCommand none\n  ProxyJump j\n';
    const gm = sshG(text, 'm');
    expect(gm.get('proxycommand')).toEqual(['nc']);
    expect(gm.has('proxyjump')).toBe(false);
    const gi = sshG(text, 'i');
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
    expect(sshG(text, 'h').get('user')).toEqual(['bang']);
    expect(SSHConfig.fromText(text).lookupSync('h', LOCAL).user).toBe('bang');
  });
});
