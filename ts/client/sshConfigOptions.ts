/**
 * Applying ssh_config(5) to connect options: the keywords the client honours
 * (HostName, Port, User, IdentityFile, ProxyCommand, UserKnownHostsFile,
 * ServerAliveInterval/CountMax, Ciphers, KexAlgorithms, MACs,
 * HostKeyAlgorithms, PubkeyAcceptedAlgorithms), each only where the caller
 * did not say otherwise.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from '../auth/index.js';
import { SSHConfig, type SSHConfigDict } from '../config/index.js';
import { ConfigParseError } from '../errors.js';
import { checkDuration, DEFAULT_CIPHER, DEFAULT_HOST_KEY, DEFAULT_KEX, DEFAULT_MAC } from '../transport/index.js';

/** The default per-user config file, when it exists. */
export function defaultConfigPath(home = homedir()): string | null {
  const p = join(home, '.ssh', 'config');
  return existsSync(p) ? p : null;
}

/** Looks `host` up in the config at `path` (`false` or a missing default: nothing). */
export async function lookupConfig(path: string | false | undefined, host: string, given: { user?: string; port?: number }): Promise<SSHConfigDict | null> {
  if (path === false) return null;
  const file = path ?? defaultConfigPath();
  if (!file) return null;
  const cfg = SSHConfig.fromPath(file);
  return cfg.lookup(host, {
    ...(given.user !== undefined ? { user: given.user } : {}),
    ...(given.port !== undefined ? { port: given.port } : {}),
  });
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * An algorithm list as ssh_config writes it: `a,b` replaces the defaults,
 * `+a,b` appends, `-a*,b` removes (wildcards allowed), `^a,b` puts first.
 */
export function applyAlgorithmSpec(spec: string, defaults: readonly string[], keyword: string): string[] {
  const s = spec.trim();
  const op = s[0];
  const names = (op === '+' || op === '-' || op === '^' ? s.slice(1) : s)
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0) throw new ConfigParseError(`${keyword}: empty algorithm list`);
  switch (op) {
    case '+':
      return [...defaults, ...names.filter((n) => !defaults.includes(n))];
    case '-': {
      const res = names.map(globToRegExp);
      return defaults.filter((d) => !res.some((r) => r.test(d)));
    }
    case '^':
      return [...names, ...defaults.filter((d) => !names.includes(d))];
    default:
      return names;
  }
}

/** Algorithm lists from the config, for categories the caller left unset. */
export function configAlgorithms(cfg: SSHConfigDict): { kex?: string[]; cipher?: string[]; mac?: string[]; serverHostKey?: string[]; publicKey?: string[] } {
  const out: { kex?: string[]; cipher?: string[]; mac?: string[]; serverHostKey?: string[]; publicKey?: string[] } = {};
  const v = (k: string): string | undefined => cfg.get(k);
  if (v('kexalgorithms')) out.kex = applyAlgorithmSpec(v('kexalgorithms')!, DEFAULT_KEX, 'KexAlgorithms');
  if (v('ciphers')) out.cipher = applyAlgorithmSpec(v('ciphers')!, DEFAULT_CIPHER, 'Ciphers');
  if (v('macs')) out.mac = applyAlgorithmSpec(v('macs')!, DEFAULT_MAC, 'MACs');
  if (v('hostkeyalgorithms')) out.serverHostKey = applyAlgorithmSpec(v('hostkeyalgorithms')!, DEFAULT_HOST_KEY, 'HostKeyAlgorithms');
  const pk = v('pubkeyacceptedalgorithms') ?? v('pubkeyacceptedkeytypes');
  if (pk) out.publicKey = applyAlgorithmSpec(pk, DEFAULT_PUBLICKEY_ALGORITHMS, 'PubkeyAcceptedAlgorithms');
  return out;
}

/** UserKnownHostsFile paths (tokens already expanded by the lookup), `none` removed; null when not configured. */
export function configKnownHosts(cfg: SSHConfigDict): string[] | null {
  if (!cfg.has('userknownhostsfile')) return null;
  return cfg.getAll('userknownhostsfile').filter((p) => p.toLowerCase() !== 'none');
}

/**
 * ServerAliveInterval in milliseconds, and ServerAliveCountMax. An interval
 * longer than a timer holds (2147483 seconds) is a ConfigParseError.
 */
export function configKeepalive(cfg: SSHConfigDict): { interval?: number; countMax?: number } {
  const out: { interval?: number; countMax?: number } = {};
  const i = cfg.asInt('serveraliveinterval');
  if (i !== undefined && i > 0) out.interval = checkDuration('ServerAliveInterval', i, { unitMs: 1000, zero: 'no keepalive', error: (m) => new ConfigParseError(m) }) * 1000;
  const c = cfg.asInt('serveralivecountmax');
  if (c !== undefined && c > 0) out.countMax = c;
  return out;
}
