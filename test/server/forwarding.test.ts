/**
 * Port forwarding on the server: direct-tcpip (OpenSSH `ssh -W`, the same
 * channel -L uses) and tcpip-forward (our client's global request, as -R
 * sends it), each only when the policy allows it.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, ChannelException, connect, OPEN_SUCCEEDED, PrivateKey, type ServerInterface, type SSHServerConnection } from '../../ts/index.js';
import { SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { makeFixture, ssh, startServer, type Fixture, type Running } from './helpers.js';
import { freePort } from '../helpers/sshd.js';

let fx: Fixture;
let echo: net.Server;
let echoPort: number;
const clientKey = PrivateKey.generate('ed25519');

beforeAll(async () => {
  fx = makeFixture('sshwire-server-fwd-');
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
});

afterAll(() => {
  echo?.close();
  fx?.cleanup();
});

async function withServer(policy: ServerInterface, fn: (r: Running) => Promise<void>): Promise<void> {
  const r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, server: policy });
  try {
    await fn(r);
  } finally {
    await r.server.close();
  }
}

describe('port forwarding', () => {
  it('direct-tcpip (ssh -W) when checkChannelDirectTcpipRequest allows, refused otherwise', async () => {
    const seen: unknown[] = [];
    await withServer(
      {
        checkChannelDirectTcpipRequest: (_id, origin, dest) => {
          seen.push(dest);
          return dest[1] === echoPort ? OPEN_SUCCEEDED : 1;
        },
      },
      async (r) => {
        const ok = await ssh(fx, r, [], { input: 'through the tunnel\n', extra: ['-W', `127.0.0.1:${echoPort}`] });
        expect(ok.stdout).toBe('through the tunnel\n');
        const denied = await ssh(fx, r, [], { input: 'x', extra: ['-W', '127.0.0.1:1'] });
        expect(denied.code).not.toBe(0);
        expect(seen).toEqual([['127.0.0.1', echoPort], ['127.0.0.1', 1]]);
      },
    );
    // Without the policy method: refused.
    await withServer({}, async (r) => {
      const res = await ssh(fx, r, [], { input: 'x', extra: ['-W', `127.0.0.1:${echoPort}`] });
      expect(res.stdout).toBe('');
      expect(res.code).not.toBe(0);
    });
  });

  it('tcpip-forward: listens, and opens forwarded-tcpip channels back to the client', async () => {
    await withServer(
      {
        checkAuthPublickey: (_u, k) => (Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED),
        checkPortForwardRequest: (addr) => addr === '127.0.0.1',
      },
      async (r) => {
        const conn = await connect({ host: '127.0.0.1', port: r.port, username: 'u', privateKey: clientKey, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });
        conn.connection.onChannelOpen((req) => {
          expect(req.type).toBe('forwarded-tcpip');
          const ch = req.accept();
          ch.pipe(ch); // the "local service" is an echo
        });
        const denied = await conn.connection.globalRequest('tcpip-forward', new SSHWriter(32).string('0.0.0.0').uint32(0).toBytes());
        expect(denied.ok).toBe(false);
        const res = await conn.connection.globalRequest('tcpip-forward', new SSHWriter(32).string('127.0.0.1').uint32(0).toBytes());
        expect(res.ok).toBe(true);
        const bound = new SSHReader(res.data, 'port').uint32();
        expect(bound).toBeGreaterThan(0);
        const sock = net.connect(bound, '127.0.0.1');
        sock.end('round trip');
        let got = '';
        for await (const c of sock) got += String(c);
        expect(got).toBe('round trip');
        const cancel = await conn.connection.globalRequest('cancel-tcpip-forward', new SSHWriter(32).string('127.0.0.1').uint32(bound).toBytes());
        expect(cancel.ok).toBe(true);

        // A forward and its cancel sent back to back (no wait for the first
        // reply) are decided in order: the cancel finds the listener.
        const fixed = await freePort();
        const spec = new SSHWriter(32).string('127.0.0.1').uint32(fixed).toBytes();
        const [fwd, cancelled] = await Promise.all([conn.connection.globalRequest('tcpip-forward', spec), conn.connection.globalRequest('cancel-tcpip-forward', spec)]);
        expect(fwd.ok).toBe(true);
        expect(cancelled.ok).toBe(true);
        await expect.poll(() => new Promise<boolean>((resolve) => {
          const probe = net.connect(fixed, '127.0.0.1');
          probe.once('connect', () => { probe.destroy(); resolve(true); });
          probe.once('error', () => resolve(false));
        }), { timeout: 5000 }).toBe(false);
        conn.close();
      },
    );
  });
  it('openForwardedTcpipChannel: the server opens a forwarded-tcpip channel itself; the client relays it, and refuses ports it never asked for', async () => {
    let serverConn: SSHServerConnection | null = null;
    const r = await startServer(fx, {
      authorizedClientKeys: fx.authorizedKeys,
      server: (c) => {
        serverConn = c;
        return { checkPortForwardRequest: () => true };
      },
    });
    try {
      const conn = await connect({ host: '127.0.0.1', port: r.port, username: 'u', privateKey: fx.key, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });
      try {
        const listener = await conn.forwardRemote({ remoteHost: '127.0.0.1', remotePort: 0, localPort: echoPort });
        const ch = await serverConn!.openForwardedTcpipChannel(['203.0.113.9', 4242], ['127.0.0.1', listener.remotePort]);
        const back = new Promise<string>((resolve) => {
          let got = '';
          ch.on('data', (d: Buffer) => {
            got += String(d);
            if (got.length >= 9) resolve(got);
          });
        });
        ch.write('from afar');
        expect(await back).toBe('from afar');
        ch.end();
        await expect(serverConn!.openForwardedTcpipChannel(['203.0.113.9', 4242], ['127.0.0.1', 1])).rejects.toThrow(ChannelException);
        listener.close();
      } finally {
        await conn.close();
      }
    } finally {
      await r.server.close();
    }
  });
});
