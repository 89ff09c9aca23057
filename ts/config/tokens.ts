/**
 * Runtime token expansion for ssh_config values (ssh_config(5) TOKENS and
 * ENVIRONMENT VARIABLES): `%x` tokens, `~` home references and `${VAR}`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir, hostname as osHostname, userInfo } from 'node:os';

import { LexError } from './lexer.js';

/** Facts about the local side that tokens refer to. */
export interface LocalInfo {
  /** Local user name (`%u`, and the default remote user). */
  readonly user: string;
  /** Local user's home directory (`%d`, `~`). */
  readonly home: string;
  /** Local numeric user id (`%i`). */
  readonly uid: number;
  /** Local host name as gethostname(2) reports it (`%l`; `%L` is the part before the first dot). */
  readonly hostname: string;
}

/** Local facts, each overridable (tests and callers acting for another user). */
export function localInfo(overrides: Partial<LocalInfo> = {}): LocalInfo {
  let info: { username: string; homedir: string; uid: number } | undefined;
  const sys = (): { username: string; homedir: string; uid: number } => (info ??= safeUserInfo());
  return {
    user: overrides.user ?? sys().username,
    home: overrides.home ?? sys().homedir,
    uid: overrides.uid ?? sys().uid,
    hostname: overrides.hostname ?? osHostname(),
  };
}

function safeUserInfo(): { username: string; homedir: string; uid: number } {
  try {
    const u = userInfo();
    return { username: u.username, homedir: u.homedir, uid: u.uid };
  } catch {
    // userInfo() throws when the uid has no passwd entry (some containers).
    return { username: process.env['USER'] ?? process.env['LOGNAME'] ?? '', homedir: homedir(), uid: process.getuid?.() ?? -1 };
  }
}

/** Single-letter token name to replacement. */
export type TokenValues = Readonly<Record<string, string>>;

/**
 * Replace `%x` tokens. `%%` is a literal percent. Letters in `passthrough`
 * are runtime tokens (e.g. `%T`, `%f`) that are left as written for the
 * caller to fill in later; any other unknown letter, or a trailing `%`, is an
 * error as in OpenSSH's percent_expand().
 */
export function percentExpand(value: string, tokens: TokenValues, passthrough = ''): string | LexError {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = value[++i];
    if (t === undefined) return new LexError(`invalid format "${value}": trailing %`);
    if (t === '%') out += '%';
    else if (Object.prototype.hasOwnProperty.call(tokens, t)) out += tokens[t]!;
    else if (passthrough.includes(t)) out += '%' + t;
    else return new LexError(`unknown token %${t} in "${value}"`);
  }
  return out;
}

/**
 * Expand `${NAME}` from the environment. A `$` not followed by `{` is literal.
 * An unset variable or malformed reference is an error.
 */
export function dollarExpand(value: string, env: Readonly<Record<string, string | undefined>>): string | LexError {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf('${', i);
    if (start < 0) {
      out += value.slice(i);
      break;
    }
    out += value.slice(i, start);
    const end = value.indexOf('}', start + 2);
    if (end < 0) return new LexError(`unterminated \${ in "${value}"`);
    const name = value.slice(start + 2, end);
    if (!/^[A-Za-z0-9_]+$/.test(name)) return new LexError(`bad environment variable name "${name}"`);
    const v = env[name];
    if (v === undefined) return new LexError(`environment variable "${name}" is not set`);
    out += v;
    i = end + 1;
  }
  return out;
}

/**
 * Expand a leading `~` or `~/...` to the local home, and `~user/...` to that
 * user's home from the passwd database.
 */
export function tildeExpand(path: string, local: LocalInfo): string | LexError {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const name = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const tail = slash < 0 ? '' : path.slice(slash);
  let home: string | undefined;
  if (name === '' || name === local.user) home = local.home;
  else home = passwdHome(name);
  if (home === undefined) return new LexError(`unknown user "${name}" in "${path}"`);
  // Avoid "//" when home is "/".
  return home === '/' && tail !== '' ? tail : home + tail;
}

/** Home directory of `user` from /etc/passwd, if listed. */
function passwdHome(user: string): string | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && f[0] === user) return f[5];
  }
  return undefined;
}

/** `%C`: hex SHA-1 of local hostname, remote hostname, port and remote user, concatenated. */
export function connectionHash(localHost: string, host: string, port: string, user: string): string {
  return createHash('sha1').update(localHost + host + port + user).digest('hex');
}
