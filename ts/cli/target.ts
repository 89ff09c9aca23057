/**
 * Command-line targets as OpenSSH users write them: `[user@]host`,
 * `[user@]host:path`, `[user@][v6addr]:path`.
 */
import { SSHException } from '../errors.js';

export interface Target {
  user: string | undefined;
  host: string;
  path: string | undefined;
}

function usage(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_ARGUMENT' });
}

/** Parses `[user@]host` (withPath false) or `[user@]host:path` (withPath true). */
export function parseTarget(text: string, withPath: boolean): Target {
  let rest = text;
  let user: string | undefined;
  const m = /^([^@:[\]/]+)@(.*)$/s.exec(text);
  if (m) {
    user = m[1];
    rest = m[2]!;
  }
  let host: string;
  let path: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw usage(`unbalanced [ in ${text}`);
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after.startsWith(':')) path = after.slice(1);
    else if (after !== '') throw usage(`cannot parse ${text}`);
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && withPath) {
      host = rest.slice(0, colon);
      path = rest.slice(colon + 1);
    } else host = rest;
  }
  if (host === '') throw usage(`no host in ${text}`);
  if (withPath && path === undefined) throw usage(`expected [user@]host:path, got ${text}`);
  return { user, host, path: withPath ? (path === '' ? '.' : path) : undefined };
}

/** Whether an argument names a remote file (`host:path`) rather than a local one. */
export function isRemote(arg: string): boolean {
  if (arg.startsWith('/') || arg.startsWith('./') || arg.startsWith('../')) return false;
  return /^(?:[^@/:]+@)?(?:\[[^\]]+\]|[^/:[\]]+):/.test(arg);
}
