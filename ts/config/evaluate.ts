/**
 * One evaluation pass over parsed config, as OpenSSH's read_config_file():
 * walk the entries in order, track whether the current Host/Match block
 * applies, and record the first value obtained for each keyword.
 *
 * The walk is a generator so the same code serves synchronous and
 * asynchronous lookups: each `Match exec` command is yielded to the driver,
 * which runs it (blocking or not) and sends back whether it succeeded.
 */
import { isAccumulating, keywordSpec } from './keywords.js';
import { LexError } from './lexer.js';
import type { ConfigEntry, MatchCriterion, ParsedFile } from './parser.js';
import { matchHostPatterns, matchPattern, matchPatternList } from './pattern.js';
import { ConfigSyntaxError, type SourceLocation } from './syntaxError.js';
import { connectionHash, type LocalInfo, percentExpand } from './tokens.js';

/** A value as first obtained, with where it came from for error messages. */
export interface StoredValue {
  readonly args: readonly string[];
  readonly loc: SourceLocation;
}

/** An accumulated entry (one IdentityFile, one SendEnv name, ...). */
export interface StoredEntry {
  readonly value: string;
  readonly loc: SourceLocation;
}

/** A `Match exec` command for the driver to run. */
export interface ExecRequest {
  readonly command: string;
  readonly loc: SourceLocation;
}

/** Options collected across passes (OpenSSH keeps them between the first and final pass). */
export class OptionState {
  readonly single = new Map<string, StoredValue>();
  readonly multi = new Map<string, StoredEntry[]>();
  /** Set when a `Match final` (or canonical) was seen: the config asks for a final pass. */
  wantFinal = false;

  /** Record an option line from an active block. */
  apply(key: string, args: readonly string[], loc: SourceLocation): void {
    if (isAccumulating(key)) {
      this.#accumulate(key, args, loc);
      return;
    }
    // ProxyCommand and ProxyJump compete: whichever comes first blocks the
    // other, except that `ProxyJump none` leaves a later ProxyCommand free (as ssh -G shows).
    if (key === 'proxyjump' && this.single.has('proxycommand')) return;
    if (key === 'proxycommand' && this.single.has('proxyjump') && this.single.get('proxyjump')!.args[0]?.toLowerCase() !== 'none') return;
    if (!this.single.has(key)) this.single.set(key, { args, loc });
  }

  #accumulate(key: string, args: readonly string[], loc: SourceLocation): void {
    let list = this.multi.get(key);
    if (list === undefined) this.multi.set(key, (list = []));
    const spec = keywordSpec(key);
    const values = spec.perArgument ? args : [args.join(' ')];
    for (const value of values) {
      if (key === 'sendenv' && value.startsWith('-')) {
        // "SendEnv -PATTERN" clears names added so far that match.
        const pattern = value.slice(1);
        for (let i = list.length - 1; i >= 0; i--) if (matchPattern(list[i]!.value, pattern)) list.splice(i, 1);
        continue;
      }
      // OpenSSH ignores duplicates (and the final pass would otherwise add everything twice).
      if (!list.some((e) => e.value === value)) list.push({ value, loc });
    }
  }

  /** First value of a single keyword, joined. */
  value(key: string): string | undefined {
    return this.single.get(key)?.args.join(' ');
  }
}

/** What a pass matches against. */
export interface PassContext {
  /** The host as given to the lookup (`%n`, `Match originalhost`). */
  readonly originalHost: string;
  /** The host `Host` lines match: the original in the first pass, the final hostname in the final pass. */
  readonly host: string;
  /** True in the final (canonical) pass. */
  readonly finalPass: boolean;
  readonly local: LocalInfo;
}

function expandOrFail(value: string, tokens: Record<string, string>, loc: SourceLocation): string {
  const r = percentExpand(value, tokens);
  if (r instanceof LexError) throw new ConfigSyntaxError(loc, r.message);
  return r;
}

/** The host `Match host` compares: configured HostName with `%h` filled, else the current host. */
function matchHost(state: OptionState, ctx: PassContext): string {
  const hn = state.single.get('hostname');
  if (ctx.finalPass || hn === undefined) return ctx.host;
  return expandOrFail(hn.args[0]!, { h: ctx.originalHost }, hn.loc);
}

/** Evaluate one `Match` line. Yields exec commands; returns whether the block applies. */
function* evalMatch(
  criteria: readonly MatchCriterion[],
  loc: SourceLocation,
  state: OptionState,
  ctx: PassContext,
): Generator<ExecRequest, boolean, boolean> {
  let result = true;
  for (const c of criteria) {
    let r: boolean;
    switch (c.kind) {
      case 'all':
        return result && !c.negate;
      case 'final':
        state.wantFinal = true;
        r = ctx.finalPass;
        break;
      case 'canonical':
        // OpenSSH matches `canonical` and `final` in the same (final) pass.
        r = ctx.finalPass;
        break;
      // Case-insensitive, as ssh compares both names lowercased (unlike `Host` lines).
      case 'host':
        r = matchPatternList(matchHost(state, ctx).toLowerCase(), c.arg, true);
        break;
      case 'originalhost':
        r = matchPatternList(ctx.originalHost.toLowerCase(), c.arg, true);
        break;
      case 'user':
        r = matchPatternList(state.value('user') ?? ctx.local.user, c.arg);
        break;
      case 'localuser':
        r = matchPatternList(ctx.local.user, c.arg);
        break;
      case 'exec': {
        // Commands are not run once an earlier criterion has failed.
        if (!result) continue;
        const command = expandOrFail(c.arg, execTokens(state, ctx), loc);
        r = yield { command, loc };
        break;
      }
    }
    if (r === c.negate) result = false;
  }
  return result;
}

/** Tokens available to `Match exec`, from what is known so far in the pass. */
function execTokens(state: OptionState, ctx: PassContext): Record<string, string> {
  const host = matchHost(state, ctx);
  const port = state.value('port') ?? '22';
  const ruser = state.value('user') ?? ctx.local.user;
  const l = ctx.local.hostname;
  return {
    C: connectionHash(l, host, port, ruser),
    L: l.split('.')[0]!,
    d: ctx.local.home,
    h: host,
    i: String(ctx.local.uid),
    k: state.value('hostkeyalias') ?? host,
    l,
    n: ctx.originalHost,
    p: port,
    r: ruser,
    u: ctx.local.user,
  };
}

/**
 * Walk a file's entries. `neverMatch` is set inside files included from an
 * inactive block: OpenSSH reads them but lets no Host/Match in them apply.
 */
export function* evalFile(
  file: ParsedFile,
  state: OptionState,
  ctx: PassContext,
  neverMatch: boolean,
  startActive: boolean,
): Generator<ExecRequest, void, boolean> {
  let active = startActive;
  for (const entry of file.entries) {
    active = yield* evalEntry(entry, active, state, ctx, neverMatch);
  }
}

function* evalEntry(
  entry: ConfigEntry,
  active: boolean,
  state: OptionState,
  ctx: PassContext,
  neverMatch: boolean,
): Generator<ExecRequest, boolean, boolean> {
  switch (entry.kind) {
    case 'host':
      return neverMatch ? false : matchHostPatterns(ctx.host, entry.patterns);
    case 'match':
      if (neverMatch) {
        // Not evaluated (no commands run), but a `final` still requests the final pass.
        if (entry.criteria.some((c) => c.kind === 'final')) state.wantFinal = true;
        return false;
      }
      return yield* evalMatch(entry.criteria, entry.loc, state, ctx);
    case 'include':
      for (const f of entry.files) yield* evalFile(f, state, ctx, neverMatch || !active, active);
      // An included file's Host/Match lines do not change the including file's state.
      return active;
    case 'option':
      if (active) state.apply(entry.key, entry.args, entry.loc);
      return active;
  }
}
