/**
 * OpenSSH host pattern matching, shared by known_hosts host fields and
 * authorized_keys `from=` options: `*` and `?` wildcards, `!` negation,
 * and (for addresses) CIDR blocks.
 */
import { BlockList, isIP } from 'node:net';

/**
 * Glob match (case-sensitive) with `*` (any run) and `?` (any one
 * character); everything else literally. A `*` in the pattern is always a
 * wildcard, even where the text holds a `*` too, as OpenSSH's match_pattern.
 * Greedy star with backtracking: O(len(s) * len(pattern)) at worst and no
 * recursion, so no pattern can blow the stack. ssh_config matching uses it too.
 */
export function matchPattern(s: string, pattern: string): boolean {
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const pc = pattern[pi];
    if (pc === '*') {
      star = pi++;
      mark = si;
    } else if (pc !== undefined && (pc === '?' || pc === s[si])) {
      si++;
      pi++;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * Match `s` against comma-separated patterns, each optionally negated with
 * `!`. Returns 1 for a positive match, -1 if a negated pattern matched
 * (which wins over everything), 0 for no match. Case-insensitive, as
 * OpenSSH lowercases host names.
 */
export function matchPatternList(s: string, patterns: readonly string[]): 1 | 0 | -1 {
  const subject = s.toLowerCase();
  let result: 1 | 0 = 0;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const p = (negated ? raw.slice(1) : raw).toLowerCase();
    if (p.length === 0) continue;
    if (matchPattern(subject, p)) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

/** Parse `addr/bits` into a one-entry BlockList, or null when it is not a valid CIDR block. */
function cidrBlock(pattern: string): BlockList | null {
  const slash = pattern.indexOf('/');
  const addr = pattern.slice(0, slash);
  const bitsText = pattern.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || !/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > (family === 4 ? 32 : 128)) return null;
  const list = new BlockList();
  list.addSubnet(addr, bits, family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** Strip an IPv4-mapped IPv6 prefix so `::ffff:10.0.0.1` matches IPv4 patterns, as sshd sees such peers. */
export function normalizeAddress(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/**
 * Match an IP address against patterns that may be wildcards or CIDR
 * blocks (OpenSSH's addr_match_list). Returns 1, 0 or -1 like
 * matchPatternList; an invalid CIDR pattern never matches.
 */
export function matchAddressList(ip: string, patterns: readonly string[]): 1 | 0 | -1 {
  const addr = normalizeAddress(ip);
  const family = isIP(addr);
  let result: 1 | 0 = 0;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const p = negated ? raw.slice(1) : raw;
    let hit = false;
    if (p.includes('/')) {
      const block = family === 0 ? null : cidrBlock(p);
      hit = !!block && block.check(addr, family === 4 ? 'ipv4' : 'ipv6');
    } else {
      hit = matchPattern(addr.toLowerCase(), p.toLowerCase());
    }
    if (hit) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

/**
 * OpenSSH's match_host_and_ip: true when the host name or the address
 * matches the list and neither matches a negated entry.
 */
export function matchHostAndAddress(hostname: string | undefined, ip: string | undefined, patterns: readonly string[]): boolean {
  const byHost = hostname !== undefined ? matchPatternList(hostname, patterns.filter((p) => !p.replace(/^!/, '').includes('/'))) : 0;
  const byAddr = ip !== undefined ? matchAddressList(ip, patterns) : 0;
  if (byHost === -1 || byAddr === -1) return false;
  return byHost === 1 || byAddr === 1;
}
