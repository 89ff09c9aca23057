/**
 * Issue 5 acceptance through Debian's OpenSSH sshd and its internal-sftp
 * (aes128-gcm, files on /dev/shm): 1 GiB put and get with sha256 equal on
 * both sides, READ/WRITE sizes taken from limits@openssh.com (255 KiB on
 * OpenSSH 9.2) with many requests in flight, awkward sizes, odd names and
 * symlinks, and the failure modes — missing file, permission denied for a
 * non-root user, a directory where a file is expected, the sshd session
 * process killed mid-get and mid-put, abort through a signal — each a typed
 * error, never a silent short file or a hung promise.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, SFTPError, SFTPTransferError, type ConnectOptions, type SFTPClient, type SSHClientConnection } from '../../ts/index.js';
import { FX, FXP, PART_SUFFIX } from '../../ts/sftp/index.js';
import { heapReserve } from '../../ts/transport/heap-reserve.js';
import { createUser, makeKey } from '../auth/system.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { patternBytes, removeDir, scratchDir, sha256 } from '../sftp/helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const OPENSSH_LIMIT = 255 * KiB;
const USER = 'sshwire-sftp-acc';

let sshd: Sshd;
let dir: string;
let key: string;
let conn: SSHClientConnection;
let sftp: SFTPClient;
let dropUser: () => void = () => {};

beforeAll(async () => {
  dir = scratchDir('sshwire-acc5-');
  chmodSync(dir, 0o755);
  key = makeKey(dir, 'id_ed25519', 'ed25519');
  dropUser = createUser(USER, 'unused-password-1');
  sshd = await startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp'] });
  // The test user must be able to read the shared authorized_keys file.
  chmodSync(sshd.dir, 0o755);
  chmodSync(join(sshd.dir, 'authorized_keys'), 0o644);
  conn = await connect(opts());
  sftp = await conn.sftp();
}, 60_000);

afterAll(async () => {
  await sftp?.close().catch(() => {});
  conn?.close();
  await sshd?.stop();
  dropUser();
  removeDir(dir);
});

function opts(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return rootLogin(sshd, key, { algorithms: { cipher: ['aes128-gcm@openssh.com'] }, ...extra });
}

interface WireLog {
  reads: number[];
  writes: number[];
  maxOutstanding: number;
  stop(): void;
}

/** Watches the requests the client puts on the wire: READ lengths, WRITE data sizes, and how many were in flight at once. */
function watchRequests(client: SFTPClient): WireLog {
  const session = client.session;
  const original = session.request;
  const log: WireLog = {
    reads: [],
    writes: [],
    maxOutstanding: 0,
    stop: () => {
      // Back to the prototype's method.
      delete (session as { request?: unknown }).request;
      expect(session.request).toBe(original);
    },
  };
  session.request = (build, cb) => {
    const id = original.call(
      session,
      (reqId) => {
        const pkt = build(reqId);
        // The header is enough; avoid copying 255 KiB of WRITE data per request.
        const first = Array.isArray(pkt) ? pkt[0]! : pkt;
        const b = first.length >= 64 || !Array.isArray(pkt) ? first : Buffer.concat(pkt);
        const afterOffset = 13 + b.readUInt32BE(9) + 8;
        if (b[4] === FXP.READ) log.reads.push(b.readUInt32BE(afterOffset));
        else if (b[4] === FXP.WRITE) log.writes.push(b.readUInt32BE(afterOffset));
        return pkt;
      },
      cb,
    );
    log.maxOutstanding = Math.max(log.maxOutstanding, session.outstanding);
    return id;
  };
  return log;
}

/** Rejects if `p` has not settled within `ms`: a hung promise is a failure, not a test timeout. */
function settles<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref())]);
}

function sha256File(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('1 GiB through sshd internal-sftp (aes128-gcm, /dev/shm)', () => {
  it('put and get with sha256 equal on both sides; 255 KiB READs and WRITEs from limits@openssh.com, many in flight', async () => {
    const src = join(dir, 'gib.src');
    const remote = join(dir, 'gib.remote');
    const back = join(dir, 'gib.back');
    // 1 GiB of AES-CTR keystream (random-looking, made at memory speed), hashed as it is written.
    const made = execFileSync('sh', ['-c', `openssl enc -aes-128-ctr -nosalt -pass pass:sshwire -in /dev/zero 2>/dev/null | head -c 1073741824 | tee '${src}' | sha256sum`], {
      encoding: 'utf8',
    });
    try {
      expect(statSync(src).size).toBe(1024 * MiB);
      const want = made.split(' ')[0]!;
      expect(want).toMatch(/^[0-9a-f]{64}$/);
      expect(sftp.limits.maxReadLength).toBe(OPENSSH_LIMIT);
      expect(sftp.limits.maxWriteLength).toBe(OPENSSH_LIMIT);

      const wire = watchRequests(sftp);
      // A 1 GiB upload is spread over a second SFTP channel: watch the
      // session it will borrow too (the pool hands out idle ones first).
      const [lane] = await sftp.lanes!.borrow(1);
      expect(lane).toBeDefined();
      const laneWire = watchRequests(lane!);
      sftp.lanes!.giveBack([lane!]);
      let progressed = 0;
      try {
        await sftp.put(src, remote, { onProgress: (n) => (progressed = n) });
      } finally {
        wire.stop();
        laneWire.stop();
      }
      expect(progressed).toBe(1024 * MiB);
      expect(laneWire.writes.length).toBeGreaterThan(0);
      wire.writes.push(...laneWire.writes);
      // The server's own hash of what it stored, computed while the get runs.
      const serverHash = conn.run(`sha256sum '${remote}'`);
      expect(wire.writes.length).toBeGreaterThan(0);
      expect(Math.max(...wire.writes)).toBe(OPENSSH_LIMIT);
      expect(wire.writes.filter((n) => n === OPENSSH_LIMIT).length).toBe(Math.floor((1024 * MiB) / OPENSSH_LIMIT));
      expect(wire.maxOutstanding).toBeGreaterThan(8);
      rmSync(src);

      const rwire = watchRequests(sftp);
      try {
        expect(await sftp.get(remote, back)).toBe(1024 * MiB);
        // A bulk receive takes the heap reserve (ts/transport/heap-reserve.ts); it is dropped about a second after traffic stops.
        expect(heapReserve.held).toBe(true);
      } finally {
        rwire.stop();
      }
      expect(String((await serverHash).stdout).split(' ')[0]).toBe(want);
      expect(sha256File(back)).toBe(want);
      expect(Math.max(...rwire.reads)).toBe(OPENSSH_LIMIT);
      expect(rwire.reads.every((n) => n <= OPENSSH_LIMIT)).toBe(true);
      expect(rwire.maxOutstanding).toBeGreaterThan(8);
    } finally {
      for (const f of [src, remote, back, back + PART_SUFFIX]) rmSync(f, { force: true });
    }
  }, 120_000);

  it('createReadStream is pipelined too (several READs in flight)', async () => {
    const path = join(dir, 'stream.src');
    const data = patternBytes(8 * MiB + 3, 5);
    writeFileSync(path, data);
    const wire = watchRequests(sftp);
    const parts: Buffer[] = [];
    try {
      for await (const c of sftp.createReadStream(path)) parts.push(c as Buffer);
    } finally {
      wire.stop();
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(wire.maxOutstanding).toBeGreaterThan(1);
  });
});

describe('sizes and names through sshd', () => {
  const sizes = [0, 1, 32 * KiB - 1, 32 * KiB, 32 * KiB + 1, OPENSSH_LIMIT - 1, OPENSSH_LIMIT, OPENSSH_LIMIT + 1, 2 * OPENSSH_LIMIT + 7, 1_000_003];
  it(`put and get byte-exact at ${sizes.join(', ')} bytes, default and 32 KiB chunks`, async () => {
    for (const size of sizes) {
      const data = patternBytes(size, size + 1);
      const src = join(dir, `size-${size}`);
      writeFileSync(src, data);
      for (const chunkSize of [undefined, 32 * KiB]) {
        const remote = join(dir, `size-${size}-${chunkSize ?? 'd'}.r`);
        const back = `${remote}.back`;
        const attrs = await sftp.put(src, remote, chunkSize ? { chunkSize } : {});
        expect(attrs.st_size).toBe(size);
        expect(sha256(readFileSync(remote))).toBe(sha256(data));
        expect(await sftp.get(remote, back, chunkSize ? { chunkSize } : {})).toBe(size);
        expect(readFileSync(back).equals(data)).toBe(true);
      }
    }
  });

  it('names with spaces, unicode and newlines; symlinks', async () => {
    const names = ['with space', 'ünïcødé-名前-🚀', 'new\nline', ' lead and trail '];
    const sub = join(dir, 'names');
    await sftp.mkdir(sub);
    for (const n of names) {
      const f = await sftp.open(join(sub, n), 'w');
      await f.write(`content of ${n}`);
      await f.close();
    }
    expect((await sftp.listdir(sub)).sort()).toEqual([...names].sort());
    for (const n of names) expect(readFileSync(join(sub, n), 'utf8')).toBe(`content of ${n}`);
    await sftp.symlink(names[1]!, join(sub, 'link to unicode'));
    expect(await sftp.readlink(join(sub, 'link to unicode'))).toBe(names[1]);
    expect((await sftp.lstat(join(sub, 'link to unicode'))).isSymbolicLink()).toBe(true);
    expect((await sftp.stat(join(sub, 'link to unicode'))).isFile()).toBe(true);
    await sftp.get(join(sub, 'link to unicode'), join(dir, 'via-link'));
    expect(readFileSync(join(dir, 'via-link'), 'utf8')).toBe(`content of ${names[1]}`);
  });

  it('preserve copies mode and times; confirm returns the stat; resume continues a partial upload', async () => {
    const src = join(dir, 'pres.src');
    writeFileSync(src, patternBytes(3 * MiB + 11, 9), { mode: 0o640 });
    chmodSync(src, 0o640);
    utimesSync(src, 1_600_000_000, 1_500_000_000);
    const attrs = await sftp.put(src, join(dir, 'pres.remote'), { preserve: true, confirm: true });
    expect(attrs.st_size).toBe(3 * MiB + 11);
    const st = statSync(join(dir, 'pres.remote'));
    expect(st.mode & 0o777).toBe(0o640);
    expect(Math.floor(st.mtimeMs / 1000)).toBe(1_500_000_000);
    // A partial remote file: resume sends only the rest.
    const full = readFileSync(src);
    writeFileSync(join(dir, 'resume.remote'), full.subarray(0, 1 * MiB + 5));
    const wire = watchRequests(sftp);
    try {
      await sftp.put(src, join(dir, 'resume.remote'), { resume: true, verify: true });
    } finally {
      wire.stop();
    }
    expect(readFileSync(join(dir, 'resume.remote')).equals(full)).toBe(true);
    expect(wire.writes.reduce((a, b) => a + b, 0)).toBe(full.length - (1 * MiB + 5));
  });
});

describe('failures through sshd: typed errors, no short files, nothing hangs', () => {
  it('a missing file and a directory where a file is expected', async () => {
    const local = join(dir, 'missing.get');
    await expect(settles(sftp.get(join(dir, 'no-such-file'), local))).rejects.toMatchObject({ status: FX.NO_SUCH_FILE, path: join(dir, 'no-such-file') });
    expect(existsSync(local) || existsSync(local + PART_SUFFIX)).toBe(false);
    mkdirSync(join(dir, 'a-directory'));
    const err = await settles(sftp.get(join(dir, 'a-directory'), join(dir, 'dir.get'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPError);
    expect(existsSync(join(dir, 'dir.get'))).toBe(false);
    writeFileSync(join(dir, 'small'), 'x');
    await expect(settles(sftp.put(join(dir, 'small'), join(dir, 'a-directory')))).rejects.toBeInstanceOf(SFTPError);
  });

  it('permission denied for a non-root user logged in through sshd', async () => {
    const secret = join(dir, 'root-only');
    writeFileSync(secret, 'secret', { mode: 0o600 });
    chmodSync(secret, 0o600);
    const locked = join(dir, 'locked-dir');
    mkdirSync(locked, { mode: 0o755 });
    await using userConn = await connect(opts({ username: USER }));
    expect((await userConn.run('id -un')).stdout).toBe(`${USER}\n`);
    const us = await userConn.sftp();
    try {
      const local = join(dir, 'denied.get');
      await expect(settles(us.get(secret, local))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED, path: secret });
      expect(existsSync(local) || existsSync(local + PART_SUFFIX)).toBe(false);
      await expect(settles(us.put(join(dir, 'small'), join(locked, 'nope')))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await expect(us.mkdir(join(locked, 'sub'))).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await expect(us.remove(secret)).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      expect(existsSync(join(locked, 'nope'))).toBe(false);
    } finally {
      await us.close();
    }
  });

  async function sessionPid(c: SSHClientConnection): Promise<number> {
    // $PPID of a command is sshd's process serving this connection.
    return Number(String((await c.run('echo $PPID')).stdout).trim());
  }

  /**
   * Transfers a fresh 96 MiB file `<name>.src` to `<name>.<suffix>` with
   * `transfer`, kills the sshd session process once more than 8 MiB have
   * moved, and checks the transfer failed with an SFTPTransferError.
   */
  async function killedMidTransfer(
    name: string,
    seed: number,
    suffix: string,
    transfer: (s: SFTPClient, src: string, target: string, onProgress: (n: number) => void) => Promise<unknown>,
  ): Promise<{ c: SSHClientConnection; s: SFTPClient; data: Buffer; target: string; te: SFTPTransferError }> {
    const src = join(dir, `${name}.src`);
    const data = patternBytes(96 * MiB, seed);
    writeFileSync(src, data);
    const c = await connect(opts());
    const s = await c.sftp();
    const pid = await sessionPid(c);
    const target = join(dir, `${name}.${suffix}`);
    let killed = false;
    const err = await settles(
      transfer(s, src, target, (n) => {
        if (n > 8 * MiB && !killed) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      }),
    ).catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(SFTPTransferError);
    return { c, s, data, target, te: err as SFTPTransferError };
  }

  it('sshd session process killed mid-get: SFTPTransferError, no final file, the part file is a good prefix', async () => {
    const { c, s, data, target: local, te } = await killedMidTransfer('kill-get', 17, 'local', (s, src, local, onProgress) => s.get(src, local, { onProgress }));
    expect(te.bytesTransferred).toBeLessThan(data.length);
    expect(existsSync(local)).toBe(false);
    const part = readFileSync(local + PART_SUFFIX);
    expect(part.length).toBe(te.bytesTransferred);
    expect(part.equals(data.subarray(0, part.length))).toBe(true);
    await expect(settles(s.stat(dir))).rejects.toBeInstanceOf(SFTPError);
    expect(await settles(c.closed)).toBeInstanceOf(Error);
  });

  it('sshd session process killed mid-put: SFTPTransferError whose byte count the server really has', async () => {
    const { data, target: remote, te } = await killedMidTransfer('kill-put', 23, 'remote', (s, src, remote, onProgress) => s.put(src, remote, { onProgress }));
    expect(te.bytesTransferred).toBeLessThan(data.length);
    expect(te.message).toMatch(new RegExp(`${te.bytesTransferred} bytes`));
    const onServer = readFileSync(remote);
    expect(onServer.length).toBeGreaterThanOrEqual(te.bytesTransferred);
    expect(onServer.subarray(0, te.bytesTransferred).equals(data.subarray(0, te.bytesTransferred))).toBe(true);
  });

  it('abort through signal: get, put, getfo and plain calls reject promptly; no final file; the session stays usable', async () => {
    const src = join(dir, 'abort.src');
    const data = patternBytes(64 * MiB, 31);
    writeFileSync(src, data);
    const ac1 = new AbortController();
    const local = join(dir, 'abort.get');
    const getErr = await settles(s0().get(src, local, { signal: ac1.signal, onProgress: (n) => n > 4 * MiB && ac1.abort() })).catch((e: unknown) => e);
    expect(getErr).toBeInstanceOf(SFTPTransferError);
    expect((getErr as SFTPTransferError).aborted).toBe(true);
    expect(existsSync(local)).toBe(false);

    const ac2 = new AbortController();
    const putErr = await settles(s0().put(src, join(dir, 'abort.put'), { signal: ac2.signal, onProgress: (n) => n > 4 * MiB && ac2.abort() })).catch((e: unknown) => e);
    expect(putErr).toBeInstanceOf(SFTPTransferError);
    expect((putErr as SFTPTransferError).aborted).toBe(true);
    const kept = readFileSync(join(dir, 'abort.put'));
    const known = (putErr as SFTPTransferError).bytesTransferred;
    expect(kept.subarray(0, known).equals(data.subarray(0, known))).toBe(true);

    const ac3 = new AbortController();
    const sink = new Writable({ write: (_c, _e, cb) => setTimeout(cb, 1) });
    const foErr = await settles(s0().getfo(src, sink, { signal: ac3.signal, onProgress: (n) => n > 1 * MiB && ac3.abort() })).catch((e: unknown) => e);
    expect(foErr).toBeInstanceOf(SFTPTransferError);

    const aborted = AbortSignal.abort();
    await expect(s0().stat(src, { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(s0().listdir(dir, { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(s0().open(src, 'r', -1, { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    expect((await s0().stat(src)).st_size).toBe(data.length);
  });
});

function s0(): SFTPClient {
  return sftp;
}
