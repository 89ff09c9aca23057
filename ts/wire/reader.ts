/**
 * Bounds-checked reading of SSH wire encodings (RFC 4251 section 5). Every
 * read checks what is left first, so a hostile length can never cause an
 * out-of-range read or a large allocation: the result is always a view into
 * the input, never a copy sized by the peer.
 */
import { ProtocolError } from '../errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads SSH wire encodings (RFC 4251 section 5) from `buf[start, end)`, advancing as it goes:
 * `uint32`/`uint64` big-endian, `string` = uint32 length + bytes, `mpint` two's complement.
 * A read past `end`, or a length over its limit, throws ProtocolError (message prefixed with
 * `context`). Byte results are views into `buf`, not copies. Paramiko's `Message` `get_*` side.
 */
export class SSHReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos: number;
  readonly #end: number;
  /** What is being parsed, for error messages (e.g. "KEXINIT"). */
  readonly context: string;

  /**
   * Reads `buf[start, end)`. An `end` beyond the buffer or a negative `start` is a caller's
   * mistake (RangeError); a `start` past `end` means the message is shorter than its fixed
   * header, and throws ProtocolError.
   */
  constructor(buf: Uint8Array, context = 'message', start = 0, end = buf.length) {
    if (!(start >= 0 && end <= buf.length)) throw new RangeError(`${context}: reader bounds [${start}, ${end}) outside a ${buf.length}-byte buffer`);
    if (start > end) throw new ProtocolError(`${context}: truncated (${end} bytes, ${start} expected before the fields)`);
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = start;
    this.#end = end;
    this.context = context;
  }

  /** Offset in `buf` of the next byte to read (absolute, not relative to `start`). */
  get position(): number {
    return this.#pos;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#end - this.#pos) {
      throw new ProtocolError(`${this.context}: truncated ${what} (need ${n} bytes, ${this.#end - this.#pos} left)`);
    }
  }

  /** One byte (0–255). Throws ProtocolError at the end. */
  byte(): number {
    this.#need(1, 'byte');
    return this.#buf[this.#pos++]!;
  }

  /** A `boolean` byte: any non-zero value is true (RFC 4251). */
  boolean(): boolean {
    return this.byte() !== 0;
  }

  /** A big-endian uint32. Throws ProtocolError if fewer than 4 bytes remain. */
  uint32(): number {
    this.#need(4, 'uint32');
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** A big-endian uint64, as a bigint. Throws ProtocolError if fewer than 8 bytes remain. */
  uint64(): bigint {
    this.#need(8, 'uint64');
    const v = this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Raw bytes of a fixed count (a view, not a copy). */
  raw(n: number): Uint8Array {
    this.#need(n, `${n}-byte field`);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** An SSH `string` as bytes (a view, not a copy). `max` bounds its length. */
  string(max = this.#end - this.#pos): Uint8Array {
    const len = this.uint32();
    if (len > max) throw new ProtocolError(`${this.context}: string of ${len} bytes exceeds limit ${max}`);
    return this.raw(len);
  }

  /** An SSH `string` decoded as UTF-8; invalid UTF-8 is a protocol error. */
  utf8(max?: number): string {
    const bytes = this.string(max);
    try {
      return decoder.decode(bytes);
    } catch {
      throw new ProtocolError(`${this.context}: string is not valid UTF-8`);
    }
  }

  /** An SSH `string` as latin1/ASCII text (names, which RFC 4251 says are US-ASCII). */
  ascii(max?: number): string {
    const bytes = this.string(max);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }

  /** A `name-list`: comma-separated US-ASCII names. Empty string is an empty list. */
  nameList(max = 65536): string[] {
    const s = this.ascii(max);
    return s.length === 0 ? [] : s.split(',');
  }

  /** An `mpint` as a bigint (two's complement, big-endian). */
  mpint(maxBytes = 16384): bigint {
    const bytes = this.string(maxBytes);
    return mpintToBigInt(bytes);
  }

  /** An `mpint`'s magnitude as unsigned big-endian bytes with no leading zeros; negative values are an error. */
  mpintBytes(maxBytes = 16384): Uint8Array {
    const bytes = this.string(maxBytes);
    if (bytes.length > 0 && bytes[0]! & 0x80) throw new ProtocolError(`${this.context}: negative mpint where a positive one is required`);
    let i = 0;
    while (i < bytes.length && bytes[i] === 0) i++;
    return bytes.subarray(i);
  }

  /** Everything not yet read. */
  rest(): Uint8Array {
    const v = this.#buf.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return v;
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.#pos !== this.#end) throw new ProtocolError(`${this.context}: ${this.#end - this.#pos} unexpected trailing bytes`);
  }
}

/** Two's-complement big-endian bytes to bigint. */
export function mpintToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[0]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return v;
}
