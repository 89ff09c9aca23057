/**
 * SFTP packet framing and encodings (draft-ietf-secsh-filexfer-02 section 3):
 * `uint32 length, byte type, [uint32 request-id], payload`. Used by both the
 * client and the server.
 *
 * The framer hands out packet bodies as views into the received chunk when a
 * packet arrived whole, and copies only when a packet spans chunks (once, into
 * a buffer of exactly its bounded length). The WRITE encoder produces only the
 * header so the data can follow as its own chunk, never copied.
 */
import { ProtocolError } from '../errors.js';
import { SSHReader } from './reader.js';
import { SSHWriter } from './writer.js';
import { FXP, FX, FX_NAMES, SFTP_VERSION } from './sftpConstants.js';
import { readAttrs, wholePairs, writeAttrs, type FileAttrs } from './sftpAttrs.js';

/** Largest packet we accept when the peer told us nothing: OpenSSH's 256 KiB plus room for headers. */
export const DEFAULT_MAX_PACKET = 256 * 1024 + 1024;

/**
 * A large packet that arrived over several chunks, handed over without
 * reassembly: `head` holds its first min(partsHead, length) bytes (a copy,
 * so type, request id and a DATA length are always in one buffer), `rest`
 * views of the remaining bytes in order (kept chunks are never reused by the
 * framer). Together they are the whole body.
 */
export type PartsHandler = (head: Buffer, rest: Buffer[]) => void;

/** Bytes of a split packet copied into its head (default). */
export const PARTS_HEAD = 64;
/** Packets at least this long that span chunks go to a PartsHandler (when given) instead of being copied (default). */
const PARTS_MIN = 64 * 1024;

/** How a framer hands over split packets when given a PartsHandler. */
export interface PartsOptions {
  /** Bytes copied into a split packet's head (the head is min(partsHead, length) long). */
  partsHead?: number;
  /** Split packets shorter than this are copied whole instead of handed over in pieces. */
  partsMin?: number;
}

/**
 * Splits a byte stream into SFTP packets. `onPacket` receives the body (type
 * byte first, no length); the body is a view valid only during the call
 * unless the caller keeps it (it is never reused by the framer). With
 * `onParts`, a large packet spanning chunks is delivered in pieces (see
 * PartsHandler) rather than copied into one buffer; `parts` sets how long
 * the copied head is and from what length a split packet goes that way.
 */
export class SFTPFramer {
  #maxPacket: number;
  /** Up to 4 bytes of a length prefix that arrived split. */
  #lenBuf = Buffer.alloc(4);
  #lenHave = 0;
  /** A packet body being assembled across chunks (copy mode). */
  #body: Buffer | null = null;
  #bodyHave = 0;
  /** A packet being collected as pieces (parts mode): its head, the views after it, and progress. */
  #head: Buffer | null = null;
  #parts: Buffer[] = [];
  #partsLen = 0;
  #partsHave = 0;
  readonly #partsHead: number;
  readonly #partsMin: number;

  constructor(maxPacket = DEFAULT_MAX_PACKET, parts: PartsOptions = {}) {
    this.#maxPacket = maxPacket;
    this.#partsHead = parts.partsHead ?? PARTS_HEAD;
    this.#partsMin = parts.partsMin ?? PARTS_MIN;
  }

  /** Raise or lower the bound (e.g. after limits@openssh.com). */
  setMaxPacket(n: number): void {
    this.#maxPacket = n;
  }

  get maxPacket(): number {
    return this.#maxPacket;
  }

  /** True when no partial packet is buffered. */
  get idle(): boolean {
    return this.#lenHave === 0 && this.#body === null && this.#head === null;
  }

  /** Feeds one chunk; throws ProtocolError on an oversized or empty packet. */
  push(chunk: Buffer, onPacket: (body: Buffer) => void, onParts?: PartsHandler): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.#head !== null) {
        pos = this.#collect(chunk, pos, onParts ?? ((head, rest) => onPacket(Buffer.concat([head, ...rest]))));
        continue;
      }
      if (this.#body !== null) {
        const want = this.#body.length - this.#bodyHave;
        const take = Math.min(want, end - pos);
        chunk.copy(this.#body, this.#bodyHave, pos, pos + take);
        this.#bodyHave += take;
        pos += take;
        if (this.#bodyHave === this.#body.length) {
          const body = this.#body;
          this.#body = null;
          this.#bodyHave = 0;
          onPacket(body);
        }
        continue;
      }
      let len: number;
      if (this.#lenHave === 0 && end - pos >= 4) {
        len = chunk.readUInt32BE(pos);
        pos += 4;
      } else {
        while (this.#lenHave < 4 && pos < end) this.#lenBuf[this.#lenHave++] = chunk[pos++]!;
        if (this.#lenHave < 4) return;
        len = this.#lenBuf.readUInt32BE(0);
        this.#lenHave = 0;
      }
      if (len === 0) throw new ProtocolError('SFTP: empty packet');
      if (len > this.#maxPacket) throw new ProtocolError(`SFTP: packet of ${len} bytes exceeds limit ${this.#maxPacket}`);
      if (end - pos >= len) {
        const body = chunk.subarray(pos, pos + len);
        pos += len;
        onPacket(body);
      } else if (onParts !== undefined && len >= this.#partsMin) {
        // Small heads come from Node's shared pool: no allocation of its own.
        this.#head = Buffer.allocUnsafe(Math.min(len, this.#partsHead));
        this.#parts = [];
        this.#partsLen = len;
        this.#partsHave = 0;
      } else {
        this.#body = Buffer.allocUnsafe(len);
        this.#bodyHave = 0;
      }
    }
  }

  /** Parts mode: takes what `chunk` holds of the current packet from `pos`; returns the new position. */
  #collect(chunk: Buffer, pos: number, onParts: PartsHandler): number {
    const head = this.#head!;
    let take = Math.min(this.#partsLen - this.#partsHave, chunk.length - pos);
    if (this.#partsHave < head.length) {
      const h = Math.min(head.length - this.#partsHave, take);
      chunk.copy(head, this.#partsHave, pos, pos + h);
      this.#partsHave += h;
      pos += h;
      take -= h;
    }
    if (take > 0) {
      this.#parts.push(chunk.subarray(pos, pos + take));
      this.#partsHave += take;
      pos += take;
    }
    if (this.#partsHave === this.#partsLen) {
      const rest = this.#parts;
      this.#head = null;
      this.#parts = [];
      onParts(head, rest);
    }
    return pos;
  }
}

/**
 * Builds a whole packet: `fill` writes the payload after type and id.
 * `id` undefined omits the request id (INIT and VERSION only).
 */
export function encodePacket(type: number, id: number | undefined, fill?: (w: SSHWriter) => void): Buffer {
  const w = new SSHWriter(128);
  w.uint32(0).byte(type);
  if (id !== undefined) w.uint32(id);
  fill?.(w);
  w.setUint32(0, w.length - 4);
  const bytes = w.bytes();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** SSH_FXP_INIT with our version. */
export function encodeInit(version = SFTP_VERSION): Buffer {
  return encodePacket(FXP.INIT, undefined, (w) => w.uint32(version));
}

/** SSH_FXP_VERSION with extension pairs (server side). */
export function encodeVersion(version: number, extensions: ReadonlyArray<readonly [string, string]>): Buffer {
  return encodePacket(FXP.VERSION, undefined, (w) => {
    w.uint32(version);
    for (const [name, data] of extensions) w.string(name).string(data);
  });
}

/** A decoded SSH_FXP_VERSION. */
export interface SFTPVersion {
  version: number;
  /** Extension name → data, as the server advertised them. */
  extensions: Map<string, string>;
}

/** Decodes SSH_FXP_VERSION from a body (type byte first). */
export function decodeVersion(body: Uint8Array): SFTPVersion {
  const r = new SSHReader(body, 'SFTP VERSION');
  if (r.byte() !== FXP.VERSION) throw new ProtocolError('SFTP: expected VERSION as the first packet');
  const version = r.uint32();
  const extensions = new Map<string, string>();
  while (r.remaining > 0) {
    if (extensions.size >= 256) throw new ProtocolError('SFTP VERSION: too many extensions');
    const name = r.utf8(1024);
    extensions.set(name, r.utf8(65536));
  }
  return { version, extensions };
}

/**
 * SSH_FXP_READ built into a fresh 29+handle byte buffer without a writer.
 * Small enough that Node serves it from its shared allocation pool.
 */
export function encodeRead(id: number, handle: Uint8Array, offset: number, length: number): Buffer {
  return encodeHandleOffsetU32(FXP.READ, id, handle, offset, length, 0);
}

/**
 * The header of SSH_FXP_WRITE (everything up to and including the data
 * length); the caller sends the data itself right after it, uncopied.
 */
export function encodeWriteHeader(id: number, handle: Uint8Array, offset: number, dataLength: number): Buffer {
  return encodeHandleOffsetU32(FXP.WRITE, id, handle, offset, dataLength, dataLength);
}

/**
 * type, id, string handle, uint64 offset, uint32 `value`: READ whole, or
 * WRITE's header with `following` data bytes counted in the packet length.
 */
function encodeHandleOffsetU32(type: number, id: number, handle: Uint8Array, offset: number, value: number, following: number): Buffer {
  const hl = handle.length;
  const headerLen = 4 + 1 + 4 + 4 + hl + 8 + 4;
  const b = Buffer.allocUnsafe(headerLen);
  let p = b.writeUInt32BE(headerLen - 4 + following, 0);
  p = b.writeUInt8(type, p);
  p = b.writeUInt32BE(id, p);
  p = b.writeUInt32BE(hl, p);
  b.set(handle, p);
  p += hl;
  p = writeUint64(b, offset, p);
  b.writeUInt32BE(value, p);
  return b;
}

/** Bytes of a WRITE packet's header for a given handle length (for sizing chunks). */
export function writeHeaderLength(handleLength: number): number {
  return 4 + 1 + 4 + 4 + handleLength + 8 + 4;
}

function writeUint64(b: Buffer, v: number, p: number): number {
  // Offsets are JS numbers below 2^53: split without BigInt on the hot path.
  b.writeUInt32BE(Math.floor(v / 0x100000000), p);
  b.writeUInt32BE(v >>> 0, p + 4);
  return p + 8;
}

/** A decoded SSH_FXP_STATUS. */
export interface SFTPStatus {
  code: number;
  message: string;
  language: string;
}

/**
 * Decodes a STATUS payload (reader positioned after the id). The message and
 * language tag are optional in practice: some servers omit them.
 */
export function readStatus(r: SSHReader): SFTPStatus {
  const code = r.uint32();
  let message = '';
  let language = '';
  if (r.remaining >= 4) message = lossyUtf8(r.string(65536));
  if (r.remaining >= 4) language = lossyUtf8(r.string(1024));
  if (message === '') message = FX_NAMES[code] ?? `status ${code}`;
  return { code, message, language };
}

/** Builds SSH_FXP_STATUS (server side). */
export function encodeStatus(id: number, code: number, message?: string, language = 'en'): Buffer {
  return encodePacket(FXP.STATUS, id, (w) => w.uint32(code).string(message ?? FX_NAMES[code] ?? '').string(language));
}

/** One entry of SSH_FXP_NAME. */
export interface SFTPNameEntry {
  filename: string;
  longname: string;
  attrs: FileAttrs;
}

/** The most entries one NAME packet may claim; each needs at least 12 bytes so this also follows from the packet bound. */
const MAX_NAME_ENTRIES = 100_000;

/** Decodes a NAME payload (reader positioned after the id). */
export function readName(r: SSHReader): SFTPNameEntry[] {
  const count = r.uint32();
  if (count > MAX_NAME_ENTRIES || count * 12 > r.remaining) {
    throw new ProtocolError(`SFTP NAME: ${count} entries cannot fit in ${r.remaining} bytes`);
  }
  const out: SFTPNameEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const filename = lossyUtf8(r.string());
    const longname = lossyUtf8(r.string());
    out[i] = { filename, longname, attrs: readAttrs(r) };
  }
  return out;
}

/** Builds SSH_FXP_NAME (server side); half-given uid/gid or time pairs are left out (`wholePairs`). */
export function encodeName(id: number, entries: readonly SFTPNameEntry[]): Buffer {
  return encodePacket(FXP.NAME, id, (w) => {
    w.uint32(entries.length);
    for (const e of entries) writeAttrs(w.string(e.filename).string(e.longname), wholePairs(e.attrs));
  });
}

/** Builds SSH_FXP_ATTRS (server side); half-given pairs are left out (`wholePairs`). */
export function encodeAttrs(id: number, attrs: FileAttrs): Buffer {
  return encodePacket(FXP.ATTRS, id, (w) => writeAttrs(w, wholePairs(attrs)));
}

/** Builds SSH_FXP_HANDLE (server side). */
export function encodeHandle(id: number, handle: Uint8Array): Buffer {
  return encodePacket(FXP.HANDLE, id, (w) => w.string(handle));
}

/**
 * Builds the header of SSH_FXP_DATA (server side); the data follows uncopied.
 */
export function encodeDataHeader(id: number, dataLength: number): Buffer {
  const b = Buffer.allocUnsafe(DATA_HEADER_LENGTH);
  writeDataHeader(b, id, dataLength);
  return b;
}

/** Bytes of an SSH_FXP_DATA packet before its data: length, type, id, data length. */
export const DATA_HEADER_LENGTH = 13;

/** Writes a DATA header for `dataLength` bytes into `b[0, 13)` (data follows in place). */
export function writeDataHeader(b: Buffer, id: number, dataLength: number): void {
  b.writeUInt32BE(9 + dataLength, 0);
  b.writeUInt8(FXP.DATA, 4);
  b.writeUInt32BE(id, 5);
  b.writeUInt32BE(dataLength, 9);
}

const fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * File names on the wire are bytes; OpenSSH sends whatever the filesystem
 * holds. Valid UTF-8 decodes exactly; anything else falls back to latin1 so a
 * listing never fails on one odd name.
 */
export function lossyUtf8(bytes: Uint8Array): string {
  try {
    return fatal.decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  }
}

export { FX };
