/**
 * get / put / getfo / putfo, streams and directory trees against
 * sftp-server, at the sizes where chunking goes wrong.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync, readFileSync, mkdirSync, statSync, existsSync, readdirSync, utimesSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SFTPTransferError } from '../../ts/errors.js';
import { PART_SUFFIX, type SFTPClient } from '../../ts/sftp/index.js';
import { patternBytes, removeDir, scratchDir, sha256, startServer, type ServerClient } from './helpers.js';

let srv: ServerClient;
let sftp: SFTPClient;
let dir: string;
const K = 1024;
const CHUNK = 255 * K;

beforeAll(async () => {
  dir = scratchDir();
  srv = await startServer();
  sftp = srv.client;
});
afterAll(async () => {
  await sftp.close();
  removeDir(dir);
});

const SIZES = [0, 1, 32 * K - 1, 32 * K, 32 * K + 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17, 1_234_567];

describe('get and put at awkward sizes', () => {
  for (const size of SIZES) {
    it(`${size} bytes, default and 32 KiB chunks`, async () => {
      const data = patternBytes(size, size + 1);
      const src = join(dir, `src-${size}`);
      writeFileSync(src, data);
      for (const chunkSize of [undefined, 32 * K]) {
        const dl = join(dir, `dl-${size}-${chunkSize}`);
        expect(await sftp.get(src, dl, { chunkSize })).toBe(size);
        expect(readFileSync(dl).equals(data)).toBe(true);
        expect(existsSync(dl + PART_SUFFIX)).toBe(false);
        const up = join(dir, `up-${size}-${chunkSize}`);
        const attrs = await sftp.put(src, up, { chunkSize });
        expect(attrs.st_size).toBe(size);
        expect(readFileSync(up).equals(data)).toBe(true);
      }
    });
  }

  it('64 MiB each way with equal sha256, progress reaching the total', async () => {
    const data = patternBytes(64 * K * K + 3, 99);
    const src = join(dir, 'big');
    writeFileSync(src, data);
    const progress: number[] = [];
    await sftp.get(src, join(dir, 'big.get'), { onProgress: (n, total) => (expect(total).toBe(data.length), progress.push(n)) });
    expect(sha256(readFileSync(join(dir, 'big.get')))).toBe(sha256(data));
    expect(progress.at(-1)).toBe(data.length);
    expect(progress.every((v, i) => i === 0 || v >= progress[i - 1]!)).toBe(true);
    const up: number[] = [];
    await sftp.put(src, join(dir, 'big.put'), { onProgress: (n) => up.push(n), verify: true });
    expect(sha256(readFileSync(join(dir, 'big.put')))).toBe(sha256(data));
    expect(up.at(-1)).toBe(data.length);
  });

  it('concurrency 1 and tiny chunks still produce the same bytes', async () => {
    const data = patternBytes(100_003, 5);
    writeFileSync(join(dir, 'tiny'), data);
    await sftp.get(join(dir, 'tiny'), join(dir, 'tiny.get'), { concurrency: 1, chunkSize: 1000 });
    expect(readFileSync(join(dir, 'tiny.get')).equals(data)).toBe(true);
    await sftp.put(join(dir, 'tiny'), join(dir, 'tiny.put'), { concurrency: 3, chunkSize: 777 });
    expect(readFileSync(join(dir, 'tiny.put')).equals(data)).toBe(true);
  });

  it('reads to EOF when the size is reported as 0 (like /proc files)', async () => {
    const n = await sftp.get('/proc/self/status', join(dir, 'status'));
    expect(n).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'status'), 'utf8')).toMatch(/^Name:/);
  });
});

describe('preserve, verify, resume', () => {
  it('preserve copies mode and times both ways', async () => {
    const src = join(dir, 'pres');
    writeFileSync(src, 'keep');
    chmodSync(src, 0o640);
    utimesSync(src, 1_500_000, 1_600_000);
    await sftp.put(src, join(dir, 'pres.put'), { preserve: true });
    expect(statSync(join(dir, 'pres.put')).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, 'pres.put')).mtimeMs).toBe(1_600_000_000);
    await sftp.get(src, join(dir, 'pres.get'), { preserve: true });
    expect(statSync(join(dir, 'pres.get')).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, 'pres.get')).mtimeMs).toBe(1_600_000_000);
  });

  it('get resume continues a part file; with verify a damaged prefix restarts', async () => {
    const data = patternBytes(3 * CHUNK + 5, 8);
    const src = join(dir, 'res');
    writeFileSync(src, data);
    const local = join(dir, 'res.get');
    writeFileSync(local + PART_SUFFIX, data.subarray(0, CHUNK + 100));
    const seen: number[] = [];
    await sftp.get(src, local, { resume: true, onProgress: (n) => seen.push(n) });
    expect(seen[0]).toBe(CHUNK + 100); // started from the prefix
    expect(readFileSync(local).equals(data)).toBe(true);
    // A wrong prefix: verify notices and starts over.
    const bad = Buffer.from(data.subarray(0, 5000));
    bad[10] ^= 1;
    writeFileSync(local + PART_SUFFIX, bad);
    const seen2: number[] = [];
    await sftp.get(src, local, { resume: true, verify: true, onProgress: (n) => seen2.push(n) });
    expect(seen2[0]).toBe(0);
    expect(readFileSync(local).equals(data)).toBe(true);
  });

  it('put resume continues after what the server has; verify checks the prefix', async () => {
    const data = patternBytes(2 * CHUNK + 9, 9);
    const src = join(dir, 'pres2');
    writeFileSync(src, data);
    const remote = join(dir, 'pres2.put');
    writeFileSync(remote, data.subarray(0, 70_000));
    const seen: number[] = [];
    const a = await sftp.put(src, remote, { resume: true, verify: true, onProgress: (n) => seen.push(n) });
    expect(seen[0]).toBe(70_000);
    expect(a.st_size).toBe(data.length);
    expect(readFileSync(remote).equals(data)).toBe(true);
    const bad = Buffer.from(data.subarray(0, 70_000));
    bad[0] ^= 0xff;
    writeFileSync(remote, bad);
    const seen2: number[] = [];
    await sftp.put(src, remote, { resume: true, verify: true, onProgress: (n) => seen2.push(n) });
    expect(seen2[0]).toBe(0);
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  it('temporary: false writes straight to the target', async () => {
    writeFileSync(join(dir, 'tf'), 'abc');
    await sftp.get(join(dir, 'tf'), join(dir, 'tf.get'), { temporary: false, verify: true });
    expect(readFileSync(join(dir, 'tf.get'), 'utf8')).toBe('abc');
  });
});

describe('getfo, putfo and streams', () => {
  it('getfo into a Writable with backpressure; putfo from a Readable of odd chunks', async () => {
    const data = patternBytes(5 * CHUNK + 3, 3);
    writeFileSync(join(dir, 'fo'), data);
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, cb) {
        got.push(Buffer.from(chunk));
        setImmediate(cb);
      },
    });
    expect(await sftp.getfo(join(dir, 'fo'), slow)).toBe(data.length);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    const pieces = [];
    for (let p = 0; p < data.length; ) {
      const n = Math.min(data.length - p, 1 + ((p * 7919) % 70_000));
      pieces.push(data.subarray(p, p + n));
      p += n;
    }
    const a = await sftp.putfo(Readable.from(pieces), join(dir, 'fo.put'), { fileSize: data.length });
    expect(a.st_size).toBe(data.length);
    expect(readFileSync(join(dir, 'fo.put')).equals(data)).toBe(true);
  });

  it('createReadStream with start/end and createWriteStream with flags', async () => {
    const data = patternBytes(3 * CHUNK, 4);
    writeFileSync(join(dir, 'rs'), data);
    const parts: Buffer[] = [];
    for await (const c of sftp.createReadStream(join(dir, 'rs'), { start: 10, end: 2 * CHUNK + 9, highWaterMark: 64 * K })) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(data.subarray(10, 2 * CHUNK + 10))).toBe(true);
    await pipeline(sftp.createReadStream(join(dir, 'rs')), sftp.createWriteStream(join(dir, 'ws'), { mode: 0o600 }));
    expect(readFileSync(join(dir, 'ws')).equals(data)).toBe(true);
    expect(statSync(join(dir, 'ws')).mode & 0o777).toBe(0o600);
    const app = sftp.createWriteStream(join(dir, 'ws'), { flags: 'a' });
    await pipeline(Readable.from([Buffer.from('tail')]), app);
    expect(readFileSync(join(dir, 'ws')).subarray(-4).toString()).toBe('tail');
    const mid = sftp.createWriteStream(join(dir, 'ws'), { flags: 'r+', start: 2 });
    await pipeline(Readable.from([Buffer.from('XY')]), mid);
    expect(readFileSync(join(dir, 'ws')).subarray(0, 4).equals(Buffer.concat([data.subarray(0, 2), Buffer.from('XY')]))).toBe(true);
    expect(mid.bytesWritten).toBe(2);
  });

  it('a write stream joins small writes into full-size WRITEs, in order', async () => {
    // 3000 writes of odd sizes from one producer: far fewer WRITE requests
    // than writes, and the file is byte-exact.
    const pieces = Array.from({ length: 3000 }, (_, i) => patternBytes(700 + (i % 5) * 131, i));
    const calls = vi.spyOn(sftp.session, 'request');
    try {
      await pipeline(Readable.from(pieces), sftp.createWriteStream(join(dir, 'small-writes')));
      expect(calls.mock.calls.length).toBeLessThan(300);
    } finally {
      calls.mockRestore();
    }
    expect(readFileSync(join(dir, 'small-writes')).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('a write stream copies what it accepts: a producer may refill its buffer once the write calls back', async () => {
    // One Buffer, refilled for every write, as pooled producers do. Holding
    // views of it while WRITEs are in flight would upload the last fill
    // several times over.
    const ws = sftp.createWriteStream(join(dir, 'refill'));
    const buf = Buffer.allocUnsafe(100 * K);
    const expected: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      buf.set(patternBytes(buf.length, 100 + i));
      expected.push(Buffer.from(buf));
      await new Promise<void>((resolve, reject) => ws.write(buf, (err?: Error | null) => (err ? reject(err) : resolve())));
    }
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
    expect(readFileSync(join(dir, 'refill')).equals(Buffer.concat(expected))).toBe(true);
  });

  it('a lone small write is sent without waiting for more data or end()', async () => {
    const ws = sftp.createWriteStream(join(dir, 'lone'));
    ws.write(Buffer.from('hello'));
    const deadline = Date.now() + 5000;
    while (ws.bytesWritten < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(ws.bytesWritten).toBe(5);
    expect(readFileSync(join(dir, 'lone'), 'utf8')).toBe('hello');
    await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
  });

  it('a read stream pushes chunks no larger than its highWaterMark', async () => {
    const data = patternBytes(2 * CHUNK + 5, 8);
    writeFileSync(join(dir, 'hwm'), data);
    const rs = sftp.createReadStream(join(dir, 'hwm'), { highWaterMark: 100 * K });
    const pushed = vi.spyOn(rs, 'push');
    const parts: Buffer[] = [];
    for await (const c of rs) parts.push(c as Buffer);
    const sizes = pushed.mock.calls.map(([c]) => (c === null ? 0 : (c as Buffer).length));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100 * K);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('by default a read stream joins replies that wait for its consumer into pushes of up to 1 MiB', async () => {
    const data = patternBytes(24 * CHUNK + 9, 12);
    writeFileSync(join(dir, 'push'), data);
    const rs = sftp.createReadStream(join(dir, 'push'));
    const pushed = vi.spyOn(rs, 'push');
    // Nobody reads for a while: the stream's buffer fills and replies pile up behind it.
    await new Promise((r) => setTimeout(r, 500));
    const parts: Buffer[] = [];
    for await (const c of rs) parts.push(c as Buffer);
    const sizes = pushed.mock.calls.map(([c]) => (c === null ? 0 : (c as Buffer).length));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * K);
    expect(Math.max(...sizes)).toBeGreaterThan(CHUNK);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('a read stream of a missing file errors; a write stream with wx on an existing file errors', async () => {
    await expect(pipeline(sftp.createReadStream(join(dir, 'missing')), new PassThrough())).rejects.toMatchObject({ status: 2 });
    writeFileSync(join(dir, 'exists'), '');
    await expect(pipeline(Readable.from([Buffer.from('x')]), sftp.createWriteStream(join(dir, 'exists'), { flags: 'wx' }))).rejects.toMatchObject({ status: 4 });
  });
});

describe('trees, listings and names', () => {
  const NAMES = ['with space', 'ünïcödé ✓', 'new\nline', 'quote"s', '-dash', 'tab\tname'];

  it('odd names survive listdir, stat, get and put', async () => {
    const d = join(dir, 'names');
    mkdirSync(d);
    for (const n of NAMES) writeFileSync(join(d, n), n);
    expect((await sftp.listdir(d)).sort()).toEqual([...NAMES].sort());
    for (const n of NAMES) {
      expect((await sftp.stat(join(d, n))).st_size).toBe(Buffer.byteLength(n));
      await sftp.get(join(d, n), join(d, `${n}.get`));
      expect(readFileSync(join(d, `${n}.get`), 'utf8')).toBe(n);
      await sftp.put(join(d, n), join(d, `${n}.put`));
      expect(readFileSync(join(d, `${n}.put`), 'utf8')).toBe(n);
    }
  });

  it('lists 10 000 entries completely with listdir, listdirAttr and listdirIter', async () => {
    const d = join(dir, 'many');
    mkdirSync(d);
    for (let i = 0; i < 10_000; i++) writeFileSync(join(d, `f${i}`), '');
    const names = await sftp.listdir(d);
    expect(names.length).toBe(10_000);
    expect(new Set(names).size).toBe(10_000);
    const attrs = await sftp.listdirAttr(d);
    expect(attrs.every((a) => a.isFile() && a.longname.includes(a.filename))).toBe(true);
    let n = 0;
    const seen = new Set<string>();
    for await (const a of sftp.listdirIter(d, { readAheads: 4 })) {
      n++;
      seen.add(a.filename);
    }
    expect(n).toBe(10_000);
    expect(seen.size).toBe(10_000);
    // An iteration stopped early closes its handle and leaves the session usable.
    for await (const a of sftp.listdirIter(d)) if (a) break;
    expect((await sftp.stat(d)).isDirectory()).toBe(true);
  });

  it('glob', async () => {
    const d = join(dir, 'g');
    mkdirSync(join(d, 'a/b/c'), { recursive: true });
    for (const f of ['x.txt', 'y.txt', 'z.log', '.hidden.txt', 'a/one.txt', 'a/b/two.txt', 'a/b/c/three.txt']) writeFileSync(join(d, f), '');
    expect(await sftp.glob(`${d}/*.txt`)).toEqual([`${d}/x.txt`, `${d}/y.txt`]);
    expect(await sftp.glob(`${d}/?.log`)).toEqual([`${d}/z.log`]);
    expect(await sftp.glob(`${d}/[xz].*`)).toEqual([`${d}/x.txt`, `${d}/z.log`]);
    expect(await sftp.glob(`${d}/**/*.txt`)).toEqual([`${d}/a/b/c/three.txt`, `${d}/a/b/two.txt`, `${d}/a/one.txt`, `${d}/x.txt`, `${d}/y.txt`]);
    expect(await sftp.glob(`${d}/*/b`)).toEqual([`${d}/a/b`]);
    expect(await sftp.glob(`${d}/nope/*`)).toEqual([]);
    expect(await sftp.glob(`${d}/x.txt`)).toEqual([`${d}/x.txt`]);
    await sftp.chdir(d);
    expect(await sftp.glob('a/*.txt')).toEqual(['a/one.txt']);
    await sftp.chdir(null);
  });

  it('putDir and getDir: whole tree, filter, progress over the tree', async () => {
    const src = join(dir, 'tree');
    const files: Record<string, Buffer> = {
      'top.bin': patternBytes(CHUNK + 1, 1),
      'sub/a.txt': Buffer.from('a'),
      'sub/deep/b.bin': patternBytes(70_000, 2),
      'sub/skip.tmp': Buffer.from('skip me'),
      'empty/.keep': Buffer.alloc(0),
      'ü name/ok': Buffer.from('ok'),
    };
    for (const [rel, data] of Object.entries(files)) {
      mkdirSync(join(src, rel, '..'), { recursive: true });
      writeFileSync(join(src, rel), data);
    }
    const filter = (p: string): boolean => !p.endsWith('.tmp');
    const total = Object.entries(files).filter(([p]) => filter(p)).reduce((s, [, d]) => s + d.length, 0);
    let last = 0;
    const put = await sftp.putDir(src, join(dir, 'tree.put'), { filter, fileConcurrency: 3, onProgress: (n, t) => (expect(t).toBe(total), (last = n)) });
    expect(put).toEqual({ files: 5, bytes: total });
    expect(last).toBe(total);
    for (const [rel, data] of Object.entries(files)) {
      if (!filter(rel)) expect(existsSync(join(dir, 'tree.put', rel))).toBe(false);
      else expect(readFileSync(join(dir, 'tree.put', rel)).equals(data)).toBe(true);
    }
    const got = await sftp.getDir(join(dir, 'tree.put'), join(dir, 'tree.get'), { onProgress: (n) => (last = n) });
    expect(got).toEqual({ files: 5, bytes: total });
    expect(readdirSync(join(dir, 'tree.get')).sort()).toEqual(['empty', 'sub', 'top.bin', 'ü name']);
    expect(readFileSync(join(dir, 'tree.get/sub/deep/b.bin')).equals(files['sub/deep/b.bin']!)).toBe(true);
    // Putting onto an existing tree works (directories already there).
    await sftp.putDir(src, join(dir, 'tree.put'), { filter });
  });

  it('a file truncated under a get is refused, not delivered short', async () => {
    // The file shrinks between the size check and the reads: simulated
    // deterministically by a stat that still reports the old size (a real
    // truncate races the read-ahead, which may already hold every chunk).
    const src = join(dir, 'shrink');
    writeFileSync(src, patternBytes(CHUNK + 10, 6));
    const realStat = sftp.stat.bind(sftp);
    const statSpy = vi.spyOn(sftp, 'stat').mockImplementation(async (path, opts) => {
      const attrs = await realStat(path, opts);
      if (path === src) attrs.st_size = 4 * CHUNK;
      return attrs;
    });
    const err = await sftp
      .get(src, join(dir, 'shrink.get'), { concurrency: 1 })
      .catch((e: unknown) => e)
      .finally(() => statSpy.mockRestore());
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect(existsSync(join(dir, 'shrink.get'))).toBe(false);
  });
});
