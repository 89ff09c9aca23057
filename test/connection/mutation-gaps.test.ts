/**
 * Connection-layer behaviour no other test could fail on, each found by
 * mutating ts/connection or ts/client and seeing every existing test pass:
 * window credit returned in batches, stderr in flow control (unread stderr
 * holds credit back, reading only stderr returns it), extended data of an
 * undefined type, peer windows at 2^31 and at exactly 2^32-1, every
 * exit-signal field and run({ check }) on a signal, global replies in order
 * when a synchronous answer follows a pending one, refused opens freeing
 * their slot in both directions, a single CLOSE, EOF behind buffered stderr
 * writes, and a remote forward's local socket staying half-open.
 * Each test is bounded by a few seconds.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRemoteForward } from '../../ts/client/forwardRemote.js';
import { encodeTcpipOpenData, OPEN_FAILURE, runCommand, type Channel } from '../../ts/connection/index.js';
import { ProcessError } from '../../ts/errors.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { within } from '../helpers/within.js';
import { connectionPair, gen, rawPeer, until, type ConnPair, type RawPeer } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f()));
});

async function pairOf(opts: Parameters<typeof connectionPair>[0] = {}): Promise<ConnPair> {
  const p = await connectionPair(opts);
  cleanups.push(() => p.close());
  return p;
}

/** A raw peer whose client Connection announces `window`. */
function peerWithWindow(window?: number): Promise<RawPeer> {
  return rawPeer(window !== undefined ? { window } : {}, (f) => cleanups.push(f));
}

const PEER_ID = 77;

/** Opens a channel from the client, confirmed by the raw peer with the given window. */
async function openConfirmed(p: RawPeer, type = 'session', peerWindow = 1 << 20): Promise<Channel> {
  const opening = p.client.openChannel(type, new Uint8Array(0));
  const open = await p.next(MSG.CHANNEL_OPEN);
  const r = new SSHReader(open, 'open', 1);
  expect(r.ascii()).toBe(type);
  const clientId = r.uint32();
  p.peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(clientId).uint32(PEER_ID).uint32(peerWindow).uint32(32768).toBytes());
  return opening;
}

function windowAdjust(id: number, n: number): Uint8Array {
  return new SSHWriter(12).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(id).uint32(n).toBytes();
}

/** A channel request from the client the raw peer answers with FAILURE once everything sent before it was handled. */
async function roundTrip(p: RawPeer, ch: Channel): Promise<void> {
  const reply = ch.request('sync@test');
  await p.next(MSG.CHANNEL_REQUEST);
  p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_FAILURE).uint32(ch.localId).toBytes());
  expect(await within(reply, 3000, 'the sync reply')).toBe(false);
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes `data` to the channel's stderr in `chunk`-sized writes, honouring backpressure. */
function writeStderrAll(ch: Channel, data: Buffer, chunk: number): Promise<void> {
  return new Promise((resolve) => {
    let off = 0;
    const go = (): void => {
      while (off < data.length) {
        const piece = data.subarray(off, off + chunk);
        off += piece.length;
        if (!ch.writeStderr(piece)) {
          ch.stderrWriter.once('drain', go);
          return;
        }
      }
      resolve();
    };
    go();
  });
}

describe('window credit', () => {
  it('small packets read as they come are credited in batches of at least an eighth of the window, never per packet', async () => {
    const window = 64 * KiB;
    const p = await pairOf({ client: { window, maxPacketSize: 1000 } });
    const adjusts: number[] = [];
    const send = p.clientTransport.send.bind(p.clientTransport);
    p.clientTransport.send = (payload: Uint8Array) => {
      if (payload[0] === MSG.CHANNEL_WINDOW_ADJUST) adjusts.push(Buffer.from(payload).readUInt32BE(5));
      send(payload);
    };
    const body = gen(256 * KiB, 24);
    p.server.onChannelOpen((req) => req.accept().end(body));
    const ch = await p.client.openChannel('test@sshwire', new Uint8Array(0));
    const parts: Buffer[] = [];
    ch.on('data', (d: Buffer) => parts.push(d));
    await within(new Promise<void>((r) => ch.once('end', () => r())), 5000, 'all the data');
    expect(sha(Buffer.concat(parts))).toBe(sha(body));
    expect(adjusts.length).toBeGreaterThan(0);
    for (const a of adjusts) expect(a).toBeGreaterThanOrEqual(window / 8);
    // Credit never runs ahead of what was consumed.
    expect(adjusts.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(body.length);
  });
});

describe('flow control for stderr', () => {
  it('stderr nobody reads holds back credit: the peer stops at the window while stdout is read', async () => {
    const window = 64 * KiB;
    const p = await pairOf({ client: { window } });
    let serverCh: Channel | null = null;
    const body = gen(MiB, 21);
    p.server.onChannelOpen((req) => {
      serverCh = req.accept();
      serverCh.write('some stdout\n');
      void writeStderrAll(serverCh, body, 16 * KiB);
    });
    const ch = await p.client.openChannel('test@sshwire', new Uint8Array(0));
    ch.resume(); // stdout is read; stderr is not
    await until(() => (serverCh !== null && serverCh.remoteWindow === 0) || ch.stderr.readableLength > window, 5000, 'the peer to stop or overrun');
    await sleep(50);
    expect(ch.stderr.readableLength).toBeLessThanOrEqual(window);
    expect(serverCh!.remoteWindow).toBe(0);
    expect(ch.localWindow).toBe(0);
  });

  it('reading only stderr returns credit: 1 MiB of stderr through a 64 KiB window, stdout silent', async () => {
    const window = 64 * KiB;
    const p = await pairOf({ client: { window } });
    const body = gen(MiB, 22);
    p.server.onChannelOpen((req) => {
      const ch = req.accept();
      void writeStderrAll(ch, body, 32 * KiB).then(() => ch.end());
    });
    const ch = await p.client.openChannel('test@sshwire', new Uint8Array(0));
    // Let a whole window pile up unread, then read it with read() (async iteration).
    await until(() => ch.stderr.readableLength === window, 5000, 'a full window of stderr');
    const parts: Buffer[] = [];
    const drain = (async () => {
      for await (const c of ch.stderr) parts.push(c as Buffer);
    })();
    await within(drain, 5000, 'all of stderr');
    expect(sha(Buffer.concat(parts))).toBe(sha(body));
  });

  it('extended data of an undefined type is dropped, not delivered as stderr, and its window is returned', async () => {
    const window = 8 * KiB;
    const p = await peerWithWindow(window);
    const ch = await openConfirmed(p);
    const ext = (type: number, bytes: Uint8Array): Uint8Array => new SSHWriter(32 + bytes.length).byte(MSG.CHANNEL_EXTENDED_DATA).uint32(ch.localId).uint32(type).string(bytes).toBytes();
    p.peer.send(ext(2, Buffer.alloc(window / 2, 0x58)));
    p.peer.send(ext(1, Buffer.from('err')));
    await roundTrip(p, ch);
    expect(p.client.isClosed).toBe(false);
    expect(ch.stderr.readableLength).toBe(3);
    // The dropped bytes count as consumed: the peer got them back at once.
    const adjust = await p.next(MSG.CHANNEL_WINDOW_ADJUST);
    expect(adjust.readUInt32BE(1)).toBe(PEER_ID);
    expect(adjust.readUInt32BE(5)).toBe(window / 2);
    expect(ch.localWindow).toBe(window - 3);
    expect(String(ch.stderr.read())).toBe('err');
  });
});

describe('the peer\'s window near 2^32', () => {
  it('a WINDOW_ADJUST bringing the window to exactly 2^32-1 is legal', async () => {
    const p = await peerWithWindow();
    const ch = await openConfirmed(p, 'session', 0xfffffff0);
    p.peer.send(windowAdjust(ch.localId, 0x0f));
    await roundTrip(p, ch);
    expect(p.client.isClosed).toBe(false);
    expect(ch.remoteWindow).toBe(0xffffffff);
  });

  it('a WINDOW_ADJUST of 2^31 or more is read as an unsigned 32-bit number', async () => {
    const p = await peerWithWindow();
    const ch = await openConfirmed(p, 'session', 0);
    p.peer.send(windowAdjust(ch.localId, 0x80000005));
    await roundTrip(p, ch);
    expect(ch.remoteWindow).toBe(0x80000005);
  });
});

describe('exit-signal', () => {
  it('every field reaches the client: name, core dumped, message, language tag', async () => {
    const p = await pairOf();
    p.server.onChannelOpen((req) => {
      const ch = req.acceptSession({
        onRequest: (r) => {
          if (r.type !== 'exec') return false;
          setImmediate(() => {
            ch.sendExitSignal('SEGV', true, 'segmentation fault', 'en-US');
            ch.end();
            ch.close();
          });
          return true;
        },
      });
    });
    const r = await within(runCommand(p.client, 'crash'), 5000, 'the run');
    expect(r.exitStatus).toBeNull();
    expect(r.exitSignal).toEqual({ name: 'SEGV', coreDumped: true, message: 'segmentation fault', lang: 'en-US' });
    expect(r.returncode).toBe(-11);
    // check: death by a signal is a failure too.
    const err = await within(runCommand(p.client, 'crash', { check: true }).catch((e: unknown) => e), 5000, 'the checked run');
    expect(err).toBeInstanceOf(ProcessError);
    expect(err).toMatchObject({ code: 'ERR_SSH_PROCESS_EXIT', exitSignal: { name: 'SEGV' } });
  });
});

describe('global request replies', () => {
  it('global replies stay in request order when a synchronous answer follows a pending asynchronous one', async () => {
    const p = await pairOf();
    p.server.onGlobalRequest((name) => {
      if (name === 'slow') return sleep(40).then(() => true);
      if (name === 'port') return Uint8Array.of(0, 0, 0x1f, 0x90);
      return false;
    });
    const [a, b, c] = await within(Promise.all([p.client.globalRequest('slow'), p.client.globalRequest('port'), p.client.globalRequest('other')]), 3000, 'the replies');
    expect(a.ok).toBe(true);
    expect(a.data.length).toBe(0);
    expect(b.ok).toBe(true);
    expect(Buffer.from(b.data).readUInt32BE(0)).toBe(8080);
    expect(c.ok).toBe(false);
  });
});

describe('open failures free their slot', () => {
  it('an open the peer refused frees its slot: with maxChannels 1, refusals keep coming back as the peer\'s reason', async () => {
    const p = await pairOf({ client: { maxChannels: 1 } });
    p.server.onChannelOpen((req) => req.reject(OPEN_FAILURE.CONNECT_FAILED, 'no'));
    for (let i = 0; i < 3; i++) {
      await expect(p.client.openSession()).rejects.toMatchObject({ reasonCode: OPEN_FAILURE.CONNECT_FAILED });
      expect(p.client.channelCount).toBe(0);
    }
  });

  it('an open we refused frees its slot: with maxChannels 1 on the server, the next open is accepted', async () => {
    const p = await pairOf({ server: { maxChannels: 1 } });
    let n = 0;
    p.server.onChannelOpen((req) => (n++ === 0 ? req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'first') : req.accept()));
    await expect(p.client.openChannel('t@test', new Uint8Array(0))).rejects.toMatchObject({ reasonCode: OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED });
    expect(p.server.channelCount).toBe(0);
    const ch = await within(p.client.openChannel('t@test', new Uint8Array(0)), 3000, 'the second open');
    expect(ch).toBeTruthy();
    expect(p.server.channelCount).toBe(1);
  });
});

describe('closing', () => {
  it('close() with data pending, then the peer\'s EOF: exactly one CLOSE goes out', async () => {
    const p = await peerWithWindow();
    // closeOnEof, and a peer window too small for the data: close() has to queue EOF and CLOSE behind it.
    const ch = await openConfirmed(p, 'direct-tcpip', 100);
    ch.write(Buffer.alloc(1000, 1));
    ch.close();
    p.peer.send(windowAdjust(ch.localId, 10_000));
    await p.next(MSG.CHANNEL_EOF);
    await p.next(MSG.CHANNEL_CLOSE);
    p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_EOF).uint32(ch.localId).toBytes());
    // A global request's reply comes after whatever the client sent on seeing that EOF.
    p.peer.send(new SSHWriter(40).byte(MSG.GLOBAL_REQUEST).string('sync@test').boolean(true).toBytes());
    await p.next(MSG.REQUEST_FAILURE);
    expect(p.received.filter((m) => m[0] === MSG.CHANNEL_CLOSE).length).toBe(1);
    p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(ch.localId).toBytes());
    await within(ch.exit, 3000, 'the channel to finish');
    expect(p.client.isClosed).toBe(false);
  });

  it('EOF waits for stderr writes still buffered in the stderr writer: none is dropped', async () => {
    const p = await pairOf({ client: { window: 16 * KiB } });
    const body = gen(128 * KiB, 23);
    p.server.onChannelOpen((req) => {
      const ch = req.acceptSession({ onRequest: (r) => r.type === 'exec' });
      setImmediate(() => {
        // Eight writes, far beyond the client's window: most wait in the stderr writer.
        for (let i = 0; i < 8; i++) ch.writeStderr(body.subarray(i * 16 * KiB, (i + 1) * 16 * KiB));
        ch.sendExitStatus(0);
        ch.end();
        ch.close();
      });
    });
    const r = await within(runCommand(p.client, 'spew', { encoding: null }), 5000, 'the run');
    expect((r.stderr as Buffer).length).toBe(body.length);
    expect(sha(r.stderr as Buffer)).toBe(sha(body));
    expect(r.exitStatus).toBe(0);
  });
});

describe('remote forwarding', () => {
  it('the local socket stays half-open: data from the far end after the local target\'s FIN still reaches the target', async () => {
    const p = await pairOf();
    // The local target greets, shuts down its side at once, and records what it then receives.
    let targetGot = '';
    let targetEnded!: () => void;
    const ended = new Promise<void>((r) => (targetEnded = r));
    const target = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.end('hello');
      s.on('data', (d: Buffer) => (targetGot += String(d)));
      s.on('end', () => {
        targetEnded();
        s.destroy();
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => target.close(r)));
    const targetPort = (target.address() as net.AddressInfo).port;

    p.server.onGlobalRequest((name) => (name === 'tcpip-forward' ? new SSHWriter(4).uint32(4242).toBytes() : true));
    const fwd = await startRemoteForward(p.client, { remoteHost: 'localhost', remotePort: 0, localPort: targetPort });
    expect(fwd.remotePort).toBe(4242);
    const ch = await within(
      p.server.openChannel('forwarded-tcpip', encodeTcpipOpenData({ host: 'localhost', port: 4242, originHost: '10.0.0.1', originPort: 5555 })),
      3000,
      'the forwarded channel',
    );
    let greeting = '';
    ch.on('data', (d: Buffer) => (greeting += String(d)));
    await within(new Promise<void>((r) => ch.once('end', () => r())), 3000, 'the target\'s EOF');
    expect(greeting).toBe('hello');
    ch.end('late data');
    await within(ended, 3000, 'the target to see our FIN');
    expect(targetGot).toBe('late data');
    await fwd.close();
  });
});
