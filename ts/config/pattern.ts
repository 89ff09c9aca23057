/**
 * OpenSSH wildcard patterns (ssh_config(5) PATTERNS): `*` matches any run of
 * characters, `?` exactly one; everything else literally.
 */

/**
 * Match `text` against one wildcard pattern (case-sensitive). Uses the
 * classic greedy-star-with-backtrack walk, so time is O(len(text) * len(pattern))
 * at worst and there is no recursion to blow the stack on hostile input.
 */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Match against a comma-separated pattern-list where entries may be negated
 * with `!`. A matching negated entry makes the whole list fail; otherwise the
 * list matches if any positive entry does (so a list of only negations never
 * matches), as OpenSSH's match_pattern_list().
 *
 * @param lowercasePatterns lowercase each pattern first (hostname matching).
 */
export function matchPatternList(text: string, list: string, lowercasePatterns = false): boolean {
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    let pattern = negated ? raw.slice(1) : raw;
    if (lowercasePatterns) pattern = pattern.toLowerCase();
    if (matchPattern(text, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

/**
 * Evaluate a `Host` line's patterns (whitespace-separated words; commas are
 * literal characters here, as in OpenSSH). A matching `!pattern` vetoes the
 * line; otherwise any matching plain pattern selects it.
 */
export function matchHostPatterns(host: string, patterns: readonly string[]): boolean {
  let active = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (matchPattern(host, pattern)) {
      if (negated) return false;
      active = true;
    }
  }
  return active;
}
