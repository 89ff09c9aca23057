import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel, runCommand } from '../../ts/connection/index.js';
import { MSG } from '../../ts/wire/index.js';
import { connectionPair, gen, serveFakeCommands, sha256Of, until, writeRandom, type ConnPair } from './helpers.js';

const MiB = 1024 * 1024;

let pair: ConnPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** Watches every payload a transport sends (the connection calls transport.send per message). */
function spySends(t: { send(p: Uint8Array): void; sendGathered?(parts: readonly Uint8Array[], onCopied: (() => void) | null): void }, onSend: (p: Uint8Array) => void): void {
  const orig = t.send.bind(t);
  t.send = (p: Uint8Array) => {
    onSend(p);
    orig(p);
  };
  // Bulk channel data goes through the gathered path (header + views).
  const gathered = t.sendGathered?.bind(t);
  if (gathered) {
    t.sendGathered = (parts, onCopied) => {
      onSend(Buffer.concat(parts));
      gathered(parts, onCopied);
    };
  }
}

describe('bulk data', () => {
  it('100 MiB through one channel in both directions at once, byte-exact', async () => {
    pair = await connectionPair();
    serveFakeCommands(pair.server);
    const ch = await pair.client.openSession();
    await ch.exec('cat');
    const [sentHash, gotHash] = await Promise.all([writeRandom(ch, 100 * MiB), sha256Of(ch)]);
    expect(gotHash).toBe(sentHash);
    expect(await ch.recvExitStatus()).toBe(0);
  });

  it('200 concurrent channels each move their own data intact', async () => {
    pair = await connectionPair();
    serveFakeCommands(pair.server);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const input = gen(20_000 + i * 101, i + 1);
        const r = await runCommand(pair!.client, 'sha256', { stdin: input });
        return r.stdout === createHash('sha256').update(input).digest('hex') && r.exitStatus === 0;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(pair.client.channelCount).toBe(0);
  });
});

describe('flow control', () => {
  it('a paused reader holds at most its window while another channel keeps moving', async () => {
    const window = 256 * 1024;
    pair = await connectionPair({ client: { window } });
    const serverSide: Channel[] = [];
    const hashes: Promise<string>[] = [];
    pair.server.onChannelOpen((req) => {
      const ch = req.accept();
      serverSide.push(ch);
      hashes.push(writeRandom(ch, 8 * MiB, 64 * 1024));
    });
    const paused = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    const moving = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    // Nobody reads `paused`; `moving` is read to the end.
    const movingHash = await sha256Of(moving);
    expect(movingHash).toBe(await hashes[1]!);
    await until(() => serverSide[0]!.remoteWindow === 0, 10_000, 'the paused channel to use its window');
    await new Promise((r) => setTimeout(r, 20));
    expect(paused.bufferedBytes).toBeLessThanOrEqual(window);
    expect(paused.bufferedBytes).toBeGreaterThan(0);
    expect(paused.localWindow).toBe(window - paused.bufferedBytes);
    // The server is stuck on the window, not buffering the rest in memory.
    expect(serverSide[0]!.remoteWindow).toBe(0);
    expect(serverSide[0]!.pendingBytes).toBeLessThanOrEqual(64 * 1024);
    // Reading resumes the flow, and every byte arrives.
    expect(await sha256Of(paused)).toBe(await hashes[0]!);
  });

  it('WINDOW_ADJUST goes out once an eighth of the window is consumed, never beyond the window, none while paused', async () => {
    const window = 256 * 1024;
    pair = await connectionPair({ client: { window } });
    const adjusts: number[] = [];
    spySends(pair.clientTransport, (p) => {
      if (p[0] === MSG.CHANNEL_WINDOW_ADJUST) adjusts.push(Buffer.from(p).readUInt32BE(5));
    });
    let serverCh: Channel | null = null;
    pair.server.onChannelOpen((req) => {
      serverCh = req.accept();
      serverCh.end(gen(MiB, 3));
    });
    const ch = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    await until(() => ch.bufferedBytes === window, 10_000, 'a full window to arrive');
    await new Promise((r) => setTimeout(r, 20));
    // Paused: the whole window is used and nothing was credited back.
    expect(adjusts).toEqual([]);
    expect(ch.bufferedBytes).toBe(window);
    expect(serverCh!.remoteWindow).toBe(0);
    const got = await sha256Of(ch);
    expect(got).toBe(createHash('sha256').update(gen(MiB, 3)).digest('hex'));
    expect(adjusts.length).toBeGreaterThan(0);
    for (const a of adjusts) {
      expect(a).toBeGreaterThanOrEqual(window / 8);
      expect(a).toBeLessThanOrEqual(window);
    }
    // Credit goes back early (32 KiB packets are credited well before half the window is used).
    expect(Math.min(...adjusts)).toBeLessThan(window / 2);
    // Credit given never exceeds what was consumed: initial window + adjusts ≥ 1 MiB received, ≤ 1 MiB + window.
    const credit = window + adjusts.reduce((a, b) => a + b, 0);
    expect(credit).toBeGreaterThanOrEqual(MiB);
    expect(credit).toBeLessThanOrEqual(MiB + window);
  });

  it('packets respect the peer\'s maximum packet size and writes are split', async () => {
    pair = await connectionPair({ client: { maxPacketSize: 1000 } });
    const sizes: number[] = [];
    spySends(pair.serverTransport, (p) => {
      if (p[0] === MSG.CHANNEL_DATA) sizes.push(p.length - 9);
      if (p[0] === MSG.CHANNEL_EXTENDED_DATA) sizes.push(p.length - 13);
    });
    pair.server.onChannelOpen((req) => {
      const ch = req.accept();
      ch.writeStderr(Buffer.alloc(5000, 1));
      ch.end(Buffer.alloc(10_000, 2));
    });
    const ch = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    const errChunks: Buffer[] = [];
    ch.stderr.on('data', (d: Buffer) => errChunks.push(d));
    const out = await sha256Of(ch);
    expect(out).toBe(createHash('sha256').update(Buffer.alloc(10_000, 2)).digest('hex'));
    expect(Buffer.concat(errChunks).length).toBe(5000);
    expect(sizes.length).toBe(15);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
  });

  it('many small writes are coalesced into fewer packets', async () => {
    pair = await connectionPair();
    let packets = 0;
    spySends(pair.serverTransport, (p) => {
      if (p[0] === MSG.CHANNEL_DATA) packets++;
    });
    pair.server.onChannelOpen((req) => {
      const ch = req.accept();
      ch.cork();
      for (let i = 0; i < 1000; i++) ch.write(`line ${i}\n`);
      ch.uncork();
      ch.end();
    });
    const ch = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    const chunks: Buffer[] = [];
    for await (const c of ch) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString().split('\n').length).toBe(1001);
    expect(packets).toBeLessThan(10);
  });

  it('the sender never exceeds a tiny peer window (the receiver would fail the connection)', async () => {
    pair = await connectionPair({ client: { window: 100, maxPacketSize: 64 } });
    pair.server.onChannelOpen((req) => req.accept().end(gen(50_000, 9)));
    const ch = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    expect(await sha256Of(ch)).toBe(createHash('sha256').update(gen(50_000, 9)).digest('hex'));
    expect(pair.client.isClosed).toBe(false);
  });

  it('no data is handed to the transport while its socket is backed up (needsDrain)', async () => {
    pair = await connectionPair();
    const t = pair.serverTransport;
    let whileBlocked = 0;
    let sawBlocked = 0;
    spySends(t, (p) => {
      if (p[0] === MSG.CHANNEL_DATA && t.needsDrain) whileBlocked++;
    });
    t.on('drain', () => sawBlocked++);
    const hashes: Promise<string>[] = [];
    pair.server.onChannelOpen((req) => hashes.push(writeRandom(req.accept(), 16 * MiB)));
    const chans = await Promise.all([0, 1, 2].map(() => pair!.client.openChannel('test@sshwire', new Uint8Array(0))));
    const got = await Promise.all(chans.map((c) => sha256Of(c)));
    expect(got).toEqual(await Promise.all(hashes));
    expect(sawBlocked).toBeGreaterThan(0);
    expect(whileBlocked).toBe(0);
  });
});

describe('closing order', () => {
  it('write + exit-status + end + close: the peer sees all data, then exit-status, EOF, CLOSE', async () => {
    pair = await connectionPair({ client: { window: 32 * 1024 } });
    const wire: string[] = [];
    spySends(pair.serverTransport, (p) => {
      const name = { [MSG.CHANNEL_DATA]: 'data', [MSG.CHANNEL_REQUEST]: 'request', [MSG.CHANNEL_EOF]: 'eof', [MSG.CHANNEL_CLOSE]: 'close' }[p[0]!];
      if (name && wire[wire.length - 1] !== name) wire.push(name);
    });
    const body = gen(500_000, 5);
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({ onRequest: (r) => r.type === 'exec' });
      ch.write(body); // far more than the client's window: most of it waits in the queue
      ch.sendExitStatus(42);
      ch.end();
      ch.close();
    });
    const ch = await pair.client.openSession();
    await new Promise((r) => setTimeout(r, 30)); // let everything reach the client, unread
    expect(await sha256Of(ch)).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await ch.exit).toEqual({ exitStatus: 42 });
    expect(wire).toEqual(['data', 'request', 'eof', 'close']);
  });

  it('exit-status follows writes still buffered in the stdout and stderr streams', async () => {
    pair = await connectionPair({ client: { window: 32 * 1024 } });
    const wire: string[] = [];
    spySends(pair.serverTransport, (p) => {
      const name = { [MSG.CHANNEL_DATA]: 'data', [MSG.CHANNEL_EXTENDED_DATA]: 'stderr', [MSG.CHANNEL_REQUEST]: 'request' }[p[0]!];
      if (name && wire[wire.length - 1] !== name) wire.push(name);
    });
    const first = gen(200_000, 1);
    const second = gen(100_000, 2);
    const err = gen(50_000, 3);
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({ onRequest: (r) => r.type === 'exec' });
      ch.write(first); // waits for window in the channel's queue
      ch.write(second); // waits in the Writable's own buffer behind it
      ch.writeStderr(err); // waits in the stderr Writable
      ch.sendExitStatus(7);
      ch.close();
    });
    const ch = await pair.client.openSession();
    const [out, errOut] = await Promise.all([sha256Of(ch), sha256Of(ch.stderr)]);
    expect(out).toBe(createHash('sha256').update(first).update(second).digest('hex'));
    expect(errOut).toBe(createHash('sha256').update(err).digest('hex'));
    expect(await ch.exit).toEqual({ exitStatus: 7 });
    expect(wire[wire.length - 1]).toBe('request');
    expect(wire.filter((w) => w === 'request')).toEqual(['request']);
  });

  it('destroy() drops unsent data and closes at once', async () => {
    pair = await connectionPair({ client: { window: 16 * 1024 } });
    let serverCh: Channel | null = null;
    pair.server.onChannelOpen((req) => {
      serverCh = req.accept();
      serverCh.write(gen(200_000, 1));
      setTimeout(() => serverCh!.destroy(), 20);
    });
    const ch = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    await new Promise((r) => setTimeout(r, 60));
    let n = 0;
    for await (const c of ch) n += (c as Buffer).length;
    expect(n).toBe(16 * 1024); // one window's worth, never more
    await ch.exit;
    expect(serverCh!.isClosed).toBe(true);
    expect(pair.server.channelCount).toBe(0);
  });
});
