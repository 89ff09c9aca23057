/**
 * OpenSSH wildcard patterns (ssh_config(5) PATTERNS): `*` matches any run of
 * characters, `?` exactly one; everything else literally.
 */
import { matchPattern } from '../keys/hostPatterns.js';

/** One wildcard pattern, case-sensitive: the same matcher known_hosts and authorized_keys use. */
export { matchPattern };

/**
 * Match against a comma-separated pattern-list where entries may be negated
 * with `!`. A matching negated entry makes the whole list fail; otherwise the
 * list matches if any positive entry does (so a list of only negations never
 * matches), as OpenSSH's match_pattern_list().
 *
 * @param lowercasePatterns lowercase each pattern first (hostname matching).
 */
export function matchPatternList(text: string, list: string, lowercasePatterns = false): boolean {
  const entries = list.split(',');
  // Lowercasing leaves a leading `!` as it is.
  return matchHostPatterns(text, lowercasePatterns ? entries.map((e) => e.toLowerCase()) : entries);
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
