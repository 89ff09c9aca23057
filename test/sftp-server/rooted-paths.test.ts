/**
 * RootedPaths and LocalFilesystem never tell anything about a host path
 * outside the served root: a symlink leading out (absolute or relative
 * target, as the last component or one on the way, or out and back in) is
 * refused with the same status whether its outside target exists, is
 * missing, a directory, a loop or a dangling link. Links staying inside
 * keep resolving, and errors inside (missing file, loop, not a directory)
 * stay as they were.
 */
import { constants as fsc, mkdirSync, mkdtempSync, promises as fsp, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FX } from '../../ts/index.js';
import { SFTPAttributes } from '../../ts/sftp/attributes.js';
import { LocalFilesystem, RootedPaths } from '../../ts/sftp/server/index.js';
import { statusOf } from '../../ts/sftp/server/status.js';

let base: string;
/** The root's real path. */
let root: string;
let outside: string;
let paths: RootedPaths;
let lfs: LocalFilesystem;

/** What the client would see of a call: its status and message, or 'ok'. */
const seen = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'ok',
    (e: unknown) => statusOf(e),
  );
const DENIED = { code: FX.PERMISSION_DENIED, message: 'Permission denied: path leaves the served directory' };

/**
 * Links in the root, each name with "-yes" whose outside target exists (in
 * some form) and with "-no" whose target is missing.
 */
const OUT_FILES = ['abs-file', 'rel-file', 'abs-dangling', 'abs-loop', 'abs-back', 'abs-via', 'rel-via'];
const OUT_DIRS = ['abs-dir', 'rel-dir'];

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'sshwire-rooted-')));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(root, 'sub', 'inside.txt'), 'inside\n');
  writeFileSync(join(outside, 'secret.txt'), 'top secret\n');
  writeFileSync(join(outside, 'dir', 'child'), 'outside child\n');
  symlinkSync(join(base, 'nowhere'), join(outside, 'dangling'));
  symlinkSync(join(outside, 'loop'), join(outside, 'loop'));
  // An outside link back into the root: following it would reveal that it exists.
  symlinkSync(join(root, 'sub', 'inside.txt'), join(outside, 'back'));
  const pair = (name: string, yes: string, no: string): void => {
    symlinkSync(yes, join(root, `${name}-yes`));
    symlinkSync(no, join(root, `${name}-no`));
  };
  pair('abs-file', join(outside, 'secret.txt'), join(outside, 'missing.txt'));
  pair('rel-file', '../outside/secret.txt', '../outside/missing.txt');
  pair('abs-dangling', join(outside, 'dangling'), join(outside, 'missing-link'));
  pair('abs-loop', join(outside, 'loop'), join(outside, 'missing-loop'));
  pair('abs-back', join(outside, 'back'), join(outside, 'missing-back'));
  // Out through an outside directory and back in with "..".
  pair('abs-via', `${outside}/dir/../../root/sub/inside.txt`, `${base}/nowhere/../root/sub/inside.txt`);
  pair('rel-via', '../outside/dir/../../root/sub/inside.txt', '../nowhere/../root/sub/inside.txt');
  pair('abs-dir', join(outside, 'dir'), join(base, 'nowhere'));
  pair('rel-dir', '../outside/dir', '../nowhere');
  // Inside the root.
  symlinkSync(join(root, 'sub', 'inside.txt'), join(root, 'abs-in'));
  symlinkSync(join(root, 'sub'), join(root, 'abs-in-dir'));
  symlinkSync('sub/inside.txt', join(root, 'rel-in'));
  symlinkSync('../sub/./inside.txt', join(root, 'sub', 'rel-up-in'));
  symlinkSync(`../root/sub/inside.txt`, join(root, 'rel-via-root')); // through the root's own parent only
  symlinkSync('sub/missing.txt', join(root, 'dangling-in'));
  symlinkSync('sub/inside.txt/', join(root, 'slash-file'));
  symlinkSync('sub/inside.txt/..', join(root, 'up-from-file'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  paths = new RootedPaths(root);
  lfs = new LocalFilesystem(root);
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a link leading out of the root', () => {
  it('is refused by follow alike, whether its outside target exists or not', async () => {
    for (const name of [...OUT_FILES, ...OUT_DIRS]) {
      for (const v of ['yes', 'no']) {
        expect(await seen(paths.follow(`/${name}-${v}`)), `${name}-${v}`).toEqual(DENIED);
      }
    }
  });

  it('is refused alike deeper in the root, where realpath kept the first components', async () => {
    mkdirSync(join(root, 'sub', 'x'));
    symlinkSync('../../../outside/secret.txt', join(root, 'sub', 'x', 'out-yes'));
    symlinkSync('../../../outside/missing.txt', join(root, 'sub', 'x', 'out-no'));
    symlinkSync('../../../outside/dir/../../root/sub/inside.txt', join(root, 'sub', 'x', 'via-yes'));
    symlinkSync('../../../nowhere/../root/sub/inside.txt', join(root, 'sub', 'x', 'via-no'));
    symlinkSync('..', join(root, 'sub', 'x', 'up'));
    for (const name of ['out', 'via']) {
      for (const v of ['yes', 'no']) {
        expect(await seen(paths.follow(`/sub/x/${name}-${v}`)), `${name}-${v}`).toEqual(DENIED);
        expect(await seen(paths.follow(`/sub/x/up/x/${name}-${v}`)), `up ${name}-${v}`).toEqual(DENIED);
        expect(await seen(paths.noFollow(`/sub/x/up/x/${name}-${v}/child`)), `up ${name}-${v}`).toEqual(DENIED);
      }
    }
    expect(await paths.follow('/sub/x/up/inside.txt')).toBe(join(root, 'sub', 'inside.txt'));
    expect(await paths.follow('/sub/x/up/x/up/x')).toBe(join(root, 'sub', 'x'));
  });

  it('is refused as a directory on the way, for follow and for noFollow, whatever lies outside', async () => {
    for (const name of [...OUT_DIRS, ...OUT_FILES]) {
      for (const v of ['yes', 'no']) {
        for (const child of ['child', 'missing', 'child/deeper']) {
          const p = `/${name}-${v}/${child}`;
          expect(await seen(paths.follow(p)), `follow ${p}`).toEqual(DENIED);
          expect(await seen(paths.noFollow(p)), `noFollow ${p}`).toEqual(DENIED);
        }
      }
    }
  });

  it('gets the same answer from every LocalFilesystem operation, whatever lies outside', async () => {
    const ops: Record<string, (p: string) => Promise<unknown>> = {
      stat: (p) => lfs.stat(p),
      lstatChild: (p) => lfs.lstat(`${p}/child`),
      open: (p) => lfs.open(p, fsc.O_RDONLY, new SFTPAttributes()),
      openCreate: (p) => lfs.open(p, fsc.O_WRONLY | fsc.O_CREAT, new SFTPAttributes()),
      openCreateChild: (p) => lfs.open(`${p}/new.txt`, fsc.O_WRONLY | fsc.O_CREAT, new SFTPAttributes()),
      listFolder: (p) => lfs.listFolder(p),
      mkdirChild: (p) => lfs.mkdir(`${p}/newdir`, new SFTPAttributes()),
      readlinkChild: (p) => lfs.readlink(`${p}/child`),
      statvfs: (p) => lfs.statvfs(p),
    };
    for (const name of [...OUT_FILES, ...OUT_DIRS]) {
      for (const [op, call] of Object.entries(ops)) {
        const yes = await seen(call(`/${name}-yes`));
        const no = await seen(call(`/${name}-no`));
        expect(yes, `${op} ${name}`).toEqual(DENIED);
        expect(no, `${op} ${name}`).toEqual(yes);
      }
      // realpath answers the client path itself, both ways.
      for (const v of ['yes', 'no']) {
        expect(await lfs.canonicalize(`/${name}-${v}`)).toBe(`/${name}-${v}`);
        expect(await lfs.canonicalize(`/${name}-${v}/child`)).toBe(`/${name}-${v}/child`);
      }
    }
  });

  it('is decided without lstat or readlink of anything outside the root', async () => {
    const seenPaths: string[] = [];
    const lstat = fsp.lstat.bind(fsp);
    const readlink = fsp.readlink.bind(fsp);
    vi.spyOn(fsp, 'lstat').mockImplementation(((p: string) => (seenPaths.push(String(p)), lstat(p))) as typeof fsp.lstat);
    vi.spyOn(fsp, 'readlink').mockImplementation(((p: string) => (seenPaths.push(String(p)), readlink(p))) as typeof fsp.readlink);
    for (const name of [...OUT_FILES, ...OUT_DIRS]) {
      for (const v of ['yes', 'no']) {
        await seen(paths.follow(`/${name}-${v}`));
        await seen(paths.noFollow(`/${name}-${v}/child/x`));
      }
    }
    expect(seenPaths.length).toBeGreaterThan(0);
    for (const p of seenPaths) expect(paths.inside(p), p).toBe(true);
  });
});

describe('links and errors inside the root', () => {
  it('follows absolute host targets into the root and relative ones staying inside', async () => {
    const file = join(root, 'sub', 'inside.txt');
    for (const l of ['/abs-in', '/rel-in', '/sub/rel-up-in', '/rel-via-root', '/abs-in-dir/inside.txt']) {
      expect(await paths.follow(l), l).toBe(file);
      expect(await lfs.canonicalize(l), l).toBe('/sub/inside.txt');
      expect((await lfs.stat(l)).st_size, l).toBe(7);
    }
    expect(await paths.noFollow('/abs-in-dir/new.txt')).toBe(join(root, 'sub', 'new.txt'));
    expect((await lfs.listFolder('/abs-in-dir')).map((a) => a.filename).sort()).toContain('inside.txt');
    expect(await paths.follow('/')).toBe(root);
    expect(await paths.follow('/sub/../sub/inside.txt')).toBe(file);
  });

  it('follows what the SFTP symlink operation stores, absolute or relative', async () => {
    const client = new LocalFilesystem(root);
    await client.symlink('/sub/inside.txt', '/client-abs');
    await client.symlink('sub/inside.txt', '/client-rel');
    await client.symlink('/sub', '/client-abs-dir');
    for (const l of ['/client-abs', '/client-rel', '/client-abs-dir/inside.txt']) {
      expect(await paths.follow(l), l).toBe(join(root, 'sub', 'inside.txt'));
    }
    // A client's absolute target outside names a path under the root.
    await client.symlink('/etc/passwd', '/client-etc');
    expect(await seen(client.stat('/client-etc'))).toEqual({ code: FX.NO_SUCH_FILE, message: 'ENOENT' });
  });

  it('follows host links naming the root as it was configured, through a symlink', async () => {
    symlinkSync(root, join(base, 'root-alias'));
    symlinkSync(join(base, 'root-alias', 'sub', 'inside.txt'), join(root, 'via-alias'));
    const aliased = new LocalFilesystem(join(base, 'root-alias'));
    expect(await aliased.canonicalize('/via-alias')).toBe('/sub/inside.txt');
    expect((await aliased.stat('/via-alias')).st_size).toBe(7);
    // Served by its real path, the alias is just a path outside.
    expect(await seen(lfs.stat('/via-alias'))).toEqual(DENIED);
  });

  it('keeps the errors of missing files, loops and non-directories inside', async () => {
    const missing = { code: FX.NO_SUCH_FILE, message: 'ENOENT' };
    expect(await seen(lfs.stat('/sub/missing.txt'))).toEqual(missing);
    expect(await seen(lfs.stat('/nodir/missing.txt'))).toEqual(missing);
    expect(await seen(lfs.stat('/dangling-in'))).toEqual(missing);
    expect(await seen(lfs.stat('/abs-in-dir/missing.txt'))).toEqual(missing);
    expect(await seen(lfs.lstat('/nodir/missing.txt'))).toEqual(missing);
    expect(await seen(paths.follow('/loop-a'))).toEqual({ code: FX.PERMISSION_DENIED, message: 'ELOOP' });
    expect(await seen(paths.follow('/loop-a/x'))).toEqual({ code: FX.PERMISSION_DENIED, message: 'ELOOP' });
    expect(await seen(paths.follow('/sub/inside.txt/x'))).toEqual({ code: FX.NO_SUCH_FILE, message: 'ENOTDIR' });
    expect(await seen(paths.follow('/abs-in/x'))).toEqual({ code: FX.NO_SUCH_FILE, message: 'ENOTDIR' });
    expect(await seen(paths.follow('/slash-file'))).toEqual({ code: FX.NO_SUCH_FILE, message: 'ENOTDIR' });
    expect(await seen(paths.follow('/up-from-file'))).toEqual({ code: FX.NO_SUCH_FILE, message: 'ENOTDIR' });
    // A new file may still be created; a dangling link inside is not written through.
    const h = await lfs.open('/sub/created.txt', fsc.O_WRONLY | fsc.O_CREAT, new SFTPAttributes());
    await h.close?.();
    expect(await seen(lfs.open('/dangling-in', fsc.O_WRONLY | fsc.O_CREAT, new SFTPAttributes()))).toEqual({ code: FX.PERMISSION_DENIED, message: 'ELOOP' });
  });

  it('follows a chain of 40 links and refuses 41 with ELOOP, as realpath does', async () => {
    mkdirSync(join(root, 'chain'));
    writeFileSync(join(root, 'chain', 'end'), 'end\n');
    for (let i = 0; i < 41; i++) symlinkSync(i === 0 ? 'end' : `l${i - 1}`, join(root, 'chain', `l${i}`));
    expect(await paths.follow('/chain/l39')).toBe(join(root, 'chain', 'end'));
    expect(await seen(paths.follow('/chain/l40'))).toEqual({ code: FX.PERMISSION_DENIED, message: 'ELOOP' });
  });
});
