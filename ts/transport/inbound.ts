/**
 * Incoming half of the binary packet protocol: a receive buffer that socket
 * chunks are appended to, opened in place by the current `PacketOpener`.
 * Openers keep no offset between calls (only a decrypted first block of a
 * partial packet), so moving unconsumed bytes elsewhere is safe.
 *
 * Where the opener decrypts into buffers of its own (node:crypto AES-GCM and
 * ChaCha20, see PacketOpener's `bodies`), payloads are views of those and
 * the receive buffer is simply reused. Otherwise payloads leave without a
 * copy when they are large: the buffer is a slab
 * whose opened bytes are never written again once a payload view into them
 * has been handed out (the region is "frozen"); when the slab fills, the
 * still-unopened tail moves to a fresh slab and the old one lives on only
 * as long as upper layers keep views into it. Small payloads are copied
 * (from node's Buffer pool, cheap), so a kept small message never pins a slab.
 */
import type { PacketOpener } from '../crypto/types.js';

/** Slab size: several 32 KiB packets per slab, and at least one largest packet fits after growth. */
const SLAB_SIZE = 256 * 1024;
/**
 * Payloads of at least this many bytes are handed out as views into the
 * slab: a kept one pins SLAB_SIZE / VIEW_MIN = 16 times its size at most
 * (more only when one huge packet made a bigger slab).
 * Below it, a copy is cheaper than the slab churn it would cause.
 */
const VIEW_MIN = 16 * 1024;
/** After one huge packet grew the slab, a slab above this size is not kept once drained. */
const SHRINK_ABOVE = 1024 * 1024;

/**
 * A slab: not zero-filled (every byte is written before it is read), not from
 * node's shared pool, and a plain Uint8Array, not a Buffer, so openers see
 * Uint8Array semantics (`slice` copies).
 */
function newSlab(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

export class ReceiveBuffer {
  /** The current slab. Bytes [0, frozenEnd) may be referenced by payload views. */
  buf: Uint8Array = newSlab(SLAB_SIZE);
  /** First unconsumed byte. */
  start = 0;
  /** One past the last received byte. */
  end = 0;
  /** One past the last byte a handed-out view may reference: never overwritten or reused. */
  #frozenEnd = 0;

  get available(): number {
    return this.end - this.start;
  }

  /** Appends a chunk, compacting (when nothing is frozen) or moving to a new slab as needed. */
  append(chunk: Uint8Array): void {
    const n = chunk.length;
    if (this.start === this.end && this.#frozenEnd === 0) {
      this.start = 0;
      this.end = 0;
      if (this.buf.length > SHRINK_ABOVE && n <= SLAB_SIZE) this.buf = newSlab(SLAB_SIZE);
    }
    if (this.end + n > this.buf.length) {
      const live = this.end - this.start;
      if (this.#frozenEnd === 0 && this.start > 0 && live + n <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = SLAB_SIZE;
        while (size < live + n) size *= 2;
        const next = newSlab(size);
        next.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = next;
        this.#frozenEnd = 0;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += n;
  }

  /** Drops `n` consumed bytes from the front. */
  consume(n: number): void {
    this.start += n;
  }

  /**
   * The payload at buf[from, to) as a Buffer the caller may keep: a view for
   * large payloads (that region of the slab is then never reused), a copy
   * for small ones.
   */
  take(from: number, to: number): Buffer {
    const len = to - from;
    const buf = this.buf;
    if (len >= VIEW_MIN) {
      if (to > this.#frozenEnd) this.#frozenEnd = to;
      // A view object per packet (no bytes copied): upper layers take Buffers.
      return Buffer.from(buf.buffer, buf.byteOffset + from, len);
    }
    // allocUnsafe takes small sizes from node's shared pool and skips the zero fill.
    const copy = Buffer.allocUnsafe(len);
    copy.set(buf.subarray(from, to));
    return copy;
  }
}

/** One opened packet. */
export interface OpenedPacket {
  /**
   * The payload, private to the receiver: the transport never writes its
   * bytes again (see ReceiveBuffer.take), so upper layers may keep it (channel
   * data goes into streams) without a copy of their own.
   */
  payload: Buffer;
  seq: number;
  /** Wire bytes of the packet, MAC included. */
  wireLength: number;
}

/**
 * Opens up to `max` packets from `rx` with `opener` starting at sequence
 * number `seq`, consumes them from the buffer and appends them to `out`
 * (reused between calls). `bodies` is scratch, reused between calls: an
 * opener whose primitive decrypts into a fresh buffer anyway leaves the body
 * there (PacketOpener's `bodies`), and the payload is a view of it, with
 * no copy and no hold on the receive buffer. Returns how many were opened.
 */
export function openPackets(
  rx: ReceiveBuffer,
  opener: PacketOpener,
  seq: number,
  maxPacketLength: number,
  spans: Uint32Array,
  max: number,
  out: OpenedPacket[],
  bodies: (Uint8Array | undefined)[],
): number {
  const view = max * 2 === spans.length ? spans : spans.subarray(0, max * 2);
  bodies.length = 0;
  const n = opener.openPackets(rx.buf, rx.start, rx.end, seq, maxPacketLength, view, bodies);
  const macLen = opener.macLength;
  const buf = rx.buf;
  let last = rx.start;
  for (let i = 0; i < n; i++) {
    const bodyOff = view[2 * i]!;
    const len = view[2 * i + 1]!;
    const detached = bodies[i];
    let payload: Buffer;
    if (detached) {
      // A view object per packet (no bytes copied): upper layers take Buffers.
      payload = Buffer.from(detached.buffer, detached.byteOffset + 1, len - 1 - detached[0]!);
    } else {
      payload = rx.take(bodyOff + 1, bodyOff + len - buf[bodyOff]!);
    }
    const packetEnd = bodyOff + len + macLen;
    // One small object per packet: the dispatch loop needs seq and size with the payload.
    out.push({ payload, seq: (seq + i) >>> 0, wireLength: packetEnd - last });
    last = packetEnd;
  }
  bodies.length = 0;
  if (n > 0) rx.consume(last - rx.start);
  return n;
}
