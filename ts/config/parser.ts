/**
 * Parse ssh_config text into a list of entries per file. `Include` files are
 * read and parsed here, once, so a lookup never touches the disk; their
 * position in the entry list is kept because OpenSSH evaluates them in place.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { ConfigParseError } from '../errors.js';
import { expandGlob } from './glob.js';
import { canonicalKeyword, isKnownKeyword, keywordSpec } from './keywords.js';
import { LexError, rawCommand, splitArgs, splitLine } from './lexer.js';
import { parseProxyJump } from './proxyJump.js';
import { ConfigSyntaxError, type SourceLocation } from './syntaxError.js';
import { localInfo, tildeExpand } from './tokens.js';

/** A `Match` criterion. Those without an argument are `all`, `canonical` and `final`. */
export type MatchCriterion =
  | { readonly kind: 'all' | 'canonical' | 'final'; readonly negate: boolean }
  | { readonly kind: 'host' | 'originalhost' | 'user' | 'localuser' | 'exec'; readonly negate: boolean; readonly arg: string };

/** One meaningful line (or an Include with its parsed files). */
export type ConfigEntry =
  | { readonly kind: 'host'; readonly patterns: readonly string[]; readonly loc: SourceLocation }
  | { readonly kind: 'match'; readonly criteria: readonly MatchCriterion[]; readonly loc: SourceLocation }
  | { readonly kind: 'include'; readonly files: readonly ParsedFile[]; readonly loc: SourceLocation }
  | {
      readonly kind: 'option';
      /** Canonical lowercase keyword. */
      readonly key: string;
      /** Arguments with quotes removed; for command keywords, the single raw command. */
      readonly args: readonly string[];
      readonly loc: SourceLocation;
    };

/** A parsed file or text. */
export interface ParsedFile {
  readonly name: string;
  readonly entries: readonly ConfigEntry[];
}

/** How to parse, and where relative `Include` paths point. */
export interface ParseOptions {
  /**
   * Treat the text as the system-wide file: relative `Include` paths are under
   * `/etc/ssh` and `~` in them is refused, as OpenSSH does. Default false
   * (a user file: relative paths are under `~/.ssh`).
   */
  system?: boolean;
  /** Home directory for `~` and the default `~/.ssh` include directory. Default: the current user's. */
  homeDir?: string;
  /** Override the directory relative `Include` paths are resolved against. */
  includeDir?: string;
  /** Reject keywords OpenSSH does not document, instead of keeping them. Default false. */
  strict?: boolean;
}

/** OpenSSH's READCONF_MAX_DEPTH. */
export const MAX_INCLUDE_DEPTH = 16;

const NO_ARG_CRITERIA = new Set(['all', 'canonical', 'final']);
const ARG_CRITERIA = new Set(['host', 'originalhost', 'user', 'localuser', 'exec']);
const YES_NO = ['yes', 'no', 'true', 'false'];

interface ParseState {
  readonly options: ParseOptions;
  /** Real paths of files currently being parsed, outermost first, to catch Include loops. */
  readonly stack: string[];
  readonly depth: number;
}

function fail(loc: SourceLocation, e: LexError | string): never {
  throw new ConfigSyntaxError(loc, typeof e === 'string' ? e : e.message);
}

/** Parse config text. `name` labels it in error messages (a path for files). */
export function parseConfigText(text: string, name: string, options: ParseOptions = {}): ParsedFile {
  return parseInner(text, name, { options, stack: [], depth: 0 });
}

/** Read and parse a config file. */
export function parseConfigFile(path: string, options: ParseOptions = {}): ParsedFile {
  const text = readConfig(path, undefined);
  return parseInner(text, path, { options, stack: [realPath(path)], depth: 0 });
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readConfig(path: string, loc: SourceLocation | undefined): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    if (loc) throw new ConfigSyntaxError(loc, `cannot read included file ${path}: ${reason}`);
    throw new ConfigParseError(`cannot read config file ${path}: ${reason}`);
  }
}

function parseInner(text: string, name: string, state: ParseState): ParsedFile {
  const entries: ConfigEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const loc: SourceLocation = { file: name, line: i + 1 };
    const split = splitLine(lines[i]!);
    if (split === null) continue;
    if (split instanceof LexError) fail(loc, split);
    const key = canonicalKeyword(split.keyword);
    if (key === 'host') entries.push({ kind: 'host', patterns: hostPatterns(split.rest, loc), loc });
    else if (key === 'match') entries.push({ kind: 'match', criteria: parseMatch(split.rest, loc), loc });
    else if (key === 'include') entries.push({ kind: 'include', files: parseInclude(split.rest, loc, state), loc });
    else entries.push({ kind: 'option', key, args: optionArgs(key, split.keyword, split.rest, loc, state.options), loc });
  }
  return { name, entries };
}

function splitOrFail(rest: string, loc: SourceLocation): string[] {
  const args = splitArgs(rest);
  if (args instanceof LexError) fail(loc, args);
  return args;
}

function hostPatterns(rest: string, loc: SourceLocation): string[] {
  const patterns = splitOrFail(rest, loc);
  if (patterns.length === 0) fail(loc, 'Host needs at least one pattern');
  // A lone "!" is allowed (it negates the empty pattern, which matches nothing), as in ssh.
  if (patterns.some((p) => p === '')) fail(loc, 'empty Host pattern');
  return patterns;
}

/** Parse and validate `Match` criteria, with OpenSSH's rules for `all`. */
function parseMatch(rest: string, loc: SourceLocation): MatchCriterion[] {
  const words = splitOrFail(rest, loc);
  const criteria: MatchCriterion[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const negate = word.startsWith('!');
    const name = (negate ? word.slice(1) : word).toLowerCase();
    if (name === 'all') {
      // "all" must come last, after at most one other criterion (OpenSSH allows `canonical all`).
      if (criteria.length > 1 || i !== words.length - 1) fail(loc, `Match "${word}" cannot be combined with other Match criteria`);
      criteria.push({ kind: 'all', negate });
    } else if (NO_ARG_CRITERIA.has(name)) {
      criteria.push({ kind: name as 'canonical' | 'final', negate });
    } else if (ARG_CRITERIA.has(name)) {
      const arg = words[++i];
      if (arg === undefined || arg === '') fail(loc, `missing argument for Match ${name}`);
      criteria.push({ kind: name as 'host' | 'originalhost' | 'user' | 'localuser' | 'exec', negate, arg });
    } else {
      fail(loc, `unsupported Match criterion "${word}"`);
    }
  }
  if (criteria.length === 0) fail(loc, 'Match needs at least one criterion');
  return criteria;
}

function parseInclude(rest: string, loc: SourceLocation, state: ParseState): ParsedFile[] {
  const { options } = state;
  const args = splitOrFail(rest, loc);
  if (args.length === 0) fail(loc, 'Include needs a path');
  const home = options.homeDir ?? localInfo().home;
  const baseDir = options.includeDir ?? (options.system ? '/etc/ssh' : join(home, '.ssh'));
  const files: ParsedFile[] = [];
  for (const arg of args) {
    if (arg === '') fail(loc, 'empty Include path');
    let pattern: string;
    if (arg.startsWith('~')) {
      if (options.system) fail(loc, `bad include path ${arg}: "~" is not allowed in the system config`);
      const expanded = tildeExpand(arg, localInfo({ home }));
      if (expanded instanceof LexError) fail(loc, expanded);
      pattern = expanded;
    } else {
      pattern = isAbsolute(arg) ? arg : join(baseDir, arg);
    }
    // Paths matching nothing are skipped silently, as OpenSSH does.
    for (const path of expandGlob(pattern)) {
      const real = realPath(path);
      if (state.stack.includes(real)) fail(loc, `Include loop: ${path} is already being read`);
      if (state.depth + 1 > MAX_INCLUDE_DEPTH) fail(loc, `too many nested Includes (limit ${MAX_INCLUDE_DEPTH})`);
      const text = readConfig(path, loc);
      files.push(parseInner(text, path, { options, stack: [...state.stack, real], depth: state.depth + 1 }));
    }
  }
  return files;
}

/** Split and validate an option line's arguments according to its keyword. */
function optionArgs(key: string, written: string, rest: string, loc: SourceLocation, options: ParseOptions): string[] {
  if (options.strict && !isKnownKeyword(key)) fail(loc, `bad configuration option: ${written}`);
  const spec = keywordSpec(key);
  if (spec.kind === 'command') return [rawCommand(rest)];
  const args = splitOrFail(rest, loc);
  if (args.length === 0) fail(loc, `missing argument for ${written}`);
  if (args.some((a) => a === '')) fail(loc, `empty argument for ${written}`);
  if (args.length > spec.maxArgs) fail(loc, `garbage at end of line for ${written}: "${args.slice(spec.maxArgs).join(' ')}"`);
  validate(key, written, args, loc);
  return args;
}

/** Check the values the lookup itself depends on, so mistakes point at their line. */
function validate(key: string, written: string, args: string[], loc: SourceLocation): void {
  const v = args[0]!;
  const oneOf = (allowed: string[]): void => {
    if (!allowed.includes(v.toLowerCase())) fail(loc, `bad value for ${written}: "${v}" (expected ${allowed.join('/')})`);
  };
  switch (key) {
    case 'port': {
      const n = /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN;
      if (!(n >= 1 && n <= 65535)) fail(loc, `bad port number "${v}"`);
      break;
    }
    case 'canonicalizemaxdots':
      if (!/^[0-9]{1,9}$/.test(v)) fail(loc, `bad number for ${written}: "${v}"`);
      break;
    case 'canonicalizehostname':
      oneOf([...YES_NO, 'always']);
      break;
    case 'canonicalizefallbacklocal':
      oneOf(YES_NO);
      break;
    case 'addressfamily':
      oneOf(['any', 'inet', 'inet6']);
      break;
    case 'proxyjump':
      try {
        parseProxyJump(v);
      } catch (err) {
        fail(loc, (err as Error).message);
      }
      break;
    case 'setenv':
      for (const a of args) if (!a.includes('=')) fail(loc, `invalid SetEnv "${a}" (expected NAME=value)`);
      break;
    default:
      break;
  }
}
