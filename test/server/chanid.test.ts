/**
 * The `chanid` a policy's checkChannelRequest / checkChannelDirectTcpipRequest
 * gets is Paramiko's: the id the channel has once accepted (its localId),
 * different for channels open at the same time.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, connect, OPEN_SUCCEEDED, PrivateKey, type ConnectOptions, type SSHServerProcess } from '../../ts/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';
import { within } from '../helpers/within.js';

let fx: Fixture;
const clientKey = PrivateKey.generate('ed25519');

beforeAll(() => {
  fx = makeFixture('sshwire-server-chanid-');
});
afterAll(() => fx?.cleanup());

const checkAuthPublickey = (_u: string, k: { blob: Uint8Array }) =>
  Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED;

function opts(r: Running): ConnectOptions {
  return { host: '127.0.0.1', port: r.port, username: 'tester', knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, privateKey: clientKey };
}

describe('chanid given to the policy', () => {
  it("equals the accepted session channel's localId, and differs between channels open at once", async () => {
    /** chanid seen by checkChannelRequest, in arrival order. */
    const chanids: number[] = [];
    /** The accepted channel's localId, by command. */
    const localIds = new Map<string, number>();
    let releaseFirstTwo!: () => void;
    const firstTwo = new Promise<void>((r) => (releaseFirstTwo = r));
    const r = await startServer(fx, {
      server: {
        checkAuthPublickey,
        checkChannelRequest: async (kind, chanid) => {
          chanids.push(chanid);
          // Hold the first two opens until both have arrived: they are undecided at the same time.
          if (chanids.length === 2) releaseFirstTwo();
          if (chanids.length <= 2) await firstTwo;
          return kind === 'session' ? OPEN_SUCCEEDED : 1;
        },
        checkChannelExecRequest: (channel, command) => {
          localIds.set(command, channel.localId);
          return true;
        },
      },
      // Each session lasts until the client ends its stdin.
      processFactory: (proc: SSHServerProcess) => {
        proc.stdin.resume();
        proc.stdin.once('end', () => proc.exit(0));
      },
    });
    try {
      const conn = await connect(opts(r));
      const [a, b] = await within(Promise.all([conn.exec('a'), conn.exec('b')]), 10_000, 'two sessions');
      expect(chanids).toHaveLength(2);
      expect(new Set(chanids).size).toBe(2);
      expect([...chanids].sort((x, y) => x - y)).toEqual([localIds.get('a')!, localIds.get('b')!].sort((x, y) => x - y));
      // a ends; a new channel opens while b is still open.
      a.stdin.end();
      await within(a.exit, 5_000, 'a to exit');
      const c = await within(conn.exec('c'), 5_000, 'session c');
      expect(chanids).toHaveLength(3);
      expect(chanids[2]).toBe(localIds.get('c'));
      expect(chanids[2]).not.toBe(localIds.get('b'));
      b.stdin.end();
      c.stdin.end();
      await within(Promise.all([b.exit, c.exit]), 5_000, 'b and c to exit');
      conn.close();
    } finally {
      await r.server.close();
    }
  });

  it("direct-tcpip: checkChannelDirectTcpipRequest's chanid is the accepted channel's localId", async () => {
    const target = net.createServer((s) => s.pipe(s));
    await new Promise<void>((res) => target.listen(0, '127.0.0.1', () => res()));
    const targetPort = (target.address() as net.AddressInfo).port;
    const seen: number[] = [];
    const accepted: number[] = [];
    const r = await startServer(fx, {
      debug: (m) => {
        const hit = /accepted direct-tcpip channel (\d+) /.exec(m);
        if (hit) accepted.push(Number(hit[1]));
      },
      server: {
        checkAuthPublickey,
        checkChannelRequest: () => OPEN_SUCCEEDED,
        checkChannelDirectTcpipRequest: (chanid) => {
          seen.push(chanid);
          return OPEN_SUCCEEDED;
        },
      },
      processFactory: (proc: SSHServerProcess) => {
        proc.stdin.resume();
        proc.stdin.once('end', () => proc.exit(0));
      },
    });
    try {
      const conn = await connect(opts(r));
      // A session first, so that the direct-tcpip channels' ids are not 0 by luck.
      const s = await conn.exec('keep');
      for (let i = 0; i < 2; i++) {
        const ch = await within(conn.openConnection('127.0.0.1', targetPort), 5_000, 'the direct-tcpip channel');
        ch.end('ping');
        const echoed: Buffer[] = [];
        ch.on('data', (d: Buffer) => echoed.push(d));
        await within(new Promise((res) => ch.once('end', res)), 5_000, 'the echo');
        expect(Buffer.concat(echoed).toString()).toBe('ping');
      }
      expect(seen).toHaveLength(2);
      expect(accepted).toEqual(seen);
      expect(new Set(seen).size).toBe(2);
      s.stdin.end();
      await within(s.exit, 5_000, 'the session to exit');
      conn.close();
    } finally {
      await r.server.close();
      target.close();
    }
  });
});
