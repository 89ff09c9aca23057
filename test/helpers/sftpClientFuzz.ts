/**
 * A hostile SFTP server for our client: it answers plausibly most of the
 * time, and otherwise with the wrong type, a truncated or padded body, an
 * id nobody asked for, a second reply, no reply, more DATA than asked for,
 * absurd counts and flags, or a frame too long to accept. The client runs
 * ordinary operations against it (stat, listdir, realpath, readlink, open
 * and read, get, put, streams, extensions). Checked for each: it settles
 * within the time limit, with a value or a typed error (SSHException or an
 * abort), and the process sees no uncaught error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { SSHException } from '../../ts/errors.js';
import { SFTPClient } from '../../ts/sftp/index.js';
import { EXT, FX, FXP } from '../../ts/wire/sftpConstants.js';
import { encodeAttrs, encodeHandle, encodeName, encodePacket, encodeStatus, encodeVersion, SFTPFramer } from '../../ts/wire/sftpPacket.js';
import { Rand } from './prng.js';
import { within } from './within.js';

/** Outcomes by operation and kind ("stat ok", "get SFTPError", ...), with counts. */
export type ClientFuzzTally = Map<string, number>;

const SETTLE_MS = 8_000;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The reply a well-behaved server might give to `type`, before any mutation. */
function plausible(g: Rand, type: number, id: number, body: Buffer): Buffer[] {
  const size = g.pick([0, 1, 1000, 70_000, 300_000]);
  const attrs = { size, permissions: g.pick([0o100644, 0o40755, 0o120777]), uid: 1, gid: 1, atime: 1, mtime: 2 };
  switch (type) {
    case FXP.OPEN:
    case FXP.OPENDIR:
      return [encodeHandle(id, g.bytes(g.pick([4, 4, 0, 300])))];
    case FXP.READ: {
      if (g.chance(0.2)) return [encodeStatus(id, FX.EOF)];
      const asked = body.length >= 4 ? body.readUInt32BE(body.length - 4) : 0;
      const n = Math.min(asked, g.pick([asked, asked, 1, Math.floor(asked / 2)]));
      return [encodePacket(FXP.DATA, id, (w) => w.string(g.bytes(n)))];
    }
    case FXP.STAT:
    case FXP.LSTAT:
    case FXP.FSTAT:
      return [encodeAttrs(id, attrs)];
    case FXP.READDIR:
      if (g.chance(0.4)) return [encodeStatus(id, FX.EOF)];
      return [encodeName(id, Array.from({ length: g.int(4) }, (_, i) => ({ filename: g.pick(['f', '.', '..', 'é', `n${i}`, '']), longname: 'x', attrs })))];
    case FXP.REALPATH:
    case FXP.READLINK:
      return [encodeName(id, [{ filename: g.pick(['/', '/home/u', 'rel', '']), longname: '', attrs: {} }])];
    case FXP.EXTENDED:
      if (g.chance(0.5)) return [encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.raw(g.bytes(g.pick([0, 8, 44, 88]))))];
      return [encodeStatus(id, FX.OK)];
    default:
      return [encodeStatus(id, g.chance(0.8) ? FX.OK : g.pick([FX.FAILURE, FX.NO_SUCH_FILE, FX.PERMISSION_DENIED, 99]))];
  }
}

/** `plausible`, sometimes mutated into something hostile. */
function answer(g: Rand, type: number, id: number, body: Buffer, otherIds: () => number): Buffer[] {
  const replies = plausible(g, type, id, body);
  if (!g.chance(0.2)) return replies;
  const r = replies[0]!;
  switch (g.int(10)) {
    case 0:
      return []; // no reply
    case 1:
      return [r, r]; // a second reply to one request
    case 2: {
      const t = Buffer.from(r);
      t[4] = g.pick([FXP.STATUS, FXP.HANDLE, FXP.DATA, FXP.NAME, FXP.ATTRS, FXP.EXTENDED_REPLY, FXP.VERSION, 0, 255]);
      return [t];
    }
    case 3: {
      const keep = 5 + g.int(Math.max(1, r.length - 8));
      const t = Buffer.from(r.subarray(0, 4 + keep));
      t.writeUInt32BE(keep, 0);
      return [t]; // truncated body, honest length
    }
    case 4: {
      const extra = g.bytes(1 + g.int(12));
      const t = Buffer.concat([r, extra]);
      t.writeUInt32BE(t.length - 4, 0);
      return [t]; // trailing junk
    }
    case 5: {
      const t = Buffer.from(r);
      t.writeUInt32BE(g.chance(0.5) ? otherIds() : g.int(0x1_0000_0000), 5);
      return [t]; // someone else's id, or nobody's
    }
    case 6:
      return [Buffer.concat([u32(g.pick([0, 0x7fffffff, 0xffffffff, 300_000])), Buffer.from([FXP.STATUS])])]; // absurd frame length
    case 7:
      // NAME claiming many entries, ATTRS with every flag, DATA longer than the packet.
      return [
        g.pick([
          encodePacket(FXP.NAME, id, (w) => w.uint32(g.pick([1000, 0xffffffff])).raw(g.bytes(20))),
          encodePacket(FXP.ATTRS, id, (w) => w.uint32(0xffffffff).raw(g.bytes(g.int(40)))),
          encodePacket(FXP.DATA, id, (w) => w.uint32(g.pick([1_000_000, 0xffffffff])).raw(g.bytes(10))),
          encodePacket(FXP.HANDLE, id, (w) => w.uint32(g.pick([5000, 0xffffffff])).raw(g.bytes(10))),
        ]),
      ];
    case 8:
      return [encodeStatus(id, g.int(0x1_0000_0000), g.bytes(g.int(30)).toString('latin1'))];
    default:
      return [g.bytes(4 + g.int(20))]; // noise
  }
}

/** A fake server on a pair of streams; returns the client's side. */
function hostileServer(g: Rand): { readable: PassThrough; writable: PassThrough; stop(): void } {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const framer = new SFTPFramer(1024 * 1024);
  const seen: number[] = [];
  let stopped = false;
  const exts: [string, string][] = Object.values(EXT)
    .filter((e) => e !== EXT.LIMITS || g.chance(0.5))
    .map((e) => [e, e === EXT.STATVFS || e === EXT.FSTATVFS ? '2' : '1']);
  toServer.on('data', (chunk: Buffer) => {
    if (stopped) return;
    try {
      framer.push(chunk, (b: Buffer) => {
        const type = b[0]!;
        if (type === FXP.INIT) {
          toClient.write(g.chance(0.03) ? g.bytes(12) : encodeVersion(g.chance(0.95) ? 3 : g.pick([0, 2, 6]), exts));
          return;
        }
        const id = b.length >= 5 ? b.readUInt32BE(1) : 0;
        seen.push(id);
        if (seen.length > 32) seen.shift();
        for (const out of answer(g, type, id, Buffer.from(b), () => g.pick(seen))) toClient.write(out);
      });
    } catch {
      stopped = true; // our own framer refused what the client sent: not this fuzzer's concern
    }
  });
  return {
    readable: toClient,
    writable: toServer,
    stop() {
      stopped = true;
      toClient.end();
    },
  };
}

type Op = (c: SFTPClient, g: Rand, dir: string) => Promise<unknown>;

const OPS: Record<string, Op> = {
  stat: (c) => c.stat('/x'),
  lstat: (c) => c.lstat('x'),
  exists: (c) => c.exists('/x'),
  listdir: (c) => c.listdir('/d'),
  listdirAttr: (c) => c.listdirAttr('/d'),
  realpath: (c) => c.normalize('.'),
  readlink: (c) => c.readlink('/l'),
  mkdir: (c) => c.mkdir('/m'),
  remove: (c) => c.remove('/r'),
  rename: (c) => c.rename('/a', '/b'),
  statvfs: (c) => c.statvfs('/'),
  read: async (c) => {
    const f = await c.open('/f', 'r');
    try {
      return await f.read(100_000);
    } finally {
      await f.close().catch(() => {});
    }
  },
  get: (c, g, dir) => c.get('/f', join(dir, `get-${g.int(1e9)}`)),
  put: (c) => c.putfo(Readable.from([Buffer.alloc(70_000, 1)]), '/p'),
  readStream: async (c) => {
    const chunks: Buffer[] = [];
    for await (const b of c.createReadStream('/f')) chunks.push(b as Buffer);
    return chunks.length;
  },
  copy: (c) => c.copy('/a', '/b'),
};

function bump(t: ClientFuzzTally, key: string): void {
  t.set(key, (t.get(key) ?? 0) + 1);
}

/**
 * Runs `count` operations against hostile servers from `seed` (a new
 * server and client whenever a session has failed). Throws on a hang or an
 * untyped error, naming the seed and operation.
 */
export async function fuzzSftpClient(seed: number, count: number): Promise<ClientFuzzTally> {
  const g = new Rand(seed);
  const dir = mkdtempSync(join(tmpdir(), 'sshwire-sftpcfuzz-'));
  const tally: ClientFuzzTally = new Map();
  const names = Object.keys(OPS);
  let server: ReturnType<typeof hostileServer> | null = null;
  let client: SFTPClient | null = null;
  try {
    for (let i = 0; i < count; i++) {
      if (!client) {
        server = hostileServer(g);
        const opening = SFTPClient.fromStream(server, { readyTimeout: 1000, timeout: 500 });
        const opened = await within(
          opening.then(
            (c) => c,
            (e: unknown) => e,
          ),
          SETTLE_MS,
          `seed ${seed}: opening a session`,
        );
        if (!(opened instanceof SFTPClient)) {
          if (!(opened instanceof SSHException)) throw new Error(`seed ${seed} op ${i}: opening failed with an untyped error: ${String(opened)}`);
          bump(tally, `open ${opened.name}`);
          server.stop();
          client = null;
          continue;
        }
        client = opened;
      }
      const name = g.pick(names);
      const outcome = await within(
        OPS[name]!(client, g, dir).then(
          () => null,
          (e: unknown) => e,
        ),
        SETTLE_MS,
        `seed ${seed} op ${i}: ${name}`,
      );
      if (outcome === null) {
        bump(tally, `${name} ok`);
        continue;
      }
      const typed = outcome instanceof SSHException || (outcome instanceof Error && outcome.name === 'AbortError');
      if (!typed) throw new Error(`seed ${seed} op ${i}: ${name} failed with an untyped error: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}\n${outcome.stack}` : String(outcome)}`);
      bump(tally, `${name} ${(outcome as Error).name}`);
      // A failed session is replaced; an ordinary failure (a status) keeps it.
      if (client.closed) {
        await client.close().catch(() => {});
        server?.stop();
        client = null;
      }
    }
    return tally;
  } finally {
    await client?.close().catch(() => {});
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
