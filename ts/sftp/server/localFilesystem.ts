/**
 * The built-in SFTPServerInterface: a local directory served as "/". Every
 * path is resolved inside the root (see RootedPaths): `..` cannot climb out,
 * and symlinks are followed only while they stay inside. A client may create
 * a symlink whose target is outside, but the server never follows it there,
 * nor tells whether that target exists.
 * Files are opened with O_NOFOLLOW on their resolved real path and the
 * descriptor is checked again after opening.
 */
import { constants as fsc, promises as fsp, read, readFileSync, readSync, realpathSync, writev, type Stats } from 'node:fs';
import * as path from 'node:path';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import { SFTPAttributes } from '../attributes.js';
import type { SFTPHandle, SFTPServerInterface, SFTPStatVFSInfo } from './interface.js';
import { normalizeClientPath, RootedPaths } from './localPaths.js';
import { mountFlags, ST_RDONLY } from './mountFlags.js';
import { InlineGuard, budget, progress, remainder, type InlineGuardOptions } from '../localIO.js';

/**
 * An inline read's budget (1 ms + 2 ms per MiB: a page-cache read of 255 KiB
 * takes tens of microseconds) and hard limit: a server's event loop serves
 * every client, so a cold or remote file leaves it quickly. (Writes stay in
 * the thread pool: inline, they measured no faster for an upload.)
 */
const READ_GUARD: InlineGuardOptions = { budgetMs: budget(1, 2), hardLimitMs: 20 };

/** Options of `new LocalFilesystem(root, opts)`. */
export interface LocalFilesystemOptions {
  /** Refuse every change (writes, removals, renames, attribute changes). */
  readOnly?: boolean;
  /** Mode of new files when the client gives none. Default 0o644 (umask applies). */
  fileMode?: number;
  /**
   * Read regular files on the event loop while the reads keep hitting the
   * page cache (default true): cheaper than the thread pool for every READ.
   * A file whose reads run slow (a cold disk, a network filesystem) moves
   * to the thread pool after a few at most; false uses the thread pool always.
   */
  inlineReads?: boolean;
}

const WRITE_FLAGS = fsc.O_WRONLY | fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT | fsc.O_TRUNC;
const LIST_BATCH = 64;
/**
 * link(2) failures after which `rename` falls back to check-then-rename:
 * no hard links here (EPERM also for protected_hardlinks), too many links,
 * another mount (rename(2) then fails the same way).
 */
const LINK_FALLBACK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

function attrsOf(st: Stats, filename = ''): SFTPAttributes {
  const a = SFTPAttributes.fromStat(st, filename);
  a.longname = a.toString();
  return a;
}

/** What every change under `readOnly` is refused with, by path or by handle. */
function readOnlyDenied(): SFTPError {
  return new SFTPError('Permission denied: read-only', FX.PERMISSION_DENIED);
}

/**
 * statfs(2) of the file system holding the real path `p`. `flag` has the
 * mount's ST_RDONLY and ST_NOSUID where the host tells them (Linux's
 * mountinfo; else 0), and ST_RDONLY whenever the tree is served `readOnly`.
 */
async function statvfsOf(p: string, readOnly: boolean): Promise<SFTPStatVFSInfo> {
  const [s, mount] = await Promise.all([fsp.statfs(p), mountFlags(p)]);
  return {
    bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
    files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: mount | (readOnly ? ST_RDONLY : 0), namemax: 255,
  };
}

/** Applies the fields a client set: size, owner, permissions, times. */
async function applyAttrs(
  attrs: SFTPAttributes,
  ops: {
    truncate(n: number): Promise<void>;
    chown(uid: number, gid: number): Promise<void>;
    chmod(mode: number): Promise<void>;
    utimes(a: number, m: number): Promise<void>;
  },
): Promise<void> {
  if (attrs.st_size !== undefined) await ops.truncate(attrs.st_size);
  if (attrs.st_uid !== undefined && attrs.st_gid !== undefined) await ops.chown(attrs.st_uid, attrs.st_gid);
  if (attrs.st_mode !== undefined) await ops.chmod(attrs.st_mode & 0o7777);
  if (attrs.st_atime !== undefined || attrs.st_mtime !== undefined) {
    const m = attrs.st_mtime ?? attrs.st_atime!;
    await ops.utimes(attrs.st_atime ?? m, m);
  }
}

/** An open local file. */
class LocalFileHandle implements SFTPHandle {
  readonly #fh: fsp.FileHandle;
  readonly #real: string;
  readonly #writable: boolean;
  /** The filesystem is served `readOnly`: no attribute changes either. */
  readonly #readOnly: boolean;
  /** Reads run inline while they keep hitting the page cache (regular files only). */
  readonly #inlineReads: InlineGuard;

  constructor(fh: fsp.FileHandle, real: string, writable: boolean, readOnly: boolean, inlineReads: boolean) {
    this.#fh = fh;
    this.#real = real;
    this.#writable = writable;
    this.#readOnly = readOnly;
    this.#inlineReads = new InlineGuard(inlineReads, READ_GUARD);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    return buf.subarray(0, await this.readInto(offset, buf, 0, length));
  }

  /**
   * pread(2) into the caller's buffer, again after a short read until EOF
   * (a short read before EOF is possible on some filesystems): inline while
   * the file keeps up (see InlineGuard), else from the thread pool.
   * The callback API skips FileHandle's promise bookkeeping per call; the
   * descriptor cannot close under us, since CLOSE waits for the handle's reads.
   */
  readInto(offset: number, into: Uint8Array, at: number, length: number): Promise<number> {
    if (length > 0 && this.#inlineReads.on) {
      const t0 = performance.now();
      let got = 0;
      try {
        for (let n = -1; n !== 0 && got < length; got += n) n = readSync(this.#fh.fd, into, at + got, length - got, offset + got);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      this.#inlineReads.record(performance.now() - t0, got);
      return Promise.resolve(got);
    }
    return new Promise<number>((resolve, reject) => {
      const fd = this.#fh.fd;
      let got = 0;
      const step = (err: NodeJS.ErrnoException | null, n: number): void => {
        if (err) return reject(err);
        got += n;
        if (n === 0 || got >= length) return resolve(got);
        read(fd, into, at + got, length - got, offset + got, step);
      };
      if (length <= 0) return resolve(0);
      read(fd, into, at, length, offset, step);
    });
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.writev(offset, [data]);
  }

  /**
   * One pwritev(2) for the lot (the session hands us runs of contiguous
   * WRITEs). The callback API skips FileHandle's promise bookkeeping; the
   * descriptor cannot close under us, since CLOSE waits for the handle's writes.
   */
  writev(offset: number, parts: readonly Uint8Array[]): Promise<void> {
    const fd = this.#fh.fd;
    let total = 0;
    for (let i = 0; i < parts.length; i++) total += parts[i]!.length;
    if (total === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let done = 0;
      const step = (err: NodeJS.ErrnoException | null, n: number): void => {
        if (err) return reject(err);
        try {
          done += progress(n);
        } catch (e) {
          return reject(e as Error);
        }
        // A short write goes again with the remainder.
        if (done < total) writev(fd, remainder(parts as Uint8Array[], done), offset + done, step);
        else resolve();
      };
      writev(fd, parts as Uint8Array[], offset, step);
    });
  }

  async stat(): Promise<SFTPAttributes> {
    return attrsOf(await this.#fh.stat());
  }

  /** Device and inode: the same for every name and handle of one file. */
  async identity(): Promise<string> {
    const st = await this.#fh.stat({ bigint: true });
    return `${st.dev}:${st.ino}`;
  }

  /**
   * FSETSTAT. Under `readOnly` every change is refused (PERMISSION_DENIED,
   * as SETSTAT by path); otherwise a size change needs a handle opened for
   * writing, while owner, permissions and times may change through any.
   */
  async chattr(attrs: SFTPAttributes): Promise<void | number> {
    if (this.#readOnly) throw readOnlyDenied();
    if (!this.#writable && attrs.st_size !== undefined) return FX.PERMISSION_DENIED;
    await applyAttrs(attrs, {
      truncate: (n) => this.#fh.truncate(n),
      chown: (u, g) => this.#fh.chown(u, g),
      chmod: (m) => this.#fh.chmod(m),
      utimes: (a, m) => this.#fh.utimes(a, m),
    });
  }

  async fsync(): Promise<void> {
    await this.#fh.sync();
  }

  statvfs(): Promise<SFTPStatVFSInfo> {
    return statvfsOf(this.#real, this.#readOnly);
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

/**
 * Serves the directory `root` (default: the current directory) as "/".
 * The root is resolved once, when constructed; it must exist.
 */
export class LocalFilesystem implements SFTPServerInterface {
  readonly #paths: RootedPaths;
  /** The root as given (absolute, not resolved): host links may name it so. */
  readonly #givenRoot: RootedPaths;
  readonly #readOnly: boolean;
  readonly #fileMode: number;
  readonly #inlineReads: boolean;
  #names: { users: Map<number, string>; groups: Map<number, string> } | null = null;

  constructor(root: string = process.cwd(), opts: LocalFilesystemOptions = {}) {
    let real: string;
    try {
      real = realpathSync(root);
    } catch (err) {
      throw new SFTPError(`SFTP root ${root} does not exist`, FX.NO_SUCH_FILE, root, { cause: err });
    }
    this.#paths = new RootedPaths(real, [path.resolve(root)]);
    this.#givenRoot = new RootedPaths(path.resolve(root));
    this.#readOnly = opts.readOnly === true;
    this.#fileMode = opts.fileMode ?? 0o644;
    this.#inlineReads = opts.inlineReads ?? true;
  }

  /** The served directory's real path. */
  get root(): string {
    return this.#paths.root;
  }

  #checkWritable(): void {
    if (this.#readOnly) throw readOnlyDenied();
  }

  /**
   * Opens the file's real path inside the root with O_NOFOLLOW, then checks
   * the descriptor again. A created file gets the client's permissions, else
   * `fileMode`. Write flags under `readOnly` are PERMISSION_DENIED; a
   * directory is FAILURE.
   */
  async open(p: string, flags: number, attrs: SFTPAttributes): Promise<SFTPHandle> {
    const writing = (flags & WRITE_FLAGS) !== 0;
    if (writing) this.#checkWritable();
    let real: string;
    try {
      real = await this.#paths.follow(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !(flags & fsc.O_CREAT)) throw err;
      // A new file: its parent must be inside; the name itself must not be a
      // (dangling) symlink, which O_NOFOLLOW makes open(2) refuse.
      real = await this.#paths.noFollow(p);
    }
    const mode = attrs.st_mode !== undefined ? attrs.st_mode & 0o7777 : this.#fileMode;
    const fh = await fsp.open(real, flags | fsc.O_NOFOLLOW, mode);
    let st: Stats;
    try {
      await this.#paths.checkDescriptor(fh.fd, p);
      st = await fh.stat();
      if (st.isDirectory()) throw new SFTPError('is a directory', FX.FAILURE, p);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new LocalFileHandle(fh, real, writing, this.#readOnly, this.#inlineReads && st.isFile());
  }

  /** Every entry, lstat'd (symlinks listed as links); entries removed while listing are left out. */
  async listFolder(p: string): Promise<SFTPAttributes[]> {
    const real = await this.#paths.follow(p);
    const names = await fsp.readdir(real);
    const out: SFTPAttributes[] = [];
    for (let i = 0; i < names.length; i += LIST_BATCH) {
      const batch = await Promise.all(
        names.slice(i, i + LIST_BATCH).map(async (name) => {
          try {
            return attrsOf(await fsp.lstat(path.join(real, name)), name);
          } catch {
            return null; // removed while listing
          }
        }),
      );
      for (const a of batch) if (a) out.push(a);
    }
    return out;
  }

  /** Follows symlinks while they stay inside the root; one leading out is PERMISSION_DENIED. */
  async stat(p: string): Promise<SFTPAttributes> {
    // The real path has no symlinks left; lstat keeps a swap-in from being followed.
    return attrsOf(await fsp.lstat(await this.#paths.follow(p)));
  }

  /** The path itself, not a final symlink's target (its parent resolved inside the root). */
  async lstat(p: string): Promise<SFTPAttributes> {
    return attrsOf(await fsp.lstat(await this.#paths.noFollow(p)));
  }

  /** unlink(2). Refused (PERMISSION_DENIED) for the root and under `readOnly`. */
  async remove(p: string): Promise<void> {
    this.#checkWritable();
    const target = await this.#paths.noFollow(p);
    if (target === this.#paths.root) throw new SFTPError('Permission denied', FX.PERMISSION_DENIED, p);
    await fsp.unlink(target);
  }

  /**
   * Refuses (FAILURE) when `to` exists, as SFTP v3 requires. Node has no
   * renameat2(RENAME_NOREPLACE), so:
   * - a regular file is linked to `to` with link(2), which fails atomically
   *   if `to` exists, and `from` is then unlinked: no existing `to` is ever
   *   replaced. Between the two steps both names exist for a moment, and a
   *   `from` replaced by someone else in that moment would be the one
   *   unlinked. Where link(2) is not possible (no hard links on the file
   *   system, protected_hardlinks, too many links) it falls back to:
   * - anything else (a directory, a symlink, which link(2) follows on some
   *   systems) is checked, then rename(2)d. This is racy: a `to` created
   *   between the two steps is replaced if rename(2) may replace it (a
   *   non-directory, or an empty directory over a directory).
   */
  async rename(from: string, to: string): Promise<void> {
    this.#checkWritable();
    const a = await this.#paths.noFollow(from);
    const b = await this.#paths.noFollow(to);
    if (a === this.#paths.root || b === this.#paths.root) throw new SFTPError('Permission denied', FX.PERMISSION_DENIED, from);
    const targetExists = (): SFTPError => new SFTPError('Failure: target exists', FX.FAILURE, to);
    if ((await fsp.lstat(a)).isFile()) {
      let linked = false;
      try {
        await fsp.link(a, b);
        linked = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw targetExists();
        if (!LINK_FALLBACK.has(code ?? '')) throw err;
      }
      if (linked) {
        try {
          await fsp.unlink(a);
        } catch (err) {
          await fsp.unlink(b).catch(() => undefined); // undo: `from` stays as it was
          throw err;
        }
        return;
      }
    }
    const exists = await fsp.lstat(b).then(
      () => true,
      () => false,
    );
    if (exists) throw targetExists();
    await fsp.rename(a, b);
  }

  /** rename(2): replaces `to`. Refused for the root and under `readOnly`. */
  async posixRename(from: string, to: string): Promise<void> {
    this.#checkWritable();
    const a = await this.#paths.noFollow(from);
    const b = await this.#paths.noFollow(to);
    if (a === this.#paths.root || b === this.#paths.root) throw new SFTPError('Permission denied', FX.PERMISSION_DENIED, from);
    await fsp.rename(a, b);
  }

  /** mkdir(2) with the client's permissions, default 0o777 (umask applies). */
  async mkdir(p: string, attrs: SFTPAttributes): Promise<void> {
    this.#checkWritable();
    const target = await this.#paths.noFollow(p);
    await fsp.mkdir(target, { mode: attrs.st_mode !== undefined ? attrs.st_mode & 0o7777 : 0o777 });
  }

  /** rmdir(2). Refused for the root and under `readOnly`. */
  async rmdir(p: string): Promise<void> {
    this.#checkWritable();
    const target = await this.#paths.noFollow(p);
    if (target === this.#paths.root) throw new SFTPError('Permission denied', FX.PERMISSION_DENIED, p);
    await fsp.rmdir(target);
  }

  /**
   * Applies size, owner (only when both ids are given), permissions and times
   * to the real path. Refused under `readOnly`.
   */
  async chattr(p: string, attrs: SFTPAttributes): Promise<void> {
    this.#checkWritable();
    const real = await this.#paths.follow(p);
    await applyAttrs(attrs, {
      truncate: async (n) => {
        const fh = await fsp.open(real, fsc.O_WRONLY | fsc.O_NOFOLLOW);
        try {
          await this.#paths.checkDescriptor(fh.fd, p);
          await fh.truncate(n);
        } finally {
          await fh.close();
        }
      },
      chown: (u, g) => fsp.lchown(real, u, g),
      chmod: (m) => fsp.chmod(real, m),
      utimes: (a, m) => fsp.lutimes(real, a, m),
    });
  }

  /** On a symlink only owner and times change (Linux has no lchmod); otherwise as `chattr`. */
  async lchattr(p: string, attrs: SFTPAttributes): Promise<void> {
    this.#checkWritable();
    const target = await this.#paths.noFollow(p);
    const st = await fsp.lstat(target);
    if (!st.isSymbolicLink()) return this.chattr(p, attrs);
    // Linux cannot change a symlink's mode or size; owner and times it can.
    if (attrs.st_uid !== undefined && attrs.st_gid !== undefined) await fsp.lchown(target, attrs.st_uid, attrs.st_gid);
    if (attrs.st_atime !== undefined || attrs.st_mtime !== undefined) {
      const m = attrs.st_mtime ?? attrs.st_atime!;
      await fsp.lutimes(target, attrs.st_atime ?? m, m);
    }
  }

  /**
   * The client path normalized, with symlinks resolved as `stat` follows
   * them (never out of the root). Never fails: a missing path, or one whose
   * links lead out, comes back normalized.
   */
  async canonicalize(p: string): Promise<string> {
    const v = normalizeClientPath(p);
    try {
      return this.#paths.toClient(await this.#paths.follow(v));
    } catch {
      return v;
    }
  }

  /**
   * The link's target as the client should see it. The root is a jail kept
   * by this class, not a kernel chroot (where OpenSSH's internal-sftp can
   * return the raw link text), so stored host paths are translated:
   * - an absolute target inside the root (lexically, after normalization;
   *   the root spelled as its real path or as given to the constructor)
   *   comes back as the client path, relative to the root ("/srv/root/a/b"
   *   → "/a/b"), as `symlink` stores a client's absolute target;
   * - a relative target comes back as stored;
   * - an absolute target outside the root comes back as stored. It names a
   *   host path, but nothing reaches that file: following the link (stat,
   *   open, listing, setstat) is PERMISSION_DENIED, realpath of the link
   *   gives the link's own path, and the text used as a client path names
   *   something under the root.
   */
  async readlink(p: string): Promise<string> {
    const target = await fsp.readlink(await this.#paths.noFollow(p));
    if (path.isAbsolute(target)) {
      const n = path.normalize(target);
      // Under the real root, or under the root as configured when that path
      // has symlinks in it (a host link may use either spelling).
      for (const r of [this.#paths, this.#givenRoot]) if (r.inside(n)) return r.toClient(n);
    }
    return target;
  }

  /**
   * Creates `link` pointing at `target`: an absolute target is stored as that
   * client path under the root, a relative one as written.
   */
  async symlink(target: string, link: string): Promise<void> {
    this.#checkWritable();
    const where = await this.#paths.noFollow(link);
    // An absolute target means a client path: store it under the root. A
    // relative one is kept as written; if it climbs out, following it is refused.
    const stored = target.startsWith('/') ? this.#paths.lexical(target) : target;
    await fsp.symlink(stored, where);
  }

  /** link(2): `to` becomes another name of `from`, a symlink `from` being followed (inside the root). */
  async hardlink(from: string, to: string): Promise<void> {
    this.#checkWritable();
    const a = await this.#paths.follow(from);
    const b = await this.#paths.noFollow(to);
    await fsp.link(a, b);
  }

  /**
   * statfs(2) of the file system holding `p`. `flag` is ST_RDONLY (0x1) under
   * `readOnly` or on a read-only mount, plus ST_NOSUID (0x2) on a nosuid
   * mount (mount flags known on Linux only); `fsid` is 0, `namemax` 255.
   */
  async statvfs(p: string): Promise<SFTPStatVFSInfo> {
    return statvfsOf(await this.#paths.follow(p), this.#readOnly);
  }

  /** Always "/": the root is every user's home. */
  homeDirectory(): string {
    return '/';
  }

  /** Names from the host's /etc/passwd (read once), '' for ids it lacks. */
  userNames(uids: number[]): string[] {
    const { users } = this.#idNames();
    return uids.map((u) => users.get(u) ?? '');
  }

  /** Names from the host's /etc/group (read once), '' for ids it lacks. */
  groupNames(gids: number[]): string[] {
    const { groups } = this.#idNames();
    return gids.map((g) => groups.get(g) ?? '');
  }

  #idNames(): { users: Map<number, string>; groups: Map<number, string> } {
    if (!this.#names) {
      const parse = (file: string): Map<number, string> => {
        const m = new Map<number, string>();
        try {
          for (const line of readFileSync(file, 'utf8').split('\n')) {
            const f = line.split(':');
            if (f.length >= 3 && /^\d+$/.test(f[2]!)) m.set(Number(f[2]), f[0]!);
          }
        } catch {
          // No passwd/group database: names stay unknown.
        }
        return m;
      };
      this.#names = { users: parse('/etc/passwd'), groups: parse('/etc/group') };
    }
    return this.#names;
  }
}
