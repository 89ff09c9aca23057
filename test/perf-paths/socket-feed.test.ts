/**
 * The client's reused-buffer socket reads (ts/transport/socket-feed.ts):
 * a socket created with `onread` hands the transport views of ONE buffer
 * that the next read overwrites, so the receive path must take what it
 * needs during the call. These tests deliver a peer's bytes exactly the way
 * libuv does (into the feed's own buffer, then the callback), split at every
 * byte and in full-buffer bursts, and scribble over the buffer after every
 * call so that any view kept past the call shows up as corrupt data.
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcp } from '../../ts/client/socket.js';
import { SocketFeed, socketFeedOf, tagSocketFeed } from '../../ts/transport/socket-feed.js';
import { Transport } from '../../ts/transport/index.js';
import { allHostKeys, closeBoth } from '../helpers/pair.js';

/** Message number for test payloads (local extension range). */
const TEST_MSG = 200;

/** Deterministic bytes for message `i` of `len` bytes: type byte, index, then a pattern. */
function message(i: number, len: number): Uint8Array {
  const m = new Uint8Array(len);
  m[0] = TEST_MSG;
  let x = (i * 2654435761 + len) >>> 0 || 1;
  for (let k = 1; k < len; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    m[k] = x & 0xff;
  }
  if (len >= 5) Buffer.from(m.buffer, m.byteOffset, len).writeUInt32BE(i, 1);
  return m;
}

/** How the bytes for the client are cut: every byte, seeded odd sizes, or whole-buffer bursts. */
type Mode = 'bytes' | 'mixed' | 'bursts';

/**
 * A client Duplex tagged with a SocketFeed (as connectTcp makes them) and a
 * server Duplex, linked in memory. Server output is queued and delivered to
 * the client through `feed.onread`: copied into the feed's buffer, passed
 * to the callback, then overwritten with garbage.
 */
function feedLink(): { client: Duplex; server: Duplex; feed: SocketFeed; setMode(m: Mode): void; deliveries(): number; largest(): number } {
  const feed = new SocketFeed();
  const readBuf = feed.onread.buffer;
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let mode: Mode = 'bytes';
  let scheduled = false;
  let deliveries = 0;
  let largest = 0;
  let seed = 12345;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % n;
  };
  const nextSize = (): number => {
    if (mode === 'bytes') return 1;
    if (mode === 'bursts') return readBuf.length;
    const r = rand(10);
    return r < 4 ? 1 + rand(40) : r < 7 ? 1 + rand(8192) : 1 + rand(readBuf.length);
  };
  const take = (n: number): number => {
    let got = 0;
    while (got < n) {
      const head = pending[0]!;
      const k = Math.min(head.length, n - got);
      head.copy(readBuf, got, 0, k);
      got += k;
      if (k === head.length) pending.shift();
      else pending[0] = head.subarray(k);
    }
    pendingBytes -= n;
    return n;
  };
  const pump = (): void => {
    scheduled = false;
    // Bounded work per turn so the server side keeps running; the rest follows on the next turn.
    let budget = mode === 'bytes' ? 4096 : 64;
    while (pendingBytes > 0 && budget-- > 0) {
      const n = take(Math.min(nextSize(), pendingBytes));
      deliveries++;
      largest = Math.max(largest, n);
      feed.onread.callback(n, readBuf);
      // The next read reuses the buffer: anything still looking at it now sees garbage.
      readBuf.fill(0xee, 0, n);
    }
    if (pendingBytes > 0) schedule();
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(pump);
  };
  const server: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      pending.push(Buffer.from(chunk));
      pendingBytes += chunk.length;
      schedule();
      cb();
    },
  });
  const client: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      server.push(Buffer.from(chunk));
      cb();
    },
  });
  tagSocketFeed(client, feed);
  return { client, server, feed, setMode: (m) => (mode = m), deliveries: () => deliveries, largest: () => largest };
}

/** Sends `sizes` as test messages from `from` and resolves with what `to` received, in order. */
function exchange(from: Transport, to: Transport, sizes: number[], first: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    // A transport that dies (bad MAC from corrupted input) fails the test at once instead of leaving it waiting.
    for (const t of [from, to]) void t.closed.then((err) => reject(err ?? new Error('transport closed')));
    const got: Uint8Array[] = [];
    const off = to.onMessage((type, payload) => {
      if (type !== TEST_MSG || got.length === sizes.length) return;
      got.push(Uint8Array.from(payload));
      if (got.length === sizes.length) {
        off();
        resolve(got);
      }
    });
    sizes.forEach((len, i) => from.send(message(first + i, len)));
  });
}

function expectMessages(got: Uint8Array[], sizes: number[], first: number): void {
  expect(got.length).toBe(sizes.length);
  for (let i = 0; i < sizes.length; i++) {
    const want = message(first + i, sizes[i]!);
    // Compare whole buffers only on mismatch, so a failure names the message.
    if (Buffer.compare(Buffer.from(got[i]!), Buffer.from(want)) !== 0) {
      expect({ index: first + i, length: got[i]!.length }).toEqual({ index: first + i, length: want.length });
      expect(Buffer.from(got[i]!).equals(Buffer.from(want))).toBe(true);
    }
  }
}

let open: Transport[] = [];
afterEach(async () => {
  await closeBoth(...open);
  open = [];
});

describe('socket feed: reads into one reused buffer', () => {
  const ciphers = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr'];
  for (const cipher of ciphers) {
    it(`${cipher}: split at every byte, at odd sizes and in full-buffer bursts, every message arrives byte-exact`, async () => {
      const link = feedLink();
      const algorithms = { cipher: [cipher], mac: ['hmac-sha2-256-etm@openssh.com'] };
      const server = new Transport(link.server, { role: 'server', hostKeys: allHostKeys(), algorithms });
      const client = new Transport(link.client, { role: 'client', verifyHostKey: () => true, algorithms });
      open = [client, server];
      // The transport took the feed, not 'data'.
      expect(link.client.listenerCount('data')).toBe(0);
      // Handshake and the first messages one byte per read: every boundary inside every packet.
      await Promise.all([client.ready, server.ready]);
      expect(client.negotiated!.cipherSC).toBe(cipher);
      let first = 0;
      const small = Array.from({ length: 60 }, (_, i) => 1 + ((i * 97) % 1400));
      expectMessages(await exchange(server, client, small, first), small, first);
      first += small.length;

      link.setMode('mixed');
      const mixed = Array.from({ length: 120 }, (_, i) => 1 + ((i * 7919) % 40000));
      expectMessages(await exchange(server, client, mixed, first), mixed, first);
      first += mixed.length;

      // Many large messages in one tick: the server writes 256 KiB batches, delivered a full read buffer at a time.
      link.setMode('bursts');
      const bulk = Array.from({ length: 96 }, (_, i) => 32 * 1024 + (i % 3) * 5000);
      expectMessages(await exchange(server, client, bulk, first), bulk, first);
      expect(link.largest()).toBe(link.feed.onread.buffer.length);
      expect(link.deliveries()).toBeGreaterThan(10_000);
    });
  }

  it('a TCP socket made by connectTcp (onread) carries traffic through 12 consecutive rekeys', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const sock = await connectTcp('127.0.0.1', (srv.address() as net.AddressInfo).port);
    const serverSock = await accepted;
    srv.close();
    expect(socketFeedOf(sock)).toBeInstanceOf(SocketFeed);
    const server = new Transport(serverSock, { role: 'server', hostKeys: allHostKeys() });
    const client = new Transport(sock, { role: 'client', verifyHostKey: () => true, algorithms: { cipher: ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'] } });
    open = [client, server];
    await Promise.all([client.ready, server.ready]);
    expect(sock.listenerCount('data')).toBe(0);
    const sessionId = Buffer.from(client.sessionId!);
    let rekeys = 0;
    client.on('rekey', () => rekeys++);
    let first = 0;
    for (let round = 0; round < 12; round++) {
      // Traffic in flight while the exchange starts, from alternating sides.
      const sizes = Array.from({ length: 24 }, (_, i) => 1 + ((i * 4099 + round * 131) % 70_000));
      const down = exchange(server, client, sizes, first);
      const up = exchange(client, server, sizes, first + 1000);
      // Each exchange completes on both sides before the next starts.
      const bothDone = Promise.all([once(client, 'rekey'), once(server, 'rekey')]);
      const rekey = round % 2 === 0 ? client.renegotiateKeys() : server.renegotiateKeys();
      const [gotDown, gotUp] = await Promise.all([down, up, rekey, bothDone]);
      expectMessages(gotDown, sizes, first);
      expectMessages(gotUp, sizes, first + 1000);
      first += 10_000;
    }
    expect(rekeys).toBe(12);
    expect(Buffer.from(client.sessionId!).equals(sessionId)).toBe(true);
    // Bytes after the last exchange still flow both ways.
    const tail = [1, 200_000, 5];
    expectMessages(await exchange(server, client, tail, 99_000), tail, 99_000);
  });
});
