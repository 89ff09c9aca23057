/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), in the
 * shape of Paramiko's HostKeys: load, look up, verify, add, save.
 *
 * Every line is kept: comments, blank lines and lines that cannot be parsed
 * are written back verbatim, and an entry that was not changed is written as
 * it was read, so loading and saving an untouched file reproduces it byte
 * for byte.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { KeyFormatError } from '../errors.js';
import { checkCertificate } from './certificate.js';
import { matchPatternList } from './hostPatterns.js';
import { decodeBase64Strict } from './keyTypes.js';
import { PublicKey } from './publicKey.js';

/** A marker at the start of a known_hosts line. */
export type HostKeyMarker = 'cert-authority' | 'revoked';

/** Where an entry was read from. */
export interface KnownHostsLocation {
  /** The file name given to `load` or `loadText` (`<string>` when none was given). */
  file: string;
  /** 1-based line number within that file. */
  lineNumber: number;
}

/** What `HostKeys.verify` concluded about a host's key. */
export interface HostKeyVerification {
  /**
   * `match`: a line vouches for the key (directly, or via `@cert-authority` for a valid host
   * certificate); `mismatch`: the host has a different key of the same type on record;
   * `unknown`: no key of this type is on record for the host; `revoked`: a `@revoked` line
   * lists the key (for a certificate: it, its certified key or its CA key).
   */
  status: 'match' | 'mismatch' | 'unknown' | 'revoked';
  /** The line that matched (match), holds the other key (mismatch), or revoked it. */
  line?: KnownHostsLocation;
  /** For a mismatch: the key on record for this host and key type. */
  expected?: PublicKey;
  /** Extra detail, e.g. why a host certificate was not accepted. */
  reason?: string;
}

const HASH_MAGIC = '|1|';
const MAX_FILE = 64 * 1024 * 1024;

/** `host` for port 22, else `[host]:port`: the name known_hosts records. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * OpenSSH's hashed host form, `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`.
 * A random 20-byte salt unless one is given.
 */
export function hashHostname(hostname: string, salt?: Uint8Array): string {
  const s = salt ?? randomBytes(20);
  if (s.length !== 20) throw new KeyFormatError('hashed host salt must be 20 bytes');
  const mac = createHmac('sha1', s).update(hostname).digest();
  return `${HASH_MAGIC}${Buffer.from(s).toString('base64')}|${mac.toString('base64')}`;
}

/** true when a `|1|salt|hash` field is the hash of `hostname`. Malformed fields never match. */
function hashedMatches(field: string, hostname: string): boolean {
  if (!field.startsWith(HASH_MAGIC)) return false;
  const parts = field.slice(HASH_MAGIC.length).split('|');
  if (parts.length !== 2) return false;
  let salt: Uint8Array;
  let expected: Uint8Array;
  try {
    salt = decodeBase64Strict(parts[0]!, 'salt');
    expected = decodeBase64Strict(parts[1]!, 'hash');
  } catch {
    return false;
  }
  if (expected.length !== 20) return false;
  const mac = createHmac('sha1', salt).update(hostname).digest();
  return timingSafeEqual(mac, expected);
}

/** One key line of a known_hosts file (Paramiko's HostKeyEntry). */
export class HostKeyEntry {
  /** `@cert-authority`, `@revoked`, or null. */
  marker: HostKeyMarker | null;
  /** Host patterns as written (possibly one `|1|…` hashed name). */
  hostnames: string[];
  /** The host key; the CA key on a `@cert-authority` line, the revoked key on a `@revoked` one. */
  key: PublicKey;
  /** Text after the key, or ''. */
  comment: string;
  /** Where it was read from, when loaded from a file. */
  location: KnownHostsLocation | undefined;
  /** The line as read; cleared when the entry changes so it is re-rendered. */
  originalLine: string | undefined;

  constructor(hostnames: string[], key: PublicKey, opts: { marker?: HostKeyMarker | null; comment?: string; location?: KnownHostsLocation } = {}) {
    this.hostnames = hostnames;
    this.key = key;
    this.marker = opts.marker ?? null;
    this.comment = opts.comment ?? '';
    this.location = opts.location;
    this.originalLine = undefined;
  }

  /**
   * Parse one known_hosts line. Returns null for blank and comment lines;
   * throws KeyFormatError for a line that is not a valid entry.
   */
  static fromLine(line: string, location?: KnownHostsLocation): HostKeyEntry | null {
    const text = line.replace(/\r$/, '');
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return null;
    const fields = trimmed.split(/[ \t]+/);
    let marker: HostKeyMarker | null = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else throw new KeyFormatError(`unknown known_hosts marker "${m}"`);
    }
    if (fields.length < 3) throw new KeyFormatError('known_hosts line needs host patterns, a key type and key data');
    const [hosts, type, data, ...rest] = fields;
    const key = PublicKey.fromString(`${type} ${data}`);
    const hostnames = hosts!.split(',');
    if (hostnames.some((h) => h.length === 0)) throw new KeyFormatError('known_hosts line has an empty host pattern');
    const entry = new HostKeyEntry(hostnames, key, { marker, comment: rest.join(' '), ...(location ? { location } : {}) });
    entry.originalLine = text;
    return entry;
  }

  /** The entry as a known_hosts line (without newline). */
  toLine(): string {
    if (this.originalLine !== undefined) return this.originalLine;
    const marker = this.marker ? `@${this.marker} ` : '';
    const key = `${this.key.keyType} ${this.key.base64}`;
    return `${marker}${this.hostnames.join(',')} ${key}${this.comment ? ' ' + this.comment : ''}`;
  }

  /** true when `hostname` (already in `[host]:port` form if needed) matches this entry's patterns and no negation. */
  matches(hostname: string): boolean {
    const name = hostname.toLowerCase();
    // As in OpenSSH, a host field starting with "|" is one hashed name, never a pattern list.
    if (this.hostnames[0]!.startsWith('|')) return this.hostnames.length === 1 && hashedMatches(this.hostnames[0]!, name);
    return matchPatternList(name, this.hostnames) === 1;
  }
}

/** A line kept as text: comment, blank, or unparseable (with the reason). */
interface TextLine {
  text: string;
  invalid?: string;
  location?: KnownHostsLocation;
}

type Line = { entry: HostKeyEntry } | TextLine;

/** Options for HostKeys. */
/** Whether `e` names exactly one host, `name` (lower case), written out or hashed. */
function namesOnly(e: HostKeyEntry, name: string): boolean {
  if (e.hostnames.length !== 1) return false;
  const h = e.hostnames[0]!;
  return h.startsWith(HASH_MAGIC) ? hashedMatches(h, name) : h.toLowerCase() === name;
}

export interface HostKeysOptions {
  /** Store names added by `add` hashed, like `HashKnownHosts yes`. */
  hashHostnames?: boolean;
}

/**
 * A set of known host keys (Paramiko's HostKeys): one or more OpenSSH
 * known_hosts files, merged, plus what the program adds.
 */
export class HostKeys {
  #lines: Line[] = [];
  /** Whether the last file loaded ended without a newline (kept for a byte-exact save). */
  #missingFinalNewline = false;
  /**
   * Default for `add`'s `hash` option: store new host names hashed (`|1|salt|hash`),
   * like `HashKnownHosts yes`. Existing lines are not rewritten.
   */
  hashHostnames: boolean;

  constructor(filename?: string, opts: HostKeysOptions = {}) {
    this.hashHostnames = opts.hashHostnames ?? false;
    if (filename !== undefined) this.load(filename);
  }

  /** Read a known_hosts file and merge its lines in. Throws Node's fs error (e.g. code ENOENT) if it cannot be read. */
  load(filename: string): void {
    const data = readFileSync(filename);
    if (data.length > MAX_FILE) throw new KeyFormatError(`${filename} is too large for a known_hosts file`);
    this.loadText(data.toString('utf8'), filename);
  }

  /** Merge in known_hosts text; `filename` labels where lines came from. */
  loadText(text: string, filename = '<string>'): void {
    if (text.length === 0) return;
    const rows = text.split('\n');
    const endsWithNewline = rows[rows.length - 1] === '';
    if (endsWithNewline) rows.pop();
    rows.forEach((row, i) => {
      const location = { file: filename, lineNumber: i + 1 };
      try {
        const entry = HostKeyEntry.fromLine(row, location);
        if (entry) {
          entry.originalLine = row; // with any \r, so the file is written back as it was
          this.#lines.push({ entry });
        } else this.#lines.push({ text: row, location });
      } catch (e) {
        this.#lines.push({ text: row, invalid: (e as Error).message, location });
      }
    });
    this.#missingFinalNewline = !endsWithNewline;
  }

  /** The text `save` writes. */
  toString(): string {
    const out = this.#lines.map((l) => ('entry' in l ? l.entry.toLine() : l.text)).join('\n');
    return out.length === 0 && this.#lines.length === 0 ? '' : out + (this.#missingFinalNewline ? '' : '\n');
  }

  /**
   * Write every line (kept ones verbatim) to `filename`, via a temporary
   * file and rename so a crash never leaves half a file; an existing file's
   * permissions are kept.
   */
  save(filename: string): void {
    let mode = 0o644;
    try {
      mode = statSync(filename).mode & 0o7777;
    } catch {
      // a new file
    }
    const tmp = `${filename}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, this.toString(), { mode });
    try {
      renameSync(tmp, filename);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** All parsed entries, in file order. */
  get entries(): HostKeyEntry[] {
    return this.#lines.flatMap((l) => ('entry' in l ? [l.entry] : []));
  }

  /** Lines that could not be parsed, with why (they are kept and saved as they were). */
  get invalidLines(): { text: string; reason: string; location?: KnownHostsLocation }[] {
    return this.#lines.flatMap((l) =>
      'entry' in l || l.invalid === undefined ? [] : [{ text: l.text, reason: l.invalid, ...(l.location ? { location: l.location } : {}) }],
    );
  }

  /**
   * Record `key` for `hostname` (use `knownHostsName(host, port)` for a
   * port other than 22). An existing plain entry for exactly this name and
   * key type is updated in place (Paramiko's rule, unless `replace` is
   * false); otherwise a line is appended.
   */
  add(hostname: string, keyType: string, key: PublicKey | { publicKeyBlob: Uint8Array }, opts: { hash?: boolean; comment?: string; marker?: HostKeyMarker; replace?: boolean } = {}): void {
    const pub = key instanceof PublicKey ? key : PublicKey.fromBlob(key.publicKeyBlob);
    if (pub.keyType !== keyType) throw new KeyFormatError(`key is ${pub.keyType}, not ${keyType}`);
    const name = hostname.toLowerCase();
    if (!opts.marker && opts.replace !== false) {
      for (const e of this.entries) {
        if (e.marker || e.key.keyType !== keyType || !namesOnly(e, name)) continue;
        e.key = pub;
        e.originalLine = undefined;
        return;
      }
    }
    const hash = opts.hash ?? this.hashHostnames;
    const entry = new HostKeyEntry([hash ? hashHostname(name) : name], pub, { marker: opts.marker ?? null, comment: opts.comment ?? '' });
    if (this.#missingFinalNewline) this.#missingFinalNewline = false;
    this.#lines.push({ entry });
  }

  /**
   * Removes the plain (unmarked) lines that record `key` for `hostname`
   * alone, its name written out or hashed. Lines that also name other
   * hosts, or match through wildcards, stay as they are. Returns how many
   * lines went.
   */
  remove(hostname: string, key: PublicKey | { publicKeyBlob: Uint8Array }): number {
    const name = hostname.toLowerCase();
    const before = this.#lines.length;
    this.#lines = this.#lines.filter(
      (l) => !('entry' in l) || l.entry.marker !== null || !namesOnly(l.entry, name) || !Buffer.from(l.entry.key.publicKeyBlob).equals(key.publicKeyBlob),
    );
    return before - this.#lines.length;
  }

  /** Whether any line naming `hostname` alone has the name hashed (so that new lines for it are hashed too). */
  hashesHost(hostname: string): boolean {
    const name = hostname.toLowerCase();
    return this.entries.some((e) => e.hostnames[0]!.startsWith(HASH_MAGIC) && namesOnly(e, name));
  }

  /**
   * The plain (unmarked) keys recorded for `hostname`, by key type, or null
   * if there are none (Paramiko's lookup).
   */
  lookup(hostname: string): Map<string, PublicKey> | null {
    const found = new Map<string, PublicKey>();
    for (const e of this.entries) {
      if (e.marker === null && !found.has(e.key.keyType) && e.matches(hostname)) found.set(e.key.keyType, e.key);
    }
    return found.size > 0 ? found : null;
  }

  /** true if `key` is recorded for `hostname` and not revoked (Paramiko's check). */
  check(hostname: string, key: PublicKey | { publicKeyBlob: Uint8Array }): boolean {
    return this.#verifyName(hostname, key).status === 'match';
  }

  /** Alias of `check`. */
  checkHost(hostname: string, key: PublicKey | { publicKeyBlob: Uint8Array }): boolean {
    return this.check(hostname, key);
  }

  /**
   * What the records say about `key` presented by `host`:`port`: a revoked
   * key wins over everything; a host certificate matches through a
   * `@cert-authority` line whose CA signed it (and is checked for validity
   * and principal); a plain key matches a line with the same key, is a
   * mismatch when the host has a different key of the same type, and is
   * unknown otherwise.
   */
  verify(host: string, port: number, key: PublicKey | { publicKeyBlob: Uint8Array }): HostKeyVerification {
    return this.#verifyName(knownHostsName(host, port), key, host);
  }

  #verifyName(name: string, key: PublicKey | { publicKeyBlob: Uint8Array }, principal?: string): HostKeyVerification {
    const pub = key instanceof PublicKey ? key : PublicKey.fromBlob(key.publicKeyBlob);
    const cert = pub.certificate;
    const blobs = [pub.publicKeyBlob];
    if (cert) blobs.push(cert.keyBlob, cert.signatureKey);
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);
    const candidates = this.entries.filter((e) => e.matches(name));

    for (const e of candidates) {
      if (e.marker === 'revoked' && blobs.some((b) => same(b, e.key.publicKeyBlob))) {
        return { status: 'revoked', ...(e.location ? { line: e.location } : {}) };
      }
    }
    let reason: string | undefined;
    if (cert) {
      for (const e of candidates) {
        if (e.marker !== 'cert-authority' || !same(e.key.publicKeyBlob, cert.signatureKey)) continue;
        const why = checkCertificate(cert, { type: 'host', principal: principal ?? name });
        if (why === null) return { status: 'match', ...(e.location ? { line: e.location } : {}) };
        reason = why;
      }
    }
    // Plain key check (for a certificate: of the certified key, as OpenSSH falls back to).
    const plainBlob = cert ? cert.keyBlob : pub.publicKeyBlob;
    let mismatch: HostKeyEntry | undefined;
    for (const e of candidates) {
      if (e.marker !== null) continue;
      if (same(e.key.publicKeyBlob, plainBlob)) return { status: 'match', ...(e.location ? { line: e.location } : {}), ...(reason ? { reason } : {}) };
      if (!mismatch && e.key.keyType === pub.baseKeyType) mismatch = e;
    }
    if (mismatch) {
      return { status: 'mismatch', expected: mismatch.key, ...(mismatch.location ? { line: mismatch.location } : {}), ...(reason ? { reason } : {}) };
    }
    return { status: 'unknown', ...(reason ? { reason } : {}) };
  }

  /** Drop everything. */
  clear(): void {
    this.#lines = [];
    this.#missingFinalNewline = false;
  }

  /** Paramiko's static hash_host. */
  static hashHost(hostname: string, salt?: Uint8Array): string {
    return hashHostname(hostname, salt);
  }
}
