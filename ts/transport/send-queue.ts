/**
 * The outgoing side between `send()` and the socket: ordinary messages are
 * held while a key exchange runs (from our KEXINIT to our NEWKEYS) and
 * released in order afterwards; everything queued in one tick goes out as
 * one sealed batch and one socket write (PacketWriter), or sooner once
 * FLUSH_BYTES are queued, so large transfers stream in 256 KiB writes.
 */
import type { Duplex } from 'node:stream';
import { asSSHError } from './closing.js';
import type { PacketWriter } from './outbound.js';

/** Flush immediately once this much payload is queued, rather than at the end of the tick. */
const FLUSH_BYTES = 256 * 1024;
/** Held (during key exchange) payload bytes beyond which `needsDrain` turns true. */
const HOLD_LIMIT = 1024 * 1024;

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
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** socket.write() returned false and 'drain' has not come yet. */
  #socketFull = false;
  /** Held traffic during a key exchange passed HOLD_LIMIT. */
  #holdFull = false;

  constructor(socket: Duplex, writer: PacketWriter, hooks: SendQueueHooks) {
    this.#socket = socket;
    this.writer = writer;
    this.#hooks = hooks;
  }

  /** True when the socket's write buffer is full or too much is held during a key exchange. */
  get needsDrain(): boolean {
    return this.#socketFull || this.#holdFull;
  }

  /** Queues an ordinary (non-kex) message, holding it during key exchange. */
  queue(payload: Uint8Array): void {
    if (this.#hooks.closing()) return;
    if (this.holding) {
      this.#held.push(payload);
      this.#heldBytes += payload.length;
      if (this.#heldBytes > HOLD_LIMIT) this.#holdFull = true;
      return;
    }
    this.writer.enqueue(payload);
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
    if (buf) this.writeRaw(buf);
    this.#hooks.afterFlush();
  }

  /** Writes bytes as they are (identification line, sealed batches). */
  writeRaw(buf: Uint8Array): void {
    this.bytesSent += buf.length;
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    if (!this.#socket.write(buf)) this.#socketFull = true;
  }

  /** The socket's 'drain' listener. */
  readonly onDrain = (): void => {
    if (!this.#socketFull) return;
    this.#socketFull = false;
    if (!this.#holdFull && !this.#hooks.closing()) this.#hooks.drained();
  };

  /**
   * Moves held traffic to the writer after our NEWKEYS, flushing in
   * FLUSH_BYTES slices so a volume rekey can start again mid-way (the rest
   * then stays held for the next exchange).
   */
  releaseHeld(): void {
    this.holding = false;
    const held = this.#held;
    this.#held = [];
    let i = 0;
    while (i < held.length && !this.holding && !this.#hooks.closing()) {
      const m = held[i++]!;
      this.#heldBytes -= m.length;
      this.writer.enqueue(m);
      if (this.writer.queuedBytes >= FLUSH_BYTES) this.flush();
    }
    // Anything not released waits, ahead of whatever was held meanwhile.
    if (i < held.length) this.#held = held.slice(i).concat(this.#held);
    if (this.#held.length === 0) this.#heldBytes = 0;
    this.#afterEnqueue();
    if (this.#holdFull && this.#heldBytes <= HOLD_LIMIT) {
      this.#holdFull = false;
      if (!this.#socketFull && !this.#hooks.closing()) {
        process.nextTick(() => !this.needsDrain && !this.#hooks.closing() && this.#hooks.drained());
      }
    }
  }

  /** Closing: held messages are dropped. */
  dropHeld(): void {
    this.#held = [];
  }
}
