/**
 * Incoming half of the binary packet protocol: a growable receive buffer
 * that socket chunks are appended to, opened in place by the current
 * `PacketOpener`, and compacted when space runs out. Openers keep no offset
 * between calls (only a decrypted first block of a partial packet), so moving
 * unconsumed bytes to the front is safe.
 */
import type { PacketOpener } from '../crypto/types.js';

const INITIAL_SIZE = 64 * 1024;
/** After a large packet grew the buffer, an empty buffer above this size is given back. */
const SHRINK_ABOVE = 1024 * 1024;

export class ReceiveBuffer {
  buf = new Uint8Array(INITIAL_SIZE);
  /** First unconsumed byte. */
  start = 0;
  /** One past the last received byte. */
  end = 0;

  get available(): number {
    return this.end - this.start;
  }

  /** Appends a chunk, compacting or growing as needed. */
  append(chunk: Uint8Array): void {
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      if (this.buf.length > SHRINK_ABOVE && chunk.length <= INITIAL_SIZE) this.buf = new Uint8Array(INITIAL_SIZE);
    }
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      if (live + chunk.length <= this.buf.length && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buf.length * 2;
        while (size < live + chunk.length) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Drops `n` consumed bytes from the front. */
  consume(n: number): void {
    this.start += n;
  }
}

/** One opened packet, copied out of the receive buffer. */
export interface OpenedPacket {
  /**
   * The payload as a fresh Buffer: the receive buffer is reused, and upper
   * layers keep payloads (channel data goes into streams), so one copy here
   * spares every consumer its own.
   */
  payload: Buffer;
  seq: number;
  /** Wire bytes of the packet, MAC included. */
  wireLength: number;
}

/**
 * Opens up to `max` packets from `rx` with `opener` starting at sequence
 * number `seq`, consumes them from the buffer and returns them.
 */
export function openPackets(rx: ReceiveBuffer, opener: PacketOpener, seq: number, maxPacketLength: number, spans: Uint32Array, max: number): OpenedPacket[] {
  const view = max * 2 === spans.length ? spans : spans.subarray(0, max * 2);
  const n = opener.openPackets(rx.buf, rx.start, rx.end, seq, maxPacketLength, view);
  const out: OpenedPacket[] = new Array(n);
  const macLen = opener.macLength;
  let last = rx.start;
  for (let i = 0; i < n; i++) {
    const body = view[2 * i]!;
    const len = view[2 * i + 1]!;
    const pad = rx.buf[body]!;
    const payload = Buffer.from(rx.buf.subarray(body + 1, body + len - pad));
    const packetEnd = body + len + macLen;
    out[i] = { payload, seq: (seq + i) >>> 0, wireLength: packetEnd - last };
    last = packetEnd;
  }
  if (n > 0) rx.consume(last - rx.start);
  return out;
}
