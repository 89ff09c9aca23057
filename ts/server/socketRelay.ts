/**
 * What the server's agent socket and X11 displays share: local programs
 * connect to a listener of ours, and each connection is carried to the
 * client over a channel we open for it.
 */
import type * as net from 'node:net';
import { type Channel, relay } from '../connection/index.js';

/** The live connections of one listener, at most `limit` at once. */
export class RelayedSockets {
  readonly #sockets = new Set<net.Socket>();

  constructor(
    /** What the listener forwards, for messages (e.g. `agent forwarding`). */
    readonly what: string,
    readonly limit: number,
    readonly debug: (message: string) => void,
  ) {}

  /**
   * Carries `sock` over the channel `open()` makes, relaying both ways;
   * destroys it when `open` fails or `limit` connections are already live.
   */
  relay(sock: net.Socket, open: () => Promise<Channel>): void {
    sock.on('error', () => {});
    if (this.#sockets.size >= this.limit) {
      this.debug(`${this.what}: more than ${this.limit} connections at once, one turned away`);
      sock.destroy();
      return;
    }
    this.#sockets.add(sock);
    sock.once('close', () => this.#sockets.delete(sock));
    sock.pause();
    open().then(
      (ch) => {
        if (sock.destroyed) {
          ch.close();
          return;
        }
        relay(sock, ch, (err) => err && this.debug(`${this.what}: ${err.message}`));
        sock.resume();
      },
      (err: Error) => {
        this.debug(`${this.what}: the client refused the channel: ${err.message}`);
        sock.destroy();
      },
    );
  }

  /** Ends every live connection. */
  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
}
