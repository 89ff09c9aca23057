/**
 * Mapping client paths to host paths inside one root directory, so that
 * nothing a client names (`..`, absolute paths, symlinks it or anyone else
 * created) reaches outside the root, and no answer tells anything about a
 * host path outside it.
 *
 * Client paths are normalized lexically first (`..` cannot climb above "/").
 * `follow` resolves the whole path (stat, open, listing), `noFollow` resolves
 * the parent only and keeps the last component as it is (lstat, remove,
 * rename, readlink, creating links), which is what those operations act on.
 *
 * Resolution is host-like (as openat2's RESOLVE_BENEATH, not a chroot): an
 * absolute link target is a host path (or under an alias of the root, the
 * root as configured), a relative one and its `..` count from the link's
 * directory's real path. Fast path: fs.realpath, used only when it returns
 * the path asked itself (no symlink met, so nothing outside looked at).
 * Otherwise (a symlink, or any failure) a walk from the root decides: it
 * lstat's one component at a time, each known to be inside the root (or
 * skips a stretch inside by realpath, again only when that meets no
 * symlink), follows at most 40 links (ELOOP beyond) and refuses with
 * PERMISSION_DENIED the moment the path would leave the root, before
 * touching anything there. So a link leading out is refused alike whether
 * its target exists, is missing, a file, a loop or a dangling link, and an
 * error (ENOENT, ENOTDIR, ELOOP) always comes from inside. The root's own
 * ancestors (known real directories) may be passed through ("../root/a"),
 * nothing else outside.
 */
import { constants as osc } from 'node:os';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';

/** Symlinks one resolution follows before ELOOP, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** Lexical normalization of a client path to an absolute one: "a/../../b" → "/b". */
export function normalizeClientPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

function denied(clientPath: string): SFTPError {
  return new SFTPError('Permission denied: path leaves the served directory', FX.PERMISSION_DENIED, clientPath);
}

const ERRNO_TEXT = { ELOOP: 'too many symbolic links encountered', ENOTDIR: 'not a directory', ENOENT: 'no such file or directory' };

/** An error shaped as the one fs.realpath gives for `hostPath` (inside the root). */
function realpathError(code: keyof typeof ERRNO_TEXT, hostPath: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${ERRNO_TEXT[code]}, realpath '${hostPath}'`);
  err.code = code;
  err.errno = -osc.errno[code];
  err.syscall = 'realpath';
  err.path = hostPath;
  return err;
}

/**
 * fs.realpath's answer, null when it fails. Callers use it only when it
 * equals the path asked (no symlink met: nothing outside looked at).
 */
function realpathOrNull(p: string): Promise<string | null> {
  return fsp.realpath(p).catch(() => null);
}

/** A link target's components, in walking order; a trailing "/" is a "." (the result must be a directory). */
function targetParts(target: string): string[] {
  const parts = target.split('/').filter((s) => s !== '');
  if (target.endsWith('/') && parts.length > 0) parts.push('.');
  return parts;
}

/**
 * Client paths of one served directory, mapped to host paths that never
 * leave it (see the module comment for how symlinks are resolved).
 */
export class RootedPaths {
  /** The root's real path (no symlinks, no trailing slash unless "/"). */
  readonly root: string;
  /** Other absolute spellings of the root (as configured, through host symlinks); link targets starting with one are under the root. */
  readonly #aliases: readonly string[];

  /**
   * @param realRoot the root's real path (fs.realpath of it).
   * @param aliases other absolute, normalized paths known to resolve to the
   *   root (the root as configured): a link target under one is taken as
   *   under the root, without looking at the symlinks outside that make it so.
   */
  constructor(realRoot: string, aliases: readonly string[] = []) {
    this.root = realRoot;
    this.#aliases = aliases.filter((a) => a !== realRoot && a !== '/' && path.isAbsolute(a));
  }

  /** Whether a real host path lies inside the root. */
  inside(real: string): boolean {
    if (this.root === '/') return true;
    return real === this.root || real.startsWith(this.root + '/');
  }

  /** The host path of a client path, before any symlink is resolved. */
  lexical(clientPath: string): string {
    const v = normalizeClientPath(clientPath);
    return v === '/' ? this.root : path.join(this.root, v);
  }

  /** The client path of a real host path inside the root. */
  toClient(real: string): string {
    if (this.root === '/') return real;
    const rel = real.slice(this.root.length);
    return rel === '' ? '/' : rel;
  }

  /** The real path of `clientPath`, every symlink followed; refused if it leaves the root. */
  follow(clientPath: string): Promise<string> {
    return this.#resolve(normalizeClientPath(clientPath), clientPath);
  }

  /**
   * The host path of `clientPath` with its parent resolved and checked and
   * the last component left alone. The root itself maps to the root.
   */
  async noFollow(clientPath: string): Promise<string> {
    const v = normalizeClientPath(clientPath);
    if (v === '/') return this.root;
    const parent = await this.#resolve(path.posix.dirname(v), clientPath);
    return path.join(parent, path.posix.basename(v));
  }

  /**
   * After opening: the file the descriptor really refers to must be inside
   * the root. This closes the gap between resolving the path and open(2)
   * (a directory swapped for a symlink meanwhile). Linux only; elsewhere the
   * check before opening and O_NOFOLLOW are what protect.
   */
  async checkDescriptor(fd: number, clientPath: string): Promise<void> {
    let real: string;
    try {
      real = await fsp.readlink(`/proc/self/fd/${fd}`);
    } catch {
      return;
    }
    if (!this.inside(real)) throw denied(clientPath);
  }

  /** The real path of the normalized client path `v`: realpath when it met no symlink, else the walk. */
  async #resolve(v: string, clientPath: string): Promise<string> {
    const lex = this.lexical(v);
    const real = await realpathOrNull(lex);
    if (real === lex) return lex;
    // Whatever realpath met (a link, a failure) may lie outside: the walk
    // decides. Where realpath succeeded, the components it kept as they
    // were are real directories: the walk starts after them.
    const names = v.split('/').filter((s) => s !== '');
    let kept = 0;
    if (real !== null && this.inside(real)) {
      const got = this.toClient(real).split('/').slice(1);
      while (kept < names.length - 1 && got[kept] === names[kept]) kept++;
    }
    return this.#walk(path.join(this.root, ...names.slice(0, kept)), names.slice(kept), lex, clientPath, real === null);
  }

  /** Whether `p` is a proper ancestor of the root: a known real directory on the way to it. */
  #aboveRoot(p: string): boolean {
    return p === '/' ? this.root !== '/' : this.root.startsWith(p + '/');
  }

  /**
   * Resolves `parts` from `start` (a real directory inside the root), one
   * component at a time; lstat and readlink only ever see paths inside the
   * root. `tryParent`: first try to skip to the parent of the last part.
   * `lex` names the path in errors made here.
   */
  async #walk(start: string, parts: string[], lex: string, clientPath: string, tryParent: boolean): Promise<string> {
    let cur = start; // a real path: inside the root, or above it (passing through)
    let curIsDir = true;
    let links = 0;
    const todo = parts.reverse(); // the next component last
    // Where the rest is plain names from inside: skip ahead by realpath when
    // it meets no link (the parent of the rest first; the whole rest too
    // after a link, as `#resolve` tried it already).
    let skip: 'parent' | 'whole' | null = tryParent ? 'parent' : null;
    while (todo.length > 0) {
      if (skip !== null && this.inside(cur)) {
        const full = todo.every((n) => n !== '.' && n !== '..') ? path.join(cur, ...todo.slice().reverse()) : null;
        if (full !== null && skip === 'whole' && (await realpathOrNull(full)) === full) return full;
        if (full !== null && todo.length > 1 && (await realpathOrNull(path.dirname(full))) === path.dirname(full)) {
          cur = path.dirname(full);
          todo.splice(1); // the last name only
        }
        skip = null;
      }
      const name = todo.pop()!;
      if (!curIsDir) throw realpathError('ENOTDIR', lex);
      if (name === '.') continue;
      if (name === '..') {
        cur = path.dirname(cur); // cur is real, so this is its parent
        continue;
      }
      const next = path.join(cur, name);
      if (!this.inside(cur)) {
        // Above the root: only the way back down to it is known.
        if (next !== this.root && !this.#aboveRoot(next)) throw denied(clientPath);
        cur = next;
        continue;
      }
      const st = await fsp.lstat(next);
      if (!st.isSymbolicLink()) {
        cur = next;
        curIsDir = st.isDirectory();
        continue;
      }
      if (++links > MAX_LINKS) throw realpathError('ELOOP', lex);
      const target = await fsp.readlink(next);
      if (target === '') throw realpathError('ENOENT', lex);
      let rest = target;
      if (target.startsWith('/')) {
        const alias = this.#aliases.find((a) => target === a || target.startsWith(a + '/'));
        cur = alias === undefined ? '/' : this.root;
        if (alias !== undefined) rest = target.slice(alias.length);
      }
      todo.push(...targetParts(rest).reverse());
      skip = 'whole';
    }
    if (!this.inside(cur)) throw denied(clientPath);
    return cur;
  }
}
