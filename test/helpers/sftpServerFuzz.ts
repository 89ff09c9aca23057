/**
 * A hostile SFTP client for our server: seeded random and mutated requests
 * of every type (bad handles, truncated bodies, trailing junk, odd offsets
 * and lengths, paths that climb out, unknown types and extensions) thrown
 * at an SFTPServerSession over LocalFilesystem. Checked after every
 * request: a reply with its id comes within the time limit, or the session
 * ends with a typed error; the process never sees an uncaught error. At the
 * end: nothing outside the served root changed (the scratch tree around
 * it holds decoys where escaping names would land; see JAIL).
 *
 * Sizes stay small on purpose (WRITE offsets and SETSTAT sizes under
 * 4 MiB) so sparse files cannot make copy-data or check-file run for hours;
 * READ offsets and lengths go anywhere.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { SSHException } from '../../ts/errors.js';
import { LocalFilesystem, SFTPServerSession } from '../../ts/sftp/server/index.js';
import { ATTR, EXT, FXF, FXP } from '../../ts/wire/sftpConstants.js';
import { Rand } from './prng.js';
import { packet, ReplyReader, str, u32, u64 } from '../sftp-server/raw.js';

/** What a fuzz run saw: reply kinds and session endings, by name, with counts. */
export type FuzzTally = Map<string, number>;

const REPLY_MS = 5_000;
const SMALL = 4 * 1024 * 1024;

/**
 * Directories between the scratch base and the served root. The names that
 * climb (`..` up to four times) land in them, not on the host's own
 * directories, if a change ever lets `..` out of the root: such a bug must
 * show up as a change the end-of-run snapshot sees, never as a renamed or
 * chmodded /etc.
 */
const JAIL = ['u1', 'u2', 'u3', 'u4', 'u5'];

/**
 * The paths requests name. The absolute ones name host paths inside the
 * scratch base (decoys), so that a server that stopped re-rooting them
 * would hit the decoys, not the host's files.
 */
function namesFor(base: string): string[] {
  const decoy = join(base, 'u1', 'u2', 'etc');
  return ['a', 'b', 'dir', 'dir/x', 'dir/y', 'new', 'new2', 'out', 'out/secret', 'loop', 'dangling', '.', '..', '../..', '/', join(decoy, 'passwd'), decoy, '../../../../etc', 'a/', 'dir/../a', 'sp ace', 'ünï', 'nl\nname', ''];
}

/** Builds one request body (fields after type and id) for `type`. */
function fields(g: Rand, type: number, handles: Buffer[], names: readonly string[]): Buffer[] {
  const path = (): Buffer => {
    if (g.chance(0.05)) return str(g.bytes(g.int(64))); // arbitrary bytes, invalid UTF-8 included
    if (g.chance(0.02)) return str('x'.repeat(g.int(5000)));
    return str(g.pick(names));
  };
  const handle = (): Buffer => (handles.length > 0 && g.chance(0.8) ? str(g.pick(handles)) : str(g.bytes(g.pick([0, 1, 4, 8, 300]))));
  const smallOffset = (): Buffer => u64(g.pick([0, 1, 4095, 32768, g.int(SMALL)]));
  const anyOffset = (): Buffer => u64(g.pick([0n, 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, BigInt(g.int(SMALL))]));
  const len = (): Buffer => u32(g.pick([0, 1, 32768, 262144, 0x7fffffff, 0xffffffff, g.int(70000)]));
  const attrs = (): Buffer => {
    let flags = g.int(16);
    if (g.chance(0.1)) flags |= ATTR.EXTENDED;
    if (g.chance(0.05)) flags = g.int(0x1_0000) * 0x1_0000 + g.int(0x1_0000);
    const parts = [u32(flags >>> 0)];
    if (flags & ATTR.SIZE) parts.push(u64(g.int(SMALL)));
    if (flags & ATTR.UIDGID) parts.push(u32(g.pick([0, 1000, 65534, 0xffffffff])), u32(g.pick([0, 1000, 0xffffffff])));
    if (flags & ATTR.PERMISSIONS) parts.push(u32(g.pick([0o644, 0o755, 0o000, 0o4755, 0xffffffff, 0o120777])));
    if (flags & ATTR.ACMODTIME) parts.push(u32(g.int(0x7fffffff)), u32(g.pick([0, 0xffffffff, g.int(0x7fffffff)])));
    if (flags & ATTR.EXTENDED) {
      const n = g.pick([0, 1, 2, 0xffffffff]);
      parts.push(u32(n));
      for (let i = 0; i < Math.min(n, 2); i++) parts.push(str('k'), str(g.bytes(g.int(10))));
    }
    return Buffer.concat(parts);
  };
  switch (type) {
    case FXP.OPEN:
      return [path(), u32(g.chance(0.2) ? g.int(256) : g.pick([FXF.READ, FXF.WRITE | FXF.CREAT, FXF.WRITE | FXF.CREAT | FXF.TRUNC, FXF.READ | FXF.WRITE, FXF.WRITE | FXF.APPEND | FXF.CREAT, FXF.WRITE | FXF.CREAT | FXF.EXCL])), attrs()];
    case FXP.CLOSE:
    case FXP.FSTAT:
    case FXP.READDIR:
      return [handle()];
    case FXP.READ:
      return [handle(), anyOffset(), len()];
    case FXP.WRITE:
      return [handle(), smallOffset(), str(g.bytes(g.pick([0, 1, 100, 4096, 40000])))];
    case FXP.FSETSTAT:
      return [handle(), attrs()];
    case FXP.SETSTAT:
    case FXP.MKDIR:
      return [path(), attrs()];
    case FXP.LSTAT:
    case FXP.STAT:
    case FXP.OPENDIR:
    case FXP.REMOVE:
    case FXP.RMDIR:
    case FXP.READLINK:
      return [path()];
    case FXP.REALPATH:
      return g.chance(0.3) ? [path(), u32(g.int(3)), path()] : [path()];
    case FXP.RENAME:
    case FXP.SYMLINK:
      return [path(), path()];
    case FXP.EXTENDED:
      return extended(g, path, handle, smallOffset, len);
    default:
      return [g.bytes(g.int(40))];
  }
}

function extended(g: Rand, path: () => Buffer, handle: () => Buffer, offset: () => Buffer, len: () => Buffer): Buffer[] {
  const name = g.chance(0.1) ? 'nonsense@example.com' : g.pick(Object.values(EXT));
  const args: Buffer[] = [];
  switch (name) {
    case EXT.POSIX_RENAME:
    case EXT.HARDLINK:
      args.push(path(), path());
      break;
    case EXT.STATVFS:
    case EXT.EXPAND_PATH:
      args.push(path());
      break;
    case EXT.FSTATVFS:
    case EXT.FSYNC:
      args.push(handle());
      break;
    case EXT.LSETSTAT:
      args.push(path(), u32(ATTR.PERMISSIONS), u32(0o600));
      break;
    case EXT.COPY_DATA:
      args.push(handle(), offset(), u64(g.pick([0, 1, 5000, SMALL])), handle(), offset());
      break;
    case EXT.USERS_GROUPS_BY_ID: {
      const ids = (): Buffer => {
        const n = g.pick([0, 1, 3, 0xffffffff]);
        return str(Buffer.concat(Array.from({ length: Math.min(n, 3) }, () => u32(g.pick([0, 1, 65534, 0xffffffff])))));
      };
      args.push(ids(), ids());
      break;
    }
    case EXT.CHECK_FILE_HANDLE:
    case EXT.CHECK_FILE_NAME:
      args.push(name === EXT.CHECK_FILE_NAME ? path() : handle(), str(g.pick(['sha256', 'md5,sha1', 'nope', ''])), offset(), len(), u32(g.pick([0, 1, 256, 4096])));
      break;
    default:
      args.push(g.bytes(g.int(20)));
  }
  return [str(name), ...args];
}

/** A snapshot of everything under `dir` (names, types, sizes, modes, contents of files). */
/** Every entry under `dir` but `skip` (the served root): names, modes, sizes, times, file contents. */
function snapshot(dir: string, skip: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (p === skip) continue;
      const st = lstatSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out.join('\n');
}

interface Peer {
  session: SFTPServerSession;
  toServer: PassThrough;
  replies: ReplyReader;
  handles: Buffer[];
}

async function startPeer(root: string): Promise<Peer> {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const session = new SFTPServerSession(Duplex.from({ readable: toServer, writable: fromServer }), new LocalFilesystem(root));
  const replies = new ReplyReader(fromServer);
  toServer.write(packet(FXP.INIT, null, u32(3)));
  const version = await replies.reply(REPLY_MS);
  if (version[0] !== FXP.VERSION) throw new Error(`expected VERSION, got type ${version[0]}`);
  return { session, toServer, replies, handles: [] };
}

function bump(t: FuzzTally, key: string): void {
  t.set(key, (t.get(key) ?? 0) + 1);
}

/**
 * Throws `count` hostile requests at a fresh session (and a new one each
 * time a session ends), from `seed`. Throws on a missing or misnumbered
 * reply, a session that ends without a typed error, or a change outside
 * the root; returns what it saw.
 */
export async function fuzzSftpServer(seed: number, count: number): Promise<FuzzTally> {
  const g = new Rand(seed);
  const base = mkdtempSync(join(tmpdir(), 'sshwire-sftpfuzz-'));
  const root = join(base, ...JAIL, 'root');
  const outside = join(base, 'outside');
  const names = namesFor(base);
  const tally: FuzzTally = new Map();
  try {
    mkdirSync(join(root, 'dir'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'do not touch');
    mkdirSync(join(base, 'u1', 'u2', 'etc'));
    writeFileSync(join(base, 'u1', 'u2', 'etc', 'passwd'), 'decoy');
    writeFileSync(join(root, 'a'), Buffer.alloc(70_000, 7));
    writeFileSync(join(root, 'dir', 'x'), 'x');
    symlinkSync(outside, join(root, 'out'));
    symlinkSync('loop', join(root, 'loop'));
    symlinkSync(join(base, 'u1', 'nowhere', 'target'), join(root, 'dangling'));
    const before = snapshot(base, root);
    let peer = await startPeer(root);
    for (let i = 0; i < count; i++) {
      const type = g.chance(0.03) ? g.int(256) : g.pick([FXP.OPEN, FXP.OPEN, FXP.CLOSE, FXP.READ, FXP.READ, FXP.WRITE, FXP.WRITE, FXP.LSTAT, FXP.FSTAT, FXP.SETSTAT, FXP.FSETSTAT, FXP.OPENDIR, FXP.READDIR, FXP.REMOVE, FXP.MKDIR, FXP.RMDIR, FXP.REALPATH, FXP.STAT, FXP.RENAME, FXP.READLINK, FXP.SYMLINK, FXP.EXTENDED, FXP.EXTENDED]);
      let body = Buffer.concat(fields(g, type, peer.handles, names));
      if (g.chance(0.08)) body = body.subarray(0, g.int(body.length + 1)); // truncated
      else if (g.chance(0.05)) body = Buffer.concat([body, g.bytes(1 + g.int(16))]); // trailing junk
      const id = (seed + i) >>> 0;
      const oversized = g.chance(0.005);
      const frame = oversized ? Buffer.concat([u32(0x7fffffff), Buffer.from([type])]) : packet(type, id, body);
      peer.toServer.write(frame);
      const ended = peer.session.done.then((e) => ({ ended: e }));
      const replied = peer.replies.reply(REPLY_MS).then(
        (r) => ({ reply: r }),
        (e: Error) => {
          throw new Error(`seed ${seed} request ${i} (type ${type}, body ${body.toString('hex').slice(0, 400)}): ${e.message}`);
        },
      );
      const outcome = await Promise.race([replied, ended]);
      if ('ended' in outcome) {
        const e = outcome.ended;
        if (!(e instanceof SSHException)) throw new Error(`seed ${seed} request ${i} (type ${type}): the session ended without a typed error: ${String(e)}`);
        bump(tally, `session ended: ${e.name}`);
        peer.toServer.end();
        peer = await startPeer(root);
        continue;
      }
      if (oversized) throw new Error(`seed ${seed} request ${i}: an oversized frame got a reply instead of ending the session`);
      const reply = outcome.reply;
      const rid = reply.length >= 5 ? reply.readUInt32BE(1) : -1;
      if (rid !== id) throw new Error(`seed ${seed} request ${i} (type ${type}): reply ${reply[0]} carries id ${rid}, not ${id}`);
      bump(tally, reply[0] === FXP.STATUS ? `status ${reply.readUInt32BE(5)}` : `reply ${reply[0]}`);
      if (reply[0] === FXP.HANDLE && reply.length >= 9) {
        const n = reply.readUInt32BE(5);
        peer.handles.push(Buffer.from(reply.subarray(9, 9 + n)));
        if (peer.handles.length > 16) peer.handles.shift();
      }
    }
    peer.toServer.end();
    const endedWith = await Promise.race([peer.session.done, new Promise<string>((r) => setTimeout(() => r('timeout'), REPLY_MS))]);
    if (endedWith === 'timeout') throw new Error(`seed ${seed}: the session did not end after the client's end`);
    const after = snapshot(base, root);
    if (after !== before) throw new Error(`seed ${seed}: something outside the root changed:\n--- before\n${before}\n--- after\n${after}`);
    return tally;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
