/**
 * What a key exchange method looks like to the transport, and the pieces
 * every method shares (the exchange hash, RFC 4253 section 8).
 */
import { hash as digest } from '../../crypto/index.js';
import type { HashName, Signer } from '../../crypto/types.js';
import { ProtocolError } from '../../errors.js';
import { SSHWriter } from '../../wire/index.js';
import type { DHGroup } from './moduli.js';
import type { KexSpec } from './methods.js';
import type { GssKexAcceptor, GssKexInitiator } from './gss.js';

/** Group exchange sizes a client asks for (RFC 4419 section 3). */
export interface GexRequest {
  min: number;
  n: number;
  max: number;
}

/** Everything a kex method needs from the transport. */
export interface KexContext {
  role: 'client' | 'server';
  /** Negotiated kex method name, for messages. */
  name: string;
  spec: KexSpec;
  /** Negotiated host key algorithm. */
  hostKeyAlgorithm: string;
  clientVersion: string;
  serverVersion: string;
  /** The KEXINIT payloads as sent (I_C, I_S). */
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
  /** Sends a kex message (bypasses the hold on ordinary traffic). */
  send(payload: Uint8Array): void;
  /** Server: the host key to sign H with. */
  hostKey?: Signer;
  /** Server: groups available for group exchange. */
  gexGroups?: readonly DHGroup[];
  /** Client: group exchange sizes to request. */
  gexRequest?: GexRequest;
}

/** A finished exchange. */
export interface KexResult {
  hash: HashName;
  /** The shared secret in its wire encoding (mpint or string), as it enters the hash and key derivation. */
  K: Uint8Array;
  /** The exchange hash. */
  H: Uint8Array;
  /** The server's public host key blob (K_S); empty after a GSS-API exchange without one. */
  hostKeyBlob: Uint8Array;
  /** The server's host key signature over H (sent or received); absent after a GSS-API exchange. */
  signature?: Uint8Array;
  /** After a GSS-API key exchange: the context that authenticated it (for gssapi-keyex). */
  gss?: GssKexInitiator | GssKexAcceptor;
}

/**
 * What binds a session to the server's host key: the first key exchange's
 * host key blob and the server's signature over the session identifier
 * (ssh-agent's `session-bind@openssh.com` checks one against the other).
 */
export interface SessionBinding {
  hostKey: Uint8Array;
  signature: Uint8Array;
}

/** One run of a kex method, driven by the transport. */
export interface KeyExchange {
  /** Client: sends the first kex message. Server: nothing. */
  start(): void;
  /**
   * Handles a kex-method message (30..49). Returns null while more messages
   * are needed, the result once the exchange is done (a promise when signing
   * is asynchronous). Throws ProtocolError for a message out of order.
   */
  handle(type: number, payload: Uint8Array): KexResult | Promise<KexResult> | null;
}

/**
 * H = HASH(string V_C || string V_S || string I_C || string I_S || string K_S
 *          || method fields || K).
 */
export function exchangeHash(ctx: KexContext, hash: HashName, hostKeyBlob: Uint8Array, methodFields: (w: SSHWriter) => void, K: Uint8Array): Uint8Array {
  const w = new SSHWriter(2048 + ctx.clientKexInit.length + ctx.serverKexInit.length + hostKeyBlob.length);
  w.string(ctx.clientVersion).string(ctx.serverVersion);
  w.string(ctx.clientKexInit).string(ctx.serverKexInit);
  w.string(hostKeyBlob);
  methodFields(w);
  w.raw(K);
  return digest(hash, w.bytes());
}

/** The error for a kex message that is not the one expected now. */
export function unexpectedKexMessage(ctx: KexContext, type: number, expected: string): ProtocolError {
  return new ProtocolError(`${ctx.name}: unexpected message ${type} during key exchange (expected ${expected})`, { code: 'ERR_SSH_KEX_SEQUENCE' });
}

/** `K` as an mpint from an unsigned big-endian secret. */
export function encodeSecretMpint(secret: Uint8Array): Uint8Array {
  return new SSHWriter(secret.length + 8).mpintFromUnsigned(secret).toBytes();
}

/** `K` as a string (the post-quantum hybrids). */
export function encodeSecretString(secret: Uint8Array): Uint8Array {
  return new SSHWriter(secret.length + 8).string(secret).toBytes();
}
