/**
 * OpenSSH authorized_keys files (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"):
 * `[options] keytype base64 [comment]` per line, parsed into typed entries,
 * and the lookup sshd does when a client offers a key.
 */
import { readFileSync } from 'node:fs';
import { KeyFormatError } from '../errors.js';
import { type Certificate, checkCertificate } from './certificate.js';
import { matchAddressList, matchHostAndAddress } from './hostPatterns.js';
import { PublicKey } from './publicKey.js';

/** An option sshd would not recognise: kept, and flagged on the entry. */
export interface UnknownOption {
  name: string;
  value: string | undefined;
}

/** The options of one authorized_keys line, typed. */
export interface AuthorizedKeyOptions {
  /** `command="…"`: forced command. */
  command?: string;
  /** `environment="NAME=value"`, in order. */
  environment: { name: string; value: string }[];
  /** `from="pattern-list"`: host name / address patterns (wildcards, CIDR, `!`). */
  from?: string[];
  /** `permitopen="host:port"`, each occurrence. */
  permitOpen: string[];
  /** `permitlisten="[host:]port"`, each occurrence. */
  permitListen: string[];
  /** `principals="a,b"` (with cert-authority): names accepted in a certificate. */
  principals?: string[];
  /** `cert-authority`: the key is a CA trusted to sign user certificates. */
  certAuthority: boolean;
  /** `expiry-time="YYYYMMDD[HHMM[SS]][Z]"`: the key is refused after this. */
  expiryTime?: Date;
  /** `tunnel="n"`: forced tun device. */
  tunnel?: number;
  /** `restrict`: all the permissions below off, except those re-enabled later on the line. */
  restrict: boolean;
  /** `no-pty`: no terminal allocation. */
  noPty: boolean;
  /** `no-port-forwarding`: no TCP forwarding, local or remote. */
  noPortForwarding: boolean;
  /** `no-agent-forwarding`: no ssh-agent forwarding. */
  noAgentForwarding: boolean;
  /** `no-X11-forwarding`: no X11 forwarding. */
  noX11Forwarding: boolean;
  /** `no-user-rc`: `~/.ssh/rc` is not run. */
  noUserRc: boolean;
  /** `no-touch-required`, `verify-required` (FIDO keys). */
  noTouchRequired: boolean;
  /** `verify-required`: FIDO signatures must attest user verification (e.g. a PIN). */
  verifyRequired: boolean;
  /** Explicit re-enables after `restrict`: `pty`, `port-forwarding`, `agent-forwarding`, `X11-forwarding`, `user-rc`. */
  pty: boolean;
  /** `port-forwarding`: re-enables TCP forwarding after `restrict`. */
  portForwarding: boolean;
  /** `agent-forwarding`: re-enables agent forwarding after `restrict`. */
  agentForwarding: boolean;
  /** `X11-forwarding`: re-enables X11 forwarding after `restrict`. */
  x11Forwarding: boolean;
  /** `user-rc`: re-enables `~/.ssh/rc` after `restrict`. */
  userRc: boolean;
  /**
   * Options sshd does not know, in order. sshd refuses a line that has one, and so does
   * `findAuthorizedKey`; the parser keeps the entry, flagged by `hasUnknownOptions`, for tools.
   */
  unknown: UnknownOption[];
}

/** What a session authenticated with this entry may do, after `restrict` and the `no-*` options. */
export interface AuthorizedKeyPermissions {
  /** A pty may be allocated. */
  pty: boolean;
  /** TCP port forwarding (local and remote) is allowed. */
  portForwarding: boolean;
  /** ssh-agent forwarding is allowed. */
  agentForwarding: boolean;
  /** X11 forwarding is allowed. */
  x11Forwarding: boolean;
  /** `~/.ssh/rc` may be run. */
  userRc: boolean;
}

/** One parsed authorized_keys line. */
export interface AuthorizedKeyEntry {
  /** The line's options, typed (all defaults when it has none). */
  options: AuthorizedKeyOptions;
  /**
   * What the options allow, applied left to right as sshd does: all on to begin with,
   * `restrict` turns all off, and each `pty` / `no-pty` (and the like) later on the line sets
   * its own, the last one winning. From `findAuthorizedKey` for a certificate, also narrowed
   * to the certificate's `permit-*` extensions.
   */
  permissions: AuthorizedKeyPermissions;
  /** The listed key (a CA key when `options.certAuthority`); never a certificate. */
  key: PublicKey;
  /** Text after the key, trimmed, or ''. */
  comment: string;
  /** 1-based line number, when parsed from a file. */
  lineNumber: number;
  /** The line as written. */
  line: string;
  /** true when some option is not one sshd knows (see `options.unknown`). */
  hasUnknownOptions: boolean;
}

/** A line that could not be parsed. */
export interface AuthorizedKeysError {
  lineNumber: number;
  line: string;
  message: string;
}

function emptyOptions(): AuthorizedKeyOptions {
  return {
    environment: [], permitOpen: [], permitListen: [], certAuthority: false, restrict: false,
    noPty: false, noPortForwarding: false, noAgentForwarding: false, noX11Forwarding: false, noUserRc: false,
    noTouchRequired: false, verifyRequired: false,
    pty: false, portForwarding: false, agentForwarding: false, x11Forwarding: false, userRc: false, unknown: [],
  };
}

/**
 * Split the option prefix into (name, value) pairs. Options end at the first
 * space outside quotes; inside quotes `\"` is a literal quote. Returns the
 * options and the rest of the line.
 */
export function splitOptions(text: string): { options: { name: string; value: string | undefined }[]; rest: string } {
  const out: { name: string; value: string | undefined }[] = [];
  let i = 0;
  while (i < text.length) {
    let name = '';
    while (i < text.length && !/[=,\s]/.test(text[i]!)) name += text[i++];
    if (name.length === 0) throw new KeyFormatError(`empty option name at column ${i + 1}`);
    let value: string | undefined;
    if (text[i] === '=') {
      i++;
      if (text[i] !== '"') throw new KeyFormatError(`option ${name}: value must be in double quotes`);
      i++;
      value = '';
      for (;;) {
        if (i >= text.length) throw new KeyFormatError(`option ${name}: missing closing quote`);
        const c = text[i]!;
        if (c === '\\' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
    }
    out.push({ name, value });
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (i < text.length && !/\s/.test(text[i]!)) throw new KeyFormatError(`unexpected "${text[i]}" after option ${name}`);
    break;
  }
  return { options: out, rest: text.slice(i).trimStart() };
}

/** Parse `YYYYMMDD[HHMM[SS]][Z]` (local time unless Z), as sshd does for expiry-time. */
export function parseExpiryTime(spec: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(spec);
  if (!m) throw new KeyFormatError(`expiry-time "${spec}" is not YYYYMMDD[HHMM[SS]][Z]`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v))) as number[];
  const utc = m[7] !== '';
  const date = utc ? new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!)) : new Date(y!, mo! - 1, d!, h!, mi!, s!);
  if (Number.isNaN(date.getTime()) || mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 59) {
    throw new KeyFormatError(`expiry-time "${spec}" is not a valid date`);
  }
  return date;
}

const FLAGS: Record<string, keyof AuthorizedKeyOptions> = {
  'cert-authority': 'certAuthority', restrict: 'restrict',
  'no-pty': 'noPty', 'no-port-forwarding': 'noPortForwarding', 'no-agent-forwarding': 'noAgentForwarding',
  'no-x11-forwarding': 'noX11Forwarding', 'no-user-rc': 'noUserRc', 'no-touch-required': 'noTouchRequired',
  'verify-required': 'verifyRequired', pty: 'pty', 'port-forwarding': 'portForwarding',
  'agent-forwarding': 'agentForwarding', 'x11-forwarding': 'x11Forwarding', 'user-rc': 'userRc',
};

function typedOptions(list: { name: string; value: string | undefined }[]): AuthorizedKeyOptions {
  const o = emptyOptions();
  for (const { name, value } of list) {
    const lname = name.toLowerCase(); // sshd compares option names case-insensitively
    const flag = FLAGS[lname];
    if (flag) {
      if (value !== undefined) throw new KeyFormatError(`option ${name} takes no value`);
      (o as unknown as Record<string, boolean>)[flag] = true;
      continue;
    }
    const need = (): string => {
      if (value === undefined) throw new KeyFormatError(`option ${name} needs a value`);
      return value;
    };
    switch (lname) {
      case 'command':
        o.command = need();
        break;
      case 'environment': {
        const v = need();
        const eq = v.indexOf('=');
        if (eq <= 0) throw new KeyFormatError(`environment="${v}" must be NAME=value`);
        o.environment.push({ name: v.slice(0, eq), value: v.slice(eq + 1) });
        break;
      }
      case 'from':
        o.from = need().split(',').filter((p) => p.length > 0);
        break;
      case 'permitopen':
        o.permitOpen.push(need());
        break;
      case 'permitlisten':
        o.permitListen.push(need());
        break;
      case 'principals':
        o.principals = need().split(',').filter((p) => p.length > 0);
        break;
      case 'expiry-time':
        o.expiryTime = parseExpiryTime(need());
        break;
      case 'tunnel': {
        const v = need();
        if (!/^\d{1,10}$/.test(v)) throw new KeyFormatError(`tunnel="${v}" is not a number`);
        o.tunnel = Number(v);
        break;
      }
      default:
        o.unknown.push({ name, value });
    }
  }
  return o;
}

/** Option name to the permission it grants (`pty`) or takes away (`no-pty`). */
const PERMISSION_OPTIONS: Record<string, [keyof AuthorizedKeyPermissions, boolean]> = {
  pty: ['pty', true], 'no-pty': ['pty', false],
  'port-forwarding': ['portForwarding', true], 'no-port-forwarding': ['portForwarding', false],
  'agent-forwarding': ['agentForwarding', true], 'no-agent-forwarding': ['agentForwarding', false],
  'x11-forwarding': ['x11Forwarding', true], 'no-x11-forwarding': ['x11Forwarding', false],
  'user-rc': ['userRc', true], 'no-user-rc': ['userRc', false],
};

/**
 * The permissions a line's options leave, applied left to right as sshd
 * does: everything starts allowed, `restrict` takes all five away, and each
 * later option sets its own, so `no-pty,pty` allows a pty and `pty,restrict`
 * does not.
 */
function permissionsOf(list: readonly { name: string }[]): AuthorizedKeyPermissions {
  const p: AuthorizedKeyPermissions = { pty: true, portForwarding: true, agentForwarding: true, x11Forwarding: true, userRc: true };
  for (const { name } of list) {
    const lname = name.toLowerCase();
    if (lname === 'restrict') {
      for (const k of Object.keys(p) as (keyof AuthorizedKeyPermissions)[]) p[k] = false;
      continue;
    }
    const set = PERMISSION_OPTIONS[lname];
    if (set) p[set[0]] = set[1];
  }
  return p;
}

/** Does the text start with a key (type and base64)? */
function tryKey(text: string): { key: PublicKey; comment: string } | null {
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(text);
  if (!m) return null;
  try {
    return { key: PublicKey.fromString(`${m[1]} ${m[2]}`), comment: (m[3] ?? '').trim() };
  } catch {
    return null;
  }
}

/**
 * Parse one authorized_keys line. Returns null for blank and comment lines;
 * throws KeyFormatError for a line that is not a valid entry.
 */
export function parseAuthorizedKeyLine(line: string, lineNumber = 0): AuthorizedKeyEntry | null {
  const text = line.replace(/\r$/, '').trim();
  if (text === '' || text.startsWith('#')) return null;
  let found = tryKey(text);
  let options = emptyOptions();
  let permissions = permissionsOf([]);
  if (!found) {
    const split = splitOptions(text);
    found = tryKey(split.rest);
    if (!found) throw new KeyFormatError('no valid public key on the line');
    options = typedOptions(split.options);
    permissions = permissionsOf(split.options);
  }
  if (found.key.isCertificate) throw new KeyFormatError('a certificate cannot be listed in authorized_keys; list its CA with cert-authority');
  return {
    options, permissions, key: found.key, comment: found.comment,
    lineNumber, line, hasUnknownOptions: options.unknown.length > 0,
  };
}

/** Parse a whole authorized_keys text: valid entries, and the lines that were not. */
export function parseAuthorizedKeys(text: string): { entries: AuthorizedKeyEntry[]; errors: AuthorizedKeysError[] } {
  const entries: AuthorizedKeyEntry[] = [];
  const errors: AuthorizedKeysError[] = [];
  text.split('\n').forEach((line, i) => {
    try {
      const e = parseAuthorizedKeyLine(line, i + 1);
      if (e) entries.push(e);
    } catch (err) {
      errors.push({ lineNumber: i + 1, line, message: (err as Error).message });
    }
  });
  return { entries, errors };
}

/** Read and parse an authorized_keys file. */
export function loadAuthorizedKeys(path: string): { entries: AuthorizedKeyEntry[]; errors: AuthorizedKeysError[] } {
  return parseAuthorizedKeys(readFileSync(path, 'utf8'));
}

/** Context of an authentication attempt, for `from=`, expiry and certificate checks. */
export interface AuthorizedKeyContext {
  /** The client's IP address (needed for `from=`; without it such entries never match). */
  clientAddress?: string;
  /** The client's host name, if resolved. */
  clientHostname?: string;
  /** The user logging in (a user certificate must name it, or a name in `principals=`). */
  username?: string;
  /** Defaults to the current time. */
  now?: Date;
}

/** Certificate extensions that grant what an authorized_keys entry may otherwise allow. */
const CERT_PERMITS: Readonly<Record<keyof AuthorizedKeyPermissions, string>> = {
  pty: 'permit-pty',
  portForwarding: 'permit-port-forwarding',
  agentForwarding: 'permit-agent-forwarding',
  x11Forwarding: 'permit-X11-forwarding',
  userRc: 'permit-user-rc',
};

/**
 * The CA entry narrowed by a user certificate, as sshd does: each
 * permission needs both the entry and the certificate's `permit-*`
 * extension, and the certificate's `force-command` becomes the entry's
 * command. Null when both name a command and they differ.
 */
function limitedByCertificate(e: AuthorizedKeyEntry, cert: Certificate): AuthorizedKeyEntry | null {
  const forced = cert.criticalOptions.get('force-command');
  if (forced !== undefined && e.options.command !== undefined && e.options.command !== forced) return null;
  const permissions = { ...e.permissions };
  for (const k of Object.keys(CERT_PERMITS) as (keyof AuthorizedKeyPermissions)[]) permissions[k] &&= cert.extensions.has(CERT_PERMITS[k]);
  return { ...e, permissions, options: forced === undefined ? e.options : { ...e.options, command: forced } };
}

/**
 * The first entry that authorizes `keyBlob` for this client, or null. A plain
 * key must be listed (without cert-authority); a user certificate must be
 * signed by a key listed with cert-authority and be valid for `username` (or
 * a name in that entry's principals=). Entries whose `from=` does not match
 * the client, whose expiry-time has passed, or that carry an option sshd
 * does not know (`hasUnknownOptions`: sshd refuses such a line, so a typo in
 * a `no-*` option never leaves a key unrestricted) are skipped.
 */
export function findAuthorizedKey(entries: readonly AuthorizedKeyEntry[], keyBlob: Uint8Array, ctx: AuthorizedKeyContext = {}): AuthorizedKeyEntry | null {
  let offered: PublicKey;
  try {
    offered = PublicKey.fromBlob(keyBlob);
  } catch {
    return null;
  }
  const cert = offered.certificate;
  const now = ctx.now ?? new Date();
  for (const e of entries) {
    if (e.hasUnknownOptions) continue;
    if (e.options.expiryTime && now.getTime() > e.options.expiryTime.getTime()) continue;
    if (e.options.from && !matchHostAndAddress(ctx.clientHostname, ctx.clientAddress, e.options.from)) continue;
    if (cert) {
      if (!e.options.certAuthority || !Buffer.from(e.key.publicKeyBlob).equals(cert.signatureKey)) continue;
      if (checkCertificate(cert, { type: 'user', now }) !== null) continue;
      const source = cert.criticalOptions.get('source-address');
      if (source !== undefined && (ctx.clientAddress === undefined || matchAddressList(ctx.clientAddress, source.split(',')) !== 1)) continue;
      const allowed = e.options.principals ?? (ctx.username !== undefined ? [ctx.username] : []);
      if (!cert.principals.some((p) => allowed.includes(p))) continue;
      const limited = limitedByCertificate(e, cert);
      if (limited) return limited;
      continue;
    }
    if (!e.options.certAuthority && e.key.equals(offered)) return e;
  }
  return null;
}
