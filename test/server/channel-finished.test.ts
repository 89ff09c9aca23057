/**
 * The server learns that a session's channel is finished (CLOSE both ways,
 * or the connection gone) whether or not the session ever read its stdin:
 * SSHServerProcess emits 'close', and a command run by spawnCommands gets
 * SIGHUP.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, connect, PrivateKey, type ConnectOptions, type SSHServerProcess } from '../../ts/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';
import { within } from '../helpers/within.js';

let fx: Fixture;
const clientKey = PrivateKey.generate('ed25519');

beforeAll(() => {
  fx = makeFixture('sshwire-server-finished-');
});
afterAll(() => fx?.cleanup());

const policy = {
  checkAuthPublickey: (_u: string, k: { blob: Uint8Array }) => (Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED),
};

/** Connects over a socket of our own, which the test may destroy to drop the connection abruptly. */
async function connectWithSocket(r: Running): Promise<{ conn: Awaited<ReturnType<typeof connect>>; sock: net.Socket }> {
  const sock = net.connect(r.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const opts: ConnectOptions = { host: '127.0.0.1', port: r.port, username: 'tester', knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, privateKey: clientKey, sock };
  const conn = await connect(opts);
  return { conn, sock };
}

/** Resolves when `cond` holds, polling; rejects with `what` after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a finished channel is seen by the session', () => {
  it("SSHServerProcess emits 'close' when the client closes the channel or drops the connection, though stdin was never read", async () => {
    const started: { proc: SSHServerProcess; closed: Promise<void> }[] = [];
    const r = await startServer(fx, {
      server: policy,
      // Never reads stdin, never exits on its own.
      processFactory: (proc) => {
        const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
        started.push({ proc, closed });
      },
    });
    try {
      const { conn, sock } = await connectWithSocket(r);
      // 1. The client closes the channel, with stdin data the handler never read still buffered.
      const p1 = await conn.exec('first');
      p1.stdin.write('data nobody reads\n');
      await waitFor(() => started.length === 1, 5_000, 'the first process');
      await new Promise((res) => setTimeout(res, 50));
      p1.close();
      await within(started[0]!.closed, 5_000, "'close' after the client's CLOSE");
      expect(started[0]!.proc.channel.isClosed).toBe(true);
      await within(p1.exit, 5_000, 'the client side of the channel to close');

      // 2. The connection is dropped without a word.
      const p2 = await conn.exec('second');
      p2.stdin.write('more data nobody reads\n');
      await waitFor(() => started.length === 2, 5_000, 'the second process');
      await new Promise((res) => setTimeout(res, 50));
      sock.destroy();
      await within(started[1]!.closed, 5_000, "'close' after the connection was dropped");
      expect(started[1]!.proc.channel.isClosed).toBe(true);
      await conn.closed;
    } finally {
      await r.server.close();
    }
  });

  it('spawnCommands: a command whose client drops the connection gets SIGHUP and is gone within seconds', async () => {
    const pidFile = join(fx.dir, 'hup.pid');
    const marker = join(fx.dir, 'hup.marker');
    const r = await startServer(fx, { server: policy, spawnCommands: { cwd: fx.dir } });
    let pid = 0;
    try {
      const { conn, sock } = await connectWithSocket(r);
      // Never reads its stdin; writes the marker when hung up.
      const proc = await conn.exec(`trap 'echo hup > ${marker}; exit 0' HUP; echo $$ > ${pidFile}; while :; do sleep 0.1; done`);
      proc.stdin.write('unread input\n');
      await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the command to start');
      pid = Number(readFileSync(pidFile, 'utf8').trim());
      expect(alive(pid)).toBe(true);
      sock.destroy();
      await conn.closed;
      await waitFor(() => existsSync(marker), 5_000, 'the command to be hung up (its HUP trap)');
      await waitFor(() => !alive(pid), 5_000, 'the command to exit');
      expect(readFileSync(marker, 'utf8').trim()).toBe('hup');
    } finally {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await r.server.close();
    }
  });

  it('spawnCommands: the hang-up and signal requests reach the whole process group, not the shell alone', async () => {
    const r = await startServer(fx, { server: policy, spawnCommands: { cwd: fx.dir } });
    const pids: number[] = [];
    try {
      const { conn, sock } = await connectWithSocket(r);
      // A background child of the shell: same process group, not the shell itself.
      const start = async (name: string): Promise<{ pid: number; proc: Awaited<ReturnType<typeof conn.exec>> }> => {
        const pidFile = join(fx.dir, `${name}.pid`);
        const proc = await conn.exec(`sleep 300 & echo $! > ${pidFile}; wait`);
        await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the command to start');
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        pids.push(pid);
        expect(alive(pid)).toBe(true);
        return { pid, proc };
      };
      const hungUp = await start('grandchild-hup');
      const signalled = await start('grandchild-term');
      signalled.proc.signal('TERM');
      await waitFor(() => !alive(signalled.pid), 5_000, 'the signal request to reach the background sleep');
      expect(alive(hungUp.pid)).toBe(true);
      sock.destroy();
      await conn.closed;
      await waitFor(() => !alive(hungUp.pid), 5_000, 'the hang-up to reach the background sleep');
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await r.server.close();
    }
  });

  it('spawnCommands: output held back for a client that stopped reading flows (and is dropped) once the client is gone', async () => {
    const pidFile = join(fx.dir, 'flow.pid');
    const marker = join(fx.dir, 'flow.marker');
    const r = await startServer(fx, { server: policy, spawnCommands: { cwd: fx.dir } });
    let pid = 0;
    try {
      const { conn, sock } = await connectWithSocket(r);
      // Ignores the hangup: only output flowing again lets it finish.
      await conn.exec(`trap '' HUP; echo $$ > ${pidFile}; head -c 50000000 /dev/zero; echo done > ${marker}`);
      await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the command to start');
      pid = Number(readFileSync(pidFile, 'utf8').trim());
      // Nobody reads the output: the window fills and the command blocks.
      await new Promise((res) => setTimeout(res, 500));
      expect(existsSync(marker)).toBe(false);
      sock.destroy();
      await conn.closed;
      await waitFor(() => existsSync(marker), 10_000, 'the command to write all its output');
      await waitFor(() => !alive(pid), 5_000, 'the command to exit');
    } finally {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await r.server.close();
    }
  });
});
