/**
 * A small DER (X.690) reader and writer, enough for Kerberos 5 (RFC 4120
 * section 5) and GSS-API token framing. The reader walks one TLV at a time
 * and checks every length against what is left of its input, so a hostile
 * length can never read out of range or size an allocation; nesting is
 * bounded too. The writer always produces DER: minimal lengths and integers.
 *
 * Leniency on input is deliberate and narrow: non-minimal length and integer
 * encodings are accepted (their value is unambiguous, and MIT's decoder takes
 * them too); indefinite lengths, which only BER allows, are not.
 */
import { ProtocolError } from '../errors.js';

/** Tag classes (the two high bits of the identifier octet). */
export const DER_CLASS = { UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 } as const;

/** UNIVERSAL tag numbers used here. */
export const DER_TAG = {
  INTEGER: 2, BIT_STRING: 3, OCTET_STRING: 4, OID: 6, UTF8_STRING: 12, SEQUENCE: 16,
  PRINTABLE_STRING: 19, IA5_STRING: 22, GENERALIZED_TIME: 24, VISIBLE_STRING: 26, GENERAL_STRING: 27,
} as const;

/** Nesting deeper than this is refused (Kerberos messages nest about 8 deep). */
export const DER_MAX_DEPTH = 32;

/** Character string types accepted by {@link DerReader.string} unless told otherwise. */
const STRING_TAGS: readonly number[] = [DER_TAG.GENERAL_STRING, DER_TAG.UTF8_STRING, DER_TAG.IA5_STRING, DER_TAG.PRINTABLE_STRING, DER_TAG.VISIBLE_STRING];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One decoded TLV. `value` and `raw` are views into the reader's input. */
export interface DerTlv {
  cls: number;
  constructed: boolean;
  tag: number;
  /** The contents octets. */
  value: Uint8Array;
  /** The whole TLV, identifier and length included. */
  raw: Uint8Array;
}

/** A bounds-checked DER reader over `buf[start, end)`. `context` names the structure in errors. */
export class DerReader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;
  readonly context: string;
  readonly depth: number;

  constructor(buf: Uint8Array, context = 'DER', depth = 0, start = 0, end = buf.length) {
    if (depth > DER_MAX_DEPTH) throw new ProtocolError(`${context}: DER nested more than ${DER_MAX_DEPTH} levels deep`);
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.context = context;
    this.depth = depth;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }
  /** Whether everything has been read. */
  atEnd(): boolean {
    return this.#pos >= this.#end;
  }
  #fail(msg: string): never {
    throw new ProtocolError(`${this.context}: ${msg}`);
  }

  /** Parses the identifier and length at the current position without consuming them. */
  #header(): { cls: number; constructed: boolean; tag: number; start: number; end: number } {
    let p = this.#pos;
    const byte = (): number => {
      if (p >= this.#end) this.#fail('truncated DER header');
      return this.#buf[p++]!;
    };
    const id = byte();
    let tag = id & 0x1f;
    if (tag === 0x1f) {
      // High-tag-number form: base-128 digits, high bit set on all but the last.
      tag = 0;
      for (let b = byte(), n = 0; ; b = byte(), n++) {
        if (n === 0 && b === 0x80) this.#fail('non-minimal DER tag number');
        if (n >= 4) this.#fail('DER tag number too large');
        tag = tag * 128 + (b & 0x7f);
        if (!(b & 0x80)) break;
      }
    }
    let len = byte();
    if (len === 0x80) this.#fail('indefinite DER length (not allowed in DER)');
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n > 4) this.#fail(`DER length of ${n} bytes`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + byte();
    }
    if (len > this.#end - p) this.#fail(`DER length ${len} runs past the end of the input (${this.#end - p} bytes left)`);
    return { cls: id >> 6, constructed: (id & 0x20) !== 0, tag, start: p, end: p + len };
  }

  /** The class, form and tag number of the next TLV, or undefined at the end. */
  peek(): { cls: number; constructed: boolean; tag: number } | undefined {
    if (this.atEnd()) return undefined;
    const { cls, constructed, tag } = this.#header();
    return { cls, constructed, tag };
  }

  /** Whether the next TLV has class `cls` and tag number `tag` (for OPTIONAL fields). */
  peekIs(cls: number, tag: number): boolean {
    const h = this.peek();
    return h !== undefined && h.cls === cls && h.tag === tag;
  }

  /** Reads the next TLV, whatever it is. */
  tlv(): DerTlv {
    const h = this.#header();
    const raw = this.#buf.subarray(this.#pos, h.end);
    const value = this.#buf.subarray(h.start, h.end);
    this.#pos = h.end;
    return { cls: h.cls, constructed: h.constructed, tag: h.tag, value, raw };
  }

  /** Reads the next TLV, which must be `cls`/`tag` in the given form; `what` names it in errors. */
  expect(cls: number, tag: number, constructed: boolean, what: string): DerTlv {
    if (this.atEnd()) this.#fail(`missing ${what}`);
    const t = this.tlv();
    if (t.cls !== cls || t.tag !== tag || t.constructed !== constructed) {
      this.#fail(`expected ${what} (${tagName(cls, tag, constructed)}), got ${tagName(t.cls, t.tag, t.constructed)}`);
    }
    return t;
  }

  /** A reader over the contents of a constructed TLV, one level deeper. */
  children(t: DerTlv): DerReader {
    return new DerReader(t.value, this.context, this.depth + 1);
  }

  /** Enters a SEQUENCE (or SEQUENCE OF). */
  sequence(what: string): DerReader {
    return this.children(this.expect(DER_CLASS.UNIVERSAL, DER_TAG.SEQUENCE, true, what));
  }

  /** Enters an [APPLICATION n] constructed TLV. */
  application(n: number, what: string): DerReader {
    return this.children(this.expect(DER_CLASS.APPLICATION, n, true, what));
  }

  /** Reads context field [n] EXPLICIT with `read` on its contents, which must consume them exactly. */
  field<T>(n: number, what: string, read: (r: DerReader) => T): T {
    const inner = this.children(this.expect(DER_CLASS.CONTEXT, n, true, `${what} [${n}]`));
    const v = read(inner);
    inner.end(what);
    return v;
  }

  /** {@link field} for an OPTIONAL field: undefined when the next TLV is not [n]. */
  optionalField<T>(n: number, what: string, read: (r: DerReader) => T): T | undefined {
    return this.peekIs(DER_CLASS.CONTEXT, n) ? this.field(n, what, read) : undefined;
  }

  /** Reads every remaining element with `read` (the body of a SEQUENCE OF). */
  all<T>(read: (r: DerReader) => T): T[] {
    const out: T[] = [];
    while (!this.atEnd()) out.push(read(this));
    return out;
  }

  /** An INTEGER as a number, which must lie in [min, max] (both within the safe-integer range). */
  integer(what: string, min: number, max: number): number {
    const { value: v } = this.expect(DER_CLASS.UNIVERSAL, DER_TAG.INTEGER, false, what);
    if (v.length === 0) this.#fail(`${what}: empty INTEGER`);
    if (v.length > 8) this.#fail(`${what}: INTEGER of ${v.length} bytes is out of range`);
    const n = BigInt.asIntN(v.length * 8, BigInt('0x' + Buffer.from(v).toString('hex')));
    if (n < BigInt(min) || n > BigInt(max)) this.#fail(`${what}: ${n} is outside [${min}, ${max}]`);
    return Number(n);
  }

  /**
   * A non-negative INTEGER of any size as unsigned big-endian bytes without
   * leading zeros (copied; zero is one 0x00 byte), at most `maxBytes` long.
   */
  unsignedInteger(what: string, maxBytes: number): Uint8Array {
    const { value: v } = this.expect(DER_CLASS.UNIVERSAL, DER_TAG.INTEGER, false, what);
    if (v.length === 0) this.#fail(`${what}: empty INTEGER`);
    if (v[0]! & 0x80) this.#fail(`${what}: negative INTEGER`);
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    if (v.length - i > maxBytes) this.#fail(`${what}: INTEGER of ${v.length - i} bytes exceeds ${maxBytes}`);
    return Uint8Array.from(v.subarray(i));
  }

  /** An OCTET STRING, copied (so the result does not pin or alias the input). */
  octetString(what: string): Buffer {
    return Buffer.from(this.expect(DER_CLASS.UNIVERSAL, DER_TAG.OCTET_STRING, false, what).value);
  }

  /** A character string of one of `tags` (default: the five Kerberos accepts), decoded as UTF-8. */
  string(what: string, tags: readonly number[] = STRING_TAGS): string {
    if (this.atEnd()) this.#fail(`missing ${what}`);
    const t = this.tlv();
    if (t.cls !== DER_CLASS.UNIVERSAL || t.constructed || !tags.includes(t.tag)) this.#fail(`${what}: expected a character string, got ${tagName(t.cls, t.tag, t.constructed)}`);
    try {
      // Fatal decoding: a lossy one could make two different names compare equal.
      return utf8.decode(t.value);
    } catch {
      this.#fail(`${what}: string is not valid UTF-8`);
    }
  }

  /** A GeneralizedTime, which must have the form YYYYMMDDHHMMSSZ (RFC 4120 5.2.3's KerberosTime). */
  generalizedTime(what: string): Date {
    const s = this.string(what, [DER_TAG.GENERALIZED_TIME]);
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) this.#fail(`${what}: time "${s.slice(0, 32)}" is not of the form YYYYMMDDHHMMSSZ`);
    const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear, since Date.UTC maps years 0-99 to 1900-1999
    date.setUTCHours(h, mi, sec, 0);
    // Out-of-range fields (month 13, 31 April, 25 o'clock) roll over in Date; the round trip catches them.
    if (formatGeneralizedTime(date) !== s) this.#fail(`${what}: "${s}" is not a valid time`);
    return date;
  }

  /** A BIT STRING: its bytes (copied) and the number of unused bits in the last one. */
  bitString(what: string): { bits: Buffer; unused: number } {
    const { value: v } = this.expect(DER_CLASS.UNIVERSAL, DER_TAG.BIT_STRING, false, what);
    if (v.length === 0) this.#fail(`${what}: empty BIT STRING`);
    const unused = v[0]!;
    if (unused > 7 || (v.length === 1 && unused !== 0)) this.#fail(`${what}: BIT STRING with ${unused} unused bits`);
    return { bits: Buffer.from(v.subarray(1)), unused };
  }

  /** An OBJECT IDENTIFIER as a dotted string. */
  oid(what: string): string {
    const { value: v } = this.expect(DER_CLASS.UNIVERSAL, DER_TAG.OID, false, what);
    if (v.length === 0) this.#fail(`${what}: empty OBJECT IDENTIFIER`);
    const arcs: number[] = [];
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const b = v[i]!;
      if (n === 0 && b === 0x80) this.#fail(`${what}: non-minimal OBJECT IDENTIFIER arc`);
      n = n * 128 + (b & 0x7f);
      if (n > Number.MAX_SAFE_INTEGER / 128) this.#fail(`${what}: OBJECT IDENTIFIER arc too large`);
      if (!(b & 0x80)) {
        if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
        else arcs.push(n);
        n = 0;
      } else if (i === v.length - 1) this.#fail(`${what}: truncated OBJECT IDENTIFIER`);
    }
    return arcs.join('.');
  }

  /** Throws unless everything was read (`what` names the structure that must end here). */
  end(what = 'structure'): void {
    if (!this.atEnd()) this.#fail(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}

const tagName = (cls: number, tag: number, constructed: boolean): string =>
  `${['UNIVERSAL', 'APPLICATION', 'CONTEXT', 'PRIVATE'][cls]} ${tag}${constructed ? ' constructed' : ''}`;

// ---------------------------------------------------------------- writer

/** Big-endian digits of a non-negative integer in base `radix` (at least one digit). */
function digits(n: number, radix: number): number[] {
  const d = [n % radix];
  for (n = Math.floor(n / radix); n > 0; n = Math.floor(n / radix)) d.unshift(n % radix);
  return d;
}

/** Base-128 digits with the high bit set on all but the last (high tag numbers, OID arcs). */
const base128 = (n: number): number[] => digits(n, 128).map((d, i, all) => (i < all.length - 1 ? d | 0x80 : d));

/** A TLV from its class, form, tag number and contents (concatenated; undefined children are skipped). */
export function derTlv(cls: number, constructed: boolean, tag: number, contents: readonly (Uint8Array | undefined)[]): Buffer {
  const parts = contents.filter((c): c is Uint8Array => c !== undefined);
  const len = parts.reduce((a, c) => a + c.length, 0);
  const first = (cls << 6) | (constructed ? 0x20 : 0);
  const id = tag < 31 ? [first | tag] : [first | 0x1f, ...base128(tag)];
  const length = len < 0x80 ? [len] : [0x80 | digits(len, 256).length, ...digits(len, 256)];
  return Buffer.concat([Buffer.from([...id, ...length]), ...parts]);
}

/** SEQUENCE of the given encoded elements (undefined ones, i.e. absent OPTIONAL fields, are skipped). */
export const derSequence = (...children: (Uint8Array | undefined)[]): Buffer => derTlv(DER_CLASS.UNIVERSAL, true, DER_TAG.SEQUENCE, children);
/** [n] EXPLICIT around one encoded element. */
export const derExplicit = (n: number, child: Uint8Array): Buffer => derTlv(DER_CLASS.CONTEXT, true, n, [child]);
/** [APPLICATION n] around one encoded element (Kerberos wraps a SEQUENCE this way). */
export const derApplication = (n: number, child: Uint8Array): Buffer => derTlv(DER_CLASS.APPLICATION, true, n, [child]);

/** An INTEGER in minimal two's complement; `n` must be a safe integer. */
export function derInteger(n: number): Buffer {
  if (!Number.isSafeInteger(n)) throw new ProtocolError(`cannot encode ${n} as a DER INTEGER`);
  const bytes: number[] = [];
  let v = BigInt(n);
  // Emit bytes until the remaining value is pure sign extension of the last byte's top bit.
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (!((v === 0n && !(bytes[0]! & 0x80)) || (v === -1n && bytes[0]! & 0x80)));
  return derTlv(DER_CLASS.UNIVERSAL, false, DER_TAG.INTEGER, [Buffer.from(bytes)]);
}

/** A non-negative INTEGER from unsigned big-endian bytes (leading zeros dropped, a sign byte added when needed). */
export function derUnsignedInteger(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  const body = b.length === 0 ? Buffer.from([0]) : b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : Buffer.from(b);
  return derTlv(DER_CLASS.UNIVERSAL, false, DER_TAG.INTEGER, [body]);
}

/** An OCTET STRING. */
export const derOctetString = (b: Uint8Array): Buffer => derTlv(DER_CLASS.UNIVERSAL, false, DER_TAG.OCTET_STRING, [b]);
/** A character string (default GeneralString, Kerberos's KerberosString), encoded as UTF-8. */
export const derString = (s: string, tag: number = DER_TAG.GENERAL_STRING): Buffer => derTlv(DER_CLASS.UNIVERSAL, false, tag, [Buffer.from(s, 'utf8')]);

/** YYYYMMDDHHMMSSZ for a Date, dropping any milliseconds. */
export function formatGeneralizedTime(d: Date): string {
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) throw new ProtocolError(`cannot encode the time ${d.getTime()} as a GeneralizedTime (years 0-9999 only)`);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(y, 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** A GeneralizedTime (KerberosTime) in whole seconds. */
export const derGeneralizedTime = (d: Date): Buffer => derString(formatGeneralizedTime(d), DER_TAG.GENERALIZED_TIME);
/** A BIT STRING from whole bytes and the count of unused (zero) bits at the end of the last one. */
export const derBitString = (bits: Uint8Array, unused = 0): Buffer => derTlv(DER_CLASS.UNIVERSAL, false, DER_TAG.BIT_STRING, [Buffer.from([unused]), bits]);

/** An OBJECT IDENTIFIER from a dotted string such as "1.2.840.113554.1.2.2". */
export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => (/^\d+$/.test(a) ? Number(a) : NaN));
  const [a0, a1] = arcs;
  if (arcs.length < 2 || !arcs.every(Number.isSafeInteger) || a0! > 2 || (a0! < 2 && a1! >= 40)) throw new ProtocolError(`cannot encode "${dotted}" as an OBJECT IDENTIFIER`);
  const out = [a0! * 40 + a1!, ...arcs.slice(2)].flatMap(base128);
  return derTlv(DER_CLASS.UNIVERSAL, false, DER_TAG.OID, [Buffer.from(out)]);
}
