/**
 * A small glob(7) for `Include` paths (Node 20 has no fs.glob): `*`, `?` and
 * `[...]` classes within one path segment, no `**`. Like glob(3), a leading
 * `.` in a name only matches a pattern that starts with `.`, only existing
 * paths are returned, and results are sorted.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = /[*?[]/;

/** Convert one glob segment to an anchored RegExp. */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < segment.length) re += escapeRe(segment[++i]!);
    else if (c === '[') {
      const close = findClassEnd(segment, i);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      // Inside a class only `\`, `]` and `^` are special to RegExp; `-` keeps its range meaning.
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => '\\' + m)}]`;
      i = close;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

/** Index of the `]` closing a class opened at `open`, or -1 if there is none. */
function findClassEnd(segment: string, open: number): number {
  let j = open + 1;
  if (segment[j] === '!' || segment[j] === '^') j++;
  if (segment[j] === ']') j++; // a leading ']' is literal
  for (; j < segment.length; j++) if (segment[j] === ']') return j;
  return -1;
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Expand an absolute glob pattern to the sorted list of existing paths it
 * names (empty when nothing matches, as GLOB_NOMATCH).
 */
export function expandGlob(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return exists(pattern) ? [pattern] : [];
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  let current = [absolute ? '/' : '.'];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of current) {
      if (!MAGIC.test(segment)) {
        next.push(join(base, segment.replace(/\\(.)/g, '$1')));
        continue;
      }
      if (!isDirectory(base)) continue;
      const re = segmentRegExp(segment);
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    current = last ? next : next.filter(isDirectory);
  });
  return current.filter(exists).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
