/**
 * krb5.conf, MIT's profile format, reduced to what a client needs: the
 * default realm, each realm's KDCs, [domain_realm], clock skew, hostname
 * canonicalization and the forwardable default.
 *
 * Syntax handled (as MIT's profile library reads it):
 *
 *     # comment            ; comment        (whole lines only, after optional whitespace)
 *     [section]            [section]*       ('*' = final: accepted and ignored)
 *     tag = value          tag = "quoted \"value\"\n"      tag* = value    tag = value*
 *     tag = {              ...nested relations...          }   or   }*
 *     include /abs/file    includedir /abs/dir             module path:residual (ignored)
 *
 * When several files are read (KRB5_CONFIG=a:b, includes), every value of
 * a tag is kept in file order and single-valued settings take the first
 * one, as MIT's profile_get_value does: earlier files win.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigParseError } from '../../errors.js';

/** The settings sshwire uses from krb5.conf. */
export interface Krb5Config {
  /** [libdefaults] default_realm. */
  defaultRealm?: string;
  /** [realms]: each realm's `kdc` values, in order. */
  realms: Map<string, { kdc: string[] }>;
  /** [domain_realm] (host or ".domain", realm) pairs in file order; hosts lowercased. */
  domainRealm: [string, string][];
  /** [libdefaults] clockskew in seconds (default 300). */
  clockskew: number;
  /** [libdefaults] dns_canonicalize_hostname (default true; "fallback" reads as false: the name as given is tried first). */
  dnsCanonicalizeHostname: boolean;
  /** [libdefaults] forwardable (default false). */
  forwardable: boolean;
}

/** Nesting limit for include / includedir. */
const MAX_INCLUDE_DEPTH = 8;

/** A parsed profile: section name to its relations (tag to values, in order; a value is a string or a subsection). */
type Node = Map<string, (string | Node)[]>;
type Tree = Map<string, Node>;

/** Line-by-line parser keeping its place across include directives. */
class ProfileParser {
  #section: Node | null = null;
  /** Open `tag = {` subsections, innermost last. */
  readonly #stack: Node[] = [];

  constructor(
    readonly tree: Tree,
    readonly source: string,
  ) {}

  #fail(lineNo: number, what: string): never {
    throw new ConfigParseError(`${this.source} line ${lineNo}: ${what}`);
  }

  /**
   * Parses one line into the tree. Returns the include directive the line
   * holds, for the caller to follow (it alone may read files).
   */
  line(raw: string, lineNo: number): { kind: 'include' | 'includedir'; path: string } | undefined {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return undefined;
    // Directives are only recognised at the start of a line and outside braces.
    if (this.#stack.length === 0) {
      const m = /^(include|includedir)\s+(.+)$/.exec(raw.replace(/\r$/, ''));
      if (m) return { kind: m[1] as 'include' | 'includedir', path: m[2]!.trim() };
      if (/^module\s/.test(raw)) return undefined;
    }
    if (line.startsWith('[')) {
      if (this.#stack.length > 0) this.#fail(lineNo, 'section header inside an unclosed "{"');
      const close = line.indexOf(']');
      if (close < 0) this.#fail(lineNo, 'section header without "]"');
      const name = line.slice(1, close).trim();
      const rest = line.slice(close + 1).trim();
      if (rest !== '' && rest !== '*') this.#fail(lineNo, `unexpected text after section header [${name}]`);
      let node = this.tree.get(name);
      if (!node) this.tree.set(name, (node = new Map()));
      this.#section = node;
      return undefined;
    }
    if (line.startsWith('}')) {
      if (this.#stack.length === 0) this.#fail(lineNo, 'unmatched "}"');
      const rest = line.slice(1).trim();
      if (rest !== '' && rest !== '*') this.#fail(lineNo, 'unexpected text after "}"');
      this.#stack.pop();
      return undefined;
    }
    const target = this.#stack.at(-1) ?? this.#section;
    if (!target) this.#fail(lineNo, 'relation before any [section] header');
    const eq = line.indexOf('=');
    if (eq < 0) this.#fail(lineNo, 'expected "tag = value"');
    let tag = line.slice(0, eq).trim();
    if (tag.endsWith('*')) tag = tag.slice(0, -1).trimEnd();
    if (tag === '' || /\s/.test(tag)) this.#fail(lineNo, `bad tag "${tag}"`);
    const valueText = line.slice(eq + 1).trim();
    const values = target.get(tag) ?? [];
    target.set(tag, values);
    if (valueText === '{') {
      const sub: Node = new Map();
      values.push(sub);
      this.#stack.push(sub);
      return undefined;
    }
    values.push(parseValue(valueText));
    return undefined;
  }

  /** Called at the end of each file: an open "{" there is an error. */
  finish(lineNo: number): void {
    if (this.#stack.length > 0) this.#fail(lineNo, 'missing "}" at end of file');
  }
}

/** A relation's value: a double-quoted string with \n \t \b \\ \" escapes, else the text with any final '*' dropped. */
function parseValue(text: string): string {
  if (text.startsWith('"')) {
    let out = '';
    for (let i = 1; i < text.length; i++) {
      const c = text[i]!;
      if (c === '"') return out;
      if (c === '\\' && i + 1 < text.length) {
        const n = text[++i]!;
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'b' ? '\b' : n;
      } else {
        out += c;
      }
    }
    return out;
  }
  return text.endsWith('*') ? text.slice(0, -1).trimEnd() : text;
}

function parseText(tree: Tree, text: string, source: string): void {
  const parser = new ProfileParser(tree, source);
  const lines = text.split('\n');
  lines.forEach((l, i) => parser.line(l, i + 1));
  parser.finish(lines.length);
}

/** The first string value of `tag` in `node`. */
function first(node: Node | undefined, tag: string): string | undefined {
  for (const v of node?.get(tag) ?? []) if (typeof v === 'string') return v;
  return undefined;
}

/** MIT's boolean spellings; anything else is `undefined` (ignored, so the default stands). */
function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['y', 'yes', 'true', 't', '1', 'on'].includes(s)) return true;
  if (['n', 'no', 'false', 'nil', 'f', '0', 'off', 'fallback'].includes(s)) return false;
  return undefined;
}

/** MIT's duration spellings: "300", "5m", "1h30m", "1d 2h", "h:m" or "h:m:s"; undefined if unreadable. */
function parseDuration(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^-?\d+$/.test(s)) return Number(s);
  let m = /^(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(s);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
  m = /^(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?$/.exec(s);
  if (m && s !== '') return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return undefined;
}

/** Which single-valued settings of a Krb5Config were set by a file (not defaults), for first-value-wins merging. */
const explicit = new WeakMap<Krb5Config, Set<string>>();

function defaults(): Krb5Config {
  return { realms: new Map(), domainRealm: [], clockskew: 300, dnsCanonicalizeHostname: true, forwardable: false };
}

/** Merges a parsed tree into `cfg`: lists are appended, single values only fill what no earlier file set. */
function applyTree(cfg: Krb5Config, tree: Tree): Krb5Config {
  let set = explicit.get(cfg);
  if (!set) explicit.set(cfg, (set = new Set()));
  const lib = tree.get('libdefaults');
  const setOnce = <K extends 'defaultRealm' | 'clockskew' | 'dnsCanonicalizeHostname' | 'forwardable'>(key: K, v: Krb5Config[K] | undefined): void => {
    if (v === undefined || set.has(key)) return;
    cfg[key] = v;
    set.add(key);
  };
  setOnce('defaultRealm', first(lib, 'default_realm'));
  setOnce('clockskew', parseDuration(first(lib, 'clockskew')));
  setOnce('dnsCanonicalizeHostname', parseBool(first(lib, 'dns_canonicalize_hostname')));
  setOnce('forwardable', parseBool(first(lib, 'forwardable')));
  for (const [realm, values] of tree.get('realms') ?? []) {
    for (const v of values) {
      if (typeof v === 'string') continue;
      let r = cfg.realms.get(realm);
      if (!r) cfg.realms.set(realm, (r = { kdc: [] }));
      for (const k of v.get('kdc') ?? []) if (typeof k === 'string' && k !== '' && !r.kdc.includes(k)) r.kdc.push(k);
    }
  }
  for (const [host, values] of tree.get('domain_realm') ?? []) {
    for (const v of values) if (typeof v === 'string') cfg.domainRealm.push([host.toLowerCase(), v]);
  }
  return cfg;
}

/**
 * Parses krb5.conf text. With `into`, merges into that config the way a
 * later file merges into an earlier one (lists appended, single settings
 * kept from the earlier file); without, starts from the defaults.
 * `include`/`includedir` lines are not followed here (this function reads
 * no files); loadKrb5Config follows them. Syntax errors throw
 * ConfigParseError (code ERR_SSH_CONFIG) naming the line.
 */
export function parseKrb5Config(text: string, into?: Krb5Config, source = 'krb5.conf'): Krb5Config {
  const tree: Tree = new Map();
  parseText(tree, text, source);
  return applyTree(into ?? defaults(), tree);
}

/** Names MIT's includedir (and a KRB5_CONFIG directory) takes: [A-Za-z0-9_-]+, or *.conf not starting with '.'. */
const includable = (name: string): boolean => /^[A-Za-z0-9_-]+$/.test(name) || (name.endsWith('.conf') && !name.startsWith('.'));

/** Reads `path` into `tree`, following includes up to MAX_INCLUDE_DEPTH. `optional`: a missing file is skipped. */
async function loadFile(tree: Tree, path: string, depth: number, optional: boolean): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) throw new ConfigParseError(`${path}: includes nested more than ${MAX_INCLUDE_DEPTH} deep (an include loop?)`);
  let text: string;
  try {
    const st = await stat(path);
    if (st.isDirectory()) return loadDir(tree, path, depth);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigParseError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (optional && (code === 'ENOENT' || code === 'ENOTDIR')) return;
    throw new ConfigParseError(`cannot read Kerberos configuration ${path}: ${(e as Error).message}`);
  }
  const parser = new ProfileParser(tree, path);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const inc = parser.line(lines[i]!, i + 1);
    if (!inc) continue;
    if (inc.kind === 'include') await loadFile(tree, inc.path, depth + 1, false);
    else await loadDir(tree, inc.path, depth + 1);
  }
  parser.finish(lines.length);
}

async function loadDir(tree: Tree, dir: string, depth: number): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) throw new ConfigParseError(`${dir}: includes nested more than ${MAX_INCLUDE_DEPTH} deep (an include loop?)`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new ConfigParseError(`cannot read Kerberos configuration directory ${dir}: ${(e as Error).message}`);
  }
  for (const name of names.filter(includable).sort()) await loadFile(tree, join(dir, name), depth, false);
}

/**
 * Loads the Kerberos configuration as MIT's library would: the
 * colon-separated files (or directories) in KRB5_CONFIG, else
 * /etc/krb5.conf, with include/includedir followed. Files that do not
 * exist are skipped (none at all gives the defaults); an unreadable
 * include or a syntax error throws ConfigParseError.
 */
export async function loadKrb5Config(env: NodeJS.ProcessEnv = process.env): Promise<Krb5Config> {
  const paths = (env.KRB5_CONFIG || '/etc/krb5.conf').split(':').filter((p) => p !== '');
  const tree: Tree = new Map();
  for (const p of paths) await loadFile(tree, p, 0, true);
  return applyTree(defaults(), tree);
}

/**
 * The realm of `host` from [domain_realm]: an entry for the exact host
 * first, then the longest ".domain" suffix; else the default realm
 * (undefined when there is none). Matching ignores case and a trailing dot.
 */
export function realmForHost(config: Krb5Config, host: string): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  const lookup = (key: string): string | undefined => config.domainRealm.find(([k]) => k === key)?.[1];
  const exact = lookup(h);
  if (exact !== undefined) return exact;
  for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) {
    const r = lookup(h.slice(i));
    if (r !== undefined) return r;
  }
  return config.defaultRealm;
}

/**
 * The KDC addresses of `realm` from [realms], in order: "host",
 * "host:port", "[v6addr]:port" or a bare IPv6 address; a "tcp/" or "udp/"
 * prefix is dropped; HTTPS proxies (https://...) are skipped. Port 88 when
 * none is given. An empty list when the realm has no kdc entries. A bad
 * port throws ConfigParseError.
 */
export function kdcAddresses(config: Krb5Config, realm: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const raw of config.realms.get(realm)?.kdc ?? []) {
    let v = raw.trim();
    if (/^https?:\/\//i.test(v)) continue;
    v = v.replace(/^(tcp|udp)\//i, '');
    let host: string;
    let portText: string | undefined;
    const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(v);
    if (v6) {
      host = v6[1]!;
      portText = v6[2];
    } else if (v.indexOf(':') !== v.lastIndexOf(':')) {
      host = v; // bare IPv6 address, no port
    } else {
      const c = v.indexOf(':');
      host = c < 0 ? v : v.slice(0, c);
      portText = c < 0 ? undefined : v.slice(c + 1);
    }
    let port = 88;
    if (portText !== undefined) {
      port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
      if (!(port >= 1 && port <= 65535)) throw new ConfigParseError(`krb5.conf: bad port in kdc "${raw}" for realm ${realm}`);
    }
    if (host === '') throw new ConfigParseError(`krb5.conf: empty host in kdc "${raw}" for realm ${realm}`);
    out.push({ host, port });
  }
  return out;
}
