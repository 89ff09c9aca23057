/**
 * An optional, allocation-free way for a TCP socket to feed the transport.
 *
 * A plain net.Socket allocates a fresh Buffer for every read; at bulk rates
 * that is hundreds of MiB of short-lived external memory per second, which
 * drives V8 into frequent full collections. Node's `onread` option reads into
 * one reused buffer instead and calls back with the byte count. The receive
 * path copies every chunk into its own buffer at once (ReceiveBuffer.append),
 * so a reused read buffer is safe for it.
 *
 * A socket created with `net.connect({ ..., onread: feed.onread })` emits no
 * 'data' events, so the creator tags it (`tagSocketFeed`) and the transport
 * attaches to the feed instead of listening for 'data'. Any other Duplex
 * (`sock`, ProxyCommand, tests) keeps the ordinary 'data' path.
 */
import type { Duplex } from 'node:stream';

/** Bytes per socket read: several 32 KiB packets per wake-up. */
const READ_SIZE = 256 * 1024;
/** Copies kept for a sink that has not attached yet (a safety net: the transport attaches at once). */
const PENDING_LIMIT = 4 * 1024 * 1024;

const FEED = Symbol('sshwire.socketFeed');

export class SocketFeed {
  #sink: ((chunk: Buffer) => void) | null = null;
  /** Chunks read before a sink attached (copied); null once detached (input is then dropped). */
  #pending: Buffer[] | null = [];
  #pendingBytes = 0;
  readonly #buffer = Buffer.allocUnsafe(READ_SIZE);

  /** The `onread` option for net.connect / new net.Socket. */
  readonly onread = {
    buffer: this.#buffer,
    callback: (n: number, buf: Buffer): boolean => {
      if (n <= 0) return true;
      // A view, valid only during the call: the sink must copy what it keeps.
      const chunk = buf.subarray(0, n);
      if (this.#sink) {
        this.#sink(chunk);
      } else if (this.#pending && this.#pendingBytes + n <= PENDING_LIMIT) {
        this.#pending.push(Buffer.from(chunk));
        this.#pendingBytes += n;
      } else if (this.#pending) {
        // Nobody is reading: stop the socket rather than buffer without bound.
        return false;
      }
      return true;
    },
  };

  /**
   * Starts delivering chunks to `sink` (chunks read earlier first). A chunk
   * is a view of the reused read buffer, valid only during the call.
   */
  attach(sink: (chunk: Buffer) => void): void {
    const pending = this.#pending ?? [];
    this.#pending = null;
    this.#pendingBytes = 0;
    this.#sink = sink;
    for (const c of pending) {
      if (this.#sink !== sink) break;
      sink(c);
    }
  }

  /** Stops delivery; later input is dropped. */
  detach(): void {
    this.#sink = null;
    this.#pending = null;
  }
}

/** Marks `socket` as created with `feed.onread`, so the transport attaches to the feed. */
export function tagSocketFeed(socket: Duplex, feed: SocketFeed): void {
  (socket as Duplex & { [FEED]?: SocketFeed })[FEED] = feed;
}

/** The feed a socket was created with, if any. */
export function socketFeedOf(socket: Duplex): SocketFeed | undefined {
  return (socket as Duplex & { [FEED]?: SocketFeed })[FEED];
}
