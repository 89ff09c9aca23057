/**
 * Big-endian, bounds-checked reading of MIT's binary Kerberos files
 * (credential caches, keytabs). Every read checks what is left first; a
 * malformed file is a KeyFormatError naming the file, what was being read
 * and the offset, never the bytes themselves (they may be keys).
 */
import { readFile } from 'node:fs/promises';
import { KeyFormatError, SSHException } from '../../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Krb5FileReader {
  #pos: number;
  readonly #view: DataView;

  /**
   * `kind` names the format in errors ("credential cache"); `lengthBytes`
   * is the size of a `data` field's length (4 in ccaches, 2 in keytabs);
   * [start, end) is the part of `buf` this reader may read.
   */
  constructor(
    readonly buf: Uint8Array,
    readonly source: string,
    readonly kind: string,
    readonly lengthBytes: 2 | 4,
    start = 0,
    readonly end = buf.length,
  ) {
    this.#pos = start;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.#pos;
  }

  get position(): number {
    return this.#pos;
  }

  fail(what: string): never {
    throw new KeyFormatError(`${this.source}: malformed ${this.kind}: ${what} (at offset ${this.#pos})`);
  }

  #need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`truncated ${what} (need ${n} bytes, ${this.remaining} left)`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.buf[this.#pos++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  skip(n: number, what: string): void {
    this.#need(n, what);
    this.#pos += n;
  }

  /** A `data` field: its length (lengthBytes wide), then that many bytes (a view, not a copy). */
  data(what: string): Uint8Array {
    const len = this.lengthBytes === 4 ? this.u32(`${what} length`) : this.u16(`${what} length`);
    if (len > this.remaining) this.fail(`${what} length ${len} exceeds the ${this.remaining} bytes left`);
    const v = this.buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return v;
  }

  /** A `data` field holding UTF-8 text. */
  text(what: string): string {
    const bytes = this.data(what);
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
}

/**
 * Reads a Kerberos file: a missing one is `missing()` (what that means
 * differs: no tickets, no keytab), any other failure SSHException `code`.
 */
export async function readKrb5File(path: string, kind: string, missing: (cause: unknown) => Error, code: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw missing(e);
    throw new SSHException(`cannot read ${kind} ${path}: ${(e as Error).message}`, { code, cause: e });
  }
}
