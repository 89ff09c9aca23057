/**
 * Outgoing half of the binary packet protocol (RFC 4253 section 6): payloads
 * are queued and, at flush time, laid out back to back as packets in ONE
 * buffer, sealed in one `sealPackets` call, and written to the socket in one
 * write. Padding is the minimum the block size allows (at least 4 bytes),
 * taken from a pool of CSPRNG bytes refilled every PAD_POOL bytes.
 *
 * Bulk data may be queued as a list of parts (`enqueueGathered`): the parts
 * are copied once, straight into the batch buffer, so the caller need not
 * join a header and its data first. Its `onCopied` callback runs after the
 * flush that copied it (`runCopied`), never from inside `build`.
 *
 * When the socket tells us it is done with a batch (`recycle`, from a plain
 * TCP socket's write callback), the batch buffer is kept and reused, so a
 * bulk send allocates no batch buffers in steady state.
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
/**
 * Size of a reusable batch buffer: a 256 KiB flush (send-queue.ts) plus one
 * 32 KiB data packet overshooting it, with packet overhead. Larger batches
 * (a large payload arriving late in the tick) get a buffer of their own.
 */
const BATCH_CAP = 320 * 1024;
/**
 * Reusable batch buffers kept. Writes that complete at once still call back
 * on a later tick, so a window's worth of batches (2 MiB is 8) can be in
 * flight before the first comes back.
 */
const SPARE_BATCHES = 12;

/** A payload queued as parts (see `enqueueGathered`). */
class Gathered {
  constructor(
    readonly parts: readonly Uint8Array[],
    readonly length: number,
    readonly onCopied: (() => void) | null,
  ) {}

  /** One buffer holding the whole payload (for compression and hexdumps). */
  join(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

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

  #queue: Array<Uint8Array | Gathered> = [];
  #queuedBytes = 0;
  /** Callbacks of gathered payloads copied by a build and not yet run. */
  #copied: Array<() => void> = [];
  /** Batch buffers whose socket write has completed (see `recycle`). */
  #spare: Uint8Array[] = [];
  /** The ArrayBuffers of our reusable batches, so `recycle` accepts nothing else. */
  readonly #ours = new WeakSet<ArrayBufferLike>();
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
   * Queues a payload given as parts laid out back to back (the first part
   * non-empty: its first byte is the message number); returns its length. The writer keeps the
   * references until the build that copies them; `onCopied` runs after that
   * flush (`runCopied`), or at `discard`, so the caller may then reuse them.
   */
  enqueueGathered(parts: readonly Uint8Array[], onCopied: (() => void) | null): number {
    let length = 0;
    for (const p of parts) length += p.length;
    if (length === 0 || parts[0]!.length === 0) {
      throw new SSHException('a gathered payload needs a non-empty first part', { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    if (length > MAX_PAYLOAD) {
      throw new SSHException(`payload of ${length} bytes exceeds the maximum of ${MAX_PAYLOAD}`, { code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    }
    this.#queue.push(new Gathered(parts, length, onCopied));
    this.#queuedBytes += length;
    return length;
  }

  /** Runs the `onCopied` callbacks of everything the builds so far have copied. */
  runCopied(): void {
    if (this.#copied.length === 0) return;
    const cbs = this.#copied;
    this.#copied = [];
    for (const cb of cbs) cb();
  }

  /** Drops everything queued (closing); the callbacks of gathered payloads run on the next tick. */
  discard(): void {
    for (const m of this.#queue) if (m instanceof Gathered && m.onCopied) this.#copied.push(m.onCopied);
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#copied.length > 0) process.nextTick(() => this.runCopied());
  }

  /**
   * The socket has finished with a batch `build` returned (its write
   * completed): the buffer may be reused for a later batch. Only for sockets
   * that keep no reference once the write callback ran (plain TCP).
   */
  recycle(batch: Uint8Array): void {
    if (this.#spare.length >= SPARE_BATCHES || !this.#ours.has(batch.buffer)) return;
    this.#spare.push(new Uint8Array(batch.buffer, 0, BATCH_CAP));
  }

  #batch(total: number): Uint8Array {
    if (total <= BATCH_CAP) {
      const spare = this.#spare.pop();
      if (spare) return spare.subarray(0, total);
      const fresh = new Uint8Array(Buffer.allocUnsafeSlow(BATCH_CAP).buffer, 0, BATCH_CAP);
      this.#ours.add(fresh.buffer);
      return fresh.subarray(0, total);
    }
    // Not zero-filled: every byte is written. A plain Uint8Array view, so
    // sealers see Uint8Array semantics (`slice` copies).
    const pooled = Buffer.allocUnsafe(total);
    return new Uint8Array(pooled.buffer, pooled.byteOffset, total);
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
    const bodies: Array<Uint8Array | Gathered> = new Array(count);
    const pads = new Uint8Array(count);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const queued = queue[i]!;
      let body: Uint8Array | Gathered = queued;
      if (queued instanceof Gathered) {
        if (queued.onCopied) this.#copied.push(queued.onCopied);
        // Compression and hexdumps want the payload in one piece (rare paths).
        if (this.dump || this.compressor) body = queued.join();
      }
      if (body instanceof Uint8Array) {
        if (this.dump) this.dump((this.seq + i) >>> 0, body);
        if (this.compressor) body = this.compressor.compress(body);
      }
      bodies[i] = body;
      let pad = bs - ((lengthCounts + 1 + body.length) % bs);
      if (pad < 4) pad += bs;
      pads[i] = pad;
      total += 4 + 1 + body.length + pad + macLen;
      if (this.onLaidOut && queued.length > 0) this.onLaidOut(queued instanceof Gathered ? queued.parts[0]![0]! : queued[0]!);
    }
    // Each batch needs a buffer the socket may keep until its write
    // completes: a reused one (see `recycle`) or a fresh one.
    const buf = this.#batch(total);
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
      if (body instanceof Uint8Array) {
        buf.set(body, off + 5);
      } else {
        let p = off + 5;
        for (const part of body.parts) {
          buf.set(part, p);
          p += part.length;
        }
      }
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
