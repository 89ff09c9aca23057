/**
 * Outgoing half of the binary packet protocol (RFC 4253 section 6): payloads
 * are queued and, at flush time, laid out back to back as packets in ONE
 * buffer, sealed in one `sealPackets` call, and written to the socket in one
 * write. Padding is the minimum the block size allows (at least 4 bytes),
 * taken from a pool of CSPRNG bytes refilled every PAD_POOL bytes.
 */
import { randomBytes } from '../crypto/index.js';
import type { PacketSealer } from '../crypto/types.js';
import { SSHException } from '../errors.js';
import type { PayloadCompressor } from './compression.js';

/** The largest packet_length a peer must accept (RFC 4253 says 35000; OpenSSH accepts 256 KiB). */
export const PEER_MAX_PACKET = 256 * 1024;
/** Largest payload `send` takes: a packet of it, padded and even slightly expanded by zlib, stays under PEER_MAX_PACKET. */
export const MAX_PAYLOAD = PEER_MAX_PACKET - 1024;

/** Random padding bytes drawn from the CSPRNG at a time (one call serves many batches). */
const PAD_POOL = 16 * 1024;

export class PacketWriter {
  sealer: PacketSealer;
  /** Sequence number of the next packet (wraps at 2^32). */
  seq = 0;
  /** Active compressor, or null. */
  compressor: PayloadCompressor | null = null;
  /** Bytes (on the wire) and packets sealed since the last key exchange. */
  bytesSinceKex = 0;
  packetsSinceKex = 0;
  /** Called right after a payload of this message type is laid out (delayed compression starts after USERAUTH_SUCCESS). */
  onLaidOut: ((type: number) => void) | null = null;
  /** Called with (seq, payload) before compression, when hexdumps are on. */
  dump: ((seq: number, payload: Uint8Array) => void) | null = null;

  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** Unused random padding: PAD_POOL bytes, consumed from #padPos on. */
  #padPool: Uint8Array = new Uint8Array(0);
  #padPos = 0;

  constructor(sealer: PacketSealer) {
    this.sealer = sealer;
  }

  /** Payload bytes waiting for the next flush. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get queuedPackets(): number {
    return this.#queue.length;
  }

  /** Queues a payload; the writer keeps the reference until the next build. */
  enqueue(payload: Uint8Array): void {
    if (payload.length > MAX_PAYLOAD) {
      throw new SSHException(`payload of ${payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD}`, { code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    }
    this.#queue.push(payload);
    this.#queuedBytes += payload.length;
  }

  /**
   * Lays out and seals everything queued; returns the bytes to write, or null
   * when nothing is queued. Sequence numbers advance by the packet count.
   */
  build(): Uint8Array | null {
    const queue = this.#queue;
    const count = queue.length;
    if (count === 0) return null;
    this.#queue = [];
    this.#queuedBytes = 0;
    const sealer = this.sealer;
    const bs = sealer.blockSize;
    const macLen = sealer.macLength;
    const lengthCounts = sealer.padsLengthField ? 4 : 0;
    // First pass: final payload bytes (compression must run in order, and
    // may switch on mid-batch) and packet sizes.
    const bodies: Uint8Array[] = new Array(count);
    const pads = new Uint8Array(count);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const payload = queue[i]!;
      if (this.dump) this.dump((this.seq + i) >>> 0, payload);
      const body = this.compressor ? this.compressor.compress(payload) : payload;
      bodies[i] = body;
      let pad = bs - ((lengthCounts + 1 + body.length) % bs);
      if (pad < 4) pad += bs;
      pads[i] = pad;
      total += 4 + 1 + body.length + pad + macLen;
      if (this.onLaidOut && payload.length > 0) this.onLaidOut(payload[0]!);
    }
    // Not zero-filled: every byte is written below. Each batch gets its own
    // buffer because the socket keeps a reference until the write completes.
    // A plain Uint8Array view, so sealers see Uint8Array semantics (`slice` copies).
    const pooled = Buffer.allocUnsafe(total);
    const buf = new Uint8Array(pooled.buffer, pooled.byteOffset, total);
    let off = 0;
    for (let i = 0; i < count; i++) {
      const body = bodies[i]!;
      const pad = pads[i]!;
      const plen = 1 + body.length + pad;
      buf[off] = plen >>> 24;
      buf[off + 1] = plen >>> 16;
      buf[off + 2] = plen >>> 8;
      buf[off + 3] = plen;
      buf[off + 4] = pad;
      buf.set(body, off + 5);
      this.#padding(buf, off + 5 + body.length, pad);
      off += 4 + plen + macLen;
    }
    sealer.sealPackets(buf, 0, count, this.seq);
    this.seq = (this.seq + count) >>> 0;
    this.bytesSinceKex += total;
    this.packetsSinceKex += count;
    return buf;
  }

  /** Writes `n` random padding bytes at buf[off]. */
  #padding(buf: Uint8Array, off: number, n: number): void {
    if (this.#padPos + n > this.#padPool.length) {
      this.#padPool = randomBytes(PAD_POOL);
      this.#padPos = 0;
    }
    const pool = this.#padPool;
    let p = this.#padPos;
    // A byte loop: at most 255 bytes, cheaper than a subarray view per packet.
    for (let i = 0; i < n; i++) buf[off + i] = pool[p++]!;
    this.#padPos = p;
  }
}
