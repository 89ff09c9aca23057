import { ConfigParseError } from '../errors.js';

/** Where a line of configuration came from: file name (or a label for text) and 1-based line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/**
 * A `ConfigParseError` that knows the file and line it refers to. It is still an
 * instance of `ConfigParseError` (code `ERR_SSH_CONFIG`), so callers that only
 * catch the base class keep working.
 */
export class ConfigSyntaxError extends ConfigParseError {
  /** The file (or text label) holding the offending line. */
  readonly file: string;
  /** The 1-based line number of the offending line. */
  readonly line: number;
  constructor(loc: SourceLocation, message: string) {
    super(`${loc.file} line ${loc.line}: ${message}`);
    this.file = loc.file;
    this.line = loc.line;
  }
}
