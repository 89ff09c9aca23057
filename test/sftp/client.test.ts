/**
 * Every SFTPClient / SFTPFile method against OpenSSH's server, twice: its
 * sftp-server run as a child process (its stdio is the stream), and
 * internal-sftp through a private sshd (connect() and openSftp()).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync, mkdirSync, symlinkSync, statSync, lstatSync, existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../ts/client.js';
import { SFTPError } from '../../ts/errors.js';
import { FX, openSftp, SFTPAttributes, SFTPFile, type SFTPClient } from '../../ts/sftp/index.js';
import { makeKey } from '../auth/system.js';
import { rootLogin, startSshdTrusting } from '../helpers/sshd.js';
import { removeDir, scratchDir, startServer } from './helpers.js';

/** How each run reaches the server: the client, where `~` leads, and how to stop. */
interface Reached {
  sftp: SFTPClient;
  home: string;
  stop(): Promise<void>;
}

const SERVERS: [string, (dir: string) => Promise<Reached>][] = [
  [
    'sftp-server over stdio',
    async () => {
      const srv = await startServer();
      // sftp-server starts where it was spawned.
      return { sftp: srv.client, home: process.cwd(), stop: () => srv.client.close() };
    },
  ],
  [
    'internal-sftp through sshd',
    async (dir) => {
      const key = makeKey(dir, 'id_ed25519', 'ed25519');
      const sshd = await startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp'] });
      const conn = await connect(rootLogin(sshd, key));
      const sftp = await openSftp(conn);
      // internal-sftp starts in the user's home directory.
      return {
        sftp,
        home: '/root',
        stop: async () => {
          await sftp.close();
          conn.close();
          await sshd.stop();
        },
      };
    },
  ],
];

describe.each(SERVERS)('%s', (_name, start) => {
  let reached: Reached;
  let sftp: SFTPClient;
  let dir: string;

  beforeAll(async () => {
    dir = scratchDir();
    reached = await start(dir);
    sftp = reached.sftp;
  }, 60_000);
  afterAll(async () => {
    await reached?.stop();
    removeDir(dir);
  });

  describe('session', () => {
    it('negotiates v3 with the OpenSSH extensions and limits', () => {
      expect(sftp.version).toBe(3);
      for (const e of ['posix-rename@openssh.com', 'statvfs@openssh.com', 'fstatvfs@openssh.com', 'hardlink@openssh.com', 'fsync@openssh.com', 'lsetstat@openssh.com', 'limits@openssh.com', 'expand-path@openssh.com', 'copy-data', 'home-directory', 'users-groups-by-id@openssh.com']) {
        expect(sftp.extensions.has(e), e).toBe(true);
      }
      expect(sftp.limits.maxReadLength).toBe(255 * 1024);
      expect(sftp.limits.maxWriteLength).toBe(255 * 1024);
      expect(sftp.limits.maxPacketLength).toBe(256 * 1024);
    });

    it('answers requests issued together, each to its own promise', async () => {
      for (let i = 0; i < 20; i++) writeFileSync(join(dir, `many${i}`), 'x'.repeat(i));
      const sizes = await Promise.all(Array.from({ length: 20 }, (_, i) => sftp.stat(join(dir, `many${i}`)).then((a) => a.st_size)));
      expect(sizes).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });
  });

  describe('paths and metadata', () => {
    it('stat, lstat, exists, readlink, symlink', async () => {
      writeFileSync(join(dir, 'target.txt'), 'abc');
      await sftp.symlink('target.txt', join(dir, 'link.txt'));
      expect(readlinkSync(join(dir, 'link.txt'))).toBe('target.txt');
      expect(await sftp.readlink(join(dir, 'link.txt'))).toBe('target.txt');
      const l = await sftp.lstat(join(dir, 'link.txt'));
      expect(l.isSymbolicLink()).toBe(true);
      const s = await sftp.stat(join(dir, 'link.txt'));
      expect(s.isFile()).toBe(true);
      expect(s.st_size).toBe(3);
      expect(s.st_mode! & 0o777).toBe(statSync(join(dir, 'target.txt')).mode & 0o777);
      expect(s.st_mtime).toBe(Math.floor(statSync(join(dir, 'target.txt')).mtimeMs / 1000));
      expect(await sftp.exists(join(dir, 'target.txt'))).toBe(true);
      expect(await sftp.exists(join(dir, 'nope'))).toBe(false);
    });

    it('mkdir with mode, rmdir, remove/unlink', async () => {
      await sftp.mkdir(join(dir, 'd1'), 0o750);
      expect(statSync(join(dir, 'd1')).mode & 0o777).toBe(0o750 & ~process.umask());
      await sftp.rmdir(join(dir, 'd1'));
      expect(existsSync(join(dir, 'd1'))).toBe(false);
      writeFileSync(join(dir, 'rm1'), '');
      writeFileSync(join(dir, 'rm2'), '');
      await sftp.remove(join(dir, 'rm1'));
      await sftp.unlink(join(dir, 'rm2'));
      expect(existsSync(join(dir, 'rm1')) || existsSync(join(dir, 'rm2'))).toBe(false);
    });

    it('rename refuses to overwrite; posixRename replaces', async () => {
      writeFileSync(join(dir, 'r1'), 'one');
      writeFileSync(join(dir, 'r2'), 'two');
      await expect(sftp.rename(join(dir, 'r1'), join(dir, 'r2'))).rejects.toBeInstanceOf(SFTPError);
      await sftp.posixRename(join(dir, 'r1'), join(dir, 'r2'));
      expect(readFileSync(join(dir, 'r2'), 'utf8')).toBe('one');
      await sftp.rename(join(dir, 'r2'), join(dir, 'r3'));
      expect(readFileSync(join(dir, 'r3'), 'utf8')).toBe('one');
    });

    it('chmod, chown, utime, truncate, setstat, lsetstat', async () => {
      const p = join(dir, 'meta');
      writeFileSync(p, '0123456789');
      await sftp.chmod(p, 0o600);
      expect(statSync(p).mode & 0o777).toBe(0o600);
      await sftp.chown(p, 65534, 65534);
      expect(statSync(p).uid).toBe(65534);
      await sftp.utime(p, [1_000_000, 2_000_000]);
      expect(statSync(p).mtimeMs).toBe(2_000_000_000);
      expect(statSync(p).atimeMs).toBe(1_000_000_000);
      await sftp.truncate(p, 4);
      expect(readFileSync(p, 'utf8')).toBe('0123');
      const before = Date.now() / 1000;
      await sftp.utime(p);
      expect(statSync(p).mtimeMs / 1000).toBeGreaterThanOrEqual(Math.floor(before));
      // lsetstat changes the link itself, not its target
      symlinkSync('meta', join(dir, 'metalink'));
      await sftp.lsetstat(join(dir, 'metalink'), { atime: 5, mtime: 6 });
      expect(lstatSync(join(dir, 'metalink')).mtimeMs).toBe(6000);
      expect(statSync(p).mtimeMs).not.toBe(6000);
      const attrs = new SFTPAttributes();
      attrs.st_mode = 0o640;
      await sftp.setstat(p, attrs);
      expect(statSync(p).mode & 0o777).toBe(0o640);
    });

    it('normalize, realpath, expandPath, homeDirectory, chdir, getcwd', async () => {
      mkdirSync(join(dir, 'sub'));
      expect(await sftp.normalize(`${dir}/./sub/..`)).toBe(dir);
      expect(await sftp.realpath(dir)).toBe(dir);
      expect(sftp.getcwd()).toBeNull();
      await sftp.chdir(dir);
      expect(sftp.getcwd()).toBe(dir);
      writeFileSync(join(dir, 'rel.txt'), 'rel');
      expect((await sftp.stat('rel.txt')).st_size).toBe(3);
      expect(await sftp.listdir()).toContain('rel.txt');
      await expect(sftp.chdir('rel.txt')).rejects.toBeInstanceOf(SFTPError);
      await sftp.chdir(null);
      expect(sftp.getcwd()).toBeNull();
      // OpenSSH's expand-path maps '~' to the server's start directory
      expect(await sftp.expandPath('~')).toBe(reached.home);
      expect(await sftp.homeDirectory('root')).toBe('/root');
      expect(await sftp.homeDirectory()).toBe(reached.home);
    });

    it('copy onto a link to its source leaves the source whole', async () => {
      // OpenSSH's server does not see that the names are one file: opened with
      // truncation, the destination would have emptied the source first.
      writeFileSync(join(dir, 'linked-src'), 'keep me');
      symlinkSync('linked-src', join(dir, 'soft-alias'));
      await sftp.hardlink(join(dir, 'linked-src'), join(dir, 'hard-alias'));
      await sftp.copy(join(dir, 'linked-src'), join(dir, 'soft-alias'));
      await sftp.copy(join(dir, 'linked-src'), join(dir, 'hard-alias'));
      expect(readFileSync(join(dir, 'linked-src'), 'utf8')).toBe('keep me');
      expect(lstatSync(join(dir, 'soft-alias')).isSymbolicLink()).toBe(true);
    });

    it('hardlink, copy (copy-data), statvfs, usersGroupsById', async () => {
      writeFileSync(join(dir, 'orig'), 'shared');
      await sftp.hardlink(join(dir, 'orig'), join(dir, 'hard'));
      expect(statSync(join(dir, 'hard')).ino).toBe(statSync(join(dir, 'orig')).ino);
      await sftp.copy(join(dir, 'orig'), join(dir, 'copied'));
      expect(readFileSync(join(dir, 'copied'), 'utf8')).toBe('shared');
      expect(statSync(join(dir, 'copied')).ino).not.toBe(statSync(join(dir, 'orig')).ino);
      // A longer destination is cut to the source's length.
      writeFileSync(join(dir, 'longer'), 'a much longer old content');
      await sftp.copy(join(dir, 'orig'), join(dir, 'longer'));
      expect(readFileSync(join(dir, 'longer'), 'utf8')).toBe('shared');
      const vfs = await sftp.statvfs(dir);
      expect(vfs.f_bsize).toBeGreaterThan(0);
      expect(vfs.f_namemax).toBe(255);
      const { users, groups } = await sftp.usersGroupsById([0, 65534, 4_000_000], [0]);
      expect(users).toEqual(['root', 'nobody', '']);
      expect(groups).toEqual(['root']);
    });
  });

  describe('SFTPFile', () => {
    it('reads, seeks, tells, and iterates lines', async () => {
      const p = join(dir, 'lines.txt');
      writeFileSync(p, 'alpha\nbeta\n\ngamma');
      await using f = await sftp.open(p, 'r');
      expect(f).toBeInstanceOf(SFTPFile);
      expect((await f.read(3)).toString()).toBe('alp');
      expect(f.tell()).toBe(3);
      expect(await f.readline()).toBe('ha\n');
      await f.seek(-5, 2);
      expect((await f.read()).toString()).toBe('gamma');
      expect((await f.read(10)).length).toBe(0);
      await f.seek(0);
      const lines: Array<string | Buffer> = [];
      for await (const l of f) lines.push(l);
      expect(lines).toEqual(['alpha\n', 'beta\n', '\n', 'gamma']);
      await f.seek(6);
      await f.seek(2, 1);
      expect((await f.read(2)).toString()).toBe('ta');
      expect((await f.stat()).st_size).toBe(17);
    });

    it('yields Buffers for lines in binary mode', async () => {
      const p = join(dir, 'bin.txt');
      writeFileSync(p, 'a\nb');
      const f = await sftp.open(p, 'rb');
      expect(await f.readlines()).toEqual([Buffer.from('a\n'), Buffer.from('b')]);
      await f.close();
      await f.close(); // twice is fine
    });

    it('modes w, a, r+, w+, a+, x', async () => {
      const p = join(dir, 'modes.txt');
      let f = await sftp.open(p, 'w');
      await f.write('hello');
      await f.close();
      expect(readFileSync(p, 'utf8')).toBe('hello');
      f = await sftp.open(p, 'a');
      expect(f.tell()).toBe(5);
      await f.write(' world');
      await f.close();
      expect(readFileSync(p, 'utf8')).toBe('hello world');
      f = await sftp.open(p, 'r+');
      await f.seek(6);
      await f.write('W');
      await f.seek(0);
      expect((await f.read()).toString()).toBe('hello World');
      await f.close();
      f = await sftp.open(p, 'w+');
      expect((await f.read()).length).toBe(0);
      await f.write('new');
      await f.seek(0);
      expect((await f.read()).toString()).toBe('new');
      await f.close();
      f = await sftp.open(p, 'a+');
      await f.write('!');
      await f.seek(0);
      expect((await f.read()).toString()).toBe('new!');
      await f.close();
      await expect(sftp.open(p, 'x')).rejects.toMatchObject({ status: FX.FAILURE });
      f = await sftp.open(join(dir, 'fresh.x'), 'xb');
      await f.write(Buffer.from([1, 2, 3]));
      await f.close();
      expect([...readFileSync(join(dir, 'fresh.x'))]).toEqual([1, 2, 3]);
      const ro = await sftp.open(p, 'r');
      await expect(ro.write('x')).rejects.toMatchObject({ status: FX.PERMISSION_DENIED });
      await ro.close();
      await expect(ro.read()).rejects.toBeInstanceOf(SFTPError);
    });

    it('file chmod, chown, utime, truncate, flush, fsync, statvfs', async () => {
      const p = join(dir, 'fmeta');
      const f = await sftp.open(p, 'w+', -1, { mode: 0o600 });
      expect(statSync(p).mode & 0o777).toBe(0o600);
      await f.write('0123456789');
      await f.flush();
      await f.fsync();
      await f.chmod(0o644);
      await f.chown(65534, 65534);
      await f.truncate(3);
      await f.utime([100, 200]);
      expect((await f.statvfs()).f_bsize).toBeGreaterThan(0);
      await f.close();
      const st = statSync(p);
      expect([st.mode & 0o777, st.uid, st.mtimeMs, st.size]).toEqual([0o644, 65534, 200_000, 3]);
    });

    it('pipelined writes surface at flush and land in order', async () => {
      const p = join(dir, 'piped');
      const f = await sftp.open(p, 'w');
      f.setPipelined(true);
      const parts: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const b = Buffer.alloc(1000 + i, i);
        parts.push(b);
        await f.write(b);
      }
      await f.flush();
      await f.close();
      expect(readFileSync(p).equals(Buffer.concat(parts))).toBe(true);
    });

    it('readv yields each range in order; prefetch serves reads from memory', async () => {
      const p = join(dir, 'rv');
      const data = Buffer.alloc(1_000_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      writeFileSync(p, data);
      const f = await sftp.open(p);
      const ranges: Array<[number, number]> = [[0, 10], [999_990, 10], [300_000, 600_000], [5, 0], [999_999, 100]];
      const got: Buffer[] = [];
      for await (const b of f.readv(ranges)) got.push(b);
      expect(got.map((b) => b.length)).toEqual([10, 10, 600_000, 0, 1]);
      expect(got[2]!.equals(data.subarray(300_000, 900_000))).toBe(true);
      await f.seek(100);
      await f.prefetch();
      const rest = await f.read();
      expect(rest.equals(data.subarray(100))).toBe(true);
      await f.close();
    });
  });
});
