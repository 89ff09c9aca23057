/**
 * LocalFilesystem behaviours seen by real clients (ours and Paramiko's)
 * through an SSH server of ours: `readOnly` refusing FSETSTAT on a handle
 * opened for reading and reporting ST_RDONLY in statvfs, readlink's view of
 * link targets under a root (translated inside, never reachable outside),
 * links leading out answering alike whether their target exists, and
 * rename never replacing an existing target, even one created during the
 * call.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, promises as fsp, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, FX, SFTPError, type SSHClientConnection } from '../../ts/index.js';
import { LocalFilesystem } from '../../ts/sftp/server/index.js';
import { mountFlags, mountFlagsFromMountinfo, ST_NOSUID, ST_RDONLY } from '../../ts/sftp/server/mountFlags.js';
import { makeFixture, python, startServer, type Fixture, type Running } from '../server/helpers.js';

let fx: Fixture;
/** fx.root's real path: what the server's root resolves to. */
let root: string;
let outside: string;
let rw: Running;
let ro: Running;
let rwConn: SSHClientConnection;
let roConn: SSHClientConnection;

const connectTo = (r: Running): Promise<SSHClientConnection> =>
  connect({ host: '127.0.0.1', port: r.port, username: 'tester', privateKey: fx.key, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });

/** The SFTP status a promise rejected with (or 'resolved'). */
const statusOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof SFTPError ? e.status : e),
  );

beforeAll(async () => {
  fx = makeFixture('sshwire-sftp-localfs-');
  root = realpathSync(fx.root);
  outside = join(fx.dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret\n');
  chmodSync(join(outside, 'secret.txt'), 0o640);
  rw = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: { root: fx.root } });
  ro = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: { root: fx.root, readOnly: true } });
  rwConn = await connectTo(rw);
  roConn = await connectTo(ro);
});

afterAll(async () => {
  rwConn?.close();
  roConn?.close();
  await rw?.server.close();
  await ro?.server.close();
  fx?.cleanup();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('readOnly', () => {
  it('refuses FSETSTAT of every attribute on a handle opened for reading, with the status SETSTAT gets', async () => {
    const file = join(root, 'ro-attrs.txt');
    writeFileSync(file, 'keep me\n');
    chmodSync(file, 0o644);
    utimesSync(file, 1_000_000, 1_000_000);
    const before = statSync(file);
    const sftp = await roConn.sftp();
    const f = await sftp.open('/ro-attrs.txt', 'r');
    try {
      // Path-based SETSTAT under readOnly: the reference status.
      expect(await statusOf(sftp.chmod('/ro-attrs.txt', 0o600))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.chmod(0o600))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.chmod(0o4755))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.chown(before.uid, before.gid))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.utime([2_000_000, 2_000_000]))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.utime())).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(f.truncate(0))).toBe(FX.PERMISSION_DENIED);
      // Reading through the handle still works.
      expect((await f.read(7)).toString()).toBe('keep me');
    } finally {
      await f.close();
      await sftp.close();
    }
    const after = statSync(file);
    expect(after.mode).toBe(before.mode);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ctimeMs).toBe(before.ctimeMs); // not even a chown to the same owner
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });

  it("refuses Paramiko's SFTPFile.chmod/utime/chown on a file opened for reading", async () => {
    const file = join(root, 'ro-paramiko.txt');
    writeFileSync(file, 'x');
    chmodSync(file, 0o644);
    utimesSync(file, 1_000_000, 1_000_000);
    const script = `
import sys, paramiko
c = paramiko.SSHClient()
c.load_host_keys(sys.argv[3])
c.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', key_filename=sys.argv[2], allow_agent=False, look_for_keys=False)
s = c.open_sftp()
f = s.open('/ro-paramiko.txt', 'r')
for name, op in [('chmod', lambda: f.chmod(0o600)), ('utime', lambda: f.utime((2000000, 2000000))), ('chown', lambda: f.chown(0, 0))]:
    try:
        op()
        print(name, 'ok')
    except PermissionError:
        print(name, 'denied')
    except IOError as e:
        print(name, 'error', e)
f.close(); s.close(); c.close()
`;
    const out = await python(script, [String(ro.port), fx.key, ro.knownHosts]);
    expect(out.stdout.trim().split('\n'), out.stderr).toEqual(['chmod denied', 'utime denied', 'chown denied']);
    expect(statSync(file).mode & 0o7777).toBe(0o644);
    expect(statSync(file).mtimeMs).toBe(1_000_000_000);
  });

  it('still lets a writable filesystem change attributes through a handle opened for reading, but not the size', async () => {
    const file = join(root, 'rw-attrs.txt');
    writeFileSync(file, 'abc');
    chmodSync(file, 0o644);
    const sftp = await rwConn.sftp();
    const f = await sftp.open('/rw-attrs.txt', 'r');
    try {
      await f.chmod(0o600);
      await f.utime([1_500_000, 1_500_000]);
      expect(await statusOf(f.truncate(0))).toBe(FX.PERMISSION_DENIED);
    } finally {
      await f.close();
      await sftp.close();
    }
    expect(statSync(file).mode & 0o7777).toBe(0o600);
    expect(statSync(file).mtimeMs).toBe(1_500_000_000);
    expect(statSync(file).size).toBe(3);
  });

  it('statvfs and fstatvfs report ST_RDONLY under readOnly, and the mount flags otherwise', async () => {
    writeFileSync(join(root, 'vfs.txt'), 'v');
    const host = await mountFlags(root);
    const ros = await roConn.sftp();
    const rws = await rwConn.sftp();
    try {
      const v = await ros.statvfs('/');
      expect(v.f_flag & ST_RDONLY).toBe(ST_RDONLY);
      expect(v.f_flag).toBe(host | ST_RDONLY); // ST_NOSUID kept when the mount has it
      expect(v.f_blocks).toBeGreaterThan(0);
      const f = await ros.open('/vfs.txt', 'r');
      expect((await f.statvfs()).f_flag).toBe(host | ST_RDONLY);
      await f.close();
      expect((await rws.statvfs('/')).f_flag).toBe(host);
      const g = await rws.open('/vfs.txt', 'r');
      expect((await g.statvfs()).f_flag).toBe(host);
      await g.close();
    } finally {
      await ros.close();
      await rws.close();
    }
  });
});

describe('mount flags from /proc/self/mountinfo', () => {
  const mountinfo = [
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '28 27 0:25 / /srv/ro ro,nosuid,nodev,relatime - tmpfs tmpfs ro,size=4k',
    '29 27 0:26 / /srv/nosuid rw,nosuid,relatime - tmpfs tmpfs rw',
    '30 27 0:27 / /srv/sb-ro rw,relatime - ext4 /dev/vdb ro',
    '31 27 0:28 / /srv/with\\040space rw,nosuid shared:5 master:1 - tmpfs tmpfs rw',
    '32 29 0:29 / /srv/nosuid/inner rw,relatime - tmpfs tmpfs rw',
    '33 27 0:30 / /srv/stacked rw,relatime - tmpfs tmpfs rw',
    '34 33 0:31 / /srv/stacked ro,relatime - tmpfs tmpfs rw',
    '',
  ].join('\n');

  it('takes the longest mount point holding the path, the top one when stacked', () => {
    expect(mountFlagsFromMountinfo(mountinfo, '/home/u')).toBe(0);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/ro')).toBe(ST_RDONLY | ST_NOSUID);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/ro/a/b')).toBe(ST_RDONLY | ST_NOSUID);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/rox')).toBe(0); // not under /srv/ro
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/nosuid/x')).toBe(ST_NOSUID);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/nosuid/inner/x')).toBe(0);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/sb-ro/x')).toBe(ST_RDONLY);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/with space/x')).toBe(ST_NOSUID);
    expect(mountFlagsFromMountinfo(mountinfo, '/srv/stacked/x')).toBe(ST_RDONLY);
    expect(mountFlagsFromMountinfo('', '/x')).toBe(0);
  });
});

describe('readlink under a root', () => {
  it('reads an absolute host target inside the root back as the root-relative path, a relative one as stored', async () => {
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'target.txt'), 'inside\n');
    symlinkSync(join(root, 'sub', 'target.txt'), join(root, 'abs-in'));
    symlinkSync(`${root}/sub/../sub/./target.txt`, join(root, 'abs-in-unnormalized'));
    symlinkSync(root, join(root, 'abs-root'));
    symlinkSync(join(root, 'sub'), join(root, 'sub', 'abs-dir'));
    symlinkSync('sub/target.txt', join(root, 'rel-in'));
    // The root as the server was given it, through a symlink: same view.
    symlinkSync(root, join(fx.dir, 'root-alias'));
    symlinkSync(join(fx.dir, 'root-alias', 'sub', 'target.txt'), join(root, 'via-alias'));
    const sftp = await rwConn.sftp();
    try {
      expect(await sftp.readlink('/abs-in')).toBe('/sub/target.txt');
      expect(await sftp.readlink('/abs-in-unnormalized')).toBe('/sub/target.txt');
      expect(await sftp.readlink('/abs-root')).toBe('/');
      expect(await sftp.readlink('/sub/abs-dir')).toBe('/sub');
      expect(await sftp.readlink('/rel-in')).toBe('sub/target.txt');
      // Each reads back the file it names, and the link is followed inside.
      for (const l of ['/abs-in', '/abs-in-unnormalized', '/rel-in']) {
        const f = await sftp.open(l, 'r');
        expect((await f.read(100)).toString(), l).toBe('inside\n');
        await f.close();
        expect(await sftp.normalize(l), l).toBe('/sub/target.txt');
      }
      // A client-made absolute symlink is stored under the root and reads back as given.
      await sftp.symlink('/sub/target.txt', '/client-abs');
      expect(readlinkSync(join(root, 'client-abs'))).toBe(join(root, 'sub', 'target.txt'));
      expect(await sftp.readlink('/client-abs')).toBe('/sub/target.txt');
    } finally {
      await sftp.close();
    }
    const aliased = new LocalFilesystem(join(fx.dir, 'root-alias'));
    expect(aliased.root).toBe(root);
    expect(await aliased.readlink('/via-alias')).toBe('/sub/target.txt');
    expect(await aliased.readlink('/abs-in')).toBe('/sub/target.txt');
  });

  it('returns an outside target unchanged, but following it never leaves the root', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(root, 'out-file'));
    symlinkSync(outside, join(root, 'out-dir'));
    symlinkSync('../outside/secret.txt', join(root, 'out-rel'));
    const before = statSync(join(outside, 'secret.txt'));
    const sftp = await rwConn.sftp();
    try {
      expect(await sftp.readlink('/out-file')).toBe(join(outside, 'secret.txt'));
      expect(await sftp.readlink('/out-dir')).toBe(outside);
      expect(await sftp.readlink('/out-rel')).toBe('../outside/secret.txt');
      for (const p of ['/out-file', '/out-dir/secret.txt', '/out-rel']) {
        expect(await statusOf(sftp.stat(p)), p).toBe(FX.PERMISSION_DENIED);
        expect(await statusOf(sftp.open(p, 'r')), p).toBe(FX.PERMISSION_DENIED);
        expect(await statusOf(sftp.open(p, 'r+')), p).toBe(FX.PERMISSION_DENIED);
        expect(await statusOf(sftp.chmod(p, 0o666)), p).toBe(FX.PERMISSION_DENIED);
        // realpath stays the client's path: no host path, nothing outside.
        expect(await sftp.normalize(p), p).toBe(p);
      }
      expect(await statusOf(sftp.listdir('/out-dir'))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(sftp.put(join(fx.dir, 'authorized_keys'), '/out-dir/planted.txt'))).toBe(FX.PERMISSION_DENIED);
      expect(await statusOf(sftp.readlink('/out-dir/secret.txt'))).toBe(FX.PERMISSION_DENIED);
      // The link itself is there.
      expect((await sftp.lstat('/out-file')).isSymbolicLink()).toBe(true);
      // The target text taken as a client path names a path under the root (missing here).
      expect(await statusOf(sftp.stat(join(outside, 'secret.txt')))).toBe(FX.NO_SUCH_FILE);
      expect(await sftp.normalize(join(outside, 'secret.txt'))).toBe(join(outside, 'secret.txt'));
    } finally {
      await sftp.close();
    }
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(statSync(join(outside, 'secret.txt')).mode).toBe(before.mode);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
  });
});

describe('links leading out of the root', () => {
  it('answer a client alike whether the outside target exists or not', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(root, 'leak-file-yes'));
    symlinkSync(join(outside, 'missing.txt'), join(root, 'leak-file-no'));
    symlinkSync('../outside', join(root, 'leak-dir-yes'));
    symlinkSync('../missing-dir', join(root, 'leak-dir-no'));
    const sftp = await rwConn.sftp();
    /** The status (and message) a call ends with. */
    const answer = (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => 'resolved',
        // The message names the client's path: the same but for "-yes"/"-no".
        (e: unknown) => (e instanceof SFTPError ? [e.status, e.message.replace(/-(yes|no)\b/g, '-X')] : e),
      );
    try {
      for (const kind of ['file', 'dir']) {
        const calls: Array<(l: string) => Promise<unknown>> = [
          (l) => sftp.stat(l),
          (l) => sftp.lstat(`${l}/secret.txt`),
          (l) => sftp.open(l, 'r'),
          (l) => sftp.open(`${l}/new.txt`, 'w'),
          (l) => sftp.listdir(l),
          (l) => sftp.stat(`${l}/secret.txt`),
        ];
        for (const call of calls) {
          const yes = await answer(call(`/leak-${kind}-yes`));
          expect(yes, String(call)).not.toBe('resolved');
          expect(await statusOf(call(`/leak-${kind}-yes`)), String(call)).toBe(FX.PERMISSION_DENIED);
          expect(await answer(call(`/leak-${kind}-no`)), String(call)).toEqual(yes);
        }
        for (const v of ['yes', 'no']) expect(await sftp.normalize(`/leak-${kind}-${v}/x`)).toBe(`/leak-${kind}-${v}/x`);
      }
    } finally {
      await sftp.close();
    }
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });
});

describe('rename', () => {
  it('never replaces a target, even one created after the existence check', async () => {
    const dir = join(root, 'race');
    mkdirSync(dir);
    writeFileSync(join(dir, 'mine.txt'), 'mine\n');
    const fs = new LocalFilesystem(fx.root);
    // Someone else creates the target right after the server's first lstat.
    const lstat = fsp.lstat.bind(fsp);
    let created = false;
    vi.spyOn(fsp, 'lstat').mockImplementation(async (...args: Parameters<typeof fsp.lstat>) => {
      try {
        return await lstat(...args);
      } finally {
        if (!created) {
          created = true;
          writeFileSync(join(dir, 'theirs.txt'), 'theirs\n', { flag: 'wx' });
        }
      }
    });
    const err = await fs.rename('/race/mine.txt', '/race/theirs.txt').catch((e: unknown) => e);
    expect(created).toBe(true);
    expect(err).toBeInstanceOf(SFTPError);
    expect((err as SFTPError).status).toBe(FX.FAILURE);
    expect(readFileSync(join(dir, 'theirs.txt'), 'utf8')).toBe('theirs\n');
    expect(readFileSync(join(dir, 'mine.txt'), 'utf8')).toBe('mine\n');
  });

  it('moves files, symlinks and directories, refuses existing targets, and falls back where hard links fail', async () => {
    const dir = join(root, 'mv');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    const ino = statSync(join(dir, 'a.txt')).ino;
    writeFileSync(join(dir, 'taken.txt'), 'taken\n');
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'in.txt'), 'in\n');
    symlinkSync('a.txt', join(dir, 'sl'));
    const sftp = await rwConn.sftp();
    try {
      await sftp.rename('/mv/a.txt', '/mv/b.txt');
      expect(existsSync(join(dir, 'a.txt'))).toBe(false);
      expect(statSync(join(dir, 'b.txt')).ino).toBe(ino);
      expect(statSync(join(dir, 'b.txt')).nlink).toBe(1);
      expect(await statusOf(sftp.rename('/mv/b.txt', '/mv/taken.txt'))).toBe(FX.FAILURE);
      expect(await statusOf(sftp.rename('/mv/d', '/mv/taken.txt'))).toBe(FX.FAILURE);
      expect(await statusOf(sftp.rename('/mv/missing', '/mv/new'))).toBe(FX.NO_SUCH_FILE);
      expect(readFileSync(join(dir, 'taken.txt'), 'utf8')).toBe('taken\n');
      await sftp.rename('/mv/d', '/mv/e');
      expect(readFileSync(join(dir, 'e', 'in.txt'), 'utf8')).toBe('in\n');
      await sftp.rename('/mv/sl', '/mv/sl2');
      expect(lstatSync(join(dir, 'sl2')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, 'sl2'))).toBe('a.txt');
    } finally {
      await sftp.close();
    }
    // A file system without hard links: check-then-rename.
    const fs = new LocalFilesystem(fx.root);
    vi.spyOn(fsp, 'link').mockRejectedValueOnce(Object.assign(new Error('link: not permitted'), { code: 'EPERM' }));
    await fs.rename('/mv/b.txt', '/mv/c.txt');
    expect(readFileSync(join(dir, 'c.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(dir, 'b.txt'))).toBe(false);
    // The source cannot be unlinked: the new name is taken back, the source stays.
    vi.spyOn(fsp, 'unlink').mockRejectedValueOnce(Object.assign(new Error('unlink: denied'), { code: 'EACCES' }));
    await expect(fs.rename('/mv/c.txt', '/mv/f.txt')).rejects.toMatchObject({ code: 'EACCES' });
    expect(readFileSync(join(dir, 'c.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(dir, 'f.txt'))).toBe(false);
  });
});
