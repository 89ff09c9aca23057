/**
 * SFTP client behaviour no other test pinned down, found by mutation
 * testing of ts/sftp/client and ts/sftp/transfer: each test here fails when
 * the behaviour it names is broken on purpose, and passes on the real code.
 * Everything runs against OpenSSH's sftp-server as a child process, but for
 * one getfo test on the scripted fake server (test/helpers/fakeSftpServer.ts).
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SFTPError, SFTPTransferError } from '../../ts/errors.js';
import { FX, FXP, PART_SUFFIX, SFTPClient } from '../../ts/sftp/index.js';
import { FakeSftpServer } from '../helpers/fakeSftpServer.js';
import { within } from '../helpers/within.js';
import { remainder } from '../../ts/sftp/localIO.js';
import { patternBytes, serverForFile, startServer } from './helpers.js';

const K = 1024;
const srv = serverForFile();
let n = 0;
/** A fresh directory under the scratch directory. */
function fresh(name: string): string {
  const d = join(srv.dir, `${name}-${++n}`);
  mkdirSync(d);
  return d;
}

/** Records the type byte of every request the client sends until `stop()`. */
function watchTypes(client: SFTPClient): { types: number[]; count(type: number): number; stop(): void } {
  const session = client.session;
  const original = session.request;
  const types: number[] = [];
  session.request = (build, cb, opts) =>
    original.call(
      session,
      (id) => {
        const pkt = build(id);
        types.push((Array.isArray(pkt) ? pkt[0]! : pkt)[4]!);
        return pkt;
      },
      cb,
      opts,
    );
  return {
    types,
    count: (type) => types.filter((t) => t === type).length,
    stop: () => {
      delete (session as { request?: unknown }).request;
    },
  };
}

/** What `p` rejected with; fails if it resolved. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`resolved with ${String(v)}; expected a rejection`);
    },
    (e: unknown) => e,
  );
}

describe('SFTPFile modes and buffers', () => {
  it("'a+' writes land at the end even after a seek to 0 (APPEND is sent, as Python's append mode)", async () => {
    const p = join(fresh('append'), 'f');
    writeFileSync(p, 'abc');
    const f = await srv.client.open(p, 'a+');
    await f.seek(0);
    await f.write('X');
    await f.close();
    expect(readFileSync(p, 'utf8')).toBe('abcX');
  });

  it('a read after a write over buffered bytes returns the new bytes', async () => {
    const p = join(fresh('rbuf'), 'f');
    writeFileSync(p, 'abcdef');
    const f = await srv.client.open(p, 'r+');
    expect((await f.read(3)).toString()).toBe('abc'); // fills the read buffer with the whole file
    await f.seek(0);
    await f.write('XY');
    await f.seek(0);
    expect((await f.read(3)).toString()).toBe('XYc');
    await f.close();
  });

  it('a read after truncate does not return bytes cut off', async () => {
    const p = join(fresh('trunc'), 'f');
    writeFileSync(p, 'abcdef');
    const f = await srv.client.open(p, 'r+');
    expect((await f.read(6)).toString()).toBe('abcdef');
    await f.truncate(2);
    await f.seek(0);
    expect((await f.read()).toString()).toBe('ab');
    await f.close();
  });

  it('seek to a negative position rejects with FAILURE and leaves the position alone', async () => {
    const p = join(fresh('seek'), 'f');
    writeFileSync(p, 'hello');
    const f = await srv.client.open(p, 'r');
    await f.seek(2);
    await expect(f.seek(-1)).rejects.toMatchObject({ status: FX.FAILURE });
    await expect(f.seek(-3, 1)).rejects.toMatchObject({ status: FX.FAILURE });
    await expect(f.seek(-6, 2)).rejects.toMatchObject({ status: FX.FAILURE });
    expect(f.tell()).toBe(2);
    await f.close();
  });

  it('small reads are served from the read buffer: one READ for several read(1)', async () => {
    const p = join(fresh('bufsize'), 'f');
    // Longer than the default 32 KiB buffer, so its one READ is answered in full.
    const data = Buffer.concat([Buffer.from('abcdefgh'), patternBytes(64 * K, 31)]);
    writeFileSync(p, data);
    const f = await srv.client.open(p, 'r');
    const wire = watchTypes(srv.client);
    try {
      let s = '';
      for (let i = 0; i < 5; i++) s += (await f.read(1)).toString();
      expect(s).toBe('abcde');
      expect(wire.count(FXP.READ)).toBe(1);
    } finally {
      wire.stop();
    }
    await f.close();
  });
});

describe('client calls', () => {
  it('copy onto the same path (spelt differently) is refused before anything is opened', async () => {
    const d = fresh('copy-same');
    writeFileSync(join(d, 'src'), 'keep');
    const wire = watchTypes(srv.client);
    let err: unknown;
    try {
      err = await rejection(srv.client.copy(join(d, 'src'), `${d}/./src`));
    } finally {
      wire.stop();
    }
    expect(err).toBeInstanceOf(SFTPError);
    expect(err).toMatchObject({ status: FX.FAILURE });
    expect(wire.count(FXP.OPEN)).toBe(0);
    expect(readFileSync(join(d, 'src'), 'utf8')).toBe('keep');
  });

  it('copy with overwrite: false refuses an existing destination and leaves it as it was', async () => {
    const d = fresh('copy-excl');
    writeFileSync(join(d, 'src'), 'new content');
    writeFileSync(join(d, 'dst'), 'old');
    await expect(srv.client.copy(join(d, 'src'), join(d, 'dst'), { overwrite: false })).rejects.toBeInstanceOf(SFTPError);
    expect(readFileSync(join(d, 'dst'), 'utf8')).toBe('old');
    await srv.client.copy(join(d, 'src'), join(d, 'dst2'), { overwrite: false });
    expect(readFileSync(join(d, 'dst2'), 'utf8')).toBe('new content');
  });

  it('expandPath("~") with a cwd set still expands the home, not a name under the cwd', async () => {
    const d = fresh('cwd-tilde');
    const home = await srv.client.expandPath('~');
    await srv.client.chdir(d);
    try {
      expect(await srv.client.expandPath('~')).toBe(home);
    } finally {
      await srv.client.chdir(null);
    }
  });

  it('chdir keeps the normalized path', async () => {
    const d = fresh('cwd-norm');
    mkdirSync(join(d, 'sub'));
    await srv.client.chdir(`${d}/sub/..`);
    try {
      expect(srv.client.getcwd()).toBe(d);
      await srv.client.chdir('sub');
      expect(srv.client.getcwd()).toBe(join(d, 'sub'));
    } finally {
      await srv.client.chdir(null);
    }
  });

  it('an OPEN abandoned by an abort still has its handle closed once the reply comes', async () => {
    const p = join(fresh('late-open'), 'f');
    writeFileSync(p, 'x');
    const wire = watchTypes(srv.client);
    try {
      const ac = new AbortController();
      const opening = srv.client.open(p, 'r', -1, { signal: ac.signal });
      ac.abort();
      await expect(opening).rejects.toBeDefined();
      // sftp-server answers in order: by this reply the OPEN's came, and its CLOSE went out.
      await srv.client.stat(p);
      expect(wire.count(FXP.OPEN)).toBe(1);
      expect(wire.count(FXP.CLOSE)).toBe(1);
    } finally {
      wire.stop();
    }
  });
});

describe('exists and listing errors', () => {
  it('exists rethrows an error other than NO_SUCH_FILE (PERMISSION_DENIED)', async () => {
    const d = fresh('exists');
    chmodSync(srv.dir, 0o755);
    chmodSync(d, 0o755);
    const priv = join(d, 'private');
    mkdirSync(priv, { mode: 0o700 });
    writeFileSync(join(priv, 'secret'), 's');
    const nobody = await startServer({ asUser: { uid: 65534, gid: 65534 } });
    try {
      await expect(nobody.client.exists(join(priv, 'secret'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      expect(await nobody.client.exists(join(d, 'missing'))).toBe(false);
    } finally {
      await nobody.client.close();
    }
  });

  it('a READDIR the server refuses fails the listing instead of ending it empty', async () => {
    const d = fresh('readdir');
    writeFileSync(join(d, 'f'), '');
    const denied = await startServer({ args: ['-P', 'readdir'] });
    try {
      await expect(denied.client.listdir(d)).rejects.toMatchObject({ status: FX.PERMISSION_DENIED, path: d });
    } finally {
      await denied.client.close();
    }
  });
});

describe('get and put', () => {
  it('get resume with a part file longer than the remote file starts over', async () => {
    const d = fresh('get-long-part');
    const data = patternBytes(10 * K, 21);
    writeFileSync(join(d, 'src'), data);
    const local = join(d, 'dl');
    writeFileSync(local + PART_SUFFIX, patternBytes(20 * K, 22));
    const seen: number[] = [];
    expect(await srv.client.get(join(d, 'src'), local, { resume: true, onProgress: (x) => seen.push(x) })).toBe(data.length);
    expect(seen[0]).toBe(0);
    expect(readFileSync(local).equals(data)).toBe(true);
    expect(existsSync(local + PART_SUFFIX)).toBe(false);
  });

  it('get with temporary: false and resume continues the local file itself', async () => {
    const d = fresh('get-notemp');
    const data = patternBytes(100 * K, 23);
    writeFileSync(join(d, 'src'), data);
    const local = join(d, 'dl');
    writeFileSync(local, data.subarray(0, 30 * K));
    const seen: number[] = [];
    await srv.client.get(join(d, 'src'), local, { temporary: false, resume: true, onProgress: (x) => seen.push(x) });
    expect(seen[0]).toBe(30 * K);
    expect(readFileSync(local).equals(data)).toBe(true);
    expect(existsSync(local + PART_SUFFIX)).toBe(false);
  });

  it('get closes the remote file handle when it succeeds', async () => {
    const d = fresh('get-close');
    writeFileSync(join(d, 'src'), patternBytes(5000, 24));
    const wire = watchTypes(srv.client);
    try {
      await srv.client.get(join(d, 'src'), join(d, 'dl'));
      expect(wire.count(FXP.OPEN)).toBe(1);
      expect(wire.count(FXP.CLOSE)).toBe(1);
    } finally {
      wire.stop();
    }
  });

  it('put over a longer remote file leaves exactly the local bytes', async () => {
    const d = fresh('put-shorter');
    const data = patternBytes(1000, 25);
    writeFileSync(join(d, 'src'), data);
    writeFileSync(join(d, 'dst'), patternBytes(50 * K, 26));
    const a = await srv.client.put(join(d, 'src'), join(d, 'dst'));
    expect(a.st_size).toBe(data.length);
    expect(readFileSync(join(d, 'dst')).equals(data)).toBe(true);
  });

  it('put resume over a remote file longer than the local one starts over', async () => {
    const d = fresh('put-resume-long');
    const data = patternBytes(3000, 27);
    writeFileSync(join(d, 'src'), data);
    writeFileSync(join(d, 'dst'), patternBytes(9000, 28));
    const seen: number[] = [];
    await srv.client.put(join(d, 'src'), join(d, 'dst'), { resume: true, onProgress: (x) => seen.push(x) });
    expect(seen[0]).toBe(0);
    expect(readFileSync(join(d, 'dst')).equals(data)).toBe(true);
  });

  it('put with mode creates the remote file with those permissions', async () => {
    const d = fresh('put-mode');
    writeFileSync(join(d, 'src'), 'x');
    chmodSync(join(d, 'src'), 0o644);
    await srv.client.put(join(d, 'src'), join(d, 'dst'), { mode: 0o600 });
    expect(statSync(join(d, 'dst')).mode & 0o777).toBe(0o600);
  });

  it('put with preserve copies the access time too', async () => {
    const d = fresh('put-atime');
    writeFileSync(join(d, 'src'), 'x');
    utimesSync(join(d, 'src'), 1_500_000, 1_600_000);
    await srv.client.put(join(d, 'src'), join(d, 'dst'), { preserve: true });
    const st = statSync(join(d, 'dst'));
    expect([st.atimeMs, st.mtimeMs]).toEqual([1_500_000_000, 1_600_000_000]);
  });

  it('putfo refuses a stream shorter than the fileSize it was promised', async () => {
    const d = fresh('putfo-short');
    const err = await rejection(srv.client.putfo(Readable.from([Buffer.from('abc')]), join(d, 'dst'), { fileSize: 10 }));
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect(err).toMatchObject({ status: FX.FAILURE });
  });

  it('a chunkSize above the server limit is capped: 1 MiB chunks move the file through OpenSSH', async () => {
    const d = fresh('chunk-cap');
    const data = patternBytes(600 * K + 7, 29);
    writeFileSync(join(d, 'src'), data);
    await srv.client.put(join(d, 'src'), join(d, 'up'), { chunkSize: 1024 * K });
    expect(readFileSync(join(d, 'up')).equals(data)).toBe(true);
    await srv.client.get(join(d, 'src'), join(d, 'dl'), { chunkSize: 1024 * K });
    expect(readFileSync(join(d, 'dl')).equals(data)).toBe(true);
  });

  it('destroying a read stream part-way closes its remote handle', async () => {
    const d = fresh('rs-destroy');
    writeFileSync(join(d, 'src'), patternBytes(4 * 255 * K, 30));
    const wire = watchTypes(srv.client);
    try {
      const rs = srv.client.createReadStream(join(d, 'src'), { highWaterMark: 16 * K });
      await once(rs, 'readable');
      rs.destroy();
      await once(rs, 'close');
      expect(wire.count(FXP.OPEN)).toBe(1);
      expect(wire.count(FXP.CLOSE)).toBe(1);
    } finally {
      wire.stop();
    }
  });
});

describe('trees and glob', () => {
  it('getDir skips symlinked directories and dangling links', async () => {
    const d = fresh('getdir-links');
    const remote = join(d, 'remote');
    mkdirSync(join(remote, 'real'), { recursive: true });
    writeFileSync(join(remote, 'real', 'f'), 'f');
    symlinkSync('real', join(remote, 'dirlink'));
    symlinkSync('nowhere', join(remote, 'dangling'));
    const local = join(d, 'local');
    const got = await srv.client.getDir(remote, local);
    expect(got).toEqual({ files: 1, bytes: 1 });
    expect(readdirSync(local).sort()).toEqual(['real']);
  });

  it('putDir skips symlinked local directories', async () => {
    const d = fresh('putdir-links');
    const local = join(d, 'local');
    mkdirSync(join(local, 'real'), { recursive: true });
    writeFileSync(join(local, 'real', 'f'), 'f');
    symlinkSync('real', join(local, 'dirlink'));
    const remote = join(d, 'remote');
    expect(await srv.client.putDir(local, remote)).toEqual({ files: 1, bytes: 1 });
    expect(readdirSync(remote).sort()).toEqual(['real']);
  });

  it('putDir onto a path that is a file rejects', async () => {
    const d = fresh('putdir-onfile');
    const local = join(d, 'local');
    mkdirSync(local);
    writeFileSync(join(d, 'taken'), 'x');
    await expect(srv.client.putDir(local, join(d, 'taken'))).rejects.toBeInstanceOf(SFTPError);
    expect(lstatSync(join(d, 'taken')).isFile()).toBe(true);
  });

  it('putDir asks the filter about directories and skips a refused one whole', async () => {
    const d = fresh('putdir-filter');
    const local = join(d, 'local');
    mkdirSync(join(local, 'keep'), { recursive: true });
    mkdirSync(join(local, 'skip', 'inner'), { recursive: true });
    writeFileSync(join(local, 'keep', 'a'), 'a');
    writeFileSync(join(local, 'skip', 'b'), 'b');
    writeFileSync(join(local, 'skip', 'inner', 'c'), 'c');
    const asked: string[] = [];
    const remote = join(d, 'remote');
    const res = await srv.client.putDir(local, remote, {
      filter: (rel, isDir) => (asked.push(`${rel}${isDir ? '/' : ''}`), rel !== 'skip'),
    });
    expect(res).toEqual({ files: 1, bytes: 1 });
    expect(asked).toContain('skip/');
    expect(asked.some((a) => a.startsWith('skip/') && a !== 'skip/')).toBe(false);
    expect(readdirSync(remote).sort()).toEqual(['keep']);
  });

  it('glob ** does not descend into dot directories', async () => {
    const d = fresh('glob-dot');
    mkdirSync(join(d, '.git'));
    mkdirSync(join(d, 'a'));
    writeFileSync(join(d, '.git', 'x.txt'), '');
    writeFileSync(join(d, 'a', 'y.txt'), '');
    expect(await srv.client.glob(`${d}/**/*.txt`)).toEqual([`${d}/a/y.txt`]);
  });

  it('glob of a path without wildcards returns it only when it exists', async () => {
    const d = fresh('glob-literal');
    writeFileSync(join(d, 'here'), '');
    expect(await srv.client.glob(`${d}/here`)).toEqual([`${d}/here`]);
    expect(await srv.client.glob(`${d}/not-here`)).toEqual([]);
    expect(await srv.client.glob(`${d}/*/not-here`)).toEqual([]);
  });
});

describe('localIO remainder', () => {
  it('skips whole parts and the start of the part the skip ends in', () => {
    const parts = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('g')];
    const s = (skip: number): string[] => remainder(parts, skip).map((b) => b.toString());
    expect(s(0)).toEqual(['abc', 'def', 'g']);
    expect(s(1)).toEqual(['bc', 'def', 'g']);
    expect(s(3)).toEqual(['def', 'g']);
    expect(s(4)).toEqual(['ef', 'g']);
    expect(s(7)).toEqual([]);
  });
});

describe('more calls, streams and getfo', () => {
  it('rename with a cwd set resolves both names against it', async () => {
    const d = fresh('cwd-rename');
    writeFileSync(join(d, 'x'), 'x');
    await srv.client.chdir(d);
    try {
      await srv.client.rename('x', 'y');
    } finally {
      await srv.client.chdir(null);
    }
    expect(readFileSync(join(d, 'y'), 'utf8')).toBe('x');
    expect(existsSync(join(d, 'x'))).toBe(false);
  });

  it("copy creates the destination with the source's permission bits", async () => {
    const d = fresh('copy-mode');
    writeFileSync(join(d, 'src'), 'secret');
    chmodSync(join(d, 'src'), 0o600);
    await srv.client.copy(join(d, 'src'), join(d, 'dst'));
    expect(statSync(join(d, 'dst')).mode & 0o777).toBe(0o600);
  });

  it('listdirIter with readAheads 0 still lists everything (at least one READDIR in flight)', async () => {
    const d = fresh('readaheads0');
    for (const f of ['a', 'b', 'c']) writeFileSync(join(d, f), '');
    const names: string[] = [];
    for await (const a of srv.client.listdirIter(d, { readAheads: 0 })) names.push(a.filename);
    expect(names.sort()).toEqual(['a', 'b', 'c']);
  });

  it('getfo reports progress against the file size, ending at (size, size)', async () => {
    const d = fresh('getfo-progress');
    const data = patternBytes(300 * K + 5, 32);
    writeFileSync(join(d, 'src'), data);
    const seen: Array<[number, number]> = [];
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    expect(await srv.client.getfo(join(d, 'src'), sink, { onProgress: (x, t) => seen.push([x, t]) })).toBe(data.length);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(([, t]) => t === data.length)).toBe(true);
    expect(seen.at(-1)).toEqual([data.length, data.length]);
  });

  it('a write stream closes its remote handle when it finishes', async () => {
    const d = fresh('ws-close');
    const wire = watchTypes(srv.client);
    try {
      await pipeline(Readable.from([Buffer.from('hello')]), srv.client.createWriteStream(join(d, 'f')));
      expect(wire.count(FXP.OPEN)).toBe(1);
      expect(wire.count(FXP.CLOSE)).toBe(1);
    } finally {
      wire.stop();
    }
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('hello');
  });

  it('a write stream destroyed part-way closes its remote handle', async () => {
    const d = fresh('ws-destroy');
    const wire = watchTypes(srv.client);
    try {
      const ws = srv.client.createWriteStream(join(d, 'f'));
      await new Promise<void>((resolve, reject) => ws.write(Buffer.from('part'), (err) => (err ? reject(err) : resolve())));
      ws.destroy();
      await once(ws, 'close');
      expect(wire.count(FXP.OPEN)).toBe(1);
      expect(wire.count(FXP.CLOSE)).toBe(1);
    } finally {
      wire.stop();
    }
  });

  it('getfo refuses a delivery shorter than the size FSTAT reported', async () => {
    const server = new FakeSftpServer({ files: { '/f': patternBytes(40 * K, 33) }, statSize: (_p, size) => size + 1000 });
    const client = await within(SFTPClient.fromStream(server.stream, { readyTimeout: 5_000, timeout: 10_000 }), 10_000, 'the SFTP handshake');
    try {
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      const err = await within(rejection(client.getfo('/f', sink)), 10_000, 'getfo');
      expect(err).toBeInstanceOf(SFTPTransferError);
    } finally {
      await client.close().catch(() => {});
      server.stop();
    }
  });
});
