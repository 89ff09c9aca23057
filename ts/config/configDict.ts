/**
 * The result of an ssh_config lookup: lowercase keyword → value(s), with
 * Paramiko's conversion helpers and typed getters for the client.
 */
import { ConfigParseError } from '../errors.js';
import { parseProxyJump, type ProxyJumpHop } from './proxyJump.js';

/** The default SSH port, used by `port` when none is configured. */
export const DEFAULT_SSH_PORT = 22;

/**
 * Per-host configuration. Keys are lowercase (`'port'`, not `'Port'`).
 *
 * Single-valued keywords hold one value; keywords that accumulate
 * (IdentityFile, CertificateFile, LocalForward, RemoteForward, DynamicForward,
 * SendEnv) hold a list. `get()` returns a string (for accumulating keys, the
 * first entry), `getAll()` the full list (for list-like single keywords such
 * as UserKnownHostsFile or CanonicalDomains, their separate arguments).
 */
export class SSHConfigDict implements Iterable<[string, string | string[]]> {
  /** Each key's arguments (single keywords) or entries (accumulating keywords). */
  readonly #values = new Map<string, string[]>();
  readonly #accumulating = new Set<string>();

  /**
   * Store a value. A string array marks an accumulating key only when
   * `accumulating` is true; otherwise it is the keyword's argument list.
   */
  set(key: string, value: string | readonly string[], accumulating = false): this {
    const k = key.toLowerCase();
    this.#values.set(k, typeof value === 'string' ? [value] : [...value]);
    if (accumulating) this.#accumulating.add(k);
    else this.#accumulating.delete(k);
    return this;
  }

  /** The value as one string: arguments joined by a space, or an accumulating key's first entry. */
  get(key: string): string | undefined {
    const k = key.toLowerCase();
    const v = this.#values.get(k);
    if (v === undefined) return undefined;
    return this.#accumulating.has(k) ? v[0] : v.join(' ');
  }

  /** All entries of an accumulating key, or the separate arguments of a single key; `[]` when unset. */
  getAll(key: string): string[] {
    return [...(this.#values.get(key.toLowerCase()) ?? [])];
  }

  /** Whether `key` (any case) is set. */
  has(key: string): boolean {
    return this.#values.has(key.toLowerCase());
  }

  /** Removes `key` (any case); true if it was set. */
  delete(key: string): boolean {
    const k = key.toLowerCase();
    this.#accumulating.delete(k);
    return this.#values.delete(k);
  }

  /** Whether the key is one whose lines accumulate into a list. */
  isMultiValued(key: string): boolean {
    return this.#accumulating.has(key.toLowerCase());
  }

  /** The keys that are set, lowercase, in the order they were first set. */
  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  /** How many keys are set. */
  get size(): number {
    return this.#values.size;
  }

  /** `[key, value]` pairs as `toObject()` has them: a string, or a list for accumulating keys. */
  *[Symbol.iterator](): IterableIterator<[string, string | string[]]> {
    for (const k of this.#values.keys()) yield [k, this.#shape(k)];
  }

  #shape(k: string): string | string[] {
    return this.#accumulating.has(k) ? [...this.#values.get(k)!] : this.get(k)!;
  }

  /** A plain object in Paramiko's shape: strings, and lists for accumulating keys. */
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of this) out[k] = v;
    return out;
  }

  /**
   * The value as a boolean: `yes` or `true` (any case) is true, anything else
   * false; `defaultValue` when unset.
   */
  asBool(key: string, defaultValue = false): boolean {
    const v = this.get(key);
    if (v === undefined) return defaultValue;
    const lower = v.toLowerCase();
    return lower === 'yes' || lower === 'true';
  }

  /**
   * The value as an integer; `defaultValue` when unset.
   * @throws ConfigParseError when set but not a decimal integer.
   */
  asInt(key: string): number | undefined;
  /**
   * The value as an integer; `defaultValue` when unset.
   * @throws ConfigParseError when set but not a decimal integer.
   */
  asInt(key: string, defaultValue: number): number;
  /**
   * The value as an integer; `defaultValue` (or undefined) when unset.
   * @throws ConfigParseError when set but not a decimal integer, or not a safe integer.
   */
  asInt(key: string, defaultValue?: number): number | undefined {
    const v = this.get(key);
    if (v === undefined) return defaultValue;
    if (!/^[+-]?[0-9]+$/.test(v.trim())) throw new ConfigParseError(`${key.toLowerCase()}: "${v}" is not an integer`);
    const n = Number(v.trim());
    if (!Number.isSafeInteger(n)) throw new ConfigParseError(`${key.toLowerCase()}: "${v}" is out of range`);
    return n;
  }

  /** HostName (always set by a lookup: the looked-up name when not configured). */
  get hostname(): string | undefined {
    return this.get('hostname');
  }

  /** Port, or 22. */
  get port(): number {
    return this.asInt('port', DEFAULT_SSH_PORT);
  }

  /** User, when configured or given to the lookup. */
  get user(): string | undefined {
    return this.get('user');
  }

  /** IdentityFile entries, in order, tokens expanded. */
  get identityFiles(): string[] {
    return this.getAll('identityfile');
  }

  /** CertificateFile entries, in order, tokens expanded. */
  get certificateFiles(): string[] {
    return this.getAll('certificatefile');
  }

  /** ProxyCommand (never `none`: a lookup removes that). */
  get proxyCommand(): string | undefined {
    return this.get('proxycommand');
  }

  /**
   * ProxyJump hops, in order; `[]` when unset or `none`.
   * @throws ConfigParseError for a malformed value.
   */
  proxyJumpHops(): ProxyJumpHop[] {
    const v = this.get('proxyjump');
    return v === undefined ? [] : parseProxyJump(v);
  }
}
