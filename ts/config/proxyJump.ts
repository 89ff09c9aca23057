/**
 * ProxyJump values: `none`, or a comma-separated list of `[user@]host[:port]`
 * or `ssh://[user@]host[:port]` hops, visited in order. The spec parser is
 * shared with bulk execution's targets (ts/client/bulk.ts).
 */
import { ConfigParseError } from '../errors.js';

/** One jump host. */
export interface ProxyJumpHop {
  /** User name, when the hop has `user@` (%-decoded in the `ssh://` form). */
  readonly user?: string;
  /** Host name or address (IPv6 without brackets). */
  readonly host: string;
  /** Port (1-65535), when the hop gives one. */
  readonly port?: number;
}

/** Makes the error for a bad spec; the message names the problem and the spec. */
export type SpecError = (message: string) => Error;

function parsePort(text: string, hop: string, fail: SpecError): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw fail(`bad port "${text}" in "${hop}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw fail(`port ${port} out of range in "${hop}"`);
  return port;
}

function decodeUser(user: string, hop: string, fail: SpecError): string {
  try {
    return decodeURIComponent(user);
  } catch {
    throw fail(`bad %-escape in user of "${hop}"`);
  }
}

/** Split `host[:port]`, accepting `[v6addr]:port` and a bare IPv6 address. */
function splitHostPort(text: string, hop: string, fail: SpecError): { host: string; port?: number } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw fail(`unterminated "[" in "${hop}"`);
    const host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after === '') return { host };
    if (!after.startsWith(':')) throw fail(`junk after "]" in "${hop}"`);
    return { host, port: parsePort(after.slice(1), hop, fail) };
  }
  const firstColon = text.indexOf(':');
  // More than one colon without brackets can only be an IPv6 address with no port.
  if (firstColon < 0 || text.indexOf(':', firstColon + 1) >= 0) return { host: text };
  return { host: text.slice(0, firstColon), port: parsePort(text.slice(firstColon + 1), hop, fail) };
}

/**
 * One `[user@]host[:port]` or `ssh://[user@]host[:port]` spec (IPv6 in
 * brackets when a port follows), as ProxyJump hops and bulk-execution
 * targets are written. Throws `fail(...)` for an empty spec or user, a
 * missing host or a bad port.
 */
export function parseHostSpec(raw: string, fail: SpecError): ProxyJumpHop {
  const hop = raw.trim();
  if (hop === '') throw fail('empty host');
  let rest = hop;
  let uri = false;
  if (/^ssh:\/\//i.test(rest)) {
    uri = true;
    rest = rest.slice(6);
    if (rest.includes('/') || rest.includes('?')) throw fail(`ssh URI may not have a path: "${hop}"`);
  }
  let user: string | undefined;
  // The user part ends at the last '@' (user names may themselves contain '@').
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (uri) user = decodeUser(user, hop, fail);
    if (user === '') throw fail(`empty user in "${hop}"`);
  }
  const { host, port } = splitHostPort(rest, hop, fail);
  if (host === '') throw fail(`missing host in "${hop}"`);
  if (/[\s,]/.test(host)) throw fail(`bad host in "${hop}"`);
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

const proxyJumpError: SpecError = (message) => new ConfigParseError(`ProxyJump: ${message}`);

/**
 * Parse a ProxyJump value into its hops. `none` (any case) gives an empty list.
 * Throws `ConfigParseError` for an empty hop, missing host or bad port.
 */
export function parseProxyJump(value: string): ProxyJumpHop[] {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map((hop) => {
    if (hop.trim() === '') throw proxyJumpError('empty hop in list');
    return parseHostSpec(hop, proxyJumpError);
  });
}
