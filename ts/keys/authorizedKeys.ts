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
  /** `restrict`: all the permissions below off unless re-enabled. */
  restrict: boolean;
  noPty: boolean;
  noPortForwarding: boolean;
  noAgentForwarding: boolean;
  noX11Forwarding: boolean;
  noUserRc: boolean;
  /** `no-touch-required`, `verify-required` (FIDO keys). */
  noTouchRequired: boolean;
  verifyRequired: boolean;
  /** Explicit re-enables after `restrict`: `pty`, `port-forwarding`, `agent-forwarding`, `X11-forwarding`, `user-rc`. */
  pty: boolean;
  portForwarding: boolean;
  agentForwarding: boolean;
  x11Forwarding: boolean;
  userRc: boolean;
  unknown: UnknownOption[];
}

/** What a session authenticated with this entry may do, after `restrict` and the `no-*` options. */
export interface AuthorizedKeyPermissions {
  pty: boolean;
  portForwarding: boolean;
  agentForwarding: boolean;
  x11Forwarding: boolean;
  userRc: boolean;
}

/** One parsed authorized_keys line. */
export interface AuthorizedKeyEntry {
  options: AuthorizedKeyOptions;
  permissions: AuthorizedKeyPermissions;
  key: PublicKey;
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

function permissionsOf(o: AuthorizedKeyOptions): AuthorizedKeyPermissions {
  const base = !o.restrict;
  return {
    pty: (base || o.pty) && !o.noPty,
    portForwarding: (base || o.portForwarding) && !o.noPortForwarding,
    agentForwarding: (base || o.agentForwarding) && !o.noAgentForwarding,
    x11Forwarding: (base || o.x11Forwarding) && !o.noX11Forwarding,
    userRc: (base || o.userRc) && !o.noUserRc,
  };
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
  if (!found) {
    const split = splitOptions(text);
    found = tryKey(split.rest);
    if (!found) throw new KeyFormatError('no valid public key on the line');
    options = typedOptions(split.options);
  }
  if (found.key.isCertificate) throw new KeyFormatError('a certificate cannot be listed in authorized_keys; list its CA with cert-authority');
  return {
    options, permissions: permissionsOf(options), key: found.key, comment: found.comment,
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
 * the client, or whose expiry-time has passed, are skipped.
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
