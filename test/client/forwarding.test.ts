/**
 * Client TCP port forwarding: forwardLocal (direct-tcpip) and forwardRemote
 * (tcpip-forward / forwarded-tcpip) against OpenSSH's sshd, forwardLocal
 * against our own server, and the forwarded-tcpip dispatch rules against a
 * scripted server Connection.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SSHClientConnection } from '../../ts/client.js';
import { startLocalForward } from '../../ts/client/forwardLocal.js';
import { startRemoteForward } from '../../ts/client/forwardRemote.js';
import { type Channel, encodeTcpipOpenData, OPEN_FAILURE } from '../../ts/connection/index.js';
import { AUTH_FAILED, AUTH_SUCCESSFUL, ChannelException, OPEN_SUCCEEDED, PrivateKey, SSHException } from '../../ts/index.js';
import { SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { makeKey } from '../auth/system.js';
import { connectionPair, until } from '../connection/helpers.js';
import { freePort, rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { makeTempDir } from '../keys/helpers.js';
import { makeFixture, startServer, type Fixture } from '../server/helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
let key: string;
let conn: SSHClientConnection;
/** Echoes everything; half-open, so it answers after the client's FIN too. */
let echo: net.Server;
let echoPort: number;
/** Answers only once the client has shut down its side: the input reversed. */
let late: net.Server;
let latePort: number;

function listen(handler: (s: net.Socket) => void): Promise<[net.Server, number]> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    handler(s);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve([srv, (srv.address() as net.AddressInfo).port])));
}

/** Every wait in these tests is bounded. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Connects to 127.0.0.1:port, sends `data`, shuts down the write side, and collects everything until the peer's FIN. */
function exchange(port: number, data: Buffer, ms = 8000): Promise<Buffer> {
  return within(
    new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const parts: Buffer[] = [];
      s.on('data', (c: Buffer) => parts.push(c));
      s.once('end', () => {
        s.destroy();
        resolve(Buffer.concat(parts));
      });
      s.once('error', reject);
      s.end(data);
    }),
    ms,
    `exchange through port ${port}`,
  );
}

/** Connects and waits until the peer closes; resolves with what arrived (the connection itself must succeed). */
function closedByPeer(port: number, ms = 8000): Promise<Buffer> {
  return within(
    new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      const parts: Buffer[] = [];
      s.on('data', (c: Buffer) => parts.push(c));
      s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
      s.once('close', () => resolve(Buffer.concat(parts)));
    }),
    ms,
    `peer closing port ${port}`,
  );
}

/** Resolves with the error code of a connection attempt that must fail. */
function connectError(port: number, ms = 5000): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        reject(new Error(`port ${port} still accepts connections`));
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    }),
    ms,
    `connecting to ${port}`,
  );
}

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-fwd-');
  key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
  [[echo, echoPort], [late, latePort], sshd] = await Promise.all([
    listen((s) => s.pipe(s)),
    listen((s) => {
      const parts: Buffer[] = [];
      s.on('data', (c: Buffer) => parts.push(c));
      s.on('end', () => s.end(Buffer.concat(parts).reverse()));
    }),
    startSshdTrusting(key, { config: ['AllowTcpForwarding yes', 'GatewayPorts no'] }),
  ]);
  conn = await connect(rootLogin(sshd, key));
}, 60_000);

afterAll(async () => {
  conn?.close();
  await conn?.closed;
  echo?.close();
  late?.close();
  await sshd?.stop();
  tmp?.cleanup();
});

describe('forwardLocal against sshd', () => {
  it('listens on the port the system picked and carries 1 MiB both ways byte-exact', async () => {
    await using fwd = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    expect(fwd.localHost).toBe('127.0.0.1');
    expect(fwd.localPort).toBeGreaterThan(0);
    expect(fwd.isClosed).toBe(false);
    const data = randomBytes(MiB);
    const back = await exchange(fwd.localPort, data);
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    await until(() => fwd.connections === 0, 5000, 'the forwarded connection to finish');
  });

  it('several connections at once, each with its own data', async () => {
    await using fwd = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(64 * KiB + i * 997));
    const outputs = await Promise.all(inputs.map((d) => exchange(fwd.localPort, d)));
    outputs.forEach((o, i) => expect(o.equals(inputs[i]!), `connection ${i}`).toBe(true));
    await until(() => fwd.connections === 0, 5000, 'the forwarded connections to finish');
  });

  it('half-close: after the client shuts down its side it still receives the answer', async () => {
    await using fwd = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: latePort });
    const data = randomBytes(200 * KiB);
    // The target answers only after it has seen the FIN, which can only have come as CHANNEL_EOF.
    const back = await exchange(fwd.localPort, data);
    expect(back.equals(Buffer.from(data).reverse())).toBe(true);
  });

  it('a refused destination closes that socket and reports CONNECT_FAILED; the listener goes on', async () => {
    const closedPort = await freePort();
    const errors: Error[] = [];
    await using fwd = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: closedPort, onError: (e) => errors.push(e) });
    for (let i = 0; i < 2; i++) {
      const got = await closedByPeer(fwd.localPort);
      expect(got.length).toBe(0);
    }
    await until(() => errors.length === 2, 5000, 'two reported failures');
    for (const e of errors) {
      expect(e).toBeInstanceOf(ChannelException);
      expect((e as ChannelException).reasonCode).toBe(OPEN_FAILURE.CONNECT_FAILED);
    }
    expect(fwd.isClosed).toBe(false);
    expect(fwd.connections).toBe(0);
    // The SSH connection is unharmed.
    await using good = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    expect((await exchange(good.localPort, Buffer.from('still fine'))).toString()).toBe('still fine');
  });

  it('close() stops accepting at once; a connection already forwarded runs to its end', async () => {
    const fwd = await conn.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: latePort });
    const port = fwd.localPort;
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    const ended = new Promise<void>((resolve, reject) => {
      s.once('end', () => resolve());
      s.once('error', reject);
    });
    s.write('first half, ');
    await until(() => fwd.connections === 1, 5000, 'the connection to be forwarded');
    await fwd.close();
    expect(fwd.isClosed).toBe(true);
    expect(await within(fwd.closed, 1000, 'closed')).toBeNull();
    expect(await connectError(port)).toBe('ECONNREFUSED');
    s.end('second half');
    await within(ended, 8000, 'the answer');
    s.destroy();
    expect(Buffer.concat(parts).toString()).toBe('first half, second half'.split('').reverse().join(''));
  });

  it('openConnection: one direct-tcpip channel as a Duplex; a refused one is a ChannelException', async () => {
    const ch = await conn.openConnection('127.0.0.1', echoPort);
    const parts: Buffer[] = [];
    ch.on('data', (c: Buffer) => parts.push(c));
    const ended = new Promise<void>((resolve) => ch.once('end', () => resolve()));
    ch.end('through a bare channel');
    await within(ended, 5000, 'channel EOF');
    expect(Buffer.concat(parts).toString()).toBe('through a bare channel');
    const refused = await conn.openConnection('127.0.0.1', await freePort()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChannelException);
    expect((refused as ChannelException).reasonCode).toBe(OPEN_FAILURE.CONNECT_FAILED);
  });

  it('bad options and a busy port are typed errors', async () => {
    await expect(conn.forwardLocal({ localPort: 70000, remoteHost: 'x', remotePort: 1 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    await expect(conn.forwardLocal({ localPort: 0, remoteHost: 'x', remotePort: 0 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    const busy = await conn.forwardLocal({ localPort: echoPort, remoteHost: 'x', remotePort: 1 }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(SSHException);
    expect(busy).toMatchObject({ code: 'ERR_SSH_FORWARD_LISTEN' });
    const ac = new AbortController();
    ac.abort();
    await expect(conn.forwardLocal({ localPort: 0, remoteHost: 'x', remotePort: 1, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('forwardRemote against sshd', () => {
  it('the server picks the port; data reaches the local echo server; close() cancels', async () => {
    const fwd = await conn.forwardRemote({ remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: echoPort });
    expect(fwd.remoteHost).toBe('127.0.0.1');
    expect(fwd.remotePort).toBeGreaterThan(0);
    const data = randomBytes(256 * KiB);
    const back = await exchange(fwd.remotePort, data);
    expect(back.equals(data)).toBe(true);
    const outputs = await Promise.all([1, 2, 3].map((i) => exchange(fwd.remotePort, Buffer.from(`conn ${i}`))));
    expect(outputs.map(String)).toEqual(['conn 1', 'conn 2', 'conn 3']);
    await fwd.close();
    expect(await within(fwd.closed, 1000, 'closed')).toBeNull();
    expect(await connectError(fwd.remotePort)).toBe('ECONNREFUSED');
  });

  it('a local target that refuses: the server-side client sees the connection closed, onError is told', async () => {
    const errors: Error[] = [];
    await using fwd = await conn.forwardRemote({ remoteHost: '127.0.0.1', remotePort: 0, localPort: await freePort(), onError: (e) => errors.push(e) });
    expect((await closedByPeer(fwd.remotePort)).length).toBe(0);
    await until(() => errors.length === 1, 5000, 'the reported failure');
    expect(errors[0]).toMatchObject({ code: 'ERR_SSH_FORWARD_CONNECT' });
    expect(fwd.isClosed).toBe(false);
  });

  it('onConnection takes each forwarded connection as a channel (no local port), and is told where it came from', async () => {
    const origins: string[] = [];
    await using fwd = await conn.forwardRemote({
      remoteHost: '127.0.0.1',
      remotePort: 0,
      onConnection: (ch, info) => {
        origins.push(info.originHost);
        // An upper-casing service, in process.
        ch.on('data', (d: Buffer) => ch.write(String(d).toUpperCase()));
        ch.on('end', () => ch.end());
      },
    });
    expect((await exchange(fwd.remotePort, Buffer.from('handled in process'))).toString()).toBe('HANDLED IN PROCESS');
    expect(origins).toEqual(['127.0.0.1']);
    await expect(conn.forwardRemote({ remotePort: 0 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  });

  it('a port the server cannot listen on is refused: ERR_SSH_FORWARD_REFUSED', async () => {
    await expect(conn.forwardRemote({ remoteHost: '127.0.0.1', remotePort: sshd.port, localPort: echoPort })).rejects.toMatchObject({ code: 'ERR_SSH_FORWARD_REFUSED' });
  });
});

describe('closing the SSH connection', () => {
  it('closes the listeners and every forwarded connection', async () => {
    const c2 = await connect(rootLogin(sshd, key));
    const local = await c2.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: latePort });
    const remote = await c2.forwardRemote({ remoteHost: '127.0.0.1', remotePort: 0, localPort: echoPort });
    // A connection left open through the local forward (the target waits for our FIN, which never comes).
    const s = net.connect({ port: local.localPort, host: '127.0.0.1' });
    s.on('error', () => {});
    const sockClosed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.write('pending');
    await until(() => local.connections === 1, 5000, 'the connection to be forwarded');
    c2.close();
    const [le, re] = await within(Promise.all([local.closed, remote.closed]), 5000, 'listeners closed');
    expect(le).toBeInstanceOf(ChannelException);
    expect(re).toBeInstanceOf(ChannelException);
    await within(sockClosed, 5000, 'the forwarded socket closed');
    expect(local.connections).toBe(0);
    expect(await connectError(local.localPort)).toBe('ECONNREFUSED');
    await expect(c2.forwardLocal({ localPort: 0, remoteHost: 'x', remotePort: 1 })).rejects.toBeInstanceOf(ChannelException);
    await c2.closed;
  });
});

describe('forwarded-tcpip dispatch (scripted server)', () => {
  it('accepts the requested address only; other channel types and ports are refused ADMINISTRATIVELY_PROHIBITED', async () => {
    const pair = await connectionPair();
    try {
      const requests: { name: string; host: string; port: number }[] = [];
      const early: Promise<Channel>[] = [];
      pair.server.onGlobalRequest((name, data) => {
        const r = new SSHReader(data, name);
        const host = r.utf8(1024);
        const port = r.uint32();
        requests.push({ name, host, port });
        if (name !== 'tcpip-forward') return true;
        // Open a channel for the new forward right behind the reply: the client must not refuse it.
        queueMicrotask(() => {
          const opened = pair.server.openChannel('forwarded-tcpip', encodeTcpipOpenData({ host, port: 4242, originHost: '10.0.0.1', originPort: 5555 }));
          early.push(opened);
        });
        return new SSHWriter(4).uint32(4242).toBytes();
      });
      const fwd = await startRemoteForward(pair.client, { remoteHost: 'localhost', remotePort: 0, localPort: echoPort });
      expect(fwd.remotePort).toBe(4242);
      await until(() => early.length === 1, 2000, 'the early channel');
      const first = await within(early[0]!, 5000, 'the early channel open');
      const parts: Buffer[] = [];
      first.on('data', (c: Buffer) => parts.push(c));
      const ended = new Promise<void>((resolve) => first.once('end', () => resolve()));
      first.end('via forwarded-tcpip');
      await within(ended, 5000, 'EOF back');
      expect(Buffer.concat(parts).toString()).toBe('via forwarded-tcpip');

      const reasons = async (type: string, data: Uint8Array): Promise<number> => {
        const e = await pair.server.openChannel(type, data).then(
          () => -1,
          (err: unknown) => (err as ChannelException).reasonCode,
        );
        return e;
      };
      expect(await reasons('forwarded-tcpip', encodeTcpipOpenData({ host: 'localhost', port: 4243, originHost: '10.0.0.1', originPort: 1 }))).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
      expect(await reasons('x11', new SSHWriter(16).string('10.0.0.1').uint32(1).toBytes())).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
      expect(await reasons('session', new Uint8Array(0))).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);

      await fwd.close();
      expect(requests).toEqual([
        { name: 'tcpip-forward', host: 'localhost', port: 0 },
        { name: 'cancel-tcpip-forward', host: 'localhost', port: 4242 },
      ]);
      // Cancelled: the same address is refused now.
      expect(await reasons('forwarded-tcpip', encodeTcpipOpenData({ host: 'localhost', port: 4242, originHost: '10.0.0.1', originPort: 2 }))).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
    } finally {
      await pair.close();
    }
  });

  it('startLocalForward works over a bare Connection too, and refuses options it cannot use', async () => {
    const pair = await connectionPair();
    try {
      await expect(startLocalForward(pair.client, { localPort: 0, remoteHost: '', remotePort: 1 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      await expect(startRemoteForward(pair.client, { remotePort: -1, localPort: 1 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      // No handler for direct-tcpip on this server: refused, reported, listener intact.
      const errors: Error[] = [];
      await using fwd = await startLocalForward(pair.client, { localPort: 0, remoteHost: 'h', remotePort: 1, onError: (e) => errors.push(e) });
      await closedByPeer(fwd.localPort);
      await until(() => errors.length === 1, 5000, 'the reported refusal');
      expect((errors[0] as ChannelException).reasonCode).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
      expect(fwd.isClosed).toBe(false);
    } finally {
      await pair.close();
    }
  });
});

describe('forwardLocal against our own server', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = makeFixture('sshwire-client-fwd-own-');
  });
  afterAll(() => fx?.cleanup());

  it('direct-tcpip through listen() with checkChannelDirectTcpipRequest', async () => {
    const clientKey = PrivateKey.generate('ed25519');
    const seen: unknown[] = [];
    const r = await startServer(fx, {
      server: {
        checkAuthPublickey: (_u, k) => (Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED),
        checkChannelDirectTcpipRequest: (_id, _origin, dest) => {
          seen.push(dest);
          return dest[1] === echoPort ? OPEN_SUCCEEDED : OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED;
        },
      },
    });
    try {
      await using c = await connect({ host: '127.0.0.1', port: r.port, username: 'u', privateKey: clientKey, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });
      await using fwd = await c.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
      const data = randomBytes(512 * KiB);
      expect((await exchange(fwd.localPort, data)).equals(data)).toBe(true);
      const errors: Error[] = [];
      await using denied = await c.forwardLocal({ localPort: 0, remoteHost: '127.0.0.1', remotePort: 1, onError: (e) => errors.push(e) });
      expect((await closedByPeer(denied.localPort)).length).toBe(0);
      await until(() => errors.length === 1, 5000, 'the refusal');
      expect((errors[0] as ChannelException).reasonCode).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);
      expect(seen).toEqual([
        ['127.0.0.1', echoPort],
        ['127.0.0.1', 1],
      ]);
    } finally {
      await r.server.close();
    }
  });
});
