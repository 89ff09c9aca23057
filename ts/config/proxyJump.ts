/**
 * ProxyJump values: `none`, or a comma-separated list of `[user@]host[:port]`
 * or `ssh://[user@]host[:port]` hops, visited in order.
 */
import { ConfigParseError } from '../errors.js';

/** One jump host. */
export interface ProxyJumpHop {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

function parsePort(text: string, hop: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new ConfigParseError(`ProxyJump: bad port "${text}" in "${hop}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ConfigParseError(`ProxyJump: port ${port} out of range in "${hop}"`);
  return port;
}

function decodeUser(user: string, hop: string): string {
  try {
    return decodeURIComponent(user);
  } catch {
    throw new ConfigParseError(`ProxyJump: bad %-escape in user of "${hop}"`);
  }
}

/** Split `host[:port]`, accepting `[v6addr]:port` and a bare IPv6 address. */
function splitHostPort(text: string, hop: string): { host: string; port?: number } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new ConfigParseError(`ProxyJump: unterminated "[" in "${hop}"`);
    const host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after === '') return { host };
    if (!after.startsWith(':')) throw new ConfigParseError(`ProxyJump: junk after "]" in "${hop}"`);
    return { host, port: parsePort(after.slice(1), hop) };
  }
  const firstColon = text.indexOf(':');
  // More than one colon without brackets can only be an IPv6 address with no port.
  if (firstColon < 0 || text.indexOf(':', firstColon + 1) >= 0) return { host: text };
  return { host: text.slice(0, firstColon), port: parsePort(text.slice(firstColon + 1), hop) };
}

function parseHop(raw: string): ProxyJumpHop {
  const hop = raw.trim();
  if (hop === '') throw new ConfigParseError('ProxyJump: empty hop in list');
  let rest = hop;
  let uri = false;
  if (/^ssh:\/\//i.test(rest)) {
    uri = true;
    rest = rest.slice(6);
    if (rest.includes('/') || rest.includes('?')) throw new ConfigParseError(`ProxyJump: ssh URI may not have a path: "${hop}"`);
  }
  let user: string | undefined;
  // The user part ends at the last '@' (user names may themselves contain '@').
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (uri) user = decodeUser(user, hop);
    if (user === '') throw new ConfigParseError(`ProxyJump: empty user in "${hop}"`);
  }
  const { host, port } = splitHostPort(rest, hop);
  if (host === '') throw new ConfigParseError(`ProxyJump: missing host in "${hop}"`);
  if (/[\s,]/.test(host)) throw new ConfigParseError(`ProxyJump: bad host in "${hop}"`);
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/**
 * Parse a ProxyJump value into its hops. `none` (any case) gives an empty list.
 * Throws `ConfigParseError` for an empty hop, missing host or bad port.
 */
export function parseProxyJump(value: string): ProxyJumpHop[] {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map(parseHop);
}
