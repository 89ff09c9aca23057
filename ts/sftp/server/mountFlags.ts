/**
 * The statvfs(2) `f_flag` bits of the mount holding a path, which Node's
 * fs.statfs does not report: read from /proc/self/mountinfo (Linux). Where
 * that file is missing or unreadable the flags are unknown and reported as 0.
 */
import { promises as fsp } from 'node:fs';

/** statvfs(2) flags, as statvfs@openssh.com carries them. */
export const ST_RDONLY = 0x1;
export const ST_NOSUID = 0x2;

/** A mountinfo field with its octal escapes (`\040` for a space, ...) undone. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Whether `real` is the mount point `mnt` or lies under it. */
function under(real: string, mnt: string): boolean {
  return mnt === '/' || real === mnt || real.startsWith(mnt + '/');
}

/**
 * ST_RDONLY and ST_NOSUID of the mount holding the real (symlink-free)
 * path `real`, from the text of /proc/self/mountinfo: the entry with the
 * longest mount point containing `real`, the last one listed when several
 * are stacked on the same point (the one on top). Read-only is either the
 * mount's or its superblock's `ro`. 0 when no entry matches.
 */
export function mountFlagsFromMountinfo(mountinfo: string, real: string): number {
  let best: { mnt: string; flags: number } | null = null;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point mount-options [optional...] - fstype source super-options
    const f = line.split(' ');
    if (f.length < 6) continue;
    const mnt = unescape(f[4]!);
    if (!under(real, mnt) || (best && mnt.length < best.mnt.length)) continue;
    const opts = f[5]!.split(',');
    const sep = f.indexOf('-', 6);
    const superOpts = sep >= 0 && f[sep + 3] !== undefined ? f[sep + 3]!.split(',') : [];
    let flags = 0;
    if (opts.includes('ro') || superOpts.includes('ro')) flags |= ST_RDONLY;
    if (opts.includes('nosuid')) flags |= ST_NOSUID;
    best = { mnt, flags };
  }
  return best?.flags ?? 0;
}

/** The flags of the mount holding `real` (see mountFlagsFromMountinfo); 0 if unknown. */
export async function mountFlags(real: string): Promise<number> {
  let text: string;
  try {
    text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return 0;
  }
  return mountFlagsFromMountinfo(text, real);
}
