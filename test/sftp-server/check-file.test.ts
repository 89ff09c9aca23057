/**
 * The check-file extension (Paramiko's SFTPFile.check): our client against
 * our server (whole-file and per-block digests, hash choice, refusals),
 * Paramiko's client against our server, and OpenSSH's sftp-server, which
 * lacks the extension, giving a clear OP_UNSUPPORTED.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, FX, SFTPError, type SSHClientConnection } from '../../ts/index.js';
import { startSshdTrusting } from '../helpers/sshd.js';
import { makeFixture, python, startServer, type Fixture, type Running } from '../server/helpers.js';

let fx: Fixture;
let r: Running;
let conn: SSHClientConnection;
const data = randomBytes(4 * 1024 * 1024 + 123);
const digest = (alg: string, b: Uint8Array): Buffer => createHash(alg).update(b).digest();

beforeAll(async () => {
  fx = makeFixture('sshwire-checkfile-');
  writeFileSync(join(fx.root, 'data.bin'), data);
  r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: { root: fx.root } });
  conn = await connect({ host: '127.0.0.1', port: r.port, username: 'u', privateKey: fx.key, knownHosts: r.knownHosts, agent: false, lookForKeys: false, config: false });
});
afterAll(async () => {
  await conn?.close();
  await r?.server.close();
  fx?.cleanup();
});

describe('SFTPFile.check against our server', () => {
  it('whole file, a sub-range, per-block digests, and the first hash of a preference list we support', async () => {
    const sftp = await conn.sftp();
    const f = await sftp.open('data.bin', 'r');
    try {
      expect((await f.check('sha256')).equals(digest('sha256', data))).toBe(true);
      expect((await f.check('whirlpool,md5,sha1')).equals(digest('md5', data))).toBe(true);
      expect((await f.check('sha1', 1000, 300_000)).equals(digest('sha1', data.subarray(1000, 301_000)))).toBe(true);
      const blocks = await f.check('sha1', 1000, 300_000, 65_536);
      const expected = [];
      for (let o = 1000; o < 301_000; o += 65_536) expected.push(digest('sha1', data.subarray(o, Math.min(o + 65_536, 301_000))));
      expect(blocks.equals(Buffer.concat(expected))).toBe(true);
    } finally {
      await f.close();
      await sftp.close();
    }
  });

  it('refuses what the draft forbids or would make an outsized reply, as SFTPError', async () => {
    const sftp = await conn.sftp();
    const f = await sftp.open('data.bin', 'r');
    try {
      const code = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof SFTPError ? e.status : e));
      expect(await code(f.check('whirlpool'))).toBe(FX.OP_UNSUPPORTED);
      expect(await code(f.check('sha1', 0, 0, 100))).toBe(FX.FAILURE); // block size under 256
      expect(await code(f.check('sha1', data.length - 10, 100))).toBe(FX.FAILURE); // past the end of the file
      expect(await code(f.check('sha512', 0, 0, 256))).toBe(FX.FAILURE); // 16385 digests of 64 bytes
      // The session goes on.
      expect((await f.check('sha224', 0, 4096)).equals(digest('sha224', data.subarray(0, 4096)))).toBe(true);
    } finally {
      await f.close();
      await sftp.close();
    }
  });

  it("Paramiko's SFTPFile.check gets the same digests", async () => {
    const script = `
import sys, paramiko
c = paramiko.SSHClient()
c.load_host_keys(sys.argv[3])
c.connect('127.0.0.1', port=int(sys.argv[1]), username='u', key_filename=sys.argv[2], allow_agent=False, look_for_keys=False)
s = c.open_sftp()
f = s.open('data.bin', 'r')
print(f.check('sha1', 0, 0, 0).hex())
print(f.check('md5', 4096, 8192, 0).hex())
f.close(); s.close(); c.close()
`;
    const out = await python(script, [String(r.port), fx.key, r.knownHosts]);
    expect(out.stdout.trim().split('\n'), out.stderr).toEqual([digest('sha1', data).toString('hex'), digest('md5', data.subarray(4096, 12288)).toString('hex')]);
  });
});

describe('SFTPFile.check against OpenSSH', () => {
  it("sftp-server has no check-file: SFTPError OP_UNSUPPORTED, and the session goes on", async () => {
    const sshd = await startSshdTrusting(fx.key, { config: ['Subsystem sftp internal-sftp'] });
    try {
      const c = await connect({ host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: fx.key, knownHosts: null, agent: false, lookForKeys: false, config: false });
      const sftp = await c.sftp();
      const f = await sftp.open(join(fx.root, 'data.bin'), 'r');
      const err = await f.check('sha1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SFTPError);
      expect((err as SFTPError).status).toBe(FX.OP_UNSUPPORTED);
      expect((await f.read(5)).equals(readFileSync(join(fx.root, 'data.bin')).subarray(0, 5))).toBe(true);
      await f.close();
      await c.close();
    } finally {
      await sshd.stop();
    }
  });
});
