/**
 * Failure paths: status errors with their path, permission denied as a
 * non-root server, the server killed mid-transfer, aborts, and a hostile
 * fake server. None of these may hang or report a short file as success.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync, mkdirSync, chmodSync, chownSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { AbortError, ProtocolError, SFTPError, SFTPTransferError, TimeoutError } from '../../ts/errors.js';
import { SFTPClient, FX, PART_SUFFIX } from '../../ts/sftp/index.js';
import { SFTPFramer, encodePacket, encodeStatus, encodeVersion } from '../../ts/wire/sftpPacket.js';
import { FXP } from '../../ts/wire/sftpConstants.js';
import { SSHReader } from '../../ts/wire/reader.js';
import { patternBytes, removeDir, scratchDir, startServer, type ServerClient } from './helpers.js';
import { within } from '../helpers/within.js';

let dir: string;
let big: Buffer;
beforeAll(() => {
  dir = scratchDir();
  chmodSync(dir, 0o755);
  big = patternBytes(48 * 1024 * 1024, 77);
  writeFileSync(join(dir, 'big'), big);
});
afterAll(() => removeDir(dir));

describe('status errors', () => {
  let srv: ServerClient;
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(() => srv.client.close());

  it('a missing file is NO_SUCH_FILE with the path, for every kind of call', async () => {
    const p = join(dir, 'missing');
    const calls = [
      () => srv.client.stat(p),
      () => srv.client.lstat(p),
      () => srv.client.open(p),
      () => srv.client.listdir(p),
      () => srv.client.remove(p),
      () => srv.client.get(p, join(dir, 'x')),
      () => srv.client.readlink(p),
      () => srv.client.chmod(p, 0o600),
    ];
    for (const call of calls) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SFTPError);
      expect(err).toMatchObject({ status: FX.NO_SUCH_FILE, path: p, code: 'ERR_SFTP' });
      expect((err as Error).message).toContain('No such file');
    }
    await expect(srv.client.put(join(dir, 'missing-local'), join(dir, 'y'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a directory where a file is expected fails cleanly', async () => {
    mkdirSync(join(dir, 'adir'));
    await expect(srv.client.get(join(dir, 'adir'), join(dir, 'adir.get'))).rejects.toMatchObject({ status: FX.FAILURE, path: join(dir, 'adir') });
    await expect(srv.client.open(join(dir, 'adir'), 'w')).rejects.toBeInstanceOf(SFTPError);
    await expect(srv.client.remove(join(dir, 'adir'))).rejects.toBeInstanceOf(SFTPError);
    await expect(srv.client.rmdir(join(dir, 'big'))).rejects.toBeInstanceOf(SFTPError);
    await expect(srv.client.put(join(dir, 'adir'), join(dir, 'x'))).rejects.toBeInstanceOf(SFTPError);
    expect(existsSync(join(dir, 'adir.get'))).toBe(false);
  });

  it('an unadvertised extension is OP_UNSUPPORTED without a round trip', async () => {
    (srv.client.session.extensions as Map<string, string>).delete('hardlink@openssh.com');
    await expect(srv.client.hardlink(join(dir, 'big'), join(dir, 'h'))).rejects.toMatchObject({ status: FX.OP_UNSUPPORTED });
  });
});

describe('permission denied (server runs as nobody)', () => {
  it('reading, writing and listing are PERMISSION_DENIED', async () => {
    const priv = join(dir, 'private');
    mkdirSync(priv, { mode: 0o700 });
    writeFileSync(join(priv, 'secret'), 's');
    const ro = join(dir, 'readonly');
    mkdirSync(ro, { mode: 0o755 });
    writeFileSync(join(dir, 'rootonly'), 'x', { mode: 0o600 });
    const srv = await startServer({ asUser: { uid: 65534, gid: 65534 } });
    try {
      const c = srv.client;
      expect(await c.normalize('/')).toBe('/');
      await expect(c.listdir(priv)).rejects.toMatchObject({ status: FX.PERMISSION_DENIED, path: priv });
      await expect(c.stat(join(priv, 'secret'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await expect(c.open(join(dir, 'rootonly'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await expect(c.get(join(dir, 'rootonly'), join(dir, 'ro.get'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await expect(c.put(join(dir, 'big'), join(ro, 'nope'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED, path: join(ro, 'nope') });
      await expect(c.mkdir(join(ro, 'sub'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      expect(existsSync(join(dir, 'ro.get'))).toBe(false);
      // and a directory it owns works
      const mine = join(dir, 'mine');
      mkdirSync(mine);
      chownSync(mine, 65534, 65534);
      await c.put(join(dir, 'rootonly'.replace('rootonly', 'big')), join(mine, 'ok'), { chunkSize: 1 << 20 });
      expect(statSync(join(mine, 'ok')).size).toBe(big.length);
    } finally {
      await srv.client.close();
    }
  });
});

describe('the server dies mid-transfer', () => {
  /** Runs `transfer` against a fresh server, kills the server once more than 4 MiB have moved, and checks the failure is an SFTPTransferError. */
  async function killedMidTransfer(
    transfer: (client: SFTPClient, onProgress: (n: number) => void) => Promise<unknown>,
  ): Promise<{ srv: ServerClient; te: SFTPTransferError }> {
    const srv = await startServer();
    let killed = false;
    const err = await transfer(srv.client, (n) => {
      if (n > 4 * 1024 * 1024 && !killed) {
        killed = true;
        srv.proc.kill('SIGKILL');
      }
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    return { srv, te: err as SFTPTransferError };
  }

  it('mid-get: typed error, no file under the final name, part file is a good prefix', async () => {
    const local = join(dir, 'killed.get');
    const { srv, te } = await killedMidTransfer((client, onProgress) => client.get(join(dir, 'big'), local, { onProgress }));
    expect(te.status).toBe(FX.CONNECTION_LOST);
    expect(te.bytesTransferred).toBeGreaterThan(4 * 1024 * 1024);
    expect(te.bytesTransferred).toBeLessThan(big.length);
    expect(existsSync(local)).toBe(false);
    const part = readFileSync(local + PART_SUFFIX);
    expect(part.length).toBe(te.bytesTransferred);
    expect(part.equals(big.subarray(0, part.length))).toBe(true);
    // Everything after fails at once, nothing hangs.
    await expect(srv.client.stat(dir)).rejects.toMatchObject({ status: FX.CONNECTION_LOST });
    expect(srv.client.closed).toBe(true);
  });

  it('mid-put: typed error whose byte count is a prefix the server really has', async () => {
    const remote = join(dir, 'killed.put');
    const { te } = await killedMidTransfer((client, onProgress) => client.put(join(dir, 'big'), remote, { onProgress }));
    expect(te.bytesTransferred).toBeGreaterThan(4 * 1024 * 1024);
    expect(te.bytesTransferred).toBeLessThan(big.length);
    const onServer = readFileSync(remote);
    expect(onServer.length).toBeGreaterThanOrEqual(te.bytesTransferred);
    expect(onServer.subarray(0, te.bytesTransferred).equals(big.subarray(0, te.bytesTransferred))).toBe(true);
  });

  it('every outstanding request fails when the stream closes', async () => {
    const srv = await startServer();
    const pending = Array.from({ length: 50 }, () => srv.client.stat(dir).then(() => 'ok', (e: unknown) => e));
    srv.proc.kill('SIGKILL');
    const results = await Promise.all(pending);
    for (const r of results) if (r !== 'ok') expect(r).toBeInstanceOf(SFTPError);
    await expect(srv.client.listdir(dir)).rejects.toBeInstanceOf(SFTPError);
  });
});

describe('abort via signal', () => {
  it('aborting a get mid-way rejects with aborted SFTPTransferError and leaves no final file', async () => {
    const srv = await startServer();
    try {
      const ac = new AbortController();
      const local = join(dir, 'aborted.get');
      const err = await srv.client
        .get(join(dir, 'big'), local, { signal: ac.signal, onProgress: (n) => n > 2 * 1024 * 1024 && ac.abort() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as SFTPTransferError).aborted).toBe(true);
      expect(existsSync(local)).toBe(false);
      // The session stays usable after an abort.
      expect((await srv.client.stat(join(dir, 'big'))).st_size).toBe(big.length);
      const ac2 = new AbortController();
      const p = srv.client.put(join(dir, 'big'), join(dir, 'aborted.put'), { signal: ac2.signal, onProgress: (n) => n > 1024 * 1024 && ac2.abort() });
      await expect(p).rejects.toMatchObject({ aborted: true, name: 'SFTPTransferError' });
      const ac3 = new AbortController();
      ac3.abort();
      await expect(srv.client.stat(dir, { signal: ac3.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect((await srv.client.listdir(dir)).length).toBeGreaterThan(0);
    } finally {
      await srv.client.close();
    }
  });
});

describe('abort via signal with a reason that is not an Error', () => {
  it('a get still reports aborted, and a request rejects with an AbortError carrying the reason', async () => {
    const srv = await startServer();
    try {
      const ac = new AbortController();
      const local = join(dir, 'aborted-by-string.get');
      const err = await srv.client
        .get(join(dir, 'big'), local, { signal: ac.signal, onProgress: (n) => n > 2 * 1024 * 1024 && ac.abort('user pressed stop') })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SFTPTransferError);
      expect((err as SFTPTransferError).aborted).toBe(true);
      expect(existsSync(local)).toBe(false);
      const stat = await srv.client.stat(dir, { signal: AbortSignal.abort('no more') }).catch((e: unknown) => e);
      expect(stat).toBeInstanceOf(AbortError);
      expect(stat).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', message: 'no more', cause: 'no more' });
    } finally {
      await srv.client.close();
    }
  });
});

/** A scripted server: parses our requests, answers with whatever `reply` returns. */
function fakeServer(reply: (type: number, id: number, body: Buffer) => Buffer | Buffer[] | null, version: Buffer | null = encodeVersion(3, [])) {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const framer = new SFTPFramer();
  toServer.on('data', (chunk: Buffer) =>
    framer.push(chunk, (body) => {
      const type = body[0]!;
      if (type === FXP.INIT) {
        if (version) toClient.write(version);
        return;
      }
      const out = reply(type, body.readUInt32BE(1), Buffer.from(body));
      if (out) for (const b of [out].flat()) toClient.write(b);
    }),
  );
  return { readable: toClient, writable: toServer };
}

describe('a hostile server', () => {
  it('an oversized packet length is a ProtocolError, and every pending call fails', async () => {
    const c = await SFTPClient.fromStream(fakeServer(() => Buffer.from([0x7f, 0xff, 0xff, 0xff, 103, 0, 0, 0, 1])));
    await expect(c.stat('/x')).rejects.toBeInstanceOf(ProtocolError);
    await expect(c.stat('/x')).rejects.toBeInstanceOf(ProtocolError);
  });

  it('a reply to an unknown id, a wrong reply type, a huge NAME count, DATA larger than asked', async () => {
    const cases: Array<(id: number, type: number) => Buffer> = [
      (id) => encodeStatus(id + 1000, 0),
      (id) => encodePacket(FXP.HANDLE, id, (w) => w.string('h')),
      (id) => encodePacket(FXP.NAME, id, (w) => w.uint32(0x7fffffff)),
      (id) => encodePacket(FXP.ATTRS, id, (w) => w.uint32(1)), // SIZE flag, no size
    ];
    for (const make of cases) {
      const c = await SFTPClient.fromStream(fakeServer((type, id) => make(id, type)));
      const err = await c.listdir('/x').then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err instanceof ProtocolError || err instanceof SFTPError).toBe(true);
      await c.close();
    }
    const c = await SFTPClient.fromStream(
      fakeServer((type, id) => {
        if (type === FXP.OPEN) return encodePacket(FXP.HANDLE, id, (w) => w.string('h'));
        if (type === FXP.FSTAT || type === FXP.STAT) return encodePacket(FXP.ATTRS, id, (w) => w.uint32(1).uint64(10));
        if (type === FXP.READ) return encodePacket(FXP.DATA, id, (w) => w.string(Buffer.alloc(5000)));
        return encodeStatus(id, 0);
      }),
    );
    const err = await c.getfo('/x', new PassThrough(), { chunkSize: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect((err as Error).cause).toBeInstanceOf(ProtocolError);
  });

  it('a server that never answers INIT times out; one that stalls trips the idle timeout', async () => {
    await expect(SFTPClient.fromStream(fakeServer(() => null, null), { readyTimeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
    const c = await SFTPClient.fromStream(fakeServer(() => null), { timeout: 300 });
    await expect(c.stat('/x')).rejects.toBeInstanceOf(TimeoutError);
  });

  it('a server that sends VERSION with limits and never answers the limits request times out, or is aborted', async () => {
    const limitsOnly = (): ReturnType<typeof fakeServer> => fakeServer(() => null, encodeVersion(3, [['limits@openssh.com', '1']]));
    const t0 = Date.now();
    const err = await within(SFTPClient.fromStream(limitsOnly(), { readyTimeout: 300 }).catch((e: unknown) => e), 5_000, 'the handshake to fail');
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/limits@openssh.com within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort('enough'), 100);
    const aborted = await within(SFTPClient.fromStream(limitsOnly(), { readyTimeout: 0, signal: ac.signal }).catch((e: unknown) => e), 5_000, 'the abort');
    expect(aborted).toMatchObject({ name: 'AbortError', cause: 'enough' });
  });

  it('a server that answers inside our write (a synchronous in-process stream) still gets every transfer right', async () => {
    const file = patternBytes(3 * 1024 * 1024 + 17, 5);
    const c = await SFTPClient.fromStream(
      fakeServer(
        (type, id, body) => {
          if (type === FXP.EXTENDED) return encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.uint64(300_000n).uint64(261_120n).uint64(261_120n).uint64(0));
          if (type === FXP.OPEN) return encodePacket(FXP.HANDLE, id, (w) => w.string(Buffer.from('h')));
          if (type === FXP.FSTAT || type === FXP.STAT) return encodePacket(FXP.ATTRS, id, (w) => w.uint32(1).uint64(file.length));
          if (type === FXP.READ) {
            const r = new SSHReader(body.subarray(5));
            r.string();
            const at = Number(r.uint64());
            const n = r.uint32();
            if (at >= file.length) return encodeStatus(id, FX.EOF);
            return encodePacket(FXP.DATA, id, (w) => w.string(file.subarray(at, at + n)));
          }
          return encodeStatus(id, FX.OK);
        },
        encodeVersion(3, [['limits@openssh.com', '1']]),
      ),
      { timeout: 2000 },
    );
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (b: Buffer) => got.push(b));
    await within(c.getfo('/f', sink), 10_000, 'getfo');
    expect(Buffer.concat(got).equals(file)).toBe(true);
    const streamed: Buffer[] = [];
    await within(
      (async () => {
        for await (const b of c.createReadStream('/f')) streamed.push(b as Buffer);
      })(),
      10_000,
      'the read stream',
    );
    expect(Buffer.concat(streamed).equals(file)).toBe(true);
    await c.close();
  });

  it('an old protocol version and garbage before VERSION are refused', async () => {
    await expect(SFTPClient.fromStream(fakeServer(() => null, encodeVersion(2, [])))).rejects.toBeInstanceOf(ProtocolError);
    await expect(SFTPClient.fromStream(fakeServer(() => null, encodeStatus(1, 0)))).rejects.toBeInstanceOf(ProtocolError);
  });

  it('limits cannot raise our packet bound past the hard ceiling', async () => {
    const c = await SFTPClient.fromStream(
      fakeServer(
        (type, id) =>
          type === FXP.EXTENDED ? encodePacket(FXP.EXTENDED_REPLY, id, (w) => w.uint64(2n ** 40n).uint64(2n ** 40n).uint64(2n ** 40n).uint64(0)) : encodeStatus(id, 0),
        encodeVersion(3, [['limits@openssh.com', '1']]),
      ),
    );
    expect(c.limits.maxPacketLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(c.limits.maxReadLength).toBeLessThan(4 * 1024 * 1024);
    await c.close();
  });
});
