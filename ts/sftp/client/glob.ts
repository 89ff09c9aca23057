/**
 * Remote glob, shell style: `*`, `?`, `[abc]`, `[!a-z]` within one path
 * segment, and `**` for any number of directories. Dotfiles match only a
 * pattern segment that starts with '.', as in the shell. Unreadable
 * directories are skipped, as glob(3) does. Results keep the pattern's form
 * (relative stays relative) and come back sorted.
 */
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import type { SFTPClient, CallOptions } from './client.js';
import type { SFTPAttributes } from '../attributes.js';

const MAGIC = /[*?[]/;

/** One path segment's pattern as an anchored RegExp. */
export function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      // A "]" first in the set (after any "!" or "^") is a member, not its end.
      const neg = seg[i + 1] === '!' || seg[i + 1] === '^';
      const first = neg ? i + 2 : i + 1;
      const close = seg.indexOf(']', first + 1);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      const body = seg.slice(first, close);
      re += bracketClass(body.replace(/[\\\]]/g, '\\$&'), neg);
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su');
}

/** A bracket expression as a RegExp class; one with a range out of order (`[z-a]`) matches nothing, as in fnmatch(3). */
function bracketClass(body: string, negate: boolean): string {
  const cls = `[${negate ? '^' : ''}${body}]`;
  try {
    new RegExp(cls, 'u');
    return cls;
  } catch {
    return '(?!)';
  }
}

function join(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

export async function globRemote(client: SFTPClient, pattern: string, opts?: CallOptions): Promise<string[]> {
  if (pattern === '') return [];
  const absolute = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s) => s !== '');
  const out = new Set<string>();
  const listCache = new Map<string, SFTPAttributes[] | null>();

  const list = async (base: string): Promise<SFTPAttributes[] | null> => {
    if (listCache.has(base)) return listCache.get(base)!;
    let entries: SFTPAttributes[] | null;
    try {
      entries = await client.listdirAttr(base === '' ? '.' : base, opts);
    } catch (err) {
      if (opts?.signal?.aborted) throw err;
      if (!(err instanceof SFTPError)) throw err;
      entries = null;
    }
    listCache.set(base, entries);
    return entries;
  };

  const exists = async (p: string): Promise<boolean> => {
    try {
      await client.lstat(p === '' ? '.' : p, opts);
      return true;
    } catch (err) {
      if (err instanceof SFTPError && err.status !== FX.BAD_MESSAGE && !opts?.signal?.aborted) return false;
      throw err;
    }
  };

  const walk = async (base: string, i: number): Promise<void> => {
    if (i === segs.length) {
      if (await exists(base)) out.add(base);
      return;
    }
    const seg = segs[i]!;
    if (seg === '**') {
      await walk(base, i + 1);
      const entries = await list(base);
      for (const e of entries ?? []) {
        // Symlinked directories are not descended into: no loops.
        if (e.isDirectory() && !e.filename.startsWith('.')) await walk(join(base, e.filename), i);
      }
      return;
    }
    if (!MAGIC.test(seg)) return walk(join(base, seg), i + 1);
    const re = segmentRegExp(seg);
    const entries = await list(base);
    for (const e of entries ?? []) {
      if (e.filename.startsWith('.') && !seg.startsWith('.')) continue;
      if (!re.test(e.filename)) continue;
      const p = join(base, e.filename);
      if (i + 1 === segs.length) out.add(p);
      else if (e.isDirectory() || e.isSymbolicLink()) await walk(p, i + 1);
    }
  };

  await walk(absolute ? '/' : '', 0);
  return [...out].sort();
}
