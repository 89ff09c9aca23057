/**
 * stderr merged into stdout (Paramiko's `set_combine_stderr`, AsyncSSH's
 * `stderr=STDOUT`) against sshd: arrival order kept, stderr left empty,
 * stderr already buffered moved over, and flow control intact with more
 * than a window of stderr.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoAddPolicy, connect, SSHClient, type SSHClientConnection } from '../../ts/client.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';

let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
let key: string;
let conn: SSHClientConnection;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-combine-');
  key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
  sshd = await startSshdTrusting(key);
  conn = await connect(rootLogin(sshd, key));
}, 60_000);

afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  tmp?.cleanup();
});

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

// Pauses make the arrival order certain: the two streams are separate pipes at the server.
const INTERLEAVED = 'printf a; sleep 0.2; printf b >&2; sleep 0.2; printf c; sleep 0.2; printf d >&2';

describe('combineStderr', () => {
  it('run(): stdout holds both streams in arrival order and stderr is empty; without it they stay apart', async () => {
    const merged = await conn.run(INTERLEAVED, { combineStderr: true, timeout: 20_000 });
    expect(merged.stdout).toBe('abcd');
    expect(merged.stderr).toBe('');
    const apart = await conn.run(INTERLEAVED, { timeout: 20_000 });
    expect(apart.stdout).toBe('ac');
    expect(apart.stderr).toBe('bd');
  });

  it('setCombineStderr(true) moves stderr that is buffered but unread to stdout, and returns the old setting', async () => {
    const proc = await conn.exec('printf early >&2; sleep 0.5; printf late');
    const ch = proc.channel;
    for (let i = 0; i < 200 && ch.stderr.readableLength === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ch.stderr.readableLength).toBe(5);
    expect(ch.setCombineStderr(true)).toBe(false);
    expect(ch.stderr.readableLength).toBe(0);
    const [out, err] = await Promise.all([drain(proc.stdout), drain(proc.stderr)]);
    expect(out.toString()).toBe('earlylate');
    expect(err.length).toBe(0);
    expect(ch.setCombineStderr(false)).toBe(true);
    expect((await proc.exit).exitStatus).toBe(0);
  });

  it('6 MiB on stderr (three windows) arrives whole on stdout, byte-exact', async () => {
    // All on stderr (one pipe at the server), so the order is certain.
    const proc = await conn.exec('{ head -c 6291456 /dev/zero | tr "\\0" x; printf end; } >&2', { combineStderr: true });
    const [out, err] = await Promise.all([drain(proc.stdout), drain(proc.stderr)]);
    expect(out.length).toBe(6 * 1024 * 1024 + 3);
    const expected = createHash('sha256').update(Buffer.alloc(6 * 1024 * 1024, 'x')).update('end').digest('hex');
    expect(createHash('sha256').update(out).digest('hex')).toBe(expected);
    expect(err.length).toBe(0);
  });

  it('SSHClient.execCommand({ combineStderr }) gives one stream, as Paramiko after set_combine_stderr', async () => {
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    try {
      await client.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
      const { stdout, stderr } = await client.execCommand(INTERLEAVED, { combineStderr: true });
      expect((await drain(stdout)).toString()).toBe('abcd');
      expect((await drain(stderr)).length).toBe(0);
      expect(await stdout.channel.recvExitStatus()).toBe(0);
    } finally {
      client.close();
    }
  });
});
