/**
 * Building SSH wire encodings (RFC 4251 section 5) into a growable buffer.
 * `reserve` lets the transport leave room for the packet header in front of
 * a payload so a packet is built once, without copying the payload.
 */
const encoder = new TextEncoder();

/**
 * Builds SSH wire encodings (RFC 4251 section 5) in a growable buffer; every write appends
 * and returns `this` for chaining. `uint32`/`uint64` are big-endian, `string` is a uint32
 * length then the bytes, `mpint` minimal two's complement. Integers are not range-checked:
 * they wrap to the field width. Paramiko's `Message` `add_*` side.
 */
export class SSHWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len: number;

  /** @param headroom bytes left free at the front (e.g. for a packet header) */
  constructor(initialSize = 256, headroom = 0) {
    this.#buf = new Uint8Array(Math.max(initialSize, headroom + 16));
    this.#view = new DataView(this.#buf.buffer);
    this.#len = headroom;
  }

  /** Bytes written so far, headroom included (the offset of the next write). */
  get length(): number {
    return this.#len;
  }

  #grow(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** One byte: `v & 0xff`. */
  byte(v: number): this {
    this.#grow(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  /** A `boolean`: 1 for true, 0 for false. */
  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  /** A big-endian uint32; `v` is taken modulo 2^32 (`v >>> 0`), so a negative wraps. */
  uint32(v: number): this {
    this.#grow(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  /**
   * A big-endian uint64 from a bigint or integer number, taken modulo 2^64.
   * A non-integer number throws RangeError.
   */
  uint64(v: bigint | number): this {
    this.#grow(8);
    this.#view.setBigUint64(this.#len, BigInt(v));
    this.#len += 8;
    return this;
  }

  /** Bytes as they are, with no length prefix. */
  raw(bytes: Uint8Array): this {
    this.#grow(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** An SSH `string` from bytes, or from text encoded as UTF-8. */
  string(v: Uint8Array | string): this {
    const bytes = typeof v === 'string' ? encoder.encode(v) : v;
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  /**
   * A `name-list`: the names joined with commas, as a `string`. Names are not checked
   * (RFC 4251: non-empty US-ASCII without commas).
   */
  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  /** An `mpint` from a bigint. */
  mpint(v: bigint): this {
    return this.string(bigIntToMpint(v));
  }

  /** An `mpint` from an unsigned big-endian magnitude (leading zeros stripped, a zero byte added if the top bit is set). */
  mpintFromUnsigned(bytes: Uint8Array): this {
    let i = 0;
    while (i < bytes.length && bytes[i] === 0) i++;
    const mag = bytes.subarray(i);
    const pad = mag.length > 0 && mag[0]! & 0x80 ? 1 : 0;
    this.uint32(mag.length + pad);
    if (pad) this.byte(0);
    return this.raw(mag);
  }

  /** Overwrite a uint32 already written at `offset`. */
  setUint32(offset: number, v: number): this {
    this.#view.setUint32(offset, v >>> 0);
    return this;
  }

  /** A view of what was written (including any headroom). Valid until the next write. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** A copy of what was written from `start`. */
  toBytes(start = 0): Uint8Array {
    return this.#buf.slice(start, this.#len);
  }
}

/** bigint to minimal two's-complement big-endian bytes (RFC 4251 mpint body). */
export function bigIntToMpint(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const neg = v < 0n;
  let hex = (neg ? -v : v).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (neg) {
    // two's complement of the magnitude, widened if the sign bit would be wrong
    let carry = 1;
    for (let i = bytes.length - 1; i >= 0; i--) {
      const b = (~bytes[i]! & 0xff) + carry;
      bytes[i] = b & 0xff;
      carry = b >> 8;
    }
    if (!(bytes[0]! & 0x80)) bytes = Uint8Array.from([0xff, ...bytes]);
  } else if (bytes[0]! & 0x80) {
    bytes = Uint8Array.from([0, ...bytes]);
  }
  return bytes;
}
