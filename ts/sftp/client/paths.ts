/**
 * Remote path helpers. SFTP paths are always '/'-separated, whatever the
 * local OS, so node:path's posix flavour is what we want.
 */
import { posix } from 'node:path';

/** Resolves `path` against a client-side cwd, as Paramiko's `_adjust_cwd`. */
export function adjustPath(cwd: string | null, path: string): string {
  if (cwd === null || path.startsWith('/')) return path;
  if (path === '' || path === '.') return cwd;
  return cwd === '/' ? `/${path}` : `${cwd}/${path}`;
}

/**
 * Whether two remote paths name the same entry by spelling alone: equal
 * once `.` segments and repeated or trailing slashes are dropped. `..` is
 * left alone (through a symlinked directory it leads somewhere else).
 */
export function samePathName(a: string, b: string): boolean {
  const canon = (p: string): string => (p.startsWith('/') ? '/' : '') + p.split('/').filter((s) => s !== '' && s !== '.').join('/');
  return canon(a) === canon(b);
}

/** Joins remote path segments. */
export function joinRemote(...parts: string[]): string {
  return posix.join(...parts);
}

/** The last segment of a remote path. */
export function remoteBasename(p: string): string {
  return posix.basename(p);
}

/** Everything but the last segment. */
export function remoteDirname(p: string): string {
  return posix.dirname(p);
}
