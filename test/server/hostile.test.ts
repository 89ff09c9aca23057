/**
 * Hostile clients: garbage after the banner, oversized packet lengths,
 * messages for unknown channels, channel-open and global-request floods,
 * malformed SFTP lengths, a client that never reads. Each time that one
 * connection ends with a typed error in the server's log, the server keeps
 * answering a normal client, and memory stays bounded.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, ProtocolError, SSHException, type SSHClientConnection } from '../../ts/index.js';
import { MSG, SSHWriter } from '../../ts/wire/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let r: Running;

beforeAll(async () => {
  fx = makeFixture('sshwire-server-hostile-');
  r = await startServer(fx, {
    authorizedClientKeys: fx.authorizedKeys,
    sftp: { root: fx.root },
    maxChannelsPerConnection: 16,
    processFactory: async (proc) => {
      if (proc.command === 'firehose') {
        // Writes as fast as the channel lets it: backpressure is all that bounds it.
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        while (!proc.channel.isClosed) {
          if (!proc.stdout.write(chunk)) await new Promise((res) => proc.stdout.once('drain', res));
        }
        return;
      }
      proc.stdout.write('alive\n');
      proc.exit(0);
    },
  });
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

function client(): Promise<SSHClientConnection> {
  return connect({ host: '127.0.0.1', port: r.port, username: 'tester', privateKey: fx.key, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });
}

/** A normal client still gets served. */
async function stillServes(): Promise<void> {
  const c = await client();
  expect((await c.run('hello')).stdout).toBe('alive\n');
  c.close();
  await c.closed;
}

/** Waits until the server has logged one more error than `before`; returns it. */
async function nextError(before: number): Promise<Error> {
  for (let i = 0; i < 200 && r.errors.length <= before; i++) await new Promise((res) => setTimeout(res, 25));
  expect(r.errors.length).toBeGreaterThan(before);
  return r.errors[r.errors.length - 1]!;
}

/** A raw TCP client that sends `bytes` after reading the server's banner; resolves when the server closes. */
async function raw(bytes: Buffer): Promise<void> {
  const s = net.connect(r.port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise((res) => s.once('data', res));
  s.write(bytes);
  await new Promise((res) => s.once('close', res));
}

describe('hostile clients', () => {
  it('random bytes after the banner end that connection with a ProtocolError', async () => {
    const before = r.errors.length;
    await raw(Buffer.concat([Buffer.from('SSH-2.0-hostile\r\n'), randomBytes(64 * 1024)]));
    expect(await nextError(before)).toBeInstanceOf(SSHException);
    await stillServes();
  });

  it('an oversized packet length is refused without allocating it', async () => {
    const before = r.errors.length;
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32BE(0x7ffffff0, 0);
    await raw(Buffer.concat([Buffer.from('SSH-2.0-hostile\r\n'), hdr]));
    const err = await nextError(before);
    expect(err).toBeInstanceOf(ProtocolError);
    await stillServes();
  });

  it('data for an unknown channel ends the connection', async () => {
    const before = r.errors.length;
    const c = await client();
    c.transport.send(new SSHWriter(32).byte(MSG.CHANNEL_DATA).uint32(4242).string('boo').toBytes());
    await c.closed;
    expect(await nextError(before)).toBeInstanceOf(ProtocolError);
    await stillServes();
  });

  it('thousands of channel opens: refused past the limit, then the connection is cut', async () => {
    const before = r.errors.length;
    const c = await client();
    const mem0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i++) {
      c.transport.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN).string('session').uint32(100000 + i).uint32(65536).uint32(32768).toBytes());
    }
    await c.closed;
    const err = await nextError(before);
    expect((err as SSHException).code).toBe('ERR_SSH_FLOOD');
    expect(process.memoryUsage().heapUsed - mem0).toBeLessThan(64 * 1024 * 1024);
    await stillServes();
  });

  it('a flood of global requests waiting on a slow policy is cut off', async () => {
    const slow = await startServer(fx, {
      authorizedClientKeys: fx.authorizedKeys,
      // A policy that takes its time: unanswered requests pile up unless bounded.
      server: { checkGlobalRequest: () => new Promise<boolean>((res) => setTimeout(() => res(false), 30_000).unref()) },
    });
    try {
      const c = await connect({ host: '127.0.0.1', port: slow.port, username: 'tester', privateKey: fx.key, knownHosts: slow.knownHosts, config: false, agent: false, lookForKeys: false });
      for (let i = 0; i < 200; i++) c.transport.send(new SSHWriter(48).byte(MSG.GLOBAL_REQUEST).string('flood@example.com').boolean(true).toBytes());
      await c.closed;
      for (let i = 0; i < 100 && slow.errors.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect((slow.errors[0] as SSHException).code).toBe('ERR_SSH_FLOOD');
    } finally {
      await slow.server.close();
    }
    await stillServes();
  });

  it('a malformed SFTP packet length ends that connection with a ProtocolError', async () => {
    const before = r.errors.length;
    const c = await client();
    const ch = await c.openSession();
    await ch.subsystem('sftp');
    const init = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);
    ch.write(init);
    const bogus = Buffer.alloc(9);
    bogus.writeUInt32BE(0xfffffff0, 0);
    ch.write(bogus);
    ch.on('data', () => {});
    await c.closed;
    const err = await nextError(before);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/SFTP/);
    await stillServes();
  });

  it('a client that never reads stalls its session, not the server', async () => {
    const c = await client();
    const heap0 = process.memoryUsage().heapUsed;
    const proc = await c.exec('firehose');
    proc.stdout.pause(); // and never resume
    await new Promise((res) => setTimeout(res, 1500));
    // The window (2 MiB) and the stream buffers bound what is held, on both ends.
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(48 * 1024 * 1024);
    expect(proc.channel.bufferedBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    await stillServes();
    c.close();
    await c.closed;
  });
});
