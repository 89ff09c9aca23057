/**
 * What the connection layer needs from the transport. `Transport` from
 * ts/transport satisfies it; tests may pass anything of the same shape.
 */
import type { MessageHandler, SessionBinding } from '../transport/index.js';

export interface ConnectionTransport {
  /** Resolves when the transport is gone: null for a local close, else the error. */
  readonly closed: Promise<Error | null>;
  readonly isClosed: boolean;
  /** True while the socket's write buffer is full; 'drain' is emitted when it empties. */
  readonly needsDrain: boolean;
  send(payload: Uint8Array): void;
  /**
   * Optional: send a payload given as parts, copied once by the transport;
   * `onCopied` runs when the parts may be reused (Transport.sendGathered).
   */
  sendGathered?(parts: readonly Uint8Array[], onCopied: (() => void) | null): void;
  onMessage(handler: MessageHandler): () => void;
  /** Optional: the session identifier (H of the first key exchange), for binding an agent to the session. */
  readonly sessionId?: Uint8Array | null;
  /** Optional: the host key and its signature from the first key exchange (Transport.sessionBinding). */
  readonly sessionBinding?: SessionBinding | null;
  disconnect(reason?: number, description?: string): void;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}
