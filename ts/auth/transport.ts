/**
 * What user authentication needs from the transport. `Transport` from
 * ts/transport satisfies it; tests may pass anything of the same shape.
 */
import type { GssKexAcceptor, GssKexInitiator, MessageHandler, SessionBinding } from '../transport/index.js';

export interface AuthTransport {
  /** H of the first key exchange: what publickey signatures bind to. */
  readonly sessionId: Uint8Array | null;
  /** Client: the server's `server-sig-algs` (RFC 8308), or null when it sent none. */
  readonly serverSigAlgs: string[] | null;
  /** The extensions the peer sent in EXT_INFO (RFC 8308), by name. */
  readonly peerExtensions?: ReadonlyMap<string, Uint8Array>;
  /** The first key exchange's host key and the server's signature over the session identifier. */
  readonly sessionBinding?: SessionBinding | null;
  /** After a GSS-API key exchange: its context, for the gssapi-keyex method. */
  readonly gssKexContext?: GssKexInitiator | GssKexAcceptor | null;
  /** Resolves when the transport is gone: null for a local close, else the error. */
  readonly closed: Promise<Error | null>;
  readonly isClosed: boolean;
  send(payload: Uint8Array): void;
  onMessage(handler: MessageHandler): () => void;
  requestService(name: string): Promise<void>;
  /** Tells the transport authentication succeeded (delayed compression starts). */
  authenticated(): void;
  disconnect(reason?: number, description?: string): void;
}
