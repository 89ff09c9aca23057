/**
 * The client's promise-returning API fails through its promises, bad
 * transport and connection-layer options fail before any connection is
 * made, and SSHClient's keepaliveCountMax reaches the transport.
 */
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AutoAddPolicy, connect, SSHClient, startClient, type ConnectOptions, type SSHClientConnectOptions } from '../../ts/client.js';
import { NegotiationError, SSHException, TimeoutError } from '../../ts/errors.js';
import { useSshdTrusting } from '../helpers/sshdFixture.js';
import { useCountingServer } from '../helpers/countingServer.js';

describe('a stream handed to connect() is closed when connecting fails before it is used', () => {
  const base = { host: 'example.invalid', username: 'u', knownHosts: null, config: false, agent: false } as const;
  it('a private key that cannot be loaded, or a signal already aborted: the sock is destroyed', async () => {
    const cases: [string, Partial<ConnectOptions>][] = [
      ['missing key file', { privateKey: '/nonexistent/sshwire-no-key' }],
      ['aborted signal', { signal: AbortSignal.abort('stop') }],
    ];
    for (const [what, extra] of cases) {
      const sock = new PassThrough();
      await expect(connect({ ...base, sock, ...extra } as ConnectOptions), what).rejects.toBeDefined();
      expect(sock.destroyed, what).toBe(true);
    }
    const sock = new PassThrough();
    await expect(startClient({ ...base, sock, signal: AbortSignal.abort('stop') } as ConnectOptions)).rejects.toBeDefined();
    expect(sock.destroyed).toBe(true);
  });
});

describe('SSHClient: promise-returning methods reject, never throw', () => {
  it('openSftp, execCommand, invokeShell when not connected: ERR_SSH_NOT_CONNECTED, as a rejection', async () => {
    const client = new SSHClient();
    const calls: [string, () => Promise<unknown>][] = [
      ['openSftp', () => client.openSftp()],
      ['execCommand', () => client.execCommand('true')],
      ['invokeShell', () => client.invokeShell()],
    ];
    for (const [name, call] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call()), name).not.toThrow();
      await expect(p, name).rejects.toMatchObject({ name: 'SSHException', code: 'ERR_SSH_NOT_CONNECTED' });
    }
  });

  it('connect with bad arguments, and asyncDispose without a connection', async () => {
    const client = new SSHClient();
    let p: Promise<unknown> | undefined;
    expect(() => (p = client.connect(''))).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    expect(() => (p = client.connect('127.0.0.1', { window: 0 }))).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    expect(() => (p = client[Symbol.asyncDispose]())).not.toThrow();
    await expect(p).resolves.toBeUndefined();
  });
});

describe('bad options fail before any TCP connection', () => {
  const counting = useCountingServer();

  const base = (): ConnectOptions => ({ host: '127.0.0.1', port: counting.port, username: 'u', knownHosts: null, config: false, agent: false, clientKeys: null, readyTimeout: 5000 });

  const badConnect: [string, Partial<ConnectOptions>][] = [
    ['window -1', { window: -1 }],
    ['window 2^32', { window: 2 ** 32 }],
    ['window 1.5', { window: 1.5 }],
    ['maxPacketSize 0', { maxPacketSize: 0 }],
    ['maxPacketSize 1 MiB', { maxPacketSize: 1024 * 1024 }],
    ['rekeyBytes 100', { rekeyBytes: 100 }],
    ['rekeySeconds -1', { rekeySeconds: -1 }],
    ['keepaliveInterval -1', { keepaliveInterval: -1 }],
    ['keepaliveCountMax 0', { keepaliveCountMax: 0 }],
    ['keepaliveCountMax 1.5', { keepaliveCountMax: 1.5 }],
    ['bannerTimeout NaN', { bannerTimeout: Number.NaN }],
    // Past what a timer holds, a duration would fire at once: refused like a negative one.
    ['readyTimeout Infinity', { readyTimeout: Number.POSITIVE_INFINITY }],
    ['readyTimeout -5', { readyTimeout: -5 }],
    ['authTimeout 2^31', { authTimeout: 2 ** 31 }],
    ['rekeySeconds 1e7', { rekeySeconds: 1e7 }],
    ['keepaliveInterval Infinity', { keepaliveInterval: Number.POSITIVE_INFINITY }],
  ];

  for (const [what, extra] of badConnect) {
    it(`connect(): ${what} rejects with ERR_SSH_BAD_OPTION and no connection is made`, async () => {
      const err = await connect({ ...base(), ...extra }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect(err).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect(counting.accepted).toBe(0);
    });
  }

  it('connect(): an algorithm category left empty rejects with NegotiationError before connecting', async () => {
    const err = await connect({ ...base(), algorithms: { cipher: ['no-such-cipher'] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect(counting.accepted).toBe(0);
  });

  it('startClient(): a bad window rejects with ERR_SSH_BAD_OPTION before connecting', async () => {
    await expect(startClient({ ...base(), window: -1 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    expect(counting.accepted).toBe(0);
  });

  const badClient: [string, SSHClientConnectOptions][] = [
    ['window -1', { window: -1 }],
    ['maxPacketSize 1 MiB', { maxPacketSize: 1024 * 1024 }],
    ['keepaliveInterval -1', { keepaliveInterval: -1 }],
    ['keepaliveCountMax 0', { keepaliveCountMax: 0 }],
    ['channelTimeout -1', { channelTimeout: -1 }],
    ['bannerTimeout -1', { bannerTimeout: -1 }],
    ['timeout Infinity', { timeout: Number.POSITIVE_INFINITY }],
    ['readyTimeout 2^31', { readyTimeout: 2 ** 31 }],
    ['authTimeout NaN', { authTimeout: Number.NaN }],
    ['channelTimeout Infinity', { channelTimeout: Number.POSITIVE_INFINITY }],
  ];

  for (const [what, extra] of badClient) {
    it(`SSHClient.connect: ${what} rejects with ERR_SSH_BAD_OPTION and no connection is made`, async () => {
      const client = new SSHClient();
      client.setMissingHostKeyPolicy(new AutoAddPolicy());
      const err = await client
        .connect('127.0.0.1', { port: counting.port, username: 'u', allowAgent: false, lookForKeys: false, readyTimeout: 5000, ...extra })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect(err).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect(counting.accepted).toBe(0);
    });
  }
});

describe('SSHClient keepaliveCountMax', () => {
  const fx = useSshdTrusting('sshwire-client-early-');

  /** A TCP relay to sshd whose server-to-client direction can be cut: the server's replies stop arriving. */
  async function relay(): Promise<{ port: number; silence(): void; close(): Promise<void> }> {
    const pairs: [net.Socket, net.Socket][] = [];
    const server = net.createServer((c) => {
      const u = net.connect(fx.sshd.port, '127.0.0.1');
      c.on('error', () => {});
      u.on('error', () => {});
      c.pipe(u);
      u.pipe(c);
      pairs.push([c, u]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as net.AddressInfo).port,
      silence: () => {
        for (const [c, u] of pairs) {
          u.unpipe(c);
          u.pause();
        }
      },
      close: async () => {
        for (const [c, u] of pairs) {
          c.destroy();
          u.destroy();
        }
        await new Promise((r) => server.close(r));
      },
    };
  }

  it('is passed to the transport: the server counts as dead only after that many silent intervals', async () => {
    const r = await relay();
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    try {
      const interval = 50;
      await client.connect('127.0.0.1', { port: r.port, username: 'root', keyFilename: fx.key, allowAgent: false, lookForKeys: false, keepaliveInterval: interval, keepaliveCountMax: 8 });
      const transport = client.getTransport()!;
      r.silence();
      const t0 = performance.now();
      const err = await transport.closed;
      const elapsed = performance.now() - t0;
      expect(err).toBeInstanceOf(TimeoutError);
      // 8 silent intervals at least (the default, 3, gives up after 150-200 ms).
      expect(elapsed).toBeGreaterThanOrEqual(7 * interval);
    } finally {
      client.close();
      await r.close();
    }
  }, 20_000);
});
