import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConfigSyntaxError, MAX_INCLUDE_DEPTH, SSHConfig, type LookupOptions } from '../../ts/config/index.js';
import { ConfigParseError } from '../../ts/errors.js';

let home: string;
let LOCAL: LookupOptions;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sshcfg-inc-'));
  mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
  LOCAL = { localUser: 'alice', homeDir: home, localHostname: 'ws1', uid: 1000 };
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

const write = (rel: string, text: string): string => {
  const p = join(home, rel);
  writeFileSync(p, text);
  return p;
};

describe('Include', () => {
  it('expands globs in lexical order, relative to ~/.ssh for user configs', () => {
    write('.ssh/conf.d/20-b.conf', 'Host *\n  IdentityFile /from-b\n  User b\n');
    write('.ssh/conf.d/10-a.conf', 'Host *\n  IdentityFile /from-a\n  User a\n');
    write('.ssh/conf.d/.hidden.conf', 'Host *\n  IdentityFile /hidden\n');
    write('.ssh/conf.d/notes.txt', 'Host *\n  IdentityFile /txt\n');
    const main = write('.ssh/config', 'Include conf.d/*.conf\nHost *\n  IdentityFile /main\n');
    const d = SSHConfig.fromPath(main, { homeDir: home }).lookupSync('x', LOCAL);
    expect(d.identityFiles).toEqual(['/from-a', '/from-b', '/main']);
    expect(d.user).toBe('a');
  });

  it('resolves relative paths under ~/.ssh even when the config lives elsewhere, and accepts ~/', () => {
    write('.ssh/extra', 'Port 2001\n');
    mkdirSync(join(home, 'elsewhere'));
    write('elsewhere/tilde.conf', 'User tilde\n');
    const main = write('elsewhere/config', 'Include extra ~/elsewhere/tilde.conf\n');
    const d = SSHConfig.fromPath(main, { homeDir: home }).lookupSync('x', LOCAL);
    expect(d.port).toBe(2001);
    expect(d.user).toBe('tilde');
  });

  it('uses includeDir / system base and refuses ~ in system configs', () => {
    mkdirSync(join(home, 'etc'));
    write('etc/sys.conf', 'Port 2002\n');
    const d = SSHConfig.fromText('Include sys.conf\n', { includeDir: join(home, 'etc') }).lookupSync('x', LOCAL);
    expect(d.port).toBe(2002);
    expect(() => SSHConfig.fromText('Include ~/x\n', { system: true, homeDir: home })).toThrow(/line 1: bad include path/);
  });

  it('skips patterns that match nothing', () => {
    const d = SSHConfig.fromText('Include /nonexistent-dir-xyz/*.conf missing.conf\nPort 3\n', { homeDir: home }).lookupSync('x', LOCAL);
    expect(d.port).toBe(3);
  });

  it('Include inside a Host block only applies when the block matches', () => {
    write('.ssh/web.conf', 'User webuser\nHost db\n  Port 5432\n');
    const cfg = SSHConfig.fromText('Host web*\n  Include web.conf\n  Port 8022\nHost *\n  User default\n', { homeDir: home });
    const web = cfg.lookupSync('web1', LOCAL);
    expect(web.user).toBe('webuser');
    // The included file's own Host line does not end the including block.
    expect(web.port).toBe(8022);
    const db = cfg.lookupSync('db', LOCAL);
    expect(db.user).toBe('default');
    // Files included from an inactive block never match, even their own Host lines (as OpenSSH).
    expect(db.has('port')).toBe(false);
  });

  it('includes files at their position: values before the Include win over it', () => {
    write('.ssh/late.conf', 'User included\nPort 1\n');
    const d = SSHConfig.fromText('User first\nInclude late.conf\n', { homeDir: home }).lookupSync('x', LOCAL);
    expect(d.user).toBe('first');
    expect(d.port).toBe(1);
  });

  it('getHostnames includes Host lines of included files', () => {
    write('.ssh/h.conf', 'Host inc1 inc2\n');
    const cfg = SSHConfig.fromText('Host top\nInclude h.conf\n', { homeDir: home });
    expect([...cfg.getHostnames()].sort()).toEqual(['inc1', 'inc2', 'top']);
  });

  it('reports Include loops with file and line', () => {
    const a = join(home, '.ssh', 'a.conf');
    write('.ssh/a.conf', 'Port 1\nInclude b.conf\n');
    write('.ssh/b.conf', '# b\n\nInclude a.conf\n');
    let err: unknown;
    try {
      SSHConfig.fromPath(a, { homeDir: home });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigSyntaxError);
    expect((err as ConfigSyntaxError).file).toBe(join(home, '.ssh', 'b.conf'));
    expect((err as ConfigSyntaxError).line).toBe(3);
    expect((err as Error).message).toMatch(/Include loop/);
  });

  it('detects a loop through a symlink and a self-include from text', () => {
    write('.ssh/self.conf', 'Include link.conf\n');
    symlinkSync(join(home, '.ssh', 'self.conf'), join(home, '.ssh', 'link.conf'));
    expect(() => SSHConfig.fromPath(join(home, '.ssh', 'self.conf'), { homeDir: home })).toThrow(/Include loop/);
  });

  it('limits nesting depth to 16', () => {
    for (let i = 0; i <= MAX_INCLUDE_DEPTH + 1; i++) write(`.ssh/n${i}.conf`, `Include n${i + 1}.conf\n`);
    write(`.ssh/n${MAX_INCLUDE_DEPTH + 2}.conf`, 'Port 9\n');
    expect(() => SSHConfig.fromText('Include n0.conf\n', { homeDir: home })).toThrow(/too many nested Includes/);
    // Exactly 16 levels is fine.
    for (let i = 0; i < MAX_INCLUDE_DEPTH; i++) write(`.ssh/m${i}.conf`, `Include m${i + 1}.conf\n`);
    write(`.ssh/m${MAX_INCLUDE_DEPTH}.conf`, 'Port 9\n');
    expect(SSHConfig.fromText('Include m1.conf\n', { homeDir: home }).lookupSync('x', LOCAL).port).toBe(9);
  });

  it('reports errors inside included files with that file name and line', () => {
    const bad = write('.ssh/bad.conf', 'Port 1\nMatch nonsense\n');
    let err: unknown;
    try {
      SSHConfig.fromText('Include bad.conf\n', { homeDir: home });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigParseError);
    expect((err as ConfigSyntaxError).file).toBe(bad);
    expect((err as ConfigSyntaxError).line).toBe(2);
  });

  it('fromPath of a missing file is a ConfigParseError', () => {
    expect(() => SSHConfig.fromPath(join(home, 'nope'))).toThrow(ConfigParseError);
  });
});
