/**
 * Client behaviour the other client tests leave open (found by mutation
 * testing), against our own server on 127.0.0.1: a @revoked system
 * known_hosts line beats the program's own trust, StrictHostKeyChecking yes
 * refuses, SSHClient's execCommand timeout, password as key passphrase,
 * one connection per SSHClient, mapHosts' error typing / closing /
 * per-target overrides, forwardLocal's loopback default, and typed errors
 * from a host key policy that throws something that is not an Error.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, mapHosts, MissingHostKeyPolicy, SSHClient, type ConnectOptions, type SSHClientConnection } from '../../ts/client.js';
import { BadHostKeyException, SSHException, TimeoutError } from '../../ts/errors.js';
import type { SSHServerProcess } from '../../ts/index.js';
import { makeFixture, startServer, testHostKey, type Fixture, type Running } from '../server/helpers.js';

let fx: Fixture;
let r: Running;
/** Which processFactory behaviour the next command gets. */
const hang = new Set<string>(['hang']);
let encKey: string;

beforeAll(async () => {
  fx = makeFixture('sshwire-client-gaps-');
  encKey = join(fx.dir, 'id_enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame', '-C', 'enc', '-f', encKey]);
  r = await startServer(fx, {
    authorizedClientKeys: [readFileSync(`${fx.key}.pub`, 'utf8').trim(), readFileSync(`${encKey}.pub`, 'utf8').trim()],
    processFactory: (p: SSHServerProcess) => {
      if (hang.has(p.command ?? '')) return; // never exits
      p.stdout.write(`ran ${p.command}`);
      p.exit(0);
    },
    server: { checkChannelDirectTcpipRequest: () => 0 },
  });
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

const knownName = (): string => `[127.0.0.1]:${r.port}`;
const hostLine = (): string => `${testHostKey().keyType} ${Buffer.from(testHostKey().publicKeyBlob).toString('base64')}`;

function opts(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port: r.port, username: 'tester', privateKey: fx.key, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, readyTimeout: 10_000, ...extra };
}

function paramikoOpts(extra: Record<string, unknown> = {}) {
  return { port: r.port, username: 'tester', keyFilename: fx.key, allowAgent: false, lookForKeys: false, readyTimeout: 10_000, ...extra };
}

/** Resolves with `p`'s outcome, or 'timed out' after `ms` (a bound, not a timing assertion). */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T | 'timed out'> {
  return Promise.race([p, new Promise<'timed out'>((res) => setTimeout(() => res('timed out'), ms).unref())]);
}

describe('host keys', () => {
  it('SSHClient: a key marked @revoked in the system known_hosts is refused though the program trusts it', async () => {
    const sys = join(fx.dir, 'system_known_hosts');
    writeFileSync(sys, `@revoked ${knownName()} ${hostLine()}\n`);
    const c = new SSHClient();
    c.loadSystemHostKeys(sys);
    c.getHostKeys().add(knownName(), testHostKey().keyType, testHostKey().publicKey);
    await expect(c.connect('127.0.0.1', paramikoOpts())).rejects.toBeInstanceOf(BadHostKeyException);
    expect(c.getTransport()).toBeNull();
  });

  it('ssh_config StrictHostKeyChecking yes refuses an unknown host and records nothing', async () => {
    const cfg = join(fx.dir, 'ssh_config_strict');
    const kh = join(fx.dir, 'kh-strict-yes');
    writeFileSync(cfg, ['Host strict-yes', '  HostName 127.0.0.1', `  Port ${r.port}`, '  StrictHostKeyChecking yes', `  UserKnownHostsFile ${kh}`].join('\n') + '\n');
    const err = await connect({ host: 'strict-yes', config: cfg, username: 'tester', privateKey: fx.key, agent: false, lookForKeys: false, readyTimeout: 10_000 }).then(
      (c) => {
        c.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SSHException);
    expect((err as SSHException).code).toBe('ERR_SSH_UNKNOWN_HOST_KEY');
  });

  it('a host key policy that throws a non-Error: connect rejects with a typed SSHException', async () => {
    class Thrower extends MissingHostKeyPolicy {
      override missingHostKey(): void {
        throw 'nope'; // eslint-disable-line no-throw-literal
      }
    }
    const err = await connect(opts({ knownHosts: join(fx.dir, 'kh-empty'), hostKeyPolicy: new Thrower() })).then(
      (c) => {
        c.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SSHException);
  });
});

describe('readyTimeout', () => {
  it('a server that never answers the password: connect rejects with TimeoutError, not the interrupted step', async () => {
    const slow = await startServer(fx, { server: { checkAuthPassword: () => new Promise(() => {}) } });
    try {
      const err = await within(
        connect(opts({ port: slow.port, knownHosts: slow.knownHosts, privateKey: undefined, clientKeys: null, password: 'x', readyTimeout: 400 })).then(
          (c) => {
            c.close();
            return null;
          },
          (e: unknown) => e,
        ),
      );
      expect(err).toBeInstanceOf(TimeoutError);
    } finally {
      await slow.server.close();
    }
  });
});

describe('SSHClient', () => {
  it('execCommand({ timeout }) ends a command that does not finish with TimeoutError', async () => {
    const c = new SSHClient();
    c.loadHostKeys(r.knownHosts);
    await c.connect('127.0.0.1', paramikoOpts());
    try {
      const { stdout } = await c.execCommand('hang', { timeout: 300 });
      const outcome = await within(
        new Promise<unknown>((resolve) => {
          stdout.channel.once('error', (e) => resolve(e));
          stdout.channel.once('close', () => resolve('closed'));
          stdout.resume();
        }),
      );
      expect(outcome).toBeInstanceOf(TimeoutError);
    } finally {
      c.close();
    }
  });

  it('the password unlocks an encrypted key when no passphrase is given (as Paramiko)', async () => {
    const c = new SSHClient();
    c.loadHostKeys(r.knownHosts);
    await c.connect('127.0.0.1', paramikoOpts({ keyFilename: encKey, password: 'sesame' }));
    expect(c.getTransport()?.isAuthenticated()).toBe(true);
    c.close();
  });

  it('connect() while connected rejects with ERR_SSH_BAD_OPTION and keeps the connection', async () => {
    const c = new SSHClient();
    c.loadHostKeys(r.knownHosts);
    await c.connect('127.0.0.1', paramikoOpts());
    try {
      const first = c.getConnection();
      await expect(c.connect('127.0.0.1', paramikoOpts())).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect(c.getConnection()).toBe(first);
    } finally {
      c.close();
    }
  });
});

describe('mapHosts', () => {
  it('a job that throws a non-Error gets a typed SSHException; every connection is closed; target options override the shared ones', async () => {
    const conns: SSHClientConnection[] = [];
    const results = await mapHosts(
      [{ host: '127.0.0.1', port: r.port }, `tester@127.0.0.1:${r.port}`],
      async (conn, target) => {
        conns.push(conn);
        if (typeof target === 'string') throw 'job failed'; // eslint-disable-line no-throw-literal
        return conn.username;
      },
      // The shared port is wrong: the targets' own ports must win.
      { connect: { ...opts(), port: 1, username: 'shared-user' }, concurrency: 2 },
    );
    expect(results[0]!.ok).toBe(true);
    expect(results[0]!.value).toBe('shared-user');
    expect(results[1]!.ok).toBe(false);
    expect(results[1]!.error).toBeInstanceOf(SSHException);
    expect(results[1]!.error!.message).toContain('job failed');
    expect(conns).toHaveLength(2);
    expect(conns.every((c) => c.isClosed)).toBe(true);
  });
});

describe('forwardLocal', () => {
  it('listens on 127.0.0.1 by default', async () => {
    const conn = await connect(opts());
    try {
      const l = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: r.port });
      expect(l.localHost).toBe('127.0.0.1');
      await l.close();
    } finally {
      conn.close();
    }
  });
});
