/**
 * Protocol version exchange (RFC 4253 section 4.2). Each side sends
 * `SSH-2.0-softwareversion SP comments CR LF`; a server may send other lines
 * first, which a client must skip. Everything here is bounded: one line is at
 * most 255 bytes including CR LF, and the lines before the version string
 * are limited in count and total size.
 */
import { ProtocolError, SSHException } from '../errors.js';

/** RFC 4253: the identification string, CR LF included, is at most 255 bytes. */
export const MAX_VERSION_LINE = 255;
/** Total bytes of banner lines a client accepts before the version string. */
export const MAX_BANNER_BYTES = 64 * 1024;
/** Banner lines a client accepts before the version string. */
export const MAX_BANNER_LINES = 1024;

/** Throws ProtocolError unless `version` is a valid identification string to send. */
export function checkOwnVersion(version: string): void {
  if (!/^SSH-2\.0-[\x21-\x2c\x2e-\x7e]+( [\x20-\x7e]*)?$/.test(version) || version.length + 2 > MAX_VERSION_LINE) {
    throw new SSHException(`invalid own version string ${JSON.stringify(version)}: must be "SSH-2.0-<softwareversion>[ comments]", printable ASCII, at most 253 characters`, {
      code: 'ERR_SSH_BAD_OPTION',
    });
  }
}

/** Result of feeding bytes to the version reader. */
export type VersionResult =
  | { done: false }
  | {
      done: true;
      /** The peer's identification string without CR LF (as it goes into the exchange hash). */
      version: string;
      /** Lines the peer sent before it (client role only). */
      banner: string[];
      /** Offset in the fed buffer just after the version line: packet data starts here. */
      consumed: number;
    };

/**
 * Incremental reader of the peer's identification. `acceptBanner` is true for
 * the client role (servers may send lines first); a server refuses anything
 * before the version string.
 */
export class VersionReader {
  readonly #acceptBanner: boolean;
  readonly #banner: string[] = [];
  #bannerBytes = 0;
  /** How far into the buffer lines have already been consumed. */
  #lineStart = 0;

  constructor(acceptBanner: boolean) {
    this.#acceptBanner = acceptBanner;
  }

  /**
   * Looks at `buf[0, end)` (all bytes received so far, the same growing
   * buffer each time) and returns the version once its line is complete.
   */
  feed(buf: Uint8Array, end: number): VersionResult {
    for (;;) {
      const start = this.#lineStart;
      let nl = -1;
      const limit = Math.min(end, start + MAX_VERSION_LINE);
      for (let i = start; i < limit; i++) {
        if (buf[i] === 0x0a) {
          nl = i;
          break;
        }
      }
      if (nl < 0) {
        if (end - start >= MAX_VERSION_LINE) throw new ProtocolError(`peer identification line longer than ${MAX_VERSION_LINE} bytes`, { code: 'ERR_SSH_VERSION' });
        return { done: false };
      }
      let lineEnd = nl;
      if (lineEnd > start && buf[lineEnd - 1] === 0x0d) lineEnd--;
      const line = latin1(buf, start, lineEnd);
      this.#lineStart = nl + 1;
      if (line.startsWith('SSH-')) {
        if (line.includes('\0')) throw new ProtocolError('peer identification string contains a NUL byte', { code: 'ERR_SSH_VERSION' });
        const proto = line.slice(4, line.indexOf('-', 4) < 0 ? line.length : line.indexOf('-', 4));
        if (proto !== '2.0' && proto !== '1.99') {
          throw new ProtocolError(`peer speaks unsupported protocol version ${JSON.stringify(proto)} (${JSON.stringify(line.slice(0, 80))})`, {
            code: 'ERR_SSH_VERSION',
          });
        }
        if (line.indexOf('-', 4) < 0 || line.length <= line.indexOf('-', 4) + 1) {
          throw new ProtocolError(`malformed peer identification string ${JSON.stringify(line.slice(0, 80))}`, { code: 'ERR_SSH_VERSION' });
        }
        return { done: true, version: line, banner: this.#banner, consumed: nl + 1 };
      }
      if (!this.#acceptBanner) {
        throw new ProtocolError(`expected an SSH identification string, got ${JSON.stringify(line.slice(0, 80))}`, { code: 'ERR_SSH_VERSION' });
      }
      this.#bannerBytes += nl + 1 - start;
      this.#banner.push(line);
      if (this.#banner.length > MAX_BANNER_LINES || this.#bannerBytes > MAX_BANNER_BYTES) {
        throw new ProtocolError('peer sent too many lines before its identification string', { code: 'ERR_SSH_VERSION' });
      }
    }
  }

  /** Bytes of the buffer already consumed by complete lines (the caller may discard them). */
  get consumed(): number {
    return this.#lineStart;
  }

  /** Tell the reader the caller dropped the first `n` consumed bytes from its buffer. */
  shift(n: number): void {
    this.#lineStart -= n;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}
