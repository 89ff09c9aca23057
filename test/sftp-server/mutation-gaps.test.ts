/**
 * Gaps found by a mutation audit of the SFTP server (ts/sftp/server/): each
 * test here fails under a plausible bug that no other test caught. Raw SFTP
 * over a stream pair (no SSH), LocalFilesystem on a scratch directory or a
 * small custom SFTPServerInterface: a root not escaped through a sibling
 * directory sharing its name's prefix nor by creating a link under a link
 * leading out; `readOnly` refusing every change, request by request; OPEN's
 * APPEND, EXCL and TRUNC; ATTRS on the wire (flag bits, field order, 64-bit
 * size, uid and gid apart); READDIR in batches ending with EOF; READ capped
 * at 256 KiB; `maxHandles` and handles given back by CLOSE; limits@openssh.com;
 * errno to status; pipelined overlapping WRITEs landing in order; fsync
 * reaching the handle; the root never removed; CLOSE after earlier WRITEs.
 */
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFilesystem, SFTPServerSession, type SFTPHandle, type SFTPServerInterface, type SFTPServerSessionOptions } from '../../ts/sftp/server/index.js';
import { FX, FXP } from '../../ts/wire/sftpConstants.js';
import { removeDir, scratchDir } from '../sftp/helpers.js';
import { packet, ReplyReader, str, u32, u64 } from './raw.js';

/** SSH_FXF_* as draft-ietf-secsh-filexfer-02 numbers them (spelled out, not imported). */
const F = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 };
const NO_ATTRS = u32(0);

/** Raw SFTP against an SFTPServerSession on a PassThrough pair. */
class Peer {
  readonly toServer = new PassThrough();
  readonly fromServer = new PassThrough();
  readonly session: SFTPServerSession;
  readonly #replies = new ReplyReader(this.fromServer);
  #id = 100;

  constructor(fs: SFTPServerInterface, opts?: SFTPServerSessionOptions) {
    this.session = new SFTPServerSession(Duplex.from({ readable: this.toServer, writable: this.fromServer }), fs, opts);
  }

  async init(): Promise<void> {
    this.toServer.write(packet(FXP.INIT, null, u32(3)));
    expect((await this.#replies.reply())[0]).toBe(FXP.VERSION);
  }

  /** Sends one request and returns its reply (type first), checking the id. */
  async req(type: number, ...fields: Buffer[]): Promise<Buffer> {
    const id = this.#id++;
    this.toServer.write(packet(type, id, ...fields));
    const b = await this.#replies.reply(5000);
    expect(b.readUInt32BE(1)).toBe(id);
    return b;
  }

  ext(name: string, ...fields: Buffer[]): Promise<Buffer> {
    return this.req(FXP.EXTENDED, str(name), ...fields);
  }

  /** Sends raw packets in one write (pipelined); replies are read with `reply`. */
  send(...packets: Buffer[]): void {
    this.toServer.write(Buffer.concat(packets));
  }

  reply(): Promise<Buffer> {
    return this.#replies.reply(5000);
  }

  async open(path: string, pflags: number): Promise<Buffer> {
    return handleOf(await this.req(FXP.OPEN, str(path), u32(pflags), NO_ATTRS));
  }

  async close(handle: Buffer): Promise<void> {
    expect(statusCode(await this.req(FXP.CLOSE, str(handle)))).toBe(FX.OK);
  }

  end(): Promise<Error | null> {
    this.toServer.end();
    return this.session.done;
  }
}

function statusCode(b: Buffer): number | string {
  return b[0] === FXP.STATUS ? b.readUInt32BE(5) : `reply type ${b[0]}`;
}

function handleOf(b: Buffer): Buffer {
  expect(b[0], `status ${statusCode(b)}`).toBe(FXP.HANDLE);
  return Buffer.from(b.subarray(9, 9 + b.readUInt32BE(5)));
}

/** ATTRS parsed by hand from `b` at `at` (flags and fields in the draft's order). */
function parseAttrs(b: Buffer, at: number): { flags: number; size?: bigint; uid?: number; gid?: number; perm?: number; atime?: number; mtime?: number; end: number } {
  let p = at;
  const flags = b.readUInt32BE(p);
  p += 4;
  const a: ReturnType<typeof parseAttrs> = { flags, end: 0 };
  if (flags & 0x1) (a.size = b.readBigUInt64BE(p)), (p += 8);
  if (flags & 0x2) (a.uid = b.readUInt32BE(p)), (a.gid = b.readUInt32BE(p + 4)), (p += 8);
  if (flags & 0x4) (a.perm = b.readUInt32BE(p)), (p += 4);
  if (flags & 0x8) (a.atime = b.readUInt32BE(p)), (a.mtime = b.readUInt32BE(p + 4)), (p += 8);
  a.end = p;
  return a;
}

/** The file names of a NAME reply, in order. */
function namesOf(b: Buffer): string[] {
  expect(b[0], `status ${statusCode(b)}`).toBe(FXP.NAME);
  const count = b.readUInt32BE(5);
  const out: string[] = [];
  let p = 9;
  for (let i = 0; i < count; i++) {
    const n = b.readUInt32BE(p);
    out.push(b.subarray(p + 4, p + 4 + n).toString());
    p += 4 + n;
    p += 4 + b.readUInt32BE(p); // longname
    p = parseAttrs(b, p).end;
  }
  return out;
}

/** Names, types, modes, sizes, times and contents of everything under `dir`. */
function snapshot(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? readFileSync(p, 'hex') : 'dir';
      lines.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.nlink} ${what}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return lines.join('\n');
}

let dir: string | null = null;
let peer: Peer | null = null;
afterEach(async () => {
  await peer?.end();
  peer = null;
  if (dir) removeDir(dir);
  dir = null;
});

async function localPeer(opts: { readOnly?: boolean; root?: string; session?: SFTPServerSessionOptions } = {}): Promise<Peer> {
  peer = new Peer(new LocalFilesystem(opts.root ?? dir!, { readOnly: opts.readOnly }), opts.session);
  await peer.init();
  return peer;
}

describe('the root is not escaped', () => {
  it('through a sibling directory whose name starts with the root name', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const root = join(dir, 'root');
    const sibling = join(dir, 'root-sibling');
    mkdirSync(root);
    mkdirSync(sibling);
    writeFileSync(join(sibling, 'secret.txt'), 'top secret\n');
    symlinkSync('../root-sibling', join(root, 'rel-sib'));
    symlinkSync(sibling, join(root, 'abs-sib'));
    const p = await localPeer({ root });
    for (const l of ['/rel-sib', '/abs-sib']) {
      expect(statusCode(await p.req(FXP.STAT, str(`${l}/secret.txt`))), l).toBe(FX.PERMISSION_DENIED);
      expect(statusCode(await p.req(FXP.OPEN, str(`${l}/secret.txt`), u32(F.READ), NO_ATTRS)), l).toBe(FX.PERMISSION_DENIED);
      expect(statusCode(await p.req(FXP.OPEN, str(`${l}/planted.txt`), u32(F.WRITE | F.CREAT), NO_ATTRS)), l).toBe(FX.PERMISSION_DENIED);
      expect(statusCode(await p.req(FXP.OPENDIR, str(l))), l).toBe(FX.PERMISSION_DENIED);
    }
    expect(existsSync(join(sibling, 'planted.txt'))).toBe(false);
    // readlink: the sibling is outside, so its host path comes back as stored (not "-sibling").
    expect(namesOf(await p.req(FXP.READLINK, str('/abs-sib')))).toEqual([sibling]);
  });

  it('by creating a symlink under a directory link leading out', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const root = join(dir, 'root');
    const outside = join(dir, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'out'));
    const p = await localPeer({ root });
    // OpenSSH's order: target first, then the link path.
    expect(statusCode(await p.req(FXP.SYMLINK, str('/etc/passwd'), str('/out/planted')))).toBe(FX.PERMISSION_DENIED);
    expect(statusCode(await p.req(FXP.SYMLINK, str('x'), str('/out/../out/planted2')))).toBe(FX.PERMISSION_DENIED);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('readOnly refuses every change', () => {
  it('open for writing, setstat, rename, posix-rename, symlink, hardlink, remove, lsetstat, mkdir, rmdir: PERMISSION_DENIED, nothing changed', async () => {
    dir = scratchDir('sshwire-mutgap-');
    writeFileSync(join(dir, 'f.txt'), 'keep\n');
    mkdirSync(join(dir, 'd'));
    mkdirSync(join(dir, 'empty'));
    symlinkSync('f.txt', join(dir, 'link'));
    const before = snapshot(dir);
    const p = await localPeer({ readOnly: true });
    const times = Buffer.concat([u32(0x8), u32(1_000_000), u32(1_000_000)]);
    const attempts: [string, () => Promise<Buffer>][] = [
      ['open write', () => p.req(FXP.OPEN, str('/f.txt'), u32(F.WRITE), NO_ATTRS)],
      ['open create', () => p.req(FXP.OPEN, str('/new.txt'), u32(F.WRITE | F.CREAT), NO_ATTRS)],
      ['open append', () => p.req(FXP.OPEN, str('/f.txt'), u32(F.READ | F.WRITE | F.APPEND), NO_ATTRS)],
      ['open trunc', () => p.req(FXP.OPEN, str('/f.txt'), u32(F.WRITE | F.TRUNC), NO_ATTRS)],
      ['setstat', () => p.req(FXP.SETSTAT, str('/f.txt'), times)],
      ['rename', () => p.req(FXP.RENAME, str('/f.txt'), str('/g.txt'))],
      ['posix-rename', () => p.ext('posix-rename@openssh.com', str('/f.txt'), str('/g.txt'))],
      ['symlink', () => p.req(FXP.SYMLINK, str('/f.txt'), str('/new-link'))],
      ['hardlink', () => p.ext('hardlink@openssh.com', str('/f.txt'), str('/hard.txt'))],
      ['remove', () => p.req(FXP.REMOVE, str('/f.txt'))],
      ['remove link', () => p.req(FXP.REMOVE, str('/link'))],
      ['lsetstat link', () => p.ext('lsetstat@openssh.com', str('/link'), times)],
      ['lsetstat file', () => p.ext('lsetstat@openssh.com', str('/f.txt'), times)],
      ['mkdir', () => p.req(FXP.MKDIR, str('/newdir'), NO_ATTRS)],
      ['rmdir', () => p.req(FXP.RMDIR, str('/empty'))],
    ];
    for (const [what, call] of attempts) expect(statusCode(await call()), what).toBe(FX.PERMISSION_DENIED);
    // Reading still works.
    const h = await p.open('/f.txt', F.READ);
    await p.close(h);
    expect(snapshot(dir)).toBe(before);
  });
});

describe('OPEN flags', () => {
  it('APPEND writes at the end whatever the offset, EXCL refuses an existing file, TRUNC empties it', async () => {
    dir = scratchDir('sshwire-mutgap-');
    writeFileSync(join(dir, 'app.txt'), 'abc');
    writeFileSync(join(dir, 'excl.txt'), 'mine');
    writeFileSync(join(dir, 'trunc.txt'), 'a long old content');
    writeFileSync(join(dir, 'keep.txt'), 'a long old content');
    const p = await localPeer();
    const write = async (h: Buffer, offset: number, data: string): Promise<void> => {
      expect(statusCode(await p.req(FXP.WRITE, str(h), u64(offset), str(data)))).toBe(FX.OK);
    };
    const a = await p.open('/app.txt', F.WRITE | F.APPEND);
    await write(a, 0, 'XYZ');
    await p.close(a);
    expect(readFileSync(join(dir, 'app.txt'), 'utf8')).toBe('abcXYZ');

    expect(statusCode(await p.req(FXP.OPEN, str('/excl.txt'), u32(F.WRITE | F.CREAT | F.EXCL), NO_ATTRS))).toBe(FX.FAILURE);
    expect(readFileSync(join(dir, 'excl.txt'), 'utf8')).toBe('mine');
    const x = await p.open('/excl-new.txt', F.WRITE | F.CREAT | F.EXCL);
    await p.close(x);

    const t = await p.open('/trunc.txt', F.WRITE | F.CREAT | F.TRUNC);
    await write(t, 0, 'ab');
    await p.close(t);
    expect(readFileSync(join(dir, 'trunc.txt'), 'utf8')).toBe('ab');
    // Without TRUNC the rest stays.
    const k = await p.open('/keep.txt', F.WRITE);
    await write(k, 0, 'AB');
    await p.close(k);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('ABlong old content');
  });
});

describe('ATTRS on the wire', () => {
  it('STAT, FSTAT and READDIR send flags 0xf, then size (64-bit), uid, gid, permissions, atime, mtime', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const file = join(dir, 'big.bin');
    writeFileSync(file, '');
    const size = 5 * 2 ** 30 + 3; // sparse: beyond 32 bits
    truncateSync(file, size);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownSync(file, 1234, 5678); // uid and gid apart, so a swap shows
    const st = statSync(file);
    const p = await localPeer();
    const check = (b: Buffer, at: number, what: string): void => {
      const a = parseAttrs(b, at);
      expect(a.flags, what).toBe(0x0000000f);
      expect(a.size, what).toBe(BigInt(size));
      expect([a.uid, a.gid], what).toEqual([st.uid, st.gid]);
      if (asRoot) expect([a.uid, a.gid], what).toEqual([1234, 5678]);
      expect(a.perm, what).toBe(st.mode);
      expect(a.mtime, what).toBe(Math.floor(st.mtimeMs / 1000));
      expect(a.atime, what).toBe(Math.floor(st.atimeMs / 1000));
      expect(a.end, what).toBe(b.length);
    };
    const s = await p.req(FXP.STAT, str('/big.bin'));
    expect(s[0]).toBe(FXP.ATTRS);
    check(s, 5, 'stat');
    const h = await p.open('/big.bin', F.READ);
    const f = await p.req(FXP.FSTAT, str(h));
    expect(f[0]).toBe(FXP.ATTRS);
    check(f, 5, 'fstat');
    await p.close(h);
    const d = handleOf(await p.req(FXP.OPENDIR, str('/')));
    const names = await p.req(FXP.READDIR, str(d));
    expect(namesOf(names)).toEqual(['big.bin']);
    const nameLen = names.readUInt32BE(9);
    const longAt = 13 + nameLen;
    check(names, longAt + 4 + names.readUInt32BE(longAt), 'readdir');
    await p.close(d);
  });
});

describe('READDIR', () => {
  it('lists a directory of 250 entries in batches, each entry once, then EOF; an empty one gives EOF at once', async () => {
    dir = scratchDir('sshwire-mutgap-');
    mkdirSync(join(dir, 'many'));
    mkdirSync(join(dir, 'none'));
    const want: string[] = [];
    for (let i = 0; i < 250; i++) {
      want.push(`f${String(i).padStart(3, '0')}`);
      writeFileSync(join(dir, 'many', want[i]!), '');
    }
    const p = await localPeer();
    const h = handleOf(await p.req(FXP.OPENDIR, str('/many')));
    const got: string[] = [];
    let last: Buffer | null = null;
    for (let i = 0; i < 10; i++) {
      last = await p.req(FXP.READDIR, str(h));
      if (last[0] !== FXP.NAME) break;
      const batch = namesOf(last);
      expect(batch.length, `READDIR ${i}`).toBeGreaterThan(0);
      got.push(...batch);
    }
    expect(statusCode(last!)).toBe(FX.EOF);
    expect(got.length).toBe(250);
    expect(got.slice().sort()).toEqual(want);
    // EOF again, not a restart.
    expect(statusCode(await p.req(FXP.READDIR, str(h)))).toBe(FX.EOF);
    await p.close(h);
    const e = handleOf(await p.req(FXP.OPENDIR, str('/none')));
    expect(statusCode(await p.req(FXP.READDIR, str(e)))).toBe(FX.EOF);
    await p.close(e);
  });
});

describe('READ', () => {
  it('answers a READ longer than 256 KiB with at most 256 KiB, and EOF past the end', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const data = Buffer.alloc(1024 * 1024, 0x5a);
    writeFileSync(join(dir, 'm.bin'), data);
    const p = await localPeer();
    const h = await p.open('/m.bin', F.READ);
    for (const len of [1024 * 1024, 0xffffffff]) {
      const b = await p.req(FXP.READ, str(h), u64(0), u32(len));
      expect(b[0], `READ ${len}: status ${statusCode(b)}`).toBe(FXP.DATA);
      expect(b.readUInt32BE(5), `READ ${len}`).toBe(256 * 1024);
    }
    expect(statusCode(await p.req(FXP.READ, str(h), u64(data.length), u32(10)))).toBe(FX.EOF);
    await p.close(h);
  });
});

describe('handles', () => {
  it('maxHandles is enforced for OPEN and OPENDIR, CLOSE gives the handle back, and limits@openssh.com tells the numbers', async () => {
    dir = scratchDir('sshwire-mutgap-');
    writeFileSync(join(dir, 'a.txt'), 'a');
    const p = await localPeer({ session: { maxHandles: 2 } });
    const lim = await p.ext('limits@openssh.com');
    expect(lim[0]).toBe(FXP.EXTENDED_REPLY);
    // max-packet-length, max-read-length, max-write-length, max-open-handles
    expect([0, 1, 2, 3].map((i) => lim.readBigUInt64BE(5 + 8 * i))).toEqual([256n * 1024n + 1024n, 256n * 1024n, 256n * 1024n, 2n]);
    const h1 = await p.open('/a.txt', F.READ);
    const h2 = handleOf(await p.req(FXP.OPENDIR, str('/')));
    expect(statusCode(await p.req(FXP.OPEN, str('/a.txt'), u32(F.READ), NO_ATTRS))).toBe(FX.FAILURE);
    expect(statusCode(await p.req(FXP.OPENDIR, str('/')))).toBe(FX.FAILURE);
    await p.close(h2);
    // A closed handle is gone: unusable, and its slot free again, time after time.
    expect(statusCode(await p.req(FXP.READDIR, str(h2)))).toBe(FX.FAILURE);
    expect(statusCode(await p.req(FXP.CLOSE, str(h2)))).toBe(FX.FAILURE);
    for (let i = 0; i < 5; i++) await p.close(await p.open('/a.txt', F.READ));
    await p.close(h1);
    expect(statusCode(await p.req(FXP.READ, str(h1), u64(0), u32(1)))).toBe(FX.FAILURE);
  });

  it('limits@openssh.com reports the default of 1024 open handles', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const p = await localPeer();
    const lim = await p.ext('limits@openssh.com');
    expect(lim.readBigUInt64BE(5 + 24)).toBe(1024n);
  });
});

describe('status codes from errno', () => {
  it('ENOENT, ENOTDIR: NO_SUCH_FILE; EACCES, EPERM, EROFS: PERMISSION_DENIED; ENOTEMPTY, EEXIST, EISDIR: FAILURE', async () => {
    const cases: Record<string, number> = {
      ENOENT: FX.NO_SUCH_FILE,
      ENOTDIR: FX.NO_SUCH_FILE,
      EACCES: FX.PERMISSION_DENIED,
      EPERM: FX.PERMISSION_DENIED,
      EROFS: FX.PERMISSION_DENIED,
      ENOTEMPTY: FX.FAILURE,
      EEXIST: FX.FAILURE,
      EISDIR: FX.FAILURE,
      ENOSYS: FX.OP_UNSUPPORTED,
    };
    // The errors a real file system throws (root bypasses EACCES, so they are thrown here).
    const fs: SFTPServerInterface = {
      stat: (path) => {
        throw Object.assign(new Error(`${path.slice(1)}: /host/path`), { code: path.slice(1) });
      },
    };
    const p = new Peer(fs);
    peer = p;
    await p.init();
    for (const [code, status] of Object.entries(cases)) {
      const b = await p.req(FXP.STAT, str(`/${code}`));
      expect(statusCode(b), code).toBe(status);
      // The message names the errno, never the host path.
      expect(b.subarray(13, 13 + b.readUInt32BE(9)).toString(), code).toBe(code);
    }
  });

  it('RMDIR of a non-empty directory is FAILURE, of a missing one NO_SUCH_FILE', async () => {
    dir = scratchDir('sshwire-mutgap-');
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'x'), 'x');
    const p = await localPeer();
    expect(statusCode(await p.req(FXP.RMDIR, str('/full')))).toBe(FX.FAILURE);
    expect(statusCode(await p.req(FXP.RMDIR, str('/missing')))).toBe(FX.NO_SUCH_FILE);
    expect(existsSync(join(dir, 'full', 'x'))).toBe(true);
  });
});

describe('the root itself', () => {
  it('is never removed or renamed, even when empty', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const root = join(dir, 'root');
    mkdirSync(root);
    const p = await localPeer({ root });
    for (const path of ['/', '/.', '/..', '//', '']) {
      expect(statusCode(await p.req(FXP.RMDIR, str(path))), `rmdir "${path}"`).toBe(FX.PERMISSION_DENIED);
      expect(statusCode(await p.req(FXP.REMOVE, str(path))), `remove "${path}"`).toBe(FX.PERMISSION_DENIED);
    }
    expect(statusCode(await p.ext('posix-rename@openssh.com', str('/'), str('/x')))).toBe(FX.PERMISSION_DENIED);
    expect(statSync(root).isDirectory()).toBe(true);
  });
});

describe('pipelined requests on one handle', () => {
  it('overlapping WRITEs sent together land in the order sent', async () => {
    dir = scratchDir('sshwire-mutgap-');
    const p = await localPeer();
    const h = await p.open('/o.txt', F.WRITE | F.CREAT | F.TRUNC);
    const letters = 'ABCDEFGH';
    p.send(...[...letters].map((c, i) => packet(FXP.WRITE, 200 + i, str(h), u64(0), str(c.repeat(4)))));
    for (let i = 0; i < letters.length; i++) expect(statusCode(await p.reply())).toBe(FX.OK);
    await p.close(h);
    expect(readFileSync(join(dir, 'o.txt'), 'utf8')).toBe('HHHH');
  });

  it('CLOSE runs after the WRITEs sent before it, and fsync@openssh.com reaches the handle', async () => {
    const events: string[] = [];
    const handle: SFTPHandle = {
      write: async (offset) => {
        events.push(`write ${offset} start`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`write ${offset} done`);
      },
      fsync: () => {
        events.push('fsync');
      },
      close: () => {
        events.push('close');
      },
    };
    const fs: SFTPServerInterface = { open: () => handle };
    const p = new Peer(fs);
    peer = p;
    await p.init();
    const h = await p.open('/x', F.WRITE);
    expect(statusCode(await p.ext('fsync@openssh.com', str(h)))).toBe(FX.OK);
    expect(events).toEqual(['fsync']);
    p.send(packet(FXP.WRITE, 300, str(h), u64(0), str('a')), packet(FXP.WRITE, 301, str(h), u64(1), str('b')), packet(FXP.CLOSE, 302, str(h)));
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await p.reply();
      expect(statusCode(b)).toBe(FX.OK);
      ids.push(b.readUInt32BE(1));
    }
    expect(ids[2]).toBe(302);
    expect(events.slice(1).at(-1)).toBe('close');
    expect(events.filter((e) => e.endsWith('done'))).toHaveLength(2);
    // A handle without fsync: OP_UNSUPPORTED, not a silent OK.
    const bare = new Peer({ open: () => ({ read: () => Buffer.alloc(0) }) });
    await bare.init();
    const bh = await bare.open('/y', F.READ);
    expect(statusCode(await bare.ext('fsync@openssh.com', str(bh)))).toBe(FX.OP_UNSUPPORTED);
    await bare.end();
  });
});
