/**
 * A hand-driven peer (a bare server Transport) sends what a real peer
 * should not; the client Connection must fail with a typed error, tell the
 * peer (DISCONNECT), and fail everything pending.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, runCommand, type ConnectionOptions, type SessionChannel } from '../../ts/connection/index.js';
import { ChannelException, DisconnectError, ProcessError, ProtocolError } from '../../ts/errors.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { transportPair } from '../helpers/pair.js';
import { connectionPair, rawPeer, type ConnPair, type RawPeer } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f()));
});

/** A raw peer for this file's tests, closed after each. */
function peer(opts: Partial<ConnectionOptions> = {}): Promise<RawPeer> {
  return rawPeer(opts, (f) => cleanups.push(f));
}

const PEER_ID = 77;

/** Opens a session from the client, confirmed by the raw peer with the given window. */
async function openConfirmed(p: RawPeer, peerWindow = 1 << 20): Promise<SessionChannel> {
  const opening = p.client.openSession();
  const open = await p.next(MSG.CHANNEL_OPEN);
  const r = new SSHReader(open, 'open', 1);
  expect(r.ascii()).toBe('session');
  const clientId = r.uint32();
  p.peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(clientId).uint32(PEER_ID).uint32(peerWindow).uint32(32768).toBytes());
  return opening;
}

function data(id: number, bytes: Uint8Array): Uint8Array {
  return new SSHWriter(16 + bytes.length).byte(MSG.CHANNEL_DATA).uint32(id).string(bytes).toBytes();
}

async function expectProtocolFailure(p: RawPeer, code?: string): Promise<Error> {
  const err = await p.client.closed;
  expect(err).toBeInstanceOf(ProtocolError);
  if (code) expect((err as ProtocolError).code).toBe(code);
  const peerErr = await p.peer.closed;
  expect(peerErr).toBeInstanceOf(DisconnectError);
  expect((peerErr as DisconnectError).reason).toBe(DISCONNECT_REASON.PROTOCOL_ERROR);
  return err!;
}

describe('peer protocol violations', () => {
  it('data beyond the window', async () => {
    const p = await peer({ window: 1000 });
    const ch = await openConfirmed(p);
    const pendingReq = ch.request('x@test');
    p.peer.send(data(ch.localId, new Uint8Array(600)));
    p.peer.send(data(ch.localId, new Uint8Array(401)));
    const err = await expectProtocolFailure(p, 'ERR_SSH_WINDOW_EXCEEDED');
    await expect(ch.exit).rejects.toBe(err);
    await expect(pendingReq).rejects.toBe(err);
  });

  it('data for an unknown channel id', async () => {
    const p = await peer();
    await openConfirmed(p);
    p.peer.send(data(999, new Uint8Array(10)));
    await expectProtocolFailure(p, 'ERR_SSH_CHANNEL_PROTOCOL');
  });

  it('data after EOF', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_EOF).uint32(ch.localId).toBytes());
    p.peer.send(data(ch.localId, new Uint8Array(10)));
    await expectProtocolFailure(p, 'ERR_SSH_CHANNEL_PROTOCOL');
  });

  it('data after CLOSE (the id is gone once CLOSE went both ways)', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(ch.localId).toBytes());
    const close = await p.next(MSG.CHANNEL_CLOSE);
    expect(close.readUInt32BE(1)).toBe(PEER_ID);
    await ch.exit;
    p.peer.send(data(ch.localId, new Uint8Array(10)));
    await expectProtocolFailure(p, 'ERR_SSH_CHANNEL_PROTOCOL');
  });

  it('a window adjust that overflows 2^32-1', async () => {
    const p = await peer();
    const ch = await openConfirmed(p, 0xfffffff0);
    p.peer.send(new SSHWriter(12).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(ch.localId).uint32(0x100).toBytes());
    await expectProtocolFailure(p, 'ERR_SSH_CHANNEL_PROTOCOL');
  });

  it('a reply to a request never sent', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    p.peer.send(new SSHWriter(8).byte(MSG.CHANNEL_SUCCESS).uint32(ch.localId).toBytes());
    await expectProtocolFailure(p);
  });

  it('a CHANNEL_DATA whose length field disagrees with the packet', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    const bad = Buffer.from(data(ch.localId, new Uint8Array(10)));
    bad.writeUInt32BE(11, 5);
    p.peer.send(bad);
    await expectProtocolFailure(p);
  });

  it('a confirmation for a channel we never opened', async () => {
    const p = await peer();
    p.peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(5).uint32(1).uint32(100).uint32(100).toBytes());
    await expectProtocolFailure(p, 'ERR_SSH_CHANNEL_PROTOCOL');
  });

  it('a malformed pty-req from a client fails the server connection', async () => {
    const { client: ct, server: st } = await transportPair();
    await Promise.all([ct.ready, st.ready]);
    const server = new Connection(st, { role: 'server' });
    server.onChannelOpen((req) => req.accept({ onRequest: () => true }));
    cleanups.push(async () => {
      server.close();
      ct.disconnect();
      await Promise.all([server.closed, ct.closed]);
    });
    ct.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN).string('session').uint32(3).uint32(1000).uint32(1000).toBytes());
    ct.send(new SSHWriter(32).byte(MSG.CHANNEL_REQUEST).uint32(0).string('pty-req').boolean(true).string('xterm').uint32(80).toBytes());
    expect(await server.closed).toBeInstanceOf(ProtocolError);
  });
});

describe('odd but legal peers', () => {
  it('a peer announcing a 4 GiB maximum packet still gets packets the transport can carry', async () => {
    const p = await peer();
    const opening = p.client.openSession();
    const open = await p.next(MSG.CHANNEL_OPEN);
    const clientId = new SSHReader(open, 'open', 1 + 4 + 7).uint32();
    p.peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(clientId).uint32(PEER_ID).uint32(0xffffffff).uint32(0xffffffff).toBytes());
    const ch = await opening;
    ch.write(Buffer.alloc(1 << 20, 1));
    let total = 0;
    let largest = 0;
    while (total < 1 << 20) {
      const d = await p.next(MSG.CHANNEL_DATA);
      const n = d.readUInt32BE(5);
      total += n;
      largest = Math.max(largest, n);
    }
    expect(total).toBe(1 << 20);
    expect(largest).toBeLessThanOrEqual(256 * 1024 - 2048);
    expect(largest).toBeGreaterThan(32 * 1024);
  });

  it('a request too large for the transport rejects instead of throwing', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    await expect(ch.request('big@test', new Uint8Array(300 * 1024))).rejects.toMatchObject({ code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    await expect(p.client.globalRequest('big@test', new Uint8Array(300 * 1024))).rejects.toMatchObject({ code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    expect(p.client.isClosed).toBe(false);
  });
});

describe('closing the connection', () => {
  let pair: ConnPair | null = null;
  afterEach(async () => {
    await pair?.close();
    pair = null;
  });

  it('rejects pending opens, requests and global requests with a typed error', async () => {
    const p = await peer();
    const ch = await openConfirmed(p);
    const req = ch.request('x@test');
    const open = p.client.openSession();
    const global = p.client.globalRequest('y@test');
    await p.next(MSG.GLOBAL_REQUEST);
    p.client.close();
    expect(await p.client.closed).toBeNull();
    for (const pending of [req, open, global, ch.exit]) await expect(pending).rejects.toBeInstanceOf(ChannelException);
    expect(await ch.recvExitStatus()).toBe(-1);
    await expect(p.client.openSession()).rejects.toBeInstanceOf(ChannelException);
  });

  it('a lost connection ends a run with ProcessError carrying the partial output', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({ onRequest: (r) => r.type === 'exec' });
      ch.write('half of the ');
      ch.writeStderr('story');
      setTimeout(() => pair!.serverTransport.disconnect(), 30);
    });
    const err = (await runCommand(pair.client, 'story').catch((e: unknown) => e)) as ProcessError;
    expect(err).toBeInstanceOf(ProcessError);
    expect(err.code).toBe('ERR_SSH_CONNECTION_LOST');
    expect(err.stdout).toBe('half of the ');
    expect(err.stderr).toBe('story');
    expect(err.cause).toBeInstanceOf(DisconnectError);
  });

  it('output buffered before the connection died is still readable', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => {
      const ch = req.accept();
      ch.write(Buffer.alloc(100_000, 7));
      setTimeout(() => pair!.serverTransport.disconnect(), 30);
    });
    const ch = await pair.client.openChannel('t@test', new Uint8Array(0));
    await pair.client.closed;
    let n = 0;
    for await (const c of ch) n += (c as Buffer).length;
    expect(n).toBe(100_000);
  });
});
