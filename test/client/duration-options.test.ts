/**
 * The client's durations follow the shared rule (checkDuration): Infinity,
 * NaN, negatives and values past 2^31-1 ms (which Node's timers would turn
 * into 1 ms) are refused with SSHException ERR_SSH_BAD_OPTION naming the
 * option and the value. connect() / startClient() / SSHClient.connect()
 * refuse them before any TCP connection or ProxyCommand; per-call timeouts
 * reject before a channel is opened or a request sent. 0 and 2^31-1 are
 * accepted.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AgentRequestHandler,
  AUTH_SUCCESSFUL,
  AutoAddPolicy,
  connect,
  listen,
  OPEN_SUCCEEDED,
  SFTPError,
  SSHClient,
  SSHException,
  startClient,
  type ConnectOptions,
  type SSHClientConnectOptions,
  type SSHServer,
} from '../../ts/index.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { makeTempDir } from '../keys/helpers.js';
import { BAD_DURATIONS, MAX_MS, expectDurationRefusal } from '../helpers/durations.js';
import { useCountingServer } from '../helpers/countingServer.js';

function expectRefusal(e: unknown, name: string, v: number): void {
  expectDurationRefusal(e, name, v);
}

describe('connect-time durations are refused before any connection is attempted', () => {
  const counting = useCountingServer();
  let tmp: { dir: string; cleanup: () => void };

  beforeAll(() => {
    tmp = makeTempDir('sshwire-durations-');
  });
  afterAll(() => tmp.cleanup());

  const base = (): ConnectOptions => ({ host: '127.0.0.1', port: counting.port, username: 'u', knownHosts: null, config: false, agent: false, clientKeys: null });

  /** connect()'s time options: [name, bad values, largest accepted]. rekeySeconds is in seconds. */
  const CONNECT: [keyof ConnectOptions, [string, number][], number][] = [
    ['readyTimeout', BAD_DURATIONS, MAX_MS],
    ['authTimeout', BAD_DURATIONS, MAX_MS],
    ['bannerTimeout', BAD_DURATIONS, MAX_MS],
    ['keepaliveInterval', BAD_DURATIONS, MAX_MS],
    ['rekeySeconds', [...BAD_DURATIONS, ['1e7', 1e7], ['2147484', 2147484]], 2147483],
  ];

  for (const [name, bad, max] of CONNECT) {
    for (const [what, v] of bad) {
      it(`connect(): ${name} ${what} rejects with ERR_SSH_BAD_OPTION and no connection is made`, async () => {
        let p: Promise<unknown> | undefined;
        expect(() => (p = connect({ ...base(), [name]: v }))).not.toThrow();
        expectRefusal(await p!.catch((e: unknown) => e), name, v);
        expect(counting.accepted).toBe(0);
      });
    }
    it(`connect(): ${name} 0 and ${max} pass the check (the connection is attempted)`, async () => {
      for (const v of [0, max]) {
        // readyTimeout 0 is no limit; the server drops the socket, so another error ends it.
        const e = await connect({ ...base(), readyTimeout: 5000, [name]: v }).catch((err: unknown) => err);
        expect(e, `${name} ${v}`).toBeInstanceOf(Error);
        expect((e as SSHException).code, `${name} ${v}`).not.toBe('ERR_SSH_BAD_OPTION');
      }
      expect(counting.accepted).toBe(2);
    });
  }

  it('startClient(): readyTimeout Infinity / authTimeout 2^31 reject before connecting', async () => {
    expectRefusal(await startClient({ ...base(), readyTimeout: Number.POSITIVE_INFINITY }).catch((e: unknown) => e), 'readyTimeout', Number.POSITIVE_INFINITY);
    expectRefusal(await startClient({ ...base(), authTimeout: 2 ** 31 }).catch((e: unknown) => e), 'authTimeout', 2 ** 31);
    expect(counting.accepted).toBe(0);
  });

  it("connect(): the config's ProxyCommand is not started for a bad duration", async () => {
    const marker = join(tmp.dir, 'proxy-ran');
    const cfg = join(tmp.dir, 'config');
    writeFileSync(cfg, `Host proxied\n  ProxyCommand touch ${marker}\n`);
    for (const [name, v] of [['readyTimeout', Number.POSITIVE_INFINITY], ['authTimeout', -1], ['rekeySeconds', 1e7]] as const) {
      const e = await connect({ ...base(), host: 'proxied', config: cfg, [name]: v }).catch((err: unknown) => err);
      expectRefusal(e, name, v);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(marker)).toBe(false);
    expect(counting.accepted).toBe(0);
  });

  it("connect(): the config's Match exec does not run for a bad readyTimeout or authTimeout", async () => {
    const marker = join(tmp.dir, 'match-ran');
    const cfg = join(tmp.dir, 'config-match');
    writeFileSync(cfg, `Match exec "touch ${marker}"\n  Port 1\n`);
    for (const [name, v] of [['readyTimeout', Number.NaN], ['authTimeout', 2 ** 31]] as const) {
      expectRefusal(await connect({ ...base(), config: cfg, [name]: v }).catch((err: unknown) => err), name, v);
    }
    expect(existsSync(marker)).toBe(false);
    // The same config with good values runs it (so the check above can fail).
    await connect({ ...base(), config: cfg, readyTimeout: 2000 }).catch(() => {});
    expect(existsSync(marker)).toBe(true);
  });

  it('connect(): a message says 0 means no limit where it does', async () => {
    const e = (await connect({ ...base(), readyTimeout: Number.POSITIVE_INFINITY }).catch((err: unknown) => err)) as Error;
    expect(e.message).toBe('readyTimeout must be a number of milliseconds from 0 to 2147483647 (0 means no limit), got Infinity');
  });

  /** SSHClient.connect's time options. */
  const CLIENT: (keyof SSHClientConnectOptions)[] = ['timeout', 'readyTimeout', 'authTimeout', 'channelTimeout', 'bannerTimeout', 'keepaliveInterval'];
  const clientConnect = (extra: SSHClientConnectOptions): Promise<void> => {
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    return client.connect('127.0.0.1', { port: counting.port, username: 'u', allowAgent: false, lookForKeys: false, ...extra });
  };

  for (const name of CLIENT) {
    for (const [what, v] of BAD_DURATIONS) {
      it(`SSHClient.connect: ${name} ${what} rejects with ERR_SSH_BAD_OPTION naming it, no connection made`, async () => {
        let p: Promise<unknown> | undefined;
        expect(() => (p = clientConnect({ [name]: v }))).not.toThrow();
        expectRefusal(await p!.catch((e: unknown) => e), name, v);
        expect(counting.accepted).toBe(0);
      });
    }
    it(`SSHClient.connect: ${name} 0 and 2^31-1 pass the check (the connection is attempted)`, async () => {
      for (const v of [0, MAX_MS]) {
        const e = await clientConnect({ readyTimeout: 5000, [name]: v }).catch((err: unknown) => err);
        expect(e, `${name} ${v}`).toBeInstanceOf(Error);
        expect((e as SSHException).code, `${name} ${v}`).not.toBe('ERR_SSH_BAD_OPTION');
      }
      expect(counting.accepted).toBe(2);
    });
  }
});

describe('per-call durations on a connection', () => {
  let server: SSHServer;
  const seen = { opens: 0, globals: 0 };

  beforeAll(async () => {
    server = await listen({
      hostKeys: ['ed25519'],
      server: {
        checkAuthNone: () => AUTH_SUCCESSFUL,
        checkChannelRequest: () => {
          seen.opens++;
          return OPEN_SUCCEEDED;
        },
        checkPortForwardRequest: () => {
          seen.globals++;
          return true;
        },
      },
      processFactory: (proc) => {
        proc.stdout.write('ok\n');
        proc.exit(0);
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    seen.opens = 0;
    seen.globals = 0;
  });

  /** Awaits `make()`'s promise, checking it rejected (never threw) with the refusal. */
  async function refused(make: () => Promise<unknown>, name: string, v: number, type: new (...args: never[]) => SSHException = SSHException): Promise<void> {
    let p: Promise<unknown> | undefined;
    expect(() => (p = make())).not.toThrow();
    const e = await p!.then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(type);
    expectRefusal(e, name, v);
  }

  for (const [what, v] of BAD_DURATIONS) {
    it(`${what}: run / exec / shell / openSession / sftp / forwards reject before opening anything`, async () => {
      await using c = await connect(ownServerLogin(server.address().port));
      await refused(() => c.run('x', { timeout: v }), 'timeout', v);
      await refused(() => c.exec('x', { timeout: v }), 'timeout', v);
      await refused(() => c.shell({ timeout: v }), 'timeout', v);
      await refused(() => c.openSession({ timeout: v }), 'timeout', v);
      await refused(() => c.openConnection('127.0.0.1', 9, { timeout: v }), 'timeout', v);
      await refused(() => c.sftp({ readyTimeout: v }), 'readyTimeout', v, SFTPError);
      await refused(() => c.sftp({ timeout: v }), 'timeout', v, SFTPError);
      await refused(() => c.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: 9, openTimeout: v }), 'openTimeout', v);
      await refused(() => c.forwardRemote({ remotePort: 0, localPort: 9, timeout: v }), 'timeout', v);
      await refused(() => c.forwardRemote({ remotePort: 0, localPort: 9, connectTimeout: v }), 'connectTimeout', v);
      expect(seen).toEqual({ opens: 0, globals: 0 });
      // The connection is fine.
      expect((await c.run('x')).stdout).toBe('ok\n');
    });

    it(`${what}: SSHClient.execCommand rejects before opening a channel; AgentRequestHandler throws`, async () => {
      const client = new SSHClient();
      client.setMissingHostKeyPolicy(new AutoAddPolicy());
      await client.connect('127.0.0.1', { port: server.address().port, username: 'u', allowAgent: false, lookForKeys: false });
      try {
        await refused(() => client.execCommand('x', { timeout: v }), 'timeout', v);
        expect(seen.opens).toBe(0);
        const session = await client.getConnection()!.openSession();
        // A constructor: it throws, as it does for its other bad options.
        let e: unknown = null;
        try {
          new AgentRequestHandler(session, { agentPath: '/nonexistent/agent.sock', timeout: v });
        } catch (err) {
          e = err;
        }
        expectRefusal(e, 'timeout', v);
        session.close();
      } finally {
        await client[Symbol.asyncDispose]();
      }
    });
  }

  for (const v of [0, MAX_MS]) {
    it(`timeout ${v} is accepted (0: no limit)`, async () => {
      await using c = await connect(ownServerLogin(server.address().port));
      expect((await c.run('x', { timeout: v })).stdout).toBe('ok\n');
      const proc = await c.exec('x', { timeout: v });
      expect((await proc.exit).exitStatus).toBe(0);
      await using fwd = await c.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: 9, openTimeout: v });
      expect(fwd.localPort).toBeGreaterThan(0);
      await using rf = await c.forwardRemote({ remotePort: 0, localPort: 9, timeout: v, connectTimeout: v });
      expect(rf.remotePort).toBeGreaterThan(0);
      expect(seen.globals).toBe(1);

      const client = new SSHClient();
      client.setMissingHostKeyPolicy(new AutoAddPolicy());
      await client.connect('127.0.0.1', { port: server.address().port, username: 'u', allowAgent: false, lookForKeys: false, timeout: v, readyTimeout: v, authTimeout: v, channelTimeout: v });
      try {
        const { stdout } = await client.execCommand('x', { timeout: v });
        expect(await stdout.channel.recvExitStatus()).toBe(0);
      } finally {
        await client[Symbol.asyncDispose]();
      }
    });
  }
});
