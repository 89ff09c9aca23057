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
 * The shared SFTPFramer (wire/sftpPacket.ts) does this by default only for
 * packets of 64 KiB and more; the server sets it up for every split request.
 */
import { SFTPFramer } from '../../wire/sftpPacket.js';

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

/** The shared framer set to hand every split request over as a REQUEST_HEAD head plus views. */
export class RequestFramer {
  readonly #framer: SFTPFramer;

  constructor(maxPacket: number) {
    this.#framer = new SFTPFramer(maxPacket, { partsHead: REQUEST_HEAD, partsMin: 1 });
  }

  /** Feeds one chunk; throws ProtocolError on an empty or oversized request. */
  push(chunk: Buffer, onRequest: RequestHandler): void {
    this.#framer.push(
      chunk,
      (body) => onRequest(body, null),
      (head, rest) => onRequest(head, rest.length > 0 ? rest : null),
    );
  }
}
