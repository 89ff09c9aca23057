/**
 * The outgoing side between `send()` and the socket: ordinary messages are
 * held while a key exchange runs (from our KEXINIT to our NEWKEYS) and
 * released in order afterwards; everything queued in one tick goes out as
 * one sealed batch and one socket write (PacketWriter), or sooner once
 * FLUSH_BYTES are queued, so large transfers stream in 256 KiB writes.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { asSSHError } from './closing.js';
import type { PacketWriter } from './outbound.js';

/** Flush immediately once this much payload is queued, rather than at the end of the tick. */
const FLUSH_BYTES = 256 * 1024;
/** Held (during key exchange) payload bytes beyond which `needsDrain` turns true. */
const HOLD_LIMIT = 1024 * 1024;

/** A gathered payload held during a key exchange (see PacketWriter.enqueueGathered). */
interface HeldParts {
  readonly parts: readonly Uint8Array[];
  readonly length: number;
  readonly onCopied: (() => void) | null;
}

/** What the send queue needs from the transport. */
export interface SendQueueHooks {
  closing(): boolean;
  fail(err: Error): void;
  /** After every flush: a volume rekey may be due. */
  afterFlush(): void;
  /** Backpressure is over: emit 'drain'. */
  drained(): void;
}

export class SendQueue {
  readonly writer: PacketWriter;
  /** Bytes handed to the socket. */
  bytesSent = 0;
  /** Ordinary messages are held (a key exchange is running on our side). */
  holding = true;

  readonly #socket: Duplex;
  readonly #hooks: SendQueueHooks;
  #flushScheduled = false;
  #held: Array<Uint8Array | HeldParts> = [];
  #heldBytes = 0;
  /** socket.write() returned false and 'drain' has not come yet. */
  #socketFull = false;
  /** Held traffic during a key exchange passed HOLD_LIMIT. */
  #holdFull = false;
  /** `releaseHeld` is running: what is queued meanwhile must wait behind it. */
  #releasing = false;
  /** A `releaseHeld` continuation is scheduled for the next tick. */
  #releaseScheduled = false;
  /**
   * Batch buffers go back to the writer when their write completes. Only a
   * plain TCP socket is known to keep no reference after the write callback
   * (node hands the bytes to the kernel, or keeps them until the write
   * completes, then calls back); any other Duplex may pass chunks on by
   * reference, so its batches are never reused.
   */
  readonly #reuseBatches: boolean;

  constructor(socket: Duplex, writer: PacketWriter, hooks: SendQueueHooks) {
    this.#socket = socket;
    this.writer = writer;
    this.#hooks = hooks;
    this.#reuseBatches = socket instanceof Socket && socket.constructor === Socket;
  }

  /** True when the socket's write buffer is full or too much is held during a key exchange. */
  get needsDrain(): boolean {
    return this.#socketFull || this.#holdFull;
  }

  /**
   * Queues an ordinary (non-kex) message, holding it during key exchange
   * and while earlier held messages wait: nothing overtakes held traffic.
   */
  queue(payload: Uint8Array): void {
    if (this.#hooks.closing()) return;
    if (this.holding || this.#releasing || this.#held.length > 0) {
      this.#held.push(payload);
      this.#heldBytes += payload.length;
      if (this.#heldBytes > HOLD_LIMIT) this.#holdFull = true;
      return;
    }
    this.writer.enqueue(payload);
    this.#afterEnqueue();
  }

  /**
   * Queues an ordinary message given as parts (PacketWriter.enqueueGathered),
   * copied once into the batch at flush time; `onCopied` runs once the parts
   * are no longer referenced (after that flush, or when closing).
   */
  queueGathered(parts: readonly Uint8Array[], onCopied: (() => void) | null): void {
    if (this.#hooks.closing()) {
      if (onCopied) process.nextTick(onCopied);
      return;
    }
    if (this.holding || this.#releasing || this.#held.length > 0) {
      let length = 0;
      for (const p of parts) length += p.length;
      this.#held.push({ parts, length, onCopied });
      this.#heldBytes += length;
      if (this.#heldBytes > HOLD_LIMIT) this.#holdFull = true;
      return;
    }
    this.writer.enqueueGathered(parts, onCopied);
    this.#afterEnqueue();
  }

  /** Queues a transport message that may go out during key exchange. */
  sendKex(payload: Uint8Array): void {
    if (this.#hooks.closing()) return;
    this.writer.enqueue(payload);
    this.#afterEnqueue();
  }

  #afterEnqueue(): void {
    if (this.writer.queuedBytes >= FLUSH_BYTES) {
      this.flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushTick);
    }
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    if (!this.#hooks.closing()) this.flush();
  };

  /** Seals and writes everything queued now. */
  flush(): void {
    let buf: Uint8Array | null;
    try {
      buf = this.writer.build();
    } catch (err) {
      this.#hooks.fail(asSSHError(err));
      return;
    }
    if (buf) this.writeBatch(buf);
    this.#hooks.afterFlush();
    // Last: these may queue more and flush again from inside.
    this.writer.runCopied();
  }

  /** Writes bytes as they are (identification line). */
  writeRaw(buf: Uint8Array): void {
    this.bytesSent += buf.length;
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    if (!this.#socket.write(buf)) this.#socketFull = true;
  }

  /** Writes a sealed batch from `writer.build()`; its buffer is reused once the socket is done with it. */
  writeBatch(buf: Uint8Array): void {
    if (!this.#reuseBatches) return this.writeRaw(buf);
    this.bytesSent += buf.length;
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    const writer = this.writer;
    // On an error the write may not have finished with the buffer: it is then simply dropped.
    if (!this.#socket.write(buf, (err) => err == null && writer.recycle(buf))) this.#socketFull = true;
  }

  /** The socket's 'drain' listener. */
  readonly onDrain = (): void => {
    if (!this.#socketFull) return;
    this.#socketFull = false;
    if (!this.#holdFull && !this.#hooks.closing()) this.#hooks.drained();
  };

  /**
   * Moves held traffic to the writer after our NEWKEYS, in order, flushing
   * in FLUSH_BYTES slices. The flushes run write callbacks, which may queue
   * more at once (a channel refilling its window); that joins the end of
   * the held list and goes out on a later tick, so one release is bounded
   * and a volume rekey can start between them. If a key exchange starts
   * mid-way, or the volume limit is reached before the peer's NEWKEYS has
   * come, the rest stays held for the next exchange.
   */
  releaseHeld(): void {
    this.holding = false;
    this.#releaseScheduled = false;
    const batch = this.#held;
    this.#held = [];
    this.#releasing = true;
    let i = 0;
    try {
      while (i < batch.length && !this.holding && !this.#hooks.closing()) {
        const m = batch[i++]!;
        this.#heldBytes -= m.length;
        if (m instanceof Uint8Array) this.writer.enqueue(m);
        else this.writer.enqueueGathered(m.parts, m.onCopied);
        if (this.writer.queuedBytes >= FLUSH_BYTES) this.flush();
      }
    } finally {
      this.#releasing = false;
    }
    if (i < batch.length) {
      const rest = batch.slice(i);
      if (this.#hooks.closing()) {
        // Closed meanwhile: dropped, parts released as dropHeld does.
        for (const m of rest) if (!(m instanceof Uint8Array) && m.onCopied) process.nextTick(m.onCopied);
      } else {
        // A new exchange started, or is due once the peer's NEWKEYS comes
        // (KexDriver.checkVolume): the rest waits for it, ahead of what was
        // queued meanwhile.
        this.#held = rest.concat(this.#held);
      }
    }
    if (this.#held.length === 0) this.#heldBytes = 0;
    else if (!this.holding && !this.#releaseScheduled) {
      this.#releaseScheduled = true;
      process.nextTick(() => !this.holding && !this.#hooks.closing() && this.releaseHeld());
    }
    this.#afterEnqueue();
    if (this.#holdFull && this.#heldBytes <= HOLD_LIMIT) {
      this.#holdFull = false;
      if (!this.#socketFull && !this.#hooks.closing()) {
        process.nextTick(() => !this.needsDrain && !this.#hooks.closing() && this.#hooks.drained());
      }
    }
  }

  /** Closing: held and queued messages are dropped (their parts released). */
  dropHeld(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const m of held) if (!(m instanceof Uint8Array) && m.onCopied) process.nextTick(m.onCopied);
    this.writer.discard();
  }
}
