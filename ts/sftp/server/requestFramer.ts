/**
 * Splits the client's byte stream into SFTP requests for the server, without
 * copying bulk data.
 *
 * OpenSSH's sftp sends 32 KiB WRITEs (up to 255 KiB with -B) over channel
 * packets of at most 32 KiB, so nearly every WRITE spans two or more chunks.
 * Reassembling each one would allocate and copy every uploaded byte once
 * more, and the allocations alone (hundreds of MiB/s of short-lived external
 * memory) drive V8 into frequent full collections. Instead a split request
 * is handed over as a short copied head (type, id, handle, offset and the
 * data length always fit in it) plus views of the rest. The chunks are the
 * channel's to give away (it never reuses them), so views may be kept.
 *
 * The shared SFTPFramer (wire/sftpPacket.ts) does the same only for packets
 * of 64 KiB and more; the server wants it for every split request.
 */
import { ProtocolError } from '../../errors.js';

/**
 * Bytes of a split request copied into its head: enough for the WRITE header
 * with the longest handle we accept (1 + 4 + 4 + 256 + 8 + 4 = 277).
 * Requests this short or shorter are always delivered whole.
 */
export const REQUEST_HEAD = 512;

/**
 * One request: `head` is the whole body (type byte first, no length) when
 * `rest` is null; otherwise its first REQUEST_HEAD bytes, with `rest` the
 * views of what follows, in order. Both stay valid after the call.
 */
export type RequestHandler = (head: Buffer, rest: Buffer[] | null) => void;

export class RequestFramer {
  readonly #maxPacket: number;
  /** Up to 4 bytes of a length prefix that arrived split. */
  readonly #lenBuf = Buffer.alloc(4);
  #lenHave = 0;
  /** The request being collected: its head, how much of it is filled, the views after it. */
  #head: Buffer | null = null;
  #headHave = 0;
  #rest: Buffer[] = [];
  /** Body bytes still missing from the request being collected. */
  #want = 0;

  constructor(maxPacket: number) {
    this.#maxPacket = maxPacket;
  }

  /** Feeds one chunk; throws ProtocolError on an empty or oversized request. */
  push(chunk: Buffer, onRequest: RequestHandler): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.#head !== null) {
        pos = this.#collect(chunk, pos, onRequest);
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
        onRequest(body, null);
      } else {
        // Small heads come from Node's shared pool: no allocation of its own.
        this.#head = Buffer.allocUnsafe(Math.min(len, REQUEST_HEAD));
        this.#headHave = 0;
        this.#rest = [];
        this.#want = len;
      }
    }
  }

  /** Takes what `chunk` holds of the current request from `pos`; returns the new position. */
  #collect(chunk: Buffer, pos: number, onRequest: RequestHandler): number {
    const head = this.#head!;
    let take = Math.min(this.#want, chunk.length - pos);
    this.#want -= take;
    if (this.#headHave < head.length) {
      const h = Math.min(head.length - this.#headHave, take);
      chunk.copy(head, this.#headHave, pos, pos + h);
      this.#headHave += h;
      pos += h;
      take -= h;
    }
    if (take > 0) {
      this.#rest.push(chunk.subarray(pos, pos + take));
      pos += take;
    }
    if (this.#want === 0) {
      const rest = this.#rest;
      this.#head = null;
      this.#rest = [];
      onRequest(head, rest.length > 0 ? rest : null);
    }
    return pos;
  }
}
