/**
 * Mapping client paths to host paths inside one root directory, so that
 * nothing a client names (`..`, absolute paths, symlinks it or anyone else
 * created) reaches outside the root.
 *
 * Client paths are normalized lexically first (`..` cannot climb above "/"),
 * then every access checks the *real* path (fs.realpath, symlinks resolved)
 * against the root: `follow` resolves the whole path (stat, open, listing),
 * `noFollow` resolves the parent only and keeps the last component as it is
 * (lstat, remove, rename, readlink, creating links), which is what those
 * operations act on.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';

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

export class RootedPaths {
  /** The root's real path (no symlinks, no trailing slash unless "/"). */
  readonly root: string;

  constructor(realRoot: string) {
    this.root = realRoot;
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
  async follow(clientPath: string): Promise<string> {
    const real = await fsp.realpath(this.lexical(clientPath));
    if (!this.inside(real)) throw denied(clientPath);
    return real;
  }

  /**
   * The host path of `clientPath` with its parent resolved and checked and
   * the last component left alone. The root itself maps to the root.
   */
  async noFollow(clientPath: string): Promise<string> {
    const v = normalizeClientPath(clientPath);
    if (v === '/') return this.root;
    const parent = await fsp.realpath(this.lexical(path.posix.dirname(v)));
    if (!this.inside(parent)) throw denied(clientPath);
    return path.join(parent, path.posix.basename(v));
  }

  /**
   * After opening: the file the descriptor really refers to must be inside
   * the root. This closes the gap between the realpath check and open(2)
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
}
