/**
 * The connection layer against OpenSSH's sshd: exec with stdout/stderr and
 * exit status or signal, a pty, 100 MiB through a remote `cat` in both directions,
 * 200 sessions at once on one connection, a pty, a paused reader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SSHClientConnection } from '../../ts/client.js';
import { execProcess, runCommand, type Connection } from '../../ts/connection/index.js';
import { makeKey } from '../auth/system.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { sha256Of, writeRandom } from './helpers.js';

const MiB = 1024 * 1024;
let dir: string;
let sshd: Sshd;
let client: SSHClientConnection;
let conn: Connection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sshwire-conn-'));
  const key = makeKey(dir, 'id_ed25519', 'ed25519');
  sshd = await startSshdTrusting(key, { config: ['MaxSessions 256'] });
  client = await connect(rootLogin(sshd, key, { readyTimeout: 20_000 }));
  conn = client.connection;
}, 60_000);

afterAll(async () => {
  client?.close();
  await client?.closed;
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('against OpenSSH sshd', () => {
  it('exec: stdout and stderr apart, exit status', async () => {
    const r = await runCommand(conn, 'echo out; echo err >&2; exit 3');
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitStatus: 3, returncode: 3 });
  });

  it('exec: exit by signal', async () => {
    const r = await runCommand(conn, 'kill -TERM $$');
    expect(r.exitStatus).toBeNull();
    expect(r.exitSignal?.name).toBe('TERM');
    expect(r.returncode).toBe(-15);
  });

  it('a pty of the requested size, and a window-change', async () => {
    // (sshd run by the test helper refuses `signal` requests: it needs privilege separation.)
    const proc = await execProcess(conn, 'tty; stty size; read x; stty size', { pty: { cols: 100, rows: 40 } });
    let out = '';
    let resized = false;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('40 100') && !resized) {
        resized = true;
        proc.resize(120, 50);
        proc.stdin.write('go\n');
      }
    });
    const exit = await proc.exit;
    expect(out).toMatch(/^\/dev\/pts\//);
    expect(out).toContain('40 100');
    expect(out).toContain('50 120');
    expect(exit.exitStatus).toBe(0);
  });

  it('100 MiB through cat, both directions at once, byte-exact', async () => {
    const proc = await execProcess(conn, 'cat');
    const [sent, got] = await Promise.all([writeRandom(proc.channel, 100 * MiB), sha256Of(proc.stdout)]);
    expect(got).toBe(sent);
    expect(await proc.channel.recvExitStatus()).toBe(0);
  });

  it('200 concurrent sessions on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => runCommand(conn, `echo ${i}; echo e${i} >&2`)));
    results.forEach((r, i) => {
      expect(r.stdout).toBe(`${i}\n`);
      expect(r.stderr).toBe(`e${i}\n`);
      expect(r.exitStatus).toBe(0);
    });
    expect(conn.channelCount).toBe(0);
  });

  it('a paused reader stops sshd at our window; reading resumes it', async () => {
    const proc = await execProcess(conn, 'head -c 20000000 /dev/zero');
    await new Promise((r) => setTimeout(r, 300));
    expect(proc.channel.bufferedBytes).toBeLessThanOrEqual(conn.window);
    expect(proc.channel.localWindow).toBe(conn.window - proc.channel.bufferedBytes);
    let n = 0;
    for await (const c of proc.stdout) n += (c as Buffer).length;
    expect(n).toBe(20_000_000);
    expect((await proc.exit).exitStatus).toBe(0);
  });
});
