/**
 * The `sshwire` command: `serve` prints working OpenSSH instructions
 * (key, one-time password, pinned host key), and `exec` / `put` / `get`
 * work against it while honouring an ssh_config file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTarget, isRemote } from '../../ts/cli/target.js';
import { connect } from '../../ts/index.js';
import { run } from '../server/helpers.js';

const BIN = join(process.cwd(), 'bin/sshwire.mjs');
let dir: string;
let serveProc: ChildProcess;
let banner = '';
let port = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sshwire-cli-'));
  mkdirSync(join(dir, 'root'));
  serveProc = spawn(process.execPath, [BIN, 'serve', '--root', join(dir, 'root'), '--state-dir', join(dir, 'state'), '--user', 'tester'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not start: ${banner}`)), 30_000);
    serveProc.stdout!.on('data', (d: Buffer) => {
      banner += String(d);
      if (banner.includes('Ctrl-C')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(banner)![1]);
  writeFileSync(join(dir, 'ssh_config'), `Host *\n  UserKnownHostsFile ${join(dir, 'state/known_hosts')}\n  IdentityFile ${join(dir, 'state/client_ed25519')}\n  User tester\n  Port ${port}\n`);
});

afterAll(async () => {
  if (serveProc && serveProc.exitCode === null) {
    serveProc.kill('SIGTERM');
    await new Promise((r) => serveProc.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('target parsing', () => {
  it('reads [user@]host[:path] like scp', () => {
    expect(parseTarget('alice@example.com:/tmp/x', true)).toEqual({ user: 'alice', host: 'example.com', path: '/tmp/x' });
    expect(parseTarget('example.com:', true)).toEqual({ user: undefined, host: 'example.com', path: '.' });
    expect(parseTarget('bob@[::1]:file', true)).toEqual({ user: 'bob', host: '::1', path: 'file' });
    expect(parseTarget('bob@host', false)).toEqual({ user: 'bob', host: 'host', path: undefined });
    expect(() => parseTarget('host', true)).toThrow(/host:path/);
    expect(isRemote('host:file')).toBe(true);
    expect(isRemote('./host:file')).toBe(false);
  });
});

describe('sshwire serve', () => {
  it('prints the host key fingerprint, a one-time password and ssh/sftp commands that work', async () => {
    expect(banner).toMatch(/host key: ssh-ed25519 SHA256:\S+/);
    const password = /one-time password (\S+)/.exec(banner)![1]!;
    const sshLine = /^\s+(ssh -p .* -i \S+ \S+)$/m.exec(banner)![1]!;
    const args = sshLine.split(/\s+/).slice(1);
    const res = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', ...args, 'echo served-by-sshwire; exit 3']);
    expect(res.stdout).toBe('served-by-sshwire\n');
    expect(res.code).toBe(3);
    // The one-time password works too.
    const conn = await connect({ host: '127.0.0.1', port, username: 'tester', password, clientKeys: null, agent: false, knownHosts: join(dir, 'state/known_hosts'), config: false });
    expect((await conn.run('echo pw')).stdout).toBe('pw\n');
    conn.close();
  });
});

describe('sshwire exec / put / get', () => {
  it('runs a command with the exit status, honouring ssh_config', async () => {
    const res = await run(process.execPath, [BIN, 'exec', '-F', join(dir, 'ssh_config'), '127.0.0.1', 'echo', 'hi;', 'exit', '4']);
    expect(res.stdout).toBe('hi\n');
    expect(res.code).toBe(4);
  });

  it('run: one command on several hosts, a block per host, exit 0 only when all succeeded', async () => {
    const cfg = join(dir, 'ssh_config');
    const ok = await run(process.execPath, [BIN, 'run', '-F', cfg, '-c', '2', '127.0.0.1,tester@127.0.0.1,127.0.0.1', 'echo', 'from-$((40+2))']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.match(/^== (tester@)?127\.0\.0\.1 \(exit 0\)\nfrom-42\n/gm)).toHaveLength(3);
    const bad = await run(process.execPath, [BIN, 'run', '-F', cfg, '127.0.0.1', 'echo', 'oops', '>&2;', 'exit', '3']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('== 127.0.0.1 (exit 3)\n-- stderr\noops\n');
    const badOpt = await run(process.execPath, [BIN, 'run', '-F', cfg, '-c', '0', '127.0.0.1', 'true']);
    expect(badOpt.code).toBe(1);
    expect(badOpt.stderr).toMatch(/concurrency/);
  });

  it('uploads and downloads a file byte-exact', async () => {
    const data = Buffer.allocUnsafe(2 * 1024 * 1024 + 5);
    randomFillSync(data);
    writeFileSync(join(dir, 'up.bin'), data);
    const up = await run(process.execPath, [BIN, 'put', '-q', '-F', join(dir, 'ssh_config'), join(dir, 'up.bin'), '127.0.0.1:/remote.bin']);
    expect(up.code, up.stderr).toBe(0);
    expect(readFileSync(join(dir, 'root/remote.bin')).equals(data)).toBe(true);
    const down = await run(process.execPath, [BIN, 'get', '-q', '-F', join(dir, 'ssh_config'), '127.0.0.1:/remote.bin', join(dir, 'down.bin')]);
    expect(down.code, down.stderr).toBe(0);
    expect(readFileSync(join(dir, 'down.bin')).equals(data)).toBe(true);
  });

  it('refuses an unknown host key', async () => {
    writeFileSync(join(dir, 'empty_kh'), '');
    writeFileSync(join(dir, 'cfg2'), `Host *\n  UserKnownHostsFile ${join(dir, 'empty_kh')}\n  IdentityFile ${join(dir, 'state/client_ed25519')}\n  User tester\n  Port ${port}\n`);
    const res = await run(process.execPath, [BIN, 'exec', '-F', join(dir, 'cfg2'), '127.0.0.1', 'true']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not found in known_hosts|host key/i);
  });
});
