/**
 * The transfer engine against a scripted in-process server
 * (test/helpers/fakeSftpServer.ts), for what a real sftp-server rarely does:
 *
 * 1. Short reads: every READ answered with half of what was asked (and
 *    every seventh with 1 byte). get, getfo, createReadStream,
 *    SFTPFile.read and readv still deliver the file byte for byte, by
 *    asking again for the remainder.
 * 2. Replies out of order (reversed, or shuffled from a seed): concurrent
 *    stats each get their own answer, get and put are byte-exact, and a put
 *    whose WRITE in the middle fails rejects with SFTPTransferError whose
 *    `bytesTransferred` really is a correct prefix of the remote file.
 * 3. verify and confirm: a put or get whose remote content differs (read
 *    back, or check-file-handle) rejects; a STAT reporting the wrong size
 *    after a put rejects; `confirm: false` sends no STAT at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { SFTPTransferError } from '../../ts/errors.js';
import { SFTPClient } from '../../ts/sftp/index.js';
import { EXT, FX, FXP } from '../../ts/wire/sftpConstants.js';
import { FakeSftpServer, reverseOrder, shuffledOrder, type FakeSftpOptions } from '../helpers/fakeSftpServer.js';
import { Rand } from '../helpers/prng.js';
import { within } from '../helpers/within.js';
import { patternBytes, removeDir, scratchDir, sha256 } from './helpers.js';

const MiB = 1024 * 1024;
/** READ/WRITE size the fake server advertises through limits@openssh.com. */
const CHUNK = 32 * 1024;
/** A few MiB and an odd tail. */
const SIZE = 3 * MiB + 12_345;
const CHUNKS = Math.ceil(SIZE / CHUNK);
const WAIT = 15_000;
const TEST_TIMEOUT = 30_000;

let dir: string;
let data: Buffer;
let localSrc: string;

beforeAll(() => {
  dir = scratchDir('sshwire-engine-fake-');
  data = patternBytes(SIZE, 4242);
  localSrc = join(dir, 'src.bin');
  writeFileSync(localSrc, data);
});
afterAll(() => removeDir(dir));

/** A fake server and a client on it; `run` closes both whatever happens. */
async function withServer(opts: FakeSftpOptions, run: (client: SFTPClient, server: FakeSftpServer) => Promise<void>): Promise<void> {
  const server = new FakeSftpServer(opts);
  const client = await within(SFTPClient.fromStream(server.stream, { readyTimeout: 5_000, timeout: 10_000 }), WAIT, 'the SFTP handshake');
  try {
    expect(client.limits.maxReadLength).toBe(CHUNK);
    await run(client, server);
  } finally {
    await client.close().catch(() => {});
    server.stop();
  }
}

/** What a rejected promise rejected with (fails the test if it resolved). */
async function rejection(p: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await within(
    p.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
    WAIT,
    what,
  );
  if (outcome.ok) throw new Error(`${what} resolved; expected a rejection`);
  return outcome.e;
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const got: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      got.push(Buffer.from(c));
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(got) };
}

describe('short reads: every READ answered with fewer bytes than asked', () => {
  /** Half of what was asked, every seventh reply a single byte. */
  const shortReads = (): FakeSftpOptions => {
    let n = 0;
    return { files: { '/data': data }, readLength: (_off, asked) => (++n % 7 === 0 ? 1 : Math.ceil(asked / 2)) };
  };

  /** The remainder of short replies was asked for: more READs than chunks, some at offsets off the chunk grid. */
  function expectRerequested(server: FakeSftpServer, since: number, chunks = CHUNKS): void {
    const reads = server.log.slice(since).filter((q) => q.type === FXP.READ);
    expect(reads.length).toBeGreaterThan(chunks);
    expect(reads.some((q) => q.offset! % CHUNK !== 0)).toBe(true);
  }

  it('get writes the exact file to a local path', async () => {
    await withServer(shortReads(), async (client, server) => {
      const local = join(dir, 'short-get.bin');
      const since = server.log.length;
      const n = await within(client.get('/data', local), WAIT, 'get');
      expect(n).toBe(SIZE);
      expect(sha256(readFileSync(local))).toBe(sha256(data));
      expectRerequested(server, since);
    });
  }, TEST_TIMEOUT);

  it('getfo delivers the exact bytes to a Writable', async () => {
    await withServer(shortReads(), async (client, server) => {
      const { sink, bytes } = collector();
      const since = server.log.length;
      const n = await within(client.getfo('/data', sink), WAIT, 'getfo');
      expect(n).toBe(SIZE);
      expect(bytes().equals(data)).toBe(true);
      expectRerequested(server, since);
    });
  }, TEST_TIMEOUT);

  it('createReadStream yields the exact bytes', async () => {
    await withServer(shortReads(), async (client, server) => {
      const since = server.log.length;
      const read = async (): Promise<Buffer> => {
        const parts: Buffer[] = [];
        for await (const b of client.createReadStream('/data')) parts.push(b as Buffer);
        return Buffer.concat(parts);
      };
      const got = await within(read(), WAIT, 'createReadStream');
      expect(got.equals(data)).toBe(true);
      expectRerequested(server, since);
    });
  }, TEST_TIMEOUT);

  it('SFTPFile.read returns exact data, whole and in odd-sized pieces', async () => {
    await withServer(shortReads(), async (client, server) => {
      const f = await within(client.open('/data', 'rb'), WAIT, 'open');
      try {
        let since = server.log.length;
        const whole = await within(f.read(), WAIT, 'read to EOF');
        expect(whole.equals(data)).toBe(true);
        expectRerequested(server, since);

        await f.seek(0);
        since = server.log.length;
        const pieces: Buffer[] = [];
        const readAll = async (): Promise<void> => {
          for (;;) {
            const b = await f.read(100_003);
            if (b.length === 0) return;
            expect(b.length === 100_003 || pieces.reduce((a, p) => a + p.length, 0) + b.length === SIZE).toBe(true);
            pieces.push(b);
          }
        };
        await within(readAll(), WAIT, 'read in pieces');
        expect(Buffer.concat(pieces).equals(data)).toBe(true);
        expectRerequested(server, since);
      } finally {
        await f.close().catch(() => {});
      }
    });
  }, TEST_TIMEOUT);

  it('readv yields each range exactly', async () => {
    await withServer(shortReads(), async (client, server) => {
      const ranges: Array<[number, number]> = [
        [0, 1],
        [1, 65_537],
        [12_345, 300_000],
        [MiB - 7, 2 * MiB],
        [SIZE - 5_000, 5_000],
        [777, 777],
        [2 * MiB + 3, MiB],
      ];
      const f = await within(client.open('/data', 'rb'), WAIT, 'open');
      try {
        const since = server.log.length;
        const collect = async (): Promise<Buffer[]> => {
          const out: Buffer[] = [];
          for await (const b of f.readv(ranges)) out.push(b);
          return out;
        };
        const got = await within(collect(), WAIT, 'readv');
        expect(got.length).toBe(ranges.length);
        ranges.forEach(([off, len], i) => expect(got[i]!.equals(data.subarray(off, off + len))).toBe(true));
        const chunks = ranges.reduce((a, [, len]) => a + Math.ceil(len / CHUNK), 0);
        expectRerequested(server, since, chunks);
      } finally {
        await f.close().catch(() => {});
      }
    });
  }, TEST_TIMEOUT);
});

describe('replies out of order', () => {
  /** True when the ids were not answered in ascending order. */
  const reordered = (ids: number[]): boolean => ids.some((id, i) => i > 0 && id < ids[i - 1]!);

  it('concurrent stats each get their own file size back (reversed replies)', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) files[`/s${i}`] = Buffer.alloc(1000 * i + 7, i);
    await withServer({ files, order: reverseOrder }, async (client, server) => {
      const since = server.replyIds.length;
      const got = await within(Promise.all(Object.keys(files).map((p) => client.stat(p))), WAIT, 'stats');
      got.forEach((st, i) => expect(st.st_size).toBe(1000 * i + 7));
      expect(reordered(server.replyIds.slice(since))).toBe(true);
    });
  }, TEST_TIMEOUT);

  const orders: Array<[string, () => FakeSftpOptions['order']]> = [
    ['reversed', () => reverseOrder],
    [
      'shuffled (seed 7)',
      () => {
        const g = new Rand(7);
        return shuffledOrder((n) => g.int(n));
      },
    ],
  ];

  for (const [name, order] of orders) {
    it(`get and put are byte-exact (${name})`, async () => {
      await withServer({ files: { '/data': data }, order: order() }, async (client, server) => {
        const local = join(dir, `ooo-get-${name.split(' ')[0]}.bin`);
        expect(await within(client.get('/data', local), WAIT, 'get')).toBe(SIZE);
        expect(sha256(readFileSync(local))).toBe(sha256(data));

        const attrs = await within(client.put(localSrc, '/up'), WAIT, 'put');
        expect(attrs.st_size).toBe(SIZE);
        expect(sha256(server.file('/up')!)).toBe(sha256(data));
        expect(reordered(server.replyIds)).toBe(true);
      });
    }, TEST_TIMEOUT);

    it(`a WRITE failing in the middle rejects with SFTPTransferError and a true good prefix (${name})`, async () => {
      // A batch of 8 WRITEs in flight; the refused one sits inside a batch, so
      // later offsets are acknowledged before it under reordering.
      const failAt = 43 * CHUNK;
      const opts: FakeSftpOptions = { order: order(), writeStatus: (off, _len, p) => (p === '/up-fail' && off === failAt ? FX.FAILURE : FX.OK) };
      await withServer(opts, async (client, server) => {
        const err = await rejection(client.put(localSrc, '/up-fail', { concurrency: 8 }), 'failing put');
        expect(err).toBeInstanceOf(SFTPTransferError);
        const e = err as SFTPTransferError;
        expect(e.code).toBe('ERR_SFTP_TRANSFER');
        expect(e.status).toBe(FX.FAILURE);
        expect(e.path).toBe('/up-fail');
        expect(e.aborted).toBe(false);
        expect(e.message).toContain(`${e.bytesTransferred} bytes known good`);
        expect(e.message).toContain(`at ${failAt}`);
        // The claim: [0, bytesTransferred) is on the server and correct.
        const n = e.bytesTransferred;
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThanOrEqual(failAt);
        const remote = server.file('/up-fail')!;
        expect(remote.length).toBeGreaterThanOrEqual(n);
        expect(remote.subarray(0, n).equals(data.subarray(0, n))).toBe(true);
        // The refused range really is missing: a larger claim would be false.
        expect(remote.subarray(failAt, failAt + CHUNK).equals(data.subarray(failAt, failAt + CHUNK))).toBe(false);
      });
    }, TEST_TIMEOUT);
  }
});

describe('verify and confirm', () => {
  const CORRUPT_AT = MiB + 999;
  /** Flips the byte at CORRUPT_AT of whatever passes through. */
  const flip = (buf: Buffer, offset: number): Buffer => {
    if (CORRUPT_AT >= offset && CORRUPT_AT < offset + buf.length) buf[CORRUPT_AT - offset]! ^= 0xff;
    return buf;
  };

  it('put with verify rejects when the stored data differs (read back)', async () => {
    await withServer({ writeData: (d, off, p) => (p === '/bad' ? flip(d, off) : d) }, async (client, server) => {
      // Control: an intact upload verifies.
      await within(client.put(localSrc, '/good', { verify: true }), WAIT, 'verified put');
      expect(server.file('/good')!.equals(data)).toBe(true);

      const since = server.log.length;
      const err = await rejection(client.put(localSrc, '/bad', { verify: true }), 'put of corrupted data');
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as Error).message).toBe('put "/bad": remote sha256 differs from the local file');
      expect((err as SFTPTransferError).bytesTransferred).toBe(0);
      // Without check-file-handle the file was read back.
      expect(server.count(FXP.READ, since)).toBeGreaterThan(0);
    });
  }, TEST_TIMEOUT);

  it('put with verify rejects when the server\'s check-file-handle digest differs', async () => {
    await withServer({ checkFile: true, writeData: (d, off, p) => (p === '/bad' ? flip(d, off) : d) }, async (client, server) => {
      await within(client.put(localSrc, '/good', { verify: true }), WAIT, 'verified put');

      const since = server.log.length;
      const err = await rejection(client.put(localSrc, '/bad', { verify: true }), 'put of corrupted data');
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as Error).message).toBe('put "/bad": remote sha256 differs from the local file');
      const after = server.log.slice(since);
      expect(after.filter((q) => q.ext === EXT.CHECK_FILE_HANDLE).length).toBe(1);
      expect(after.filter((q) => q.type === FXP.READ).length).toBe(0);
    });
  }, TEST_TIMEOUT);

  it('get with verify rejects when what arrived differs from the server\'s digest, leaving no local file', async () => {
    const opts: FakeSftpOptions = { checkFile: true, files: { '/data': data, '/bad': data }, readData: (d, off, p) => (p === '/bad' ? flip(d, off) : d) };
    await withServer(opts, async (client, server) => {
      const good = join(dir, 'verify-good.bin');
      expect(await within(client.get('/data', good, { verify: true }), WAIT, 'verified get')).toBe(SIZE);
      expect(readFileSync(good).equals(data)).toBe(true);
      expect(server.log.some((q) => q.ext === EXT.CHECK_FILE_HANDLE)).toBe(true);

      const local = join(dir, 'verify-bad.bin');
      const err = await rejection(client.get('/bad', local, { verify: true }), 'get of corrupted data');
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as Error).message).toBe('get "/bad": sha256 differs from the server\'s');
      expect(existsSync(local)).toBe(false);
    });
  }, TEST_TIMEOUT);

  it('confirm rejects when STAT after the upload reports another size (put and putfo)', async () => {
    const opts: FakeSftpOptions = { statSize: (p, size) => (p.startsWith('/lie') ? size + 1 : size) };
    await withServer(opts, async (client) => {
      const err = await rejection(client.put(localSrc, '/lie'), 'put with a lying STAT');
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as Error).message).toBe(`put "/lie": size mismatch (${SIZE + 1} bytes, expected ${SIZE})`);

      const err2 = await rejection(client.putfo(Readable.from([data]), '/lie2'), 'putfo with a lying STAT');
      expect(err2).toBeInstanceOf(SFTPTransferError);
      expect((err2 as Error).message).toBe(`putfo "/lie2": size mismatch (${SIZE + 1} bytes, expected ${SIZE})`);
    });
  }, TEST_TIMEOUT);

  it('confirm: false sends no STAT after the upload; the default sends one after CLOSE', async () => {
    const opts: FakeSftpOptions = { statSize: (p, size) => (p.startsWith('/lie') ? size + 1 : size) };
    const tail = (server: FakeSftpServer, since: number): number[] => {
      const types = server.log.slice(since).map((q) => q.type);
      return types.slice(types.lastIndexOf(FXP.WRITE) + 1);
    };
    const statLike = (server: FakeSftpServer, since: number): number => server.count(FXP.STAT, since) + server.count(FXP.LSTAT, since) + server.count(FXP.FSTAT, since);
    await withServer(opts, async (client, server) => {
      let since = server.log.length;
      const attrs = await within(client.put(localSrc, '/lie', { confirm: false }), WAIT, 'put without confirm');
      expect(attrs.st_size).toBeUndefined();
      expect(statLike(server, since)).toBe(0);
      expect(tail(server, since)).toEqual([FXP.CLOSE]);
      expect(server.file('/lie')!.equals(data)).toBe(true);

      since = server.log.length;
      await within(client.putfo(Readable.from([data]), '/lie2', { confirm: false }), WAIT, 'putfo without confirm');
      expect(statLike(server, since)).toBe(0);
      expect(tail(server, since)).toEqual([FXP.CLOSE]);

      // Control: the default confirms with one STAT after the CLOSE.
      since = server.log.length;
      const st = await within(client.put(localSrc, '/ok'), WAIT, 'put with confirm');
      expect(st.st_size).toBe(SIZE);
      expect(tail(server, since)).toEqual([FXP.CLOSE, FXP.STAT]);
    });
  }, TEST_TIMEOUT);
});
