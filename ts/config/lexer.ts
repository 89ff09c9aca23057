/**
 * Line-level lexing of ssh_config text, following OpenSSH's readconf.c rules:
 * a keyword, then whitespace or one `=` (optionally surrounded by whitespace),
 * then arguments split on whitespace with `"`/`'` quoting, backslash escapes
 * and `#` comments starting at a token boundary.
 */

/** One non-comment line split into its keyword and the raw remainder. */
export interface SplitLine {
  /** The keyword exactly as written (callers lowercase it). */
  readonly keyword: string;
  /** Everything after the keyword/value separator; never empty. */
  readonly rest: string;
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

/** The reason a line could not be split; the caller adds file and line. */
export class LexError {
  constructor(readonly message: string) {}
}

/**
 * Split a line into keyword and remainder. Returns `null` for blank and comment
 * lines, a `LexError` for a keyword without an argument.
 */
export function splitLine(rawLine: string): SplitLine | null | LexError {
  // Trailing whitespace (including \r from CRLF files and \f) is not part of any value.
  const line = rawLine.replace(/[ \t\r\n\f]+$/, '');
  let i = 0;
  while (i < line.length && isBlank(line[i]!)) i++;
  if (i >= line.length || line[i] === '#') return null;
  const start = i;
  while (i < line.length && !isBlank(line[i]!) && line[i] !== '=') i++;
  const keyword = line.slice(start, i);
  if (keyword === '') return new LexError('missing keyword before "="');
  // OpenSSH accepts whitespace, or at most one '=' with optional whitespace around it.
  const endedOnEquals = line[i] === '=';
  if (endedOnEquals) i++;
  while (i < line.length && isBlank(line[i]!)) i++;
  if (!endedOnEquals && line[i] === '=') {
    i++;
    while (i < line.length && isBlank(line[i]!)) i++;
  }
  const rest = line.slice(i);
  if (rest === '') return new LexError(`no argument after keyword "${keyword}"`);
  return { keyword, rest };
}

/**
 * Split arguments like OpenSSH's argv_split(): whitespace separates tokens,
 * `"` and `'` quote (and may appear mid-token), `\"`, `\'`, `\\` and (outside
 * quotes) `\ ` are escapes, and a `#` at the start of a token ends the line.
 * Returns a `LexError` for an unterminated quote.
 */
export function splitArgs(text: string): string[] | LexError {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < n; i++) {
      const ch = text[i]!;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === '"' || next === "'" || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          arg += ch;
        }
      } else if (quote === '' && isBlank(ch)) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return new LexError('unterminated quote');
    out.push(arg);
  }
  return out;
}

/**
 * The raw command text of ProxyCommand-style keywords: OpenSSH keeps the rest
 * of the line verbatim (quotes and all) for the shell, only skipping leading
 * whitespace and `=`.
 */
export function rawCommand(rest: string): string {
  return rest.replace(/^[ \t=]+/, '');
}
