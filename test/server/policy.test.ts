/**
 * ServerInterface policies and authorized_keys options, exercised with our
 * own client: denied exec/pty/subsystem, partial authentication chains,
 * command= / from= / no-pty / environment=, processFactory processes,
 * subsystem handlers, secure defaults, maxConnections and maxAuthTries.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  AUTH_PARTIALLY_SUCCESSFUL,
  AUTH_SUCCESSFUL,
  ChannelException,
  connect,
  PrivateKey,
  type ConnectOptions,
  type SSHServerProcess,
} from '../../ts/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
const clientKey = PrivateKey.generate('ed25519');
const otherKey = PrivateKey.generate('ed25519');
const pub = (k: PrivateKey): string => `${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')}`;

beforeAll(() => {
  fx = makeFixture('sshwire-server-policy-');
});
afterAll(() => fx?.cleanup());

function opts(r: Running, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port: r.port, username: 'tester', knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, privateKey: clientKey, ...extra };
}

/** A processFactory that reports what the session looked like. */
const echoProc = (proc: SSHServerProcess): void => {
  proc.stdout.write(JSON.stringify({ command: proc.command, subsystem: proc.subsystem, env: proc.env, pty: proc.pty, user: proc.username }));
  proc.stderr.write('on stderr');
  proc.exit(proc.command === 'fail' ? 9 : 0);
};

describe('server policies', () => {
  it('denies every login by default (no policy, no authorized keys)', async () => {
    const r = await startServer(fx, { processFactory: echoProc });
    try {
      await expect(connect(opts(r, { password: 'x' }))).rejects.toMatchObject({ name: expect.stringMatching(/Authentication|BadAuthenticationType/) });
    } finally {
      await r.server.close();
    }
  });

  it('runs processFactory sessions: command, env, stderr, exit status, exit signal', async () => {
    const r = await startServer(fx, {
      server: { checkAuthPublickey: (_u, k) => (Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED) },
      acceptEnv: ['GOOD_*'],
      processFactory: (proc) => {
        if (proc.command === 'die') return proc.exitWithSignal('TERM');
        echoProc(proc);
      },
    });
    try {
      const conn = await connect(opts(r));
      const res = await conn.run('hello world', { env: { GOOD_ONE: '1', BAD_ONE: '2' } });
      const seen = JSON.parse(String(res.stdout));
      expect(seen).toMatchObject({ command: 'hello world', subsystem: null, env: { GOOD_ONE: '1' }, pty: null, user: 'tester' });
      expect(seen.env.BAD_ONE).toBeUndefined();
      expect(res.stderr).toBe('on stderr');
      expect(res.exitStatus).toBe(0);
      expect((await conn.run('fail')).exitStatus).toBe(9);
      const died = await conn.run('die');
      expect(died.exitSignal?.name).toBe('TERM');
      const withPty = JSON.parse(String((await conn.run('x', { pty: { term: 'vt100', cols: 100, rows: 30 } })).stdout));
      expect(withPty.pty).toMatchObject({ term: 'vt100', cols: 100, rows: 30 });
      conn.close();
    } finally {
      await r.server.close();
    }
  });

  it('answers a session\'s requests in order: a slow env policy still takes effect before the exec that follows it', async () => {
    const r = await startServer(fx, {
      server: {
        checkAuthPublickey: () => AUTH_SUCCESSFUL,
        checkChannelEnvRequest: async (_ch, name) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return name.startsWith('SLOW_');
        },
      },
      processFactory: echoProc,
    });
    try {
      await using conn = await connect(opts(r));
      const seen = JSON.parse(String((await conn.run('x', { env: { SLOW_A: '1', SLOW_B: '2', OTHER: '3' } })).stdout));
      expect(seen.env).toEqual({ SLOW_A: '1', SLOW_B: '2' });
    } finally {
      await r.server.close();
    }
  });

  it('honours denied exec, pty and subsystem requests', async () => {
    const asked: string[] = [];
    const r = await startServer(fx, {
      server: {
        checkAuthPassword: (u, p) => (u === 'tester' && p === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED),
        checkChannelExecRequest: async (_ch, cmd) => {
          asked.push(cmd);
          return cmd !== 'forbidden';
        },
        checkChannelPtyRequest: () => false,
        checkChannelSubsystemRequest: (_ch, name) => name === 'echo',
      },
      processFactory: echoProc,
      subsystems: {
        echo: async (channel) => {
          for await (const chunk of channel) {
            channel.write(chunk);
            break;
          }
        },
      },
    });
    try {
      const conn = await connect(opts(r, { password: 'pw', privateKey: undefined, clientKeys: null }));
      await expect(conn.run('forbidden')).rejects.toBeInstanceOf(ChannelException);
      expect((await conn.run('allowed')).exitStatus).toBe(0);
      expect(asked).toEqual(['forbidden', 'allowed']);
      await expect(conn.run('allowed', { pty: true })).rejects.toBeInstanceOf(ChannelException);
      await expect(conn.exec(null as unknown as string, { subsystem: 'nope' })).rejects.toBeInstanceOf(ChannelException);
      const sub = await conn.exec(null as unknown as string, { subsystem: 'echo' });
      sub.stdin.write('ping');
      let got = '';
      for await (const c of sub.stdout) got += String(c);
      expect(got).toBe('ping');
      conn.close();
    } finally {
      await r.server.close();
    }
  });

  it('supports partial authentication chains (publickey, then password)', async () => {
    const done = new Set<string>();
    const r = await startServer(fx, {
      server: {
        getAllowedAuths: () => (done.has('publickey') ? ['password'] : ['publickey']),
        checkAuthPublickey: (_u, k) => {
          if (!Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob))) return AUTH_FAILED;
          if (k.signed) done.add('publickey');
          return AUTH_PARTIALLY_SUCCESSFUL;
        },
        checkAuthPassword: (_u, p) => (done.has('publickey') && p === 'second' ? AUTH_SUCCESSFUL : AUTH_FAILED),
      },
      processFactory: echoProc,
    });
    try {
      const conn = await connect(opts(r, { password: 'second' }));
      expect(conn.authMethods).toEqual(['publickey', 'password']);
      conn.close();
    } finally {
      await r.server.close();
    }
  });

  it('applies authorized_keys options: command=, environment=, no-pty, from=', async () => {
    const ak = `${fx.dir}/ak-options`;
    writeFileSync(
      ak,
      [
        `command="echo forced:$SSH_ORIGINAL_COMMAND:$FROM_KEY",environment="FROM_KEY=yes",no-pty ${pub(clientKey)}`,
        `from="10.9.8.7" ${pub(otherKey)}`,
      ].join('\n') + '\n',
    );
    const r = await startServer(fx, { authorizedClientKeys: ak, spawnCommands: { cwd: fx.root } });
    try {
      const conn = await connect(opts(r));
      const res = await conn.run('whoami');
      expect(res.stdout).toBe('forced:whoami:yes\n');
      await expect(conn.run('whoami', { pty: true })).rejects.toBeInstanceOf(ChannelException);
      conn.close();
      // The other key is listed only for a client at 10.9.8.7.
      await expect(connect(opts(r, { privateKey: otherKey }))).rejects.toMatchObject({ name: expect.stringMatching(/Authentication/) });
      writeFileSync(ak, `from="127.0.0.1" ${pub(otherKey)}\n`);
      const again = await connect(opts(r, { privateKey: otherKey }));
      expect((await again.run('echo ok')).stdout).toBe('ok\n');
      again.close();
    } finally {
      await r.server.close();
    }
  });

  it('disconnects after maxAuthTries failures and reports it', async () => {
    const r = await startServer(fx, { server: { checkAuthPassword: () => AUTH_FAILED }, maxAuthTries: 1 });
    try {
      await expect(connect(opts(r, { password: 'bad', privateKey: undefined, clientKeys: null }))).rejects.toBeDefined();
      await new Promise((res) => setTimeout(res, 100));
      expect(r.errors.some((e) => (e as { code?: string }).code === 'ERR_SSH_AUTH_TRIES')).toBe(true);
    } finally {
      await r.server.close();
    }
  });

  it('refuses connections beyond maxConnections with DISCONNECT TOO_MANY_CONNECTIONS', async () => {
    const r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, maxConnections: 1, processFactory: echoProc });
    try {
      const first = net.connect(r.port, '127.0.0.1');
      await new Promise((res) => first.once('connect', res));
      await new Promise((res) => setTimeout(res, 50));
      const second = net.connect(r.port, '127.0.0.1');
      const bytes: Buffer[] = [];
      second.on('data', (d: Buffer) => bytes.push(d));
      await new Promise((res) => second.once('close', res));
      const all = Buffer.concat(bytes);
      const lineEnd = all.indexOf('\r\n');
      expect(all.subarray(0, lineEnd).toString()).toMatch(/^SSH-2\.0-/);
      const packet = all.subarray(lineEnd + 2);
      expect(packet[5]).toBe(1); // SSH_MSG_DISCONNECT
      expect(packet.readUInt32BE(6)).toBe(12); // TOO_MANY_CONNECTIONS
      first.destroy();
    } finally {
      await r.server.close();
    }
  });

  it('closes cleanly: close() disconnects clients and resolves', async () => {
    const r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, processFactory: () => {} });
    const conn = await connect(opts(r, { privateKey: readFileSync(fx.key) }));
    expect(r.server.connections).toBe(1);
    await r.server.close();
    expect(await conn.closed).toBeInstanceOf(Error);
    expect(r.server.connections).toBe(0);
  });
});
