/**
 * Large uploads spread over two SFTP channels ("lanes") on one connection,
 * through a private OpenSSH sshd: byte-exact results, the file-wide
 * known-good prefix on abort and on connection loss, resume over what an
 * interrupted multi-channel upload can leave, the fallback when the
 * server allows a single session, and the SFTP channel's receive window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../ts/client.js';
import { SFTPTransferError, TimeoutError } from '../../ts/errors.js';
import { openSftp } from '../../ts/sftp/index.js';
import { LANE_SKEW, multiLaneWrite } from '../../ts/sftp/transfer/multiLaneWrite.js';
import { FXF } from '../../ts/wire/sftpConstants.js';
import { makeKey } from '../auth/system.js';
import { startDelayForwarder } from '../helpers/delay.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { patternBytes, removeDir, scratchDir, sha256 } from './helpers.js';

const MiB = 1024 * 1024;
let sshd: Sshd;
let single: Sshd;
let dir: string;
let key: string;
let data: Buffer;
let src: string;

beforeAll(async () => {
  dir = scratchDir();
  key = makeKey(dir, 'id_ed25519', 'ed25519');
  [sshd, single] = await Promise.all([
    startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp'] }),
    startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp', 'MaxSessions 1'] }),
  ]);
  data = patternBytes(80 * MiB + 3, 41);
  src = join(dir, 'src');
  writeFileSync(src, data);
}, 60_000);

afterAll(async () => {
  await Promise.all([sshd?.stop(), single?.stop()]);
  removeDir(dir);
});

describe('uploads over several channels', () => {
  it('a large put uses a second SFTP channel and arrives byte-exact, with progress up to the total', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    const seen: number[] = [];
    const remote = join(dir, 'two');
    const attrs = await sftp.put(src, remote, { onProgress: (n) => seen.push(n) });
    expect(sftp.lanes?.size).toBe(1);
    expect(attrs.st_size).toBe(data.length);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    expect(seen.at(-1)).toBe(data.length);
    expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
    // The idle lane is reused by the next upload, and closed with the client.
    await sftp.put(src, remote, { verify: true });
    expect(sftp.lanes?.size).toBe(1);
    await sftp.close();
    expect(sftp.lanes?.size).toBe(0);
  }, 60_000);

  it('channels: 1, and files under 64 MiB, stay on the client channel', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    await sftp.put(src, join(dir, 'one'), { channels: 1 });
    writeFileSync(join(dir, 'small'), data.subarray(0, 3 * MiB));
    await sftp.put(join(dir, 'small'), join(dir, 'small.up'));
    expect(sftp.lanes?.size).toBe(0);
    expect(sha256(readFileSync(join(dir, 'one')))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);

  it('an abort leaves the remote file cut back to exactly the known-good prefix, and resume completes it', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    const remote = join(dir, 'aborted');
    const ac = new AbortController();
    const err = await sftp
      .put(src, remote, {
        signal: ac.signal,
        onProgress: (n) => {
          if (n > 20 * MiB) ac.abort(new Error('enough'));
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    const te = err as SFTPTransferError;
    expect(te.aborted).toBe(true);
    expect(te.bytesTransferred).toBeGreaterThan(20 * MiB);
    const left = readFileSync(remote);
    expect(left.length).toBe(te.bytesTransferred);
    expect(left.equals(data.subarray(0, left.length))).toBe(true);
    await sftp.put(src, remote, { resume: true });
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);

  it('resume re-sends the last LANE_SKEW bytes of a large file, so holes a lost upload left there are filled', async () => {
    // What a connection lost mid-upload can leave: a good prefix, then a
    // hole, then a later block another channel had already written.
    const remote = join(dir, 'holed');
    const good = 40 * MiB;
    const holed = Buffer.concat([data.subarray(0, good), Buffer.alloc(3 * MiB), data.subarray(good + 3 * MiB, good + 6 * MiB)]);
    writeFileSync(remote, holed);
    await using conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    const seen: number[] = [];
    await sftp.put(src, remote, { resume: true, onProgress: (n) => seen.push(n) });
    expect(seen[0]).toBe(holed.length - LANE_SKEW);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);

  it('a resume with 64 MiB or more to go runs on two channels from the resumed offset, verify included', async () => {
    const remote = join(dir, 'resumed-wide');
    writeFileSync(remote, data.subarray(0, 12 * MiB));
    await using conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    const seen: number[] = [];
    await sftp.put(src, remote, { resume: true, verify: true, onProgress: (n) => seen.push(n) });
    expect(seen[0]).toBe(12 * MiB - LANE_SKEW);
    expect(sftp.lanes?.size).toBe(1);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);

  it('losing the connection mid-upload fails with SFTPTransferError (no hang), and a resume on a new connection is byte-exact', async () => {
    const remote = join(dir, 'lost');
    const conn = await connect(rootLogin(sshd, key));
    const sftp = await openSftp(conn);
    let closed = false;
    const err = await sftp
      .put(src, remote, {
        onProgress: (n) => {
          if (n > 24 * MiB && !closed) {
            closed = true;
            conn.close();
          }
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    const te = err as SFTPTransferError;
    expect(te.bytesTransferred).toBeGreaterThan(24 * MiB);
    const left = readFileSync(remote).subarray(0, te.bytesTransferred);
    expect(left.equals(data.subarray(0, te.bytesTransferred))).toBe(true);
    await using again = await connect(rootLogin(sshd, key));
    const sftp2 = await openSftp(again);
    await sftp2.put(src, remote, { resume: true });
    expect(statSync(remote).size).toBe(data.length);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    await sftp2.close();
  }, 60_000);

  it('openSftp({ window }) opens its channel and its lanes with that receive window', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const windows: number[] = [];
    const opener = {
      openSession: async (o?: { window?: number }) => {
        const ch = await conn.openSession(o);
        windows.push(ch.localWindow);
        return ch;
      },
    };
    const sftp = await openSftp(opener, { window: 16 * MiB });
    await sftp.put(src, join(dir, 'win'));
    expect(windows).toEqual([16 * MiB, 16 * MiB]);
    expect(await sftp.get(join(dir, 'win'), join(dir, 'win.get'))).toBe(data.length);
    expect(sha256(readFileSync(join(dir, 'win.get')))).toBe(sha256(data));
    await sftp.close();
    const plain = await openSftp(opener);
    expect(windows.at(-1)).toBe(2 * MiB);
    await plain.close();
  }, 60_000);

  it('over a long round trip the SFTP channel window grows with it; on loopback, or with window set, it stays', async () => {
    const fwd = await startDelayForwarder(sshd.port, 10);
    try {
      const channels: Array<{ localWindow: number }> = [];
      const recording = (conn: Awaited<ReturnType<typeof connect>>) => ({
        openSession: async (o?: { window?: number; signal?: AbortSignal; timeout?: number }) => {
          const ch = await conn.openSession(o);
          channels.push(ch);
          return ch;
        },
      });
      await using far = await connect({ ...rootLogin(sshd, key), port: fwd.port });
      const sftp = await openSftp(recording(far));
      expect(sftp.session.roundTripMs!).toBeGreaterThanOrEqual(20);
      // At least 20 MiB: 1 MiB per millisecond of round trip, less what the handshake replies used.
      expect(channels[0]!.localWindow).toBeGreaterThan(19 * MiB);
      // A get keeps two windows of READs out, so the grown window is used.
      expect(sftp.session.readAhead).toBe(2 * (channels[0] as unknown as { windowSize: number }).windowSize);
      expect(sftp.session.readAhead).toBeGreaterThan(38 * MiB);
      const back = join(dir, 'far.get');
      writeFileSync(join(dir, 'far'), data.subarray(0, 8 * MiB));
      expect(await sftp.get(join(dir, 'far'), back)).toBe(8 * MiB);
      expect(readFileSync(back).equals(data.subarray(0, 8 * MiB))).toBe(true);
      await sftp.close();
      const pinned = await openSftp(recording(far), { window: 4 * MiB });
      expect(channels[1]!.localWindow).toBeLessThanOrEqual(4 * MiB);
      await pinned.close();
      await using near = await connect(rootLogin(sshd, key));
      const local = await openSftp(recording(near));
      // Loopback answers in well under 4 ms unless the machine is very busy; either way the rule holds.
      const rtt = local.session.roundTripMs!;
      expect(channels[2]!.localWindow).toBeLessThanOrEqual(rtt < 4 ? 2 * MiB : Math.min(32, Math.ceil(rtt)) * MiB);
      if (rtt < 4) expect(local.session.readAhead).toBe(8 * MiB);
      await local.close();
    } finally {
      await fwd.close();
    }
  }, 60_000);

  it('a second channel the server never opens costs at most readyTimeout, once: the upload goes on one channel', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const asked: Array<number | undefined> = [];
    const opener = {
      openSession: (o?: { window?: number; signal?: AbortSignal; timeout?: number }) => {
        asked.push(o?.timeout);
        if (asked.length === 1) return conn.openSession(o);
        // What a server that never answers CHANNEL_OPEN looks like from here.
        return new Promise<never>((_, reject) => setTimeout(() => reject(new TimeoutError(`no answer within ${o?.timeout} ms`)), o?.timeout ?? 3_600_000));
      },
    };
    const sftp = await openSftp(opener, { readyTimeout: 300 });
    const t0 = Date.now();
    await sftp.put(src, join(dir, 'unanswered'));
    expect(Date.now() - t0).toBeLessThan(20_000);
    await sftp.put(src, join(dir, 'unanswered'));
    expect(asked).toEqual([300, 300]);
    expect(sftp.lanes?.size).toBe(0);
    expect(sha256(readFileSync(join(dir, 'unanswered')))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);

  it('multiLaneWrite never waits on a block at the prefix, even one larger than LANE_SKEW', async () => {
    await using conn = await connect(rootLogin(sshd, key));
    const [a, b] = await Promise.all([openSftp(conn), openSftp(conn)]);
    const remote = join(dir, 'bigblocks');
    const blocks = [0, 1, 2].map((i) => data.subarray(i * 12 * MiB, (i + 1) * 12 * MiB));
    const ha = await a.openHandle(remote, FXF.WRITE | FXF.CREAT | FXF.TRUNC);
    const hb = await b.openHandle(remote, FXF.WRITE);
    let i = 0;
    const sent = multiLaneWrite(
      [
        { client: a, handle: ha },
        { client: b, handle: hb },
      ],
      async () => (i < blocks.length ? Buffer.from(blocks[i++]!) : null),
      { start: 0, end: 36 * MiB, block: 12 * MiB, chunkSize: 255 * 1024, concurrency: 16, path: remote, what: 'test', release: () => {} },
    );
    const settled = await Promise.race([sent, new Promise((r) => setTimeout(() => r('stuck'), 20_000).unref())]);
    expect(settled).toBe(36 * MiB);
    await Promise.all([a.closeHandle(ha), b.closeHandle(hb)]);
    expect(readFileSync(remote).equals(data.subarray(0, 36 * MiB))).toBe(true);
    await Promise.all([a.close(), b.close()]);
  }, 60_000);

  it('a server that allows one session gets the whole upload on one channel', async () => {
    await using conn = await connect(rootLogin(single, key));
    const sftp = await openSftp(conn);
    const remote = join(dir, 'single');
    await sftp.put(src, remote);
    expect(sftp.lanes?.size).toBe(0);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    await sftp.close();
  }, 60_000);
});
