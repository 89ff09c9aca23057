/**
 * A hostile peer for the connection layer: after key exchange, a bare
 * Transport sends seeded random and mutated channel and global messages
 * (types 80-100, ids near the real ones and anywhere else, truncated and
 * padded bodies, windows of 0 and 2^32-1, requests nobody made) to one of
 * our Connections while it opens sessions, runs commands, writes data and
 * sends global requests. Checked: every operation settles in time with a
 * value or a typed error, and when the Connection closes it says why with
 * an SSHException; nothing reaches the process as an uncaught error.
 */
import { Connection, type SessionChannel } from '../../ts/connection/index.js';
import { SSHException } from '../../ts/errors.js';
import type { Transport } from '../../ts/transport/index.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { transportPair } from './pair.js';
import { Rand } from './prng.js';
import { within } from './within.js';

/** What a run saw, by kind, with counts. */
export type ConnectionFuzzTally = Map<string, number>;

const SETTLE_MS = 5_000;

/** One hostile message; `ids` are channel numbers the peer has seen from our side. */
function hostileMessage(g: Rand, ids: number[]): Uint8Array {
  const w = new SSHWriter(64);
  const id = (): number => (ids.length > 0 && g.chance(0.7) ? g.pick(ids) : g.pick([0, 1, 2, 99, 0xffffffff, g.int(0x1_0000_0000)]));
  const u32 = (): number => g.pick([0, 1, 32768, 0x7fffffff, 0xffffffff, g.int(0x1_0000_0000), g.int(70000)]);
  const type = g.chance(0.05) ? g.pick([MSG.CHANNEL_OPEN - 1, 101, 102, 127]) : 80 + g.int(21);
  w.byte(type);
  switch (type) {
    case MSG.GLOBAL_REQUEST:
      w.string(g.pick(['tcpip-forward', 'cancel-tcpip-forward', 'keepalive@openssh.com', 'hostkeys-00@openssh.com', 'no-more-sessions@openssh.com', 'x'])).boolean(g.chance(0.7)).raw(g.bytes(g.int(24)));
      break;
    case MSG.CHANNEL_OPEN:
      w.string(g.pick(['session', 'x11', 'forwarded-tcpip', 'direct-tcpip', 'auth-agent@openssh.com', 'nonsense'])).uint32(u32()).uint32(u32()).uint32(u32()).raw(g.bytes(g.int(30)));
      break;
    case MSG.CHANNEL_OPEN_CONFIRMATION:
      w.uint32(id()).uint32(u32()).uint32(u32()).uint32(u32());
      break;
    case MSG.CHANNEL_OPEN_FAILURE:
      w.uint32(id()).uint32(g.int(6)).string(g.bytes(g.int(20))).string('en');
      break;
    case MSG.CHANNEL_WINDOW_ADJUST:
      w.uint32(id()).uint32(u32());
      break;
    case MSG.CHANNEL_DATA:
      w.uint32(id()).string(g.bytes(g.pick([0, 1, 100, 40000])));
      break;
    case MSG.CHANNEL_EXTENDED_DATA:
      w.uint32(id()).uint32(g.pick([1, 2, 0xffffffff])).string(g.bytes(g.pick([0, 10, 5000])));
      break;
    case MSG.CHANNEL_REQUEST:
      w.uint32(id())
        .string(g.pick(['exit-status', 'exit-signal', 'keepalive@openssh.com', 'eow@openssh.com', 'xon-xoff', 'pty-req', 'exec', 'signal', 'x']))
        .boolean(g.chance(0.5))
        .raw(g.bytes(g.int(40)));
      break;
    default:
      if (type >= MSG.CHANNEL_WINDOW_ADJUST && type <= MSG.CHANNEL_FAILURE) w.uint32(id());
      w.raw(g.bytes(g.int(12)));
  }
  let payload = w.toBytes();
  if (g.chance(0.1)) payload = payload.subarray(0, 1 + g.int(payload.length));
  return payload;
}

function bump(t: ConnectionFuzzTally, key: string): void {
  t.set(key, (t.get(key) ?? 0) + 1);
}

/** The peer side: answers our opens plausibly most of the time, remembers our channel ids, and injects hostile messages. */
function drivePeer(g: Rand, peer: Transport, ids: number[]): void {
  peer.onMessage((type, payload) => {
    try {
      if (type === MSG.CHANNEL_OPEN) {
        const r = new SSHReader(payload, 'open', 1);
        r.string();
        const ours = r.uint32();
        ids.push(ours);
        if (ids.length > 8) ids.shift();
        if (g.chance(0.8)) peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(ours).uint32(g.int(8)).uint32(g.pick([0, 1 << 20, 0xffffffff])).uint32(g.pick([1, 32768, 0xffffffff])).toBytes());
        else if (g.chance(0.5)) peer.send(new SSHWriter(32).byte(MSG.CHANNEL_OPEN_FAILURE).uint32(ours).uint32(1).string('no').string('').toBytes());
      } else if (type === MSG.CHANNEL_REQUEST && g.chance(0.7)) {
        const r = new SSHReader(payload, 'request', 1);
        r.uint32();
        r.string();
        if (r.boolean()) peer.send(new SSHWriter(8).byte(g.chance(0.7) ? MSG.CHANNEL_SUCCESS : MSG.CHANNEL_FAILURE).uint32(g.int(8)).toBytes());
      } else if (type === MSG.GLOBAL_REQUEST && g.chance(0.5)) {
        peer.send(new SSHWriter(8).byte(g.chance(0.5) ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE).raw(g.bytes(g.int(6))).toBytes());
      }
      if (g.chance(0.15)) peer.send(hostileMessage(g, ids));
    } catch {
      // The peer's own parse of what we sent failed: not this fuzzer's concern.
    }
  });
}

type Op = (c: Connection, g: Rand) => Promise<unknown>;

const OPS: Record<string, Op> = {
  openSession: async (c) => (await c.openSession({ timeout: 300 })).close(),
  exec: async (c, g) => {
    const ch: SessionChannel = await c.openSession({ timeout: 300 });
    try {
      await ch.exec('true', { timeout: 300 });
      ch.write(Buffer.from(g.bytes(g.pick([0, 10, 70000]))));
      ch.end();
    } finally {
      ch.close();
    }
  },
  globalRequest: (c, g) => c.globalRequest(g.pick(['keepalive@openssh.com', 'tcpip-forward']), new Uint8Array(0), { timeout: 300 }),
  directTcpip: async (c) => (await c.openChannel('direct-tcpip', new SSHWriter(32).string('127.0.0.1').uint32(1).string('127.0.0.1').uint32(2).toBytes(), { timeout: 300 })).close(),
};

/**
 * Runs `count` operations on our Connection (`role`) against a hostile peer
 * from `seed`, replacing the pair whenever the Connection has closed.
 * Throws on a hang or an untyped error.
 */
export async function fuzzConnection(seed: number, count: number, role: 'client' | 'server' = 'client'): Promise<ConnectionFuzzTally> {
  const g = new Rand(seed);
  const tally: ConnectionFuzzTally = new Map();
  const names = Object.keys(OPS);
  let current: { conn: Connection; ours: Transport; peer: Transport } | null = null;
  const retire = async (): Promise<void> => {
    if (!current) return;
    const { conn, ours, peer } = current;
    current = null;
    conn.close();
    peer.disconnect();
    const why = await within(conn.closed, SETTLE_MS, `seed ${seed}: the connection to close`);
    if (why !== null && !(why instanceof SSHException)) throw new Error(`seed ${seed}: the connection closed with an untyped error: ${String(why)}`);
    await within(Promise.all([ours.closed, peer.closed]), SETTLE_MS, `seed ${seed}: the transports to close`);
  };
  try {
    for (let i = 0; i < count; i++) {
      if (!current) {
        const pair = await transportPair();
        await Promise.all([pair.client.ready, pair.server.ready]);
        const [ours, peer] = role === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
        const conn = new Connection(ours, { role, requestTimeout: 300 });
        // A server Connection without handlers refuses opens and requests; accept some so data flows.
        if (role === 'server') conn.onChannelOpen((req) => (g.chance(0.5) ? req.acceptSession({ onRequest: () => g.chance(0.5) }) : req.reject()));
        const ids: number[] = [];
        drivePeer(g, peer, ids);
        current = { conn, ours, peer };
      }
      const { conn, peer } = current;
      if (g.chance(0.3)) peer.send(hostileMessage(g, []));
      const name = g.pick(names);
      const outcome = await within(
        OPS[name]!(conn, g).then(
          () => null,
          (e: unknown) => e,
        ),
        SETTLE_MS,
        `seed ${seed} op ${i}: ${name}`,
      );
      if (outcome === null) bump(tally, `${name} ok`);
      else if (outcome instanceof SSHException || (outcome instanceof Error && outcome.name === 'AbortError')) bump(tally, `${name} ${outcome.name}`);
      else throw new Error(`seed ${seed} op ${i}: ${name} failed with an untyped error: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}\n${outcome.stack}` : String(outcome)}`);
      if (conn.isClosed) {
        const why = await within(conn.closed, SETTLE_MS, `seed ${seed}: the closed connection's reason`);
        bump(tally, `closed: ${why === null ? 'cleanly' : why.name}`);
        if (why !== null && !(why instanceof SSHException)) throw new Error(`seed ${seed} op ${i}: the connection closed with an untyped error: ${String(why)}`);
        await retire();
      }
    }
    return tally;
  } finally {
    await retire();
  }
}
