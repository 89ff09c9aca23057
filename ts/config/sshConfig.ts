/**
 * OpenSSH client configuration (ssh_config(5)), in the shape of Paramiko's
 * SSHConfig: parse once, then look up the effective settings for a host.
 */
import { isIP } from 'node:net';

import { SSHException } from '../errors.js';
import { checkDuration } from '../transport/index.js';
import { canonicalizeHostname, DEFAULT_DNS_TIMEOUT_MS, type HostResolver, systemResolver } from './canonicalize.js';
import { SSHConfigDict } from './configDict.js';
import { evalFile, type ExecRequest, OptionState, type PassContext } from './evaluate.js';
import { isAccumulating } from './keywords.js';
import { LexError } from './lexer.js';
import { DEFAULT_EXEC_TIMEOUT_MS, runMatchExec, runMatchExecSync } from './matchExec.js';
import { type ConfigEntry, type ParsedFile, parseConfigFile, parseConfigText, type ParseOptions } from './parser.js';
import { ConfigSyntaxError, type SourceLocation } from './syntaxError.js';
import { connectionHash, dollarExpand, type LocalInfo, localInfo, percentExpand, tildeExpand } from './tokens.js';

export type { ParseOptions } from './parser.js';

/** Options for one lookup. */
export interface LookupOptions {
  /** Remote user given by the caller (like `ssh -l`): overrides any `User` line and is what `Match user` sees. */
  user?: string;
  /** Port given by the caller (like `ssh -p`): overrides any `Port` line. */
  port?: number;
  /** Local user name (`%u`, `Match localuser`, default remote user). Default: the current user. */
  localUser?: string;
  /** Local home directory (`%d`, `~`). Default: the current user's. */
  homeDir?: string;
  /** Local host name (`%l`, `%L`, `%C`). Default: os.hostname(). */
  localHostname?: string;
  /** Local uid (`%i`). Default: the current uid. */
  uid?: number;
  /** Environment for `${VAR}` references. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Whether `Match exec` may run its command. Default **true**, as OpenSSH.
   * When false no command is run and every `exec` criterion counts as a
   * command that failed (so `exec` is false and `!exec` true).
   */
  allowExec?: boolean;
  /** Limit for each `Match exec` command, in ms, 0 to 2^31-1. Default 10 000; 0 = no limit; past it a TimeoutError is thrown. Another value is refused with SSHException ERR_SSH_BAD_OPTION. */
  execTimeoutMs?: number;
  /** Expand `%` tokens, `~` and `${VAR}` in the result. Default true; false returns values as written. */
  expandTokens?: boolean;
  /** Limit for each DNS lookup during canonicalization, in ms, 0 to 2^31-1. Default 5 000; 0 = no limit. Another value is refused with SSHException ERR_SSH_BAD_OPTION. */
  dnsTimeoutMs?: number;
  /** Resolver for canonicalization (tests, custom DNS). Default: getaddrinfo via node:dns. */
  resolver?: HostResolver;
}

/** Where the caller's own user/port come from in error messages. */
const CALLER: SourceLocation = { file: '(lookup options)', line: 0 };

/** Keywords whose values are paths that get `~`, `${VAR}` and the full token set. */
const PATH_KEYS = new Set(['identityfile', 'certificatefile', 'controlpath', 'identityagent', 'userknownhostsfile']);
/** Keywords that get the full token set without `~`. */
const FULL_TOKEN_KEYS = new Set(['remotecommand', 'localcommand', 'knownhostscommand']);
/** Runtime-only tokens left in place for the client to fill when it runs the command. */
const RUNTIME_TOKENS: Record<string, string> = {
  knownhostscommand: 'fHIKt',
  localcommand: 'fHIKtT',
};
/** Keywords with `${VAR}` support. */
const ENV_KEYS = new Set(['identityfile', 'certificatefile', 'controlpath', 'identityagent', 'userknownhostsfile', 'knownhostscommand']);

/**
 * Parsed ssh_config. `lookup()` applies OpenSSH's rules: the first obtained
 * value of each keyword wins, `Host`/`Match` blocks are evaluated in file
 * order against the looked-up host, `Include`d files are evaluated in place,
 * and a final pass is made when `Match final` or CanonicalizeHostname asks
 * for it.
 */
export class SSHConfig {
  readonly #files: ParsedFile[] = [];
  readonly #options: ParseOptions;

  /** An empty config; add text with `parse()` / files with `parseFile()`. */
  constructor(options: ParseOptions = {}) {
    this.#options = { ...options };
  }

  /** Parse config text. */
  static fromText(text: string, options: ParseOptions = {}): SSHConfig {
    return new SSHConfig(options).parse(text);
  }

  /** Read and parse a config file. Relative `Include`s resolve under `~/.ssh` (or `/etc/ssh` with `system`). */
  static fromPath(path: string, options: ParseOptions = {}): SSHConfig {
    return new SSHConfig(options).parseFile(path);
  }

  /**
   * Parse more config text; it is evaluated after anything parsed before, as
   * if appended. `name` labels it in error messages.
   * @throws ConfigParseError (a ConfigSyntaxError with file and line) for malformed input.
   */
  parse(text: string, name = '(config text)'): this {
    this.#files.push(parseConfigText(text, name, this.#options));
    return this;
  }

  /** Read and parse a config file, appended to what was parsed before. */
  parseFile(path: string): this {
    this.#files.push(parseConfigFile(path, this.#options));
    return this;
  }

  /** Every pattern written on a `Host` line, in any file (wildcards and negations included). */
  getHostnames(): Set<string> {
    const out = new Set<string>();
    const walk = (entries: readonly ConfigEntry[]): void => {
      for (const e of entries) {
        if (e.kind === 'host') e.patterns.forEach((p) => out.add(p));
        else if (e.kind === 'include') e.files.forEach((f) => walk(f.entries));
      }
    };
    this.#files.forEach((f) => walk(f.entries));
    return out;
  }

  /**
   * Effective configuration for `hostname`, including hostname
   * canonicalization (DNS) when the config enables it.
   *
   * @throws ConfigParseError for bad tokens or values; CouldNotCanonicalize
   *   when canonicalization is required and fails; TimeoutError when a
   *   `Match exec` command runs too long.
   */
  async lookup(hostname: string, options: LookupOptions = {}): Promise<SSHConfigDict> {
    const setup = this.#setup(hostname, options);
    const run = async (ctx: PassContext): Promise<void> => {
      const gen = this.#walk(setup.state, ctx);
      let step = gen.next(false);
      while (!step.done) {
        const ok = await this.#exec(step.value, options, true);
        step = gen.next(ok);
      }
    };
    await run(setup.firstPass);
    let host = setup.afterFirstPass();
    const canon = canonicalizeMode(setup.state);
    if (canon !== 'no' && shouldCanonicalize(host, canon, setup.state)) {
      const resolver = options.resolver ?? systemResolver(options.dnsTimeoutMs ?? DEFAULT_DNS_TIMEOUT_MS);
      host = await canonicalizeHostname(
        host,
        { addressFamily: setup.state.value('addressfamily'), fallbackLocal: setup.state.value('canonicalizefallbacklocal') },
        setup.state.single.get('canonicaldomains')?.args ?? [],
        resolver,
      );
    }
    if (setup.needsFinalPass()) await run(setup.finalPass(host));
    return this.#finish(setup, host, options);
  }

  /**
   * Like `lookup()` but synchronous, and with no hostname canonicalization
   * (no DNS): the hostname stays as configured. A final pass still happens when
   * `Match final` or CanonicalizeHostname asks for one, so `Match canonical`
   * and `Match final` blocks apply. `Match exec` commands block the thread.
   */
  lookupSync(hostname: string, options: LookupOptions = {}): SSHConfigDict {
    const setup = this.#setup(hostname, options);
    const run = (ctx: PassContext): void => {
      const gen = this.#walk(setup.state, ctx);
      let step = gen.next(false);
      while (!step.done) step = gen.next(this.#exec(step.value, options, false) as boolean);
    };
    run(setup.firstPass);
    const host = setup.afterFirstPass();
    if (setup.needsFinalPass()) run(setup.finalPass(host));
    return this.#finish(setup, host, options);
  }

  /**
   * Canonicalize `hostname` against `domains` (Paramiko's signature): the first
   * `hostname.domain` that resolves, else `hostname` when `options` allows
   * falling back (CanonicalizeFallbackLocal not `no`).
   *
   * @throws CouldNotCanonicalize when nothing resolves and fallback is disabled.
   */
  async canonicalize(
    hostname: string,
    options: SSHConfigDict,
    domains: readonly string[],
    lookupOptions: Pick<LookupOptions, 'resolver' | 'dnsTimeoutMs'> = {},
  ): Promise<string> {
    checkDuration('dnsTimeoutMs', lookupOptions.dnsTimeoutMs, { zero: 'no limit' });
    const resolver = lookupOptions.resolver ?? systemResolver(lookupOptions.dnsTimeoutMs ?? DEFAULT_DNS_TIMEOUT_MS);
    return canonicalizeHostname(
      hostname,
      { addressFamily: options.get('addressfamily'), fallbackLocal: options.get('canonicalizefallbacklocal') },
      domains,
      resolver,
    );
  }

  *#walk(state: OptionState, ctx: PassContext): Generator<ExecRequest, void, boolean> {
    for (const f of this.#files) yield* evalFile(f, state, ctx, false, true);
  }

  #exec(req: ExecRequest, options: LookupOptions, async: boolean): boolean | Promise<boolean> {
    if (options.allowExec === false) return false;
    const timeout = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const where = (err: unknown): never => {
      // Keep the error's class (TimeoutError stays a TimeoutError) but say which line ran it.
      if (err instanceof SSHException) err.message = `${req.loc.file} line ${req.loc.line}: ${err.message}`;
      throw err;
    };
    if (!async) {
      try {
        return runMatchExecSync(req.command, timeout);
      } catch (err) {
        return where(err);
      }
    }
    return runMatchExec(req.command, timeout).catch(where);
  }

  #setup(hostname: string, options: LookupOptions): LookupSetup {
    if (hostname === '') throw new SSHException('lookup: empty hostname', { code: 'ERR_SSH_CONFIG' });
    // Checked even when not used (no Match exec, no canonicalization): a bad value is a mistake either way.
    checkDuration('execTimeoutMs', options.execTimeoutMs, { zero: 'no limit' });
    checkDuration('dnsTimeoutMs', options.dnsTimeoutMs, { zero: 'no limit' });
    const local = localInfo({
      ...(options.localUser !== undefined ? { user: options.localUser } : {}),
      ...(options.homeDir !== undefined ? { home: options.homeDir } : {}),
      ...(options.localHostname !== undefined ? { hostname: options.localHostname } : {}),
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
    });
    const state = new OptionState();
    // Caller-supplied values act like ssh's command line: they are obtained first.
    if (options.user !== undefined) state.apply('user', [options.user], CALLER);
    if (options.port !== undefined) {
      if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
        throw new SSHException(`lookup: bad port ${options.port}`, { code: 'ERR_SSH_CONFIG' });
      }
      state.apply('port', [String(options.port)], CALLER);
    }
    return new LookupSetup(hostname, state, local);
  }

  #finish(setup: LookupSetup, host: string, options: LookupOptions): SSHConfigDict {
    const { state, local } = setup;
    const dict = new SSHConfigDict();
    const expand = options.expandTokens !== false;
    const env = options.env ?? process.env;
    const port = state.value('port') ?? '22';
    const ruser = state.value('user') ?? local.user;
    const full = fullTokens(local, host, setup.originalHost, port, ruser, state.value('hostkeyalias'));
    const proxy = { h: host, n: setup.originalHost, p: port, r: ruser };

    const expandOne = (key: string, value: string, loc: SourceLocation): string => {
      if (!expand) return value;
      let v: string | LexError = value;
      if (PATH_KEYS.has(key)) v = tildeExpand(v, local);
      if (!(v instanceof LexError) && ENV_KEYS.has(key)) v = dollarExpand(v, env);
      if (!(v instanceof LexError)) {
        if (PATH_KEYS.has(key) || FULL_TOKEN_KEYS.has(key)) v = percentExpand(v, full, RUNTIME_TOKENS[key] ?? '');
        else if (key === 'proxycommand' || key === 'proxyjump') v = percentExpand(v, proxy);
      }
      if (v instanceof LexError) throw new ConfigSyntaxError(loc, `${key}: ${v.message}`);
      return v;
    };

    for (const [key, { args, loc }] of state.single) {
      if (key === 'hostname') continue;
      dict.set(key, args.map((a) => expandOne(key, a, loc)));
    }
    for (const [key, entries] of state.multi) {
      if (entries.length > 0) dict.set(key, entries.map((e) => expandOne(key, e.value, e.loc)), isAccumulating(key));
    }
    dict.set('hostname', host);
    // Paramiko drops an effective "ProxyCommand none" from the result.
    if (dict.get('proxycommand')?.toLowerCase() === 'none') dict.delete('proxycommand');
    return dict;
  }
}

/** State shared by the passes of one lookup. */
class LookupSetup {
  constructor(
    readonly originalHost: string,
    readonly state: OptionState,
    readonly local: LocalInfo,
  ) {}

  get firstPass(): PassContext {
    return { originalHost: this.originalHost, host: this.originalHost, finalPass: false, local: this.local };
  }

  /**
   * The target host after the first pass: HostName with `%h` filled, else the
   * given name; lowercased unless it is an address (as ssh does).
   */
  afterFirstPass(): string {
    const hn = this.state.single.get('hostname');
    let host = this.originalHost;
    if (hn !== undefined) {
      const v = percentExpand(hn.args[0]!, { h: this.originalHost });
      if (v instanceof LexError) throw new ConfigSyntaxError(hn.loc, `hostname: ${v.message}`);
      host = v;
    }
    return isIP(host) === 0 ? host.toLowerCase() : host;
  }

  needsFinalPass(): boolean {
    return this.state.wantFinal || canonicalizeMode(this.state) !== 'no';
  }

  /** The final pass matches `Host` against the final hostname; HostName is fixed to it. */
  finalPass(host: string): PassContext {
    this.state.single.set('hostname', { args: [host], loc: CALLER });
    return { originalHost: this.originalHost, host, finalPass: true, local: this.local };
  }
}

function canonicalizeMode(state: OptionState): 'no' | 'yes' | 'always' {
  const v = state.value('canonicalizehostname')?.toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'always') return 'always';
  return 'no';
}

/**
 * OpenSSH canonicalizes only names (not addresses) with at most
 * CanonicalizeMaxDots dots, and with `yes` only for direct connections (no
 * ProxyCommand/ProxyJump); `always` also for proxied ones.
 */
function shouldCanonicalize(host: string, mode: 'yes' | 'always', state: OptionState): boolean {
  if (isIP(host.replace(/\.$/, '')) !== 0) return false;
  const maxDots = Number(state.value('canonicalizemaxdots') ?? '1');
  const dots = host.replace(/\.$/, '').split('.').length - 1;
  if (!host.endsWith('.') && dots > maxDots) return false;
  if (mode === 'always') return true;
  const unset = (k: string): boolean => {
    const v = state.value(k);
    return v === undefined || v.toLowerCase() === 'none';
  };
  return unset('proxycommand') && unset('proxyjump');
}

/** The token set of ssh_config(5) for paths and commands. */
function fullTokens(
  local: LocalInfo,
  host: string,
  originalHost: string,
  port: string,
  ruser: string,
  hostKeyAlias: string | undefined,
): Record<string, string> {
  const l = local.hostname;
  return {
    C: connectionHash(l, host, port, ruser),
    L: l.split('.')[0]!,
    d: local.home,
    h: host,
    i: String(local.uid),
    k: hostKeyAlias ?? originalHost,
    l,
    n: originalHost,
    p: port,
    r: ruser,
    u: local.user,
  };
}
