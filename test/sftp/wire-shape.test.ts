/**
 * What the client puts on the wire, checked against OpenSSH's sftp-server
 * run as a child process, where the other tests only check that the file
 * came out right: READDIR read-ahead and the CLOSE of a directory left
 * early, the READ/WRITE sizes and the requests in flight of get/put, the
 * fsync@openssh.com request, a prefetch that really saves the READs, a
 * pipelined write the server refuses, SFTPAttributes (uid, gid, times,
 * filename, longname) as the server sent them, getDir's filter, progress
 * total and files open at once, and SFTPClient.close() failing what is
 * pending and everything after it instead of hanging.
 *
 * A watcher wraps the session's `request` and records every request sent
 * (type, handle or path, offset, length, extension name) and its reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chownSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SFTPError, SFTPTransferError } from '../../ts/errors.js';
import { FX, FXP, type SFTPClient } from '../../ts/sftp/index.js';
import { patternBytes, removeDir, scratchDir, serverForFile, startServer } from './helpers.js';

const K = 1024;
const srv = serverForFile();

interface Sent {
  type: number;
  /** Hex of the handle, for requests on one. */
  handle?: string;
  /** The first path argument, for requests by path. */
  path?: string;
  /** The extension name of an EXTENDED request. */
  ext?: string;
  /** READ / WRITE offset and length. */
  offset?: number;
  length?: number;
  /** Reply type once it came (0 when the session failed it). */
  reply?: number;
  /** The STATUS code of a STATUS reply. */
  status?: number;
  /** Hex of the handle a HANDLE reply carried. */
  replyHandle?: string;
}

interface Wire {
  sent: Sent[];
  of(type: number): Sent[];
  /** Requests of this type sent and not yet answered. */
  inflight(type: number): number;
  /** Most requests of this type in flight at once. */
  maxInflight(type: number): number;
  /** Most files open at once: counted from OPEN sent until the CLOSE of its handle was answered. */
  maxOpenFiles: number;
  stop(): void;
}

function parseRequest(pkt: Buffer | Buffer[]): Sent {
  // A WRITE comes as header + data: the header holds everything we read.
  const b = Array.isArray(pkt) ? (pkt[0]![4] === FXP.WRITE ? pkt[0]! : Buffer.concat(pkt)) : pkt;
  const type = b[4]!;
  const str = (at: number): [Buffer, number] => {
    const n = b.readUInt32BE(at);
    return [b.subarray(at + 4, at + 4 + n), at + 4 + n];
  };
  const s: Sent = { type };
  switch (type) {
    case FXP.READ:
    case FXP.WRITE: {
      const [h, at] = str(9);
      s.handle = h.toString('hex');
      s.offset = Number(b.readBigUInt64BE(at));
      s.length = b.readUInt32BE(at + 8);
      break;
    }
    case FXP.CLOSE:
    case FXP.READDIR:
    case FXP.FSTAT:
    case FXP.FSETSTAT:
      s.handle = str(9)[0].toString('hex');
      break;
    case FXP.EXTENDED: {
      const [name, at] = str(9);
      s.ext = name.toString('utf8');
      if (s.ext === 'fsync@openssh.com' || s.ext === 'fstatvfs@openssh.com') s.handle = str(at)[0].toString('hex');
      break;
    }
    default:
      s.path = str(9)[0].toString('utf8');
  }
  return s;
}

/** Wraps `client.session.request` until `stop()`. */
function watchWire(client: SFTPClient): Wire {
  const session = client.session;
  const original = session.request;
  const sent: Sent[] = [];
  const now = new Map<number, number>();
  const max = new Map<number, number>();
  const fileHandles = new Set<string>();
  let openFiles = 0;
  const wire: Wire = {
    sent,
    of: (type) => sent.filter((s) => s.type === type),
    inflight: (type) => now.get(type) ?? 0,
    maxInflight: (type) => max.get(type) ?? 0,
    maxOpenFiles: 0,
    stop: () => {
      delete (session as { request?: unknown }).request;
      expect(session.request).toBe(original);
    },
  };
  session.request = (build, cb, opts) => {
    let rec: Sent | undefined;
    return original.call(
      session,
      (id) => {
        const pkt = build(id);
        rec = parseRequest(pkt);
        sent.push(rec);
        const n = (now.get(rec.type) ?? 0) + 1;
        now.set(rec.type, n);
        max.set(rec.type, Math.max(max.get(rec.type) ?? 0, n));
        if (rec.type === FXP.OPEN) wire.maxOpenFiles = Math.max(wire.maxOpenFiles, ++openFiles);
        return pkt;
      },
      (err, type, body, rest) => {
        if (rec) {
          now.set(rec.type, now.get(rec.type)! - 1);
          rec.reply = err ? 0 : type;
          if (!err && type === FXP.STATUS) rec.status = (rest && body.length < 9 ? Buffer.concat([body, ...rest]) : body).readUInt32BE(5);
          if (!err && type === FXP.HANDLE) rec.replyHandle = body.subarray(9, 9 + body.readUInt32BE(5)).toString('hex');
          if (rec.type === FXP.OPEN) {
            if (rec.replyHandle !== undefined) fileHandles.add(rec.replyHandle);
            else openFiles--;
          }
          if (rec.type === FXP.CLOSE && rec.handle !== undefined && fileHandles.delete(rec.handle)) openFiles--;
        }
        cb(err, type, body, rest);
      },
      opts,
    );
  };
  return wire;
}

/** Rejects if `p` has not settled within `ms`: a hung promise is a failure, not a test timeout. */
function settles<T>(p: Promise<T>, ms = 5_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);
}

/** Waits until `cond()` holds; throws after `ms`. */
async function until(cond: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('listdirAttr / listdirIter on 10 000 entries', () => {
  let big: string;
  beforeAll(() => {
    big = join(srv.dir, 'big');
    mkdirSync(big);
    for (let i = 0; i < 10_000; i++) writeFileSync(join(big, `entry-${i}`), '');
  });

  it('listdirAttr returns exactly the 10 000 names on disk', { timeout: 20_000 }, async () => {
    const attrs = await srv.client.listdirAttr(big);
    expect(attrs.length).toBe(10_000);
    const names = attrs.map((a) => a.filename);
    expect(new Set(names).size).toBe(10_000);
    expect(names.sort()).toEqual(readdirSync(big).sort());
  });

  it('listdirIter keeps several READDIRs in flight (readAheads) and yields every entry', { timeout: 20_000 }, async () => {
    const wire = watchWire(srv.client);
    let n = 0;
    try {
      for await (const a of srv.client.listdirIter(big, { readAheads: 4 })) if (a.filename.startsWith('entry-')) n++;
    } finally {
      wire.stop();
    }
    expect(n).toBe(10_000);
    expect(wire.maxInflight(FXP.READDIR)).toBeGreaterThanOrEqual(2);
    expect(wire.maxInflight(FXP.READDIR)).toBeLessThanOrEqual(4);
    // The directory handle is closed at the end.
    const dirHandle = wire.of(FXP.OPENDIR)[0]!.replyHandle;
    expect(wire.of(FXP.CLOSE).map((c) => c.handle)).toEqual([dirHandle]);
  });

  it('listdirIter left with break sends CLOSE for the directory handle, and no READDIR after it', { timeout: 10_000 }, async () => {
    const wire = watchWire(srv.client);
    let seen = 0;
    try {
      for await (const a of srv.client.listdirIter(big, { readAheads: 4 })) {
        if (a) seen++;
        break;
      }
    } finally {
      wire.stop();
    }
    expect(seen).toBe(1);
    const opendir = wire.of(FXP.OPENDIR);
    expect(opendir.length).toBe(1);
    const handle = opendir[0]!.replyHandle;
    expect(handle).toBeDefined();
    const closes = wire.of(FXP.CLOSE);
    expect(closes.map((c) => c.handle)).toEqual([handle]);
    expect(closes[0]!.status).toBe(FX.OK);
    const closeAt = wire.sent.indexOf(closes[0]!);
    expect(wire.sent.slice(closeAt).some((s) => s.type === FXP.READDIR)).toBe(false);
    // The break did not end anything else: the session still answers.
    expect((await srv.client.stat(big)).isDirectory()).toBe(true);
  });
});

describe('get / put: requests in flight and their sizes', () => {
  const C = 10_000;
  const SIZE = 40 * C + 123;
  let src: string;
  beforeAll(() => {
    src = join(srv.dir, 'shape.src');
    writeFileSync(src, patternBytes(SIZE, 7));
  });

  /** Every length is `c` but the last, which is the remainder; offsets tile [0, size). */
  function expectTiled(reqs: Sent[], c: number, size: number): void {
    const sorted = [...reqs].sort((a, b) => a.offset! - b.offset!);
    let at = 0;
    for (const r of sorted) {
      expect(r.offset).toBe(at);
      at += r.length!;
    }
    expect(at).toBe(size);
    const lengths = reqs.map((r) => r.length);
    expect(lengths.slice(0, -1).every((l) => l === c)).toBe(true);
    expect(lengths.at(-1)).toBe(size % c || c);
  }

  it('get with concurrency 3, chunkSize 10 000: at most 3 READs out, each 10 000 bytes but the last', { timeout: 10_000 }, async () => {
    const dl = join(srv.dir, 'shape.get');
    const wire = watchWire(srv.client);
    try {
      expect(await srv.client.get(src, dl, { concurrency: 3, chunkSize: C })).toBe(SIZE);
    } finally {
      wire.stop();
    }
    expect(readFileSync(dl).equals(readFileSync(src))).toBe(true);
    const reads = wire.of(FXP.READ);
    expect(reads.length).toBe(41);
    expectTiled(reads, C, SIZE);
    expect(wire.maxInflight(FXP.READ)).toBeLessThanOrEqual(3);
    // And pipelined at all: the limit is reached, not undershot.
    expect(wire.maxInflight(FXP.READ)).toBe(3);
  });

  it('put with concurrency 5, chunkSize 10 000: at most 5 WRITEs out, each 10 000 bytes but the last', { timeout: 10_000 }, async () => {
    const up = join(srv.dir, 'shape.put');
    const wire = watchWire(srv.client);
    try {
      await srv.client.put(src, up, { concurrency: 5, chunkSize: C });
    } finally {
      wire.stop();
    }
    expect(readFileSync(up).equals(readFileSync(src))).toBe(true);
    const writes = wire.of(FXP.WRITE);
    expect(writes.length).toBe(41);
    expectTiled(writes, C, SIZE);
    expect(wire.maxInflight(FXP.WRITE)).toBeLessThanOrEqual(5);
    expect(wire.maxInflight(FXP.WRITE)).toBe(5);
  });
});

describe('SFTPFile on the wire', () => {
  it('fsync() sends fsync@openssh.com on the file handle and resolves', { timeout: 10_000 }, async () => {
    const p = join(srv.dir, 'fsync.txt');
    const f = await srv.client.open(p, 'w');
    const wire = watchWire(srv.client);
    try {
      await f.write('hello');
      await settles(f.fsync());
    } finally {
      wire.stop();
      await f.close();
    }
    const ext = wire.of(FXP.EXTENDED);
    expect(ext.map((e) => e.ext)).toEqual(['fsync@openssh.com']);
    expect(ext[0]!.handle).toBe(f.handle.toString('hex'));
    expect(ext[0]!.status).toBe(FX.OK);
    // The write went out before the fsync.
    expect(wire.sent.findIndex((s) => s.type === FXP.WRITE)).toBeLessThan(wire.sent.indexOf(ext[0]!));
    expect(readFileSync(p, 'utf8')).toBe('hello');
  });

  it('after prefetch() has finished, read() of the prefetched range sends no READ', { timeout: 10_000 }, async () => {
    const size = 300 * K + 7;
    const data = patternBytes(size, 11);
    const p = join(srv.dir, 'prefetch.bin');
    writeFileSync(p, data);
    const f = await srv.client.open(p, 'r');
    const wire = watchWire(srv.client);
    try {
      await f.prefetch();
      await until(() => wire.of(FXP.READ).length > 0 && wire.inflight(FXP.READ) === 0, 'the prefetch READs went out and were all answered');
      const before = wire.sent.length;
      const a = await f.read(1000);
      const b = await f.read(size - 1000);
      expect(Buffer.concat([a, b]).equals(data)).toBe(true);
      expect(f.tell()).toBe(size);
      expect(wire.sent.slice(before).filter((s) => s.type === FXP.READ)).toEqual([]);
    } finally {
      wire.stop();
      await f.close();
    }
  });

  describe('pipelined writes the server refuses (sftp-server -P write)', () => {
    let client: SFTPClient;
    let dir: string;
    beforeAll(async () => {
      dir = scratchDir();
      client = (await startServer({ args: ['-P', 'write'] })).client;
    });
    afterAll(async () => {
      await client?.close();
      if (dir) removeDir(dir);
    });

    it('flush() rejects with the SFTPError the server sent (PERMISSION_DENIED)', { timeout: 10_000 }, async () => {
      const p = join(dir, 'ro.txt');
      writeFileSync(p, 'original');
      const f = await client.open(p, 'r+');
      const wire = watchWire(client);
      try {
        f.setPipelined(true);
        // Returns before the server has answered.
        await settles(f.write('changed'));
        const err = await settles(f.flush()).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SFTPError);
        expect((err as SFTPError).status).toBe(FX.PERMISSION_DENIED);
        expect((err as SFTPError).path).toBe(p);
      } finally {
        wire.stop();
        await f.close().catch(() => {});
      }
      const writes = wire.of(FXP.WRITE);
      expect(writes.length).toBe(1);
      expect(writes[0]!.status).toBe(FX.PERMISSION_DENIED);
      expect(readFileSync(p, 'utf8')).toBe('original');
    });

    it('close() after a refused pipelined write rejects with the same status', { timeout: 10_000 }, async () => {
      const p = join(dir, 'ro2.txt');
      writeFileSync(p, 'original');
      const f = await client.open(p, 'r+');
      f.setPipelined(true);
      await settles(f.write('changed'));
      const err = await settles(f.close()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SFTPError);
      expect((err as SFTPError).status).toBe(FX.PERMISSION_DENIED);
      expect(f.closed).toBe(true);
    });
  });
});

describe('SFTPAttributes as the server sent them', () => {
  const NAME = 'owned by 1234 ü.txt';
  const ATIME = 1_000_000_000;
  // Past 2^31: SFTP v3 carries times as uint32.
  const MTIME = 3_000_000_000;
  let sub: string;
  let p: string;
  beforeAll(() => {
    sub = join(srv.dir, 'attrs');
    mkdirSync(sub);
    p = join(sub, NAME);
    writeFileSync(p, 'hello');
    chmodSync(p, 0o640);
    chownSync(p, 1234, 5678);
    utimesSync(p, ATIME, MTIME);
  });

  it('stat returns the uid, gid, atime and mtime set on disk', { timeout: 10_000 }, async () => {
    const a = await srv.client.stat(p);
    expect(a.st_uid).toBe(1234);
    expect(a.st_gid).toBe(5678);
    expect(a.st_atime).toBe(ATIME);
    expect(a.st_mtime).toBe(MTIME);
    expect(a.st_size).toBe(5);
    expect(a.st_mode).toBe(0o100640);
  });

  it('listdirAttr: filename is the name exactly, longname an ls -l line for it, attrs as on disk', { timeout: 10_000 }, async () => {
    const list = await srv.client.listdirAttr(sub);
    expect(list.length).toBe(1);
    const e = list[0]!;
    expect(e.filename).toBe(NAME);
    // OpenSSH: mode, links, owner, group (numeric: no such user), size, date, name.
    expect(e.longname).toMatch(/^-rw-r----- +1 +1234 +5678 +5 [A-Z][a-z]{2} [ \d]\d +(\d{4}|\d\d:\d\d) owned by 1234 ü\.txt$/);
    expect(e.longname.endsWith(` ${NAME}`)).toBe(true);
    expect([e.st_uid, e.st_gid, e.st_atime, e.st_mtime, e.st_size]).toEqual([1234, 5678, ATIME, MTIME, 5]);
  });
});

describe('getDir', () => {
  it('filter skips what it refuses, the last progress total is the sum of the sizes, at most fileConcurrency files open', { timeout: 10_000 }, async () => {
    const root = join(srv.dir, 'tree');
    const included: Record<string, number> = {
      'a.bin': 96 * K,
      'b.bin': 64 * K + 3,
      'empty.bin': 0,
      'sub/c.bin': 80 * K,
      'sub/d.bin': 72 * K + 1,
      'sub/deeper/e.bin': 100 * K,
      'sub/deeper/f.bin': 64 * K,
      'g.bin': 70 * K,
    };
    const excluded = ['skip.tmp', 'sub/also.tmp', 'excluded/h.bin', 'excluded/inner/i.bin'];
    let seed = 1;
    for (const [rel, size] of Object.entries(included)) {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), patternBytes(size, seed++));
    }
    for (const rel of excluded) {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), patternBytes(10 * K, seed++));
    }
    const local = join(srv.dir, 'tree.local');
    const asked: string[] = [];
    const filter = (rel: string, isDir: boolean): boolean => {
      asked.push(`${rel}${isDir ? '/' : ''}`);
      return !rel.endsWith('.tmp') && rel !== 'excluded';
    };
    const progress: Array<[number, number]> = [];
    const wire = watchWire(srv.client);
    let result: { files: number; bytes: number };
    try {
      result = await srv.client.getDir(root, local, {
        filter,
        fileConcurrency: 2,
        concurrency: 2,
        chunkSize: 8 * K,
        onProgress: (n, total) => progress.push([n, total]),
      });
    } finally {
      wire.stop();
    }
    const sum = Object.values(included).reduce((s, n) => s + n, 0);
    expect(result).toEqual({ files: Object.keys(included).length, bytes: sum });

    // filter: asked about the excluded directory, never about what is inside it.
    expect(asked).toContain('excluded/');
    expect(asked.some((a) => a.startsWith('excluded/') && a !== 'excluded/')).toBe(false);
    expect(existsSync(join(local, 'excluded'))).toBe(false);
    const opened = wire.of(FXP.OPEN).map((o) => o.path!.slice(root.length + 1));
    expect(opened.sort()).toEqual(Object.keys(included).sort());
    for (const [rel, size] of Object.entries(included)) expect(readFileSync(join(local, rel)).length).toBe(size);
    const localFiles = (readdirSync(local, { recursive: true }) as string[]).filter((f) => f.endsWith('.bin') || f.endsWith('.tmp'));
    expect(localFiles.sort()).toEqual(Object.keys(included).sort());

    // progress: every call reports the whole tree's total; the last one is all of it.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every(([, total]) => total === sum)).toBe(true);
    expect(progress.at(-1)).toEqual([sum, sum]);

    // Files at once: never more than fileConcurrency, and the measure did see overlap.
    expect(wire.maxOpenFiles).toBeLessThanOrEqual(2);
    expect(wire.maxOpenFiles).toBeGreaterThan(1);
    expect(wire.maxInflight(FXP.READ)).toBeLessThanOrEqual(2 * 2);
  });
});

describe('SFTPClient.close()', () => {
  it('fails the requests pending at close with SFTPError NO_CONNECTION, and every call after it', { timeout: 10_000 }, async () => {
    const dir = scratchDir();
    const { client, proc } = await startServer();
    try {
      const big = join(dir, 'big.bin');
      writeFileSync(big, patternBytes(2 * 1024 * K, 3));
      writeFileSync(join(dir, 'small.txt'), 'x');
      // A get under way (many small READs), plus plain requests issued just before close.
      let started!: () => void;
      const moving = new Promise<void>((r) => (started = r));
      const dl = join(dir, 'big.dl');
      const get = client.get(big, dl, { chunkSize: 4 * K, concurrency: 2, onProgress: (n) => n > 0 && started() });
      get.catch(() => {});
      await settles(moving);
      const stats: Array<Promise<unknown>> = [client.stat(join(dir, 'small.txt')), client.lstat(dir), client.listdir(dir), client.realpath('.')];
      for (const s of stats) s.catch(() => {});
      expect(client.session.outstanding).toBeGreaterThanOrEqual(stats.length);
      await settles(client.close());
      expect(client.closed).toBe(true);

      for (const s of stats) {
        const err = await settles(s).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SFTPError);
        expect((err as SFTPError).status).toBe(FX.NO_CONNECTION);
      }
      const gerr = await settles(get).then(
        () => null,
        (e: unknown) => e,
      );
      expect(gerr).toBeInstanceOf(SFTPTransferError);
      expect((gerr as SFTPTransferError).status).toBe(FX.NO_CONNECTION);
      expect(existsSync(dl)).toBe(false);

      // After close: every call rejects at once, typed, none hangs.
      const after: Array<[string, () => Promise<unknown>]> = [
        ['stat', () => client.stat(join(dir, 'small.txt'))],
        ['listdir', () => client.listdir(dir)],
        ['open', () => client.open(join(dir, 'small.txt'))],
        ['mkdir', () => client.mkdir(join(dir, 'newdir'))],
        ['get', () => client.get(join(dir, 'small.txt'), join(dir, 'small.dl'))],
        ['put', () => client.put(join(dir, 'small.txt'), join(dir, 'small.up'))],
      ];
      for (const [what, call] of after) {
        const err = await settles(call(), 2_000).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, what).toBeInstanceOf(SFTPError);
        expect((err as SFTPError).status, what).toBe(FX.NO_CONNECTION);
      }
      expect(existsSync(join(dir, 'newdir'))).toBe(false);
      // A second close is harmless.
      await settles(client.close());
    } finally {
      proc.kill();
      removeDir(dir);
    }
  });
});
