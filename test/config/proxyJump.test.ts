import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigParseError } from '../../ts/errors.js';
import { parseProxyJump, SSHConfigDict } from '../../ts/config/index.js';
import { expandGlob } from '../../ts/config/glob.js';

describe('parseProxyJump', () => {
  it('parses hops with optional user and port', () => {
    expect(parseProxyJump('j1@h1:23,h2')).toEqual([{ user: 'j1', host: 'h1', port: 23 }, { host: 'h2' }]);
    expect(parseProxyJump('gw')).toEqual([{ host: 'gw' }]);
    expect(parseProxyJump('a@b@host:2200')).toEqual([{ user: 'a@b', host: 'host', port: 2200 }]);
  });

  it('parses ssh:// URIs and bracketed IPv6', () => {
    expect(parseProxyJump('ssh://us%40er@jump.example:2022')).toEqual([{ user: 'us@er', host: 'jump.example', port: 2022 }]);
    expect(parseProxyJump('[2001:db8::1]:2222,u@[::1]')).toEqual([
      { host: '2001:db8::1', port: 2222 },
      { user: 'u', host: '::1' },
    ]);
    expect(parseProxyJump('fe80::1')).toEqual([{ host: 'fe80::1' }]);
  });

  it('none means no hops', () => {
    expect(parseProxyJump('none')).toEqual([]);
    expect(parseProxyJump('NONE')).toEqual([]);
  });

  it('rejects malformed hops', () => {
    for (const bad of ['', 'a,,b', 'host:0', 'host:70000', 'host:x', '@host', 'u@', '[::1', '[::1]x', 'ssh://h/path']) {
      expect(() => parseProxyJump(bad), bad).toThrow(ConfigParseError);
    }
  });
});

describe('SSHConfigDict', () => {
  it('normalizes keys and shapes values', () => {
    const d = new SSHConfigDict();
    d.set('Port', '2222');
    d.set('IdentityFile', ['/a', '/b'], true);
    d.set('UserKnownHostsFile', ['/k1', '/k 2']);
    expect(d.get('PORT')).toBe('2222');
    expect(d.port).toBe(2222);
    expect(d.get('identityfile')).toBe('/a');
    expect(d.getAll('identityfile')).toEqual(['/a', '/b']);
    expect(d.get('userknownhostsfile')).toBe('/k1 /k 2');
    expect(d.getAll('userknownhostsfile')).toEqual(['/k1', '/k 2']);
    expect(d.getAll('missing')).toEqual([]);
    expect(d.toObject()).toEqual({ port: '2222', identityfile: ['/a', '/b'], userknownhostsfile: '/k1 /k 2' });
    expect(d.size).toBe(3);
    expect(d.delete('port')).toBe(true);
    expect(d.port).toBe(22);
  });

  it('getAll returns a copy', () => {
    const d = new SSHConfigDict().set('identityfile', ['/a'], true);
    d.getAll('identityfile').push('/evil');
    expect(d.identityFiles).toEqual(['/a']);
  });
});

describe('Include glob', () => {
  it('matches *, ? and classes within one segment, skipping dot files, sorted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sshcfg-glob-'));
    try {
      for (const n of ['b.conf', 'a.conf', 'c1.conf', 'c2.conf', '.h.conf', 'x.txt']) writeFileSync(join(dir, n), '');
      mkdirSync(join(dir, 'sub1'));
      mkdirSync(join(dir, 'sub2'));
      writeFileSync(join(dir, 'sub1', 'z.conf'), '');
      writeFileSync(join(dir, 'sub2', 'y.conf'), '');
      expect(expandGlob(join(dir, '*.conf'))).toEqual(['a.conf', 'b.conf', 'c1.conf', 'c2.conf'].map((n) => join(dir, n)));
      expect(expandGlob(join(dir, 'c?.conf'))).toEqual(['c1.conf', 'c2.conf'].map((n) => join(dir, n)));
      expect(expandGlob(join(dir, '[ab].conf'))).toEqual(['a.conf', 'b.conf'].map((n) => join(dir, n)));
      expect(expandGlob(join(dir, '[!ab]*.conf'))).toEqual(['c1.conf', 'c2.conf'].map((n) => join(dir, n)));
      expect(expandGlob(join(dir, '.*.conf'))).toEqual([join(dir, '.h.conf')]);
      expect(expandGlob(join(dir, 'sub*', '*.conf'))).toEqual([join(dir, 'sub1', 'z.conf'), join(dir, 'sub2', 'y.conf')]);
      expect(expandGlob(join(dir, 'a.conf'))).toEqual([join(dir, 'a.conf')]);
      expect(expandGlob(join(dir, 'nope.conf'))).toEqual([]);
      expect(expandGlob(join(dir, 'nodir', '*.conf'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
