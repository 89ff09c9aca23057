/**
 * The incoming side between the socket and message dispatch: chunks go into
 * the ReceiveBuffer; the pump reads the peer's identification first, then
 * opens packets in batches (one at a time during key exchange, so nothing
 * after the peer's NEWKEYS is opened with the old keys) and dispatches them
 * in order. Dispatch can be paused while an async kex step runs; input then
 * stays buffered, and the socket is paused once PAUSED_READ_LIMIT is buffered.
 */
import type { Duplex } from 'node:stream';
import type { PacketOpener } from '../crypto/types.js';
import { asSSHError } from './closing.js';
import { heapReserve } from './heap-reserve.js';
import { ReceiveBuffer, openPackets, type OpenedPacket } from './inbound.js';
import { VersionReader } from './version.js';

/** Largest packet_length we accept: 256 KiB of payload plus room for padding and compression overhead. */
export const MAX_PACKET_LENGTH = 256 * 1024 + 4096;
/** Packets opened per call outside key exchange. */
const OPEN_BATCH = 32;
/** While message dispatch is paused (async kex step), stop reading past this much buffered input. */
const PAUSED_READ_LIMIT = 2 * 1024 * 1024;

/** The peer's identification line and the banner lines before it. */
export interface PeerVersion {
  version: string;
  banner: string[];
}

/** What the pump needs from the transport. */
export interface ReceivePumpHooks {
  closing(): boolean;
  fail(err: Error): void;
  /** A key exchange is running: open one packet at a time. */
  inKex(): boolean;
  version(v: PeerVersion): void;
  /** `n` packets of `bytes` wire bytes were opened (counted before they are dispatched). */
  received(n: number, bytes: number): void;
  dispatch(p: OpenedPacket): void;
  /** After a pump run: a volume rekey may be due. */
  afterPump(): void;
}

export class ReceivePump {
  /** Bytes read from the socket. */
  bytesReceived = 0;
  /** The current opener; NEWKEYS replaces it. */
  opener: PacketOpener;
  /** Sequence number of the next packet (wraps at 2^32; strict kex resets it). */
  seq = 0;

  readonly #socket: Duplex;
  readonly #hooks: ReceivePumpHooks;
  readonly #rx = new ReceiveBuffer();
  readonly #spans = new Uint32Array(OPEN_BATCH * 2);
  /** Opened packets not dispatched yet (reused array), from #inboxPos on. */
  readonly #inbox: OpenedPacket[] = [];
  #inboxPos = 0;
  /** Scratch for openers that decrypt into buffers of their own. */
  readonly #bodies: (Uint8Array | undefined)[] = [];
  #pumping = false;
  #pauseCount = 0;
  #socketPaused = false;
  #versionReader: VersionReader | null;

  constructor(socket: Duplex, opener: PacketOpener, client: boolean, hooks: ReceivePumpHooks) {
    this.#socket = socket;
    this.opener = opener;
    this.#hooks = hooks;
    this.#versionReader = new VersionReader(client);
  }

  /** The socket's 'data' listener. */
  readonly onData = (chunk: Buffer): void => {
    if (this.#hooks.closing()) return;
    this.bytesReceived += chunk.length;
    heapReserve.note(chunk.length);
    this.#rx.append(chunk);
    if (this.#pauseCount > 0 && this.#rx.available > PAUSED_READ_LIMIT && !this.#socketPaused) {
      this.#socketPaused = true;
      this.#socket.pause();
    }
    this.pump();
  };

  /** Pauses message dispatch (async kex step); packets stay buffered. */
  pause(): void {
    this.#pauseCount++;
  }

  resume(): void {
    this.#pauseCount--;
    if (this.#pauseCount === 0) {
      if (this.#socketPaused) {
        this.#socketPaused = false;
        this.#socket.resume();
      }
      // Continue outside the current call stack (we may be in a promise callback).
      setImmediate(() => this.pump());
    }
  }

  /** Processes buffered input: version line, then packets, while not paused. */
  pump(): void {
    if (this.#pumping) return;
    const hooks = this.#hooks;
    this.#pumping = true;
    try {
      while (!hooks.closing() && this.#pauseCount === 0) {
        const inbox = this.#inbox;
        if (this.#inboxPos < inbox.length) {
          hooks.dispatch(inbox[this.#inboxPos++]!);
          continue;
        }
        inbox.length = 0;
        this.#inboxPos = 0;
        if (this.#versionReader) {
          if (!this.#readVersion()) break;
          continue;
        }
        const max = hooks.inKex() ? 1 : OPEN_BATCH;
        const n = openPackets(this.#rx, this.opener, this.seq, MAX_PACKET_LENGTH, this.#spans, max, inbox, this.#bodies);
        if (n === 0) break;
        this.seq = (this.seq + n) >>> 0;
        let bytes = 0;
        for (let i = 0; i < n; i++) bytes += inbox[i]!.wireLength;
        hooks.received(n, bytes);
      }
    } catch (err) {
      hooks.fail(asSSHError(err));
    } finally {
      this.#pumping = false;
    }
    if (!hooks.closing()) hooks.afterPump();
  }

  #readVersion(): boolean {
    const rx = this.#rx;
    const r = this.#versionReader!.feed(rx.buf.subarray(0, rx.end), rx.end);
    if (!r.done) return false;
    this.#versionReader = null;
    rx.consume(r.consumed);
    this.#hooks.version({ version: r.version, banner: r.banner });
    return true;
  }
}
