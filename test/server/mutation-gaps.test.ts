/**
 * Server behaviour the other server tests leave open (found by mutation
 * testing): authorized_keys forwarding restrictions (permitopen,
 * permitlisten, no-port-forwarding, no-agent-forwarding, no-X11-forwarding,
 * command= over a subsystem), policy answers that are not OPEN_SUCCEEDED,
 * secure defaults (refused tcpip-forward and global requests, loopback
 * bind, AcceptEnv patterns matched whole), the exact channel limit, the
 * listener cap, listeners closed with their connection, an unreadable
 * revocation list, authTimeout and session request ordering.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChannelException,
  connect,
  OPEN_SUCCEEDED,
  PrivateKey,
  startClient,
  type ConnectOptions,
  type ServerInterface,
  type SSHServerConnection,
  type SSHServerProcess,
} from '../../ts/index.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';
import { freePort } from '../helpers/sshd.js';

let fx: Fixture;
const echos: net.Server[] = [];
let echoA: number;
let echoB: number;
const clientKey = PrivateKey.generate('ed25519');
const pub = (k: PrivateKey): string => `${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')}`;

async function echoServer(): Promise<number> {
  const s = net.createServer((c) => c.pipe(c));
  echos.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  fx = makeFixture('sshwire-server-gaps-');
  echoA = await echoServer();
  echoB = await echoServer();
});

afterAll(() => {
  for (const s of echos) s.close();
  fx?.cleanup();
});

function opts(r: Running, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port: r.port, username: 'tester', knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, privateKey: clientKey, readyTimeout: 10_000, ...extra };
}

/** A policy that allows every kind of forwarding: only authorized_keys options may restrict. */
const permissive: ServerInterface = {
  checkChannelDirectTcpipRequest: () => OPEN_SUCCEEDED,
  checkPortForwardRequest: () => true,
  checkChannelForwardAgentRequest: () => true,
  checkChannelX11Request: () => true,
};

async function withServer(options: Parameters<typeof startServer>[1], fn: (r: Running) => Promise<void>): Promise<void> {
  const r = await startServer(fx, options);
  try {
    await fn(r);
  } finally {
    await r.server.close();
  }
}

/** Sends `data` through a direct-tcpip channel to 127.0.0.1:port and returns what came back. */
async function roundTrip(conn: Awaited<ReturnType<typeof connect>>, port: number, data = 'ping'): Promise<string> {
  const ch = await conn.openConnection('127.0.0.1', port, { timeout: 5000 });
  ch.end(data);
  let got = '';
  for await (const c of ch) got += String(c);
  return got;
}

/** Whether something accepts TCP connections on 127.0.0.1:port (bounded). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 2000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

const fwdSpec = (host: string, port: number): Uint8Array => new SSHWriter(32).string(host).uint32(port).toBytes();

describe('authorized_keys forwarding restrictions hold even when the policy allows', () => {
  it('permitopen="127.0.0.1:A": A is reachable, another port on the same host is refused ADMINISTRATIVELY_PROHIBITED', async () => {
    await withServer({ authorizedClientKeys: [`permitopen="127.0.0.1:${echoA}" ${pub(clientKey)}`], server: permissive }, async (r) => {
      const conn = await connect(opts(r));
      try {
        expect(await roundTrip(conn, echoA)).toBe('ping');
        const refused = await conn.openConnection('127.0.0.1', echoB, { timeout: 5000 }).then(
          (ch) => {
            ch.destroy();
            return null;
          },
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(ChannelException);
        expect((refused as ChannelException).reasonCode).toBe(1);
      } finally {
        conn.close();
      }
    });
  });

  it('no-port-forwarding: direct-tcpip and tcpip-forward are both refused', async () => {
    await withServer({ authorizedClientKeys: [`no-port-forwarding ${pub(clientKey)}`], server: permissive }, async (r) => {
      const conn = await connect(opts(r));
      try {
        await expect(conn.openConnection('127.0.0.1', echoA, { timeout: 5000 })).rejects.toMatchObject({ name: 'ChannelException', reasonCode: 1 });
        const res = await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', 0), { timeout: 5000 });
        expect(res.ok).toBe(false);
      } finally {
        conn.close();
      }
    });
  });

  it('permitlisten="127.0.0.1:P": P may be listened on, another port may not', async () => {
    const allowed = await freePort();
    const other = await freePort();
    await withServer({ authorizedClientKeys: [`permitlisten="127.0.0.1:${allowed}" ${pub(clientKey)}`], server: permissive }, async (r) => {
      const conn = await connect(opts(r));
      try {
        const bad = await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', other), { timeout: 5000 });
        expect(bad.ok).toBe(false);
        expect(await accepts(other)).toBe(false);
        const good = await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', allowed), { timeout: 5000 });
        expect(good.ok).toBe(true);
      } finally {
        conn.close();
      }
    });
  });

  it('no-agent-forwarding and no-X11-forwarding: those session requests are refused though the policy grants them', async () => {
    await withServer({ authorizedClientKeys: [`no-agent-forwarding,no-X11-forwarding ${pub(clientKey)}`], server: permissive, processFactory: () => {} }, async (r) => {
      const conn = await connect(opts(r));
      try {
        const ch = await conn.openSession({ timeout: 5000 });
        expect(await ch.requestAgentForwarding({ timeout: 5000 })).toBe(false);
        expect(await ch.requestX11({}, { timeout: 5000 })).toBe(false);
        ch.destroy();
      } finally {
        conn.close();
      }
    });
  });

  it('command= replaces a subsystem request too: the forced command runs, not the subsystem handler', async () => {
    await withServer(
      {
        authorizedClientKeys: [`command="echo forced" ${pub(clientKey)}`],
        spawnCommands: { cwd: fx.root },
        subsystems: { hello: (ch) => void ch.end('subsystem ran\n') },
      },
      async (r) => {
        const conn = await connect(opts(r));
        try {
          const res = await conn.run({ subsystem: 'hello', timeout: 10_000 });
          expect(res.stdout).toBe('forced\n');
        } finally {
          conn.close();
        }
      },
    );
  });
});

describe('policy answers and secure defaults', () => {
  it('checkChannelDirectTcpipRequest answering false (not a reason code) refuses the open', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)], server: { checkChannelDirectTcpipRequest: () => false as unknown as number } }, async (r) => {
      const conn = await connect(opts(r));
      try {
        await expect(conn.openConnection('127.0.0.1', echoA, { timeout: 5000 })).rejects.toMatchObject({ name: 'ChannelException', reasonCode: 1 });
      } finally {
        conn.close();
      }
    });
  });

  it('checkChannelRequest answering false or undefined refuses a session', async () => {
    for (const answer of [false, undefined]) {
      await withServer({ authorizedClientKeys: [pub(clientKey)], processFactory: (p) => p.exit(0), server: { checkChannelRequest: () => answer as unknown as number } }, async (r) => {
        const conn = await connect(opts(r));
        try {
          await expect(conn.openSession({ timeout: 5000 })).rejects.toMatchObject({ name: 'ChannelException', reasonCode: 1 });
        } finally {
          conn.close();
        }
      });
    }
  });

  it('without checkPortForwardRequest a tcpip-forward is refused; without checkGlobalRequest other global requests are too', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)], server: {} }, async (r) => {
      const conn = await connect(opts(r));
      try {
        expect((await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', 0), { timeout: 5000 })).ok).toBe(false);
        expect((await conn.connection.globalRequest('example@sshwire.test', new Uint8Array(0), { timeout: 5000 })).ok).toBe(false);
      } finally {
        conn.close();
      }
    });
  });

  it('listen() binds to loopback by default', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)] }, async (r) => {
      expect(r.server.address().address).toBe('127.0.0.1');
    });
  });

  it('acceptEnv patterns match the whole name: LANG does not let MYLANG or LANGX through', async () => {
    await withServer(
      {
        authorizedClientKeys: [pub(clientKey)],
        acceptEnv: ['LANG', 'LC_*'],
        processFactory: (p: SSHServerProcess) => {
          p.stdout.write(JSON.stringify(Object.keys(p.env).sort()));
          p.exit(0);
        },
      },
      async (r) => {
        const conn = await connect(opts(r));
        try {
          const res = await conn.run('x', { env: { LANG: 'C', MYLANG: 'x', LANGX: 'y', LC_ALL: 'C', XLC_ALL: 'z' }, timeout: 10_000 });
          expect(JSON.parse(String(res.stdout))).toEqual(['LANG', 'LC_ALL']);
        } finally {
          conn.close();
        }
      },
    );
  });
});

describe('limits', () => {
  it('maxChannelsPerConnection: exactly that many channels open, the next is RESOURCE_SHORTAGE', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)], processFactory: () => {}, maxChannelsPerConnection: 2 }, async (r) => {
      const conn = await connect(opts(r));
      try {
        const a = await conn.openSession({ timeout: 5000 });
        const b = await conn.openSession({ timeout: 5000 });
        await expect(conn.openSession({ timeout: 5000 })).rejects.toMatchObject({ name: 'ChannelException', reasonCode: 4 });
        a.destroy();
        b.destroy();
      } finally {
        conn.close();
      }
    });
  });

  it('at most 16 tcpip-forward listeners per connection', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)], server: { checkPortForwardRequest: () => true } }, async (r) => {
      const conn = await connect(opts(r));
      try {
        for (let i = 0; i < 16; i++) {
          expect((await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', 0), { timeout: 5000 })).ok).toBe(true);
        }
        expect((await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', 0), { timeout: 5000 })).ok).toBe(false);
      } finally {
        conn.close();
      }
    });
  });

  it("a connection's tcpip-forward listeners close when the client goes away", async () => {
    let served: SSHServerConnection | null = null;
    await withServer(
      {
        authorizedClientKeys: [pub(clientKey)],
        server: (c) => {
          served = c;
          return { checkPortForwardRequest: () => true };
        },
      },
      async (r) => {
        const port = await freePort();
        const conn = await connect(opts(r));
        expect((await conn.connection.globalRequest('tcpip-forward', fwdSpec('127.0.0.1', port), { timeout: 5000 })).ok).toBe(true);
        expect(await accepts(port)).toBe(true);
        conn.close();
        await served!.closed;
        await expect.poll(() => accepts(port), { timeout: 5000 }).toBe(false);
      },
    );
  });

  it('a revocation list that cannot be read any more refuses every key (as sshd)', async () => {
    const revoked = `${fx.dir}/revoked-gone`;
    writeFileSync(revoked, `${pub(PrivateKey.generate('ed25519'))}\n`);
    await withServer({ authorizedClientKeys: [pub(clientKey)], revokedClientKeys: revoked }, async (r) => {
      (await connect(opts(r))).close();
      rmSync(revoked);
      await expect(connect(opts(r))).rejects.toMatchObject({ name: expect.stringMatching(/Authentication/) });
    });
  });

  it('authTimeout: a client that stops after key exchange is disconnected', async () => {
    await withServer({ authorizedClientKeys: [pub(clientKey)], authTimeout: 300 }, async (r) => {
      const session = await startClient(opts(r));
      const closed = await Promise.race([
        session.transport.closed.then(() => 'closed'),
        new Promise((res) => setTimeout(() => res('still open'), 10_000).unref()),
      ]);
      session.transport.disconnect();
      expect(closed).toBe('closed');
    });
  });
});

describe('session requests', () => {
  it('pty-req after the command started and window-change without a pty are refused', async () => {
    const seen: string[] = [];
    await withServer(
      {
        authorizedClientKeys: [pub(clientKey)],
        server: { checkChannelPtyRequest: () => true, checkChannelWindowChangeRequest: () => (seen.push('window-change'), true) },
        processFactory: (p) => {
          p.on('resize', () => seen.push('resize'));
          p.stdin.on('end', () => p.exit(0)).resume();
        },
      },
      async (r) => {
        const conn = await connect(opts(r));
        try {
          const ch = await conn.openSession({ timeout: 5000 });
          // window-change with a reply asked for, before any pty.
          const wc = new SSHWriter(16).uint32(100).uint32(40).uint32(0).uint32(0).toBytes();
          expect(await ch.request('window-change', wc, true, { timeout: 5000 })).toBe(false);
          await ch.exec('x', { timeout: 5000 });
          await expect(ch.requestPty({}, { timeout: 5000 })).rejects.toBeInstanceOf(ChannelException);
          ch.end();
          expect(seen).toEqual([]);
        } finally {
          conn.close();
        }
      },
    );
  });
});

describe('listen() and close()', () => {
  it('two host keys of one type are refused with ERR_SSH_BAD_OPTION', async () => {
    await expect(startServer(fx, { hostKeys: [PrivateKey.generate('ed25519'), PrivateKey.generate('ed25519')] })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  });

  it('close() tells connected clients the server is shutting down', async () => {
    const r = await startServer(fx, { authorizedClientKeys: [pub(clientKey)] });
    const conn = await connect(opts(r));
    await r.server.close();
    const err = await conn.closed;
    expect(err?.message).toMatch(/server shutting down/);
  });
});

describe('user certificates', () => {
  it('an expired certificate from a CA trusted with cert-authority is refused', async () => {
    const ca = `${fx.dir}/user_ca`;
    const user = `${fx.dir}/id_certified`;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', ca]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'user', '-f', user]);
    execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'expired', '-n', 'tester', '-V', '20000101:20000102', `${user}.pub`]);
    const caLine = readFileSync(`${ca}.pub`, 'utf8').trim();
    await withServer({ authorizedClientKeys: [`cert-authority ${caLine}`] }, async (r) => {
      await expect(connect(opts(r, { privateKey: user, clientCerts: [`${user}-cert.pub`] }))).rejects.toMatchObject({ name: expect.stringMatching(/Authentication/) });
      // A valid certificate from the same CA does get in: the refusal above is the expiry.
      execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'valid', '-n', 'tester', '-V', '-5m:+1h', `${user}.pub`]);
      (await connect(opts(r, { privateKey: user, clientCerts: [`${user}-cert.pub`] }))).close();
    });
  });
});
