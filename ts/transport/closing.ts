/**
 * Closing: which DISCONNECT reason an error maps to, the DISCONNECT message,
 * and tearing the socket down once the last bytes are out.
 */
import type { Duplex } from 'node:stream';
import { BadHostKeyException, DisconnectError, IntegrityError, NegotiationError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHWriter } from '../wire/index.js';

/** Disconnect reason codes by number, for log lines. */
export const REASON_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DISCONNECT_REASON).map(([k, v]) => [v, k]));

/** Anything thrown inside the transport as an SSHException (unknown errors become ERR_SSH_INTERNAL). */
export function asSSHError(err: unknown): SSHException {
  if (err instanceof SSHException) return err;
  return new SSHException(`internal error: ${(err as Error)?.message ?? String(err)}`, { code: 'ERR_SSH_INTERNAL', cause: err });
}

/** The DISCONNECT reason code that tells the peer why we close on `err`. */
export function disconnectReasonFor(err: SSHException): number {
  if (err instanceof DisconnectError) return err.reason;
  if (err instanceof IntegrityError) return DISCONNECT_REASON.MAC_ERROR;
  if (err instanceof NegotiationError) return DISCONNECT_REASON.KEY_EXCHANGE_FAILED;
  if (err instanceof BadHostKeyException) return DISCONNECT_REASON.HOST_KEY_NOT_VERIFIABLE;
  if (err.code === 'ERR_SSH_COMPRESSION') return DISCONNECT_REASON.COMPRESSION_ERROR;
  if (err.code === 'ERR_SSH_HOST_KEY_SIGNATURE' || err.code === 'ERR_SSH_KEX_VALUE') return DISCONNECT_REASON.KEY_EXCHANGE_FAILED;
  if (err instanceof TimeoutError) return DISCONNECT_REASON.BY_APPLICATION;
  if (err instanceof ProtocolError) return DISCONNECT_REASON.PROTOCOL_ERROR;
  return DISCONNECT_REASON.BY_APPLICATION;
}

/** SSH_MSG_DISCONNECT with the description cut to 256 characters. */
export function disconnectPayload(reason: number, description: string): Uint8Array {
  const desc = description.slice(0, 256);
  return new SSHWriter(desc.length * 3 + 32).byte(MSG.DISCONNECT).uint32(reason).string(desc).string('').toBytes();
}

/** How long a graceful close waits for the socket to finish before destroying it. */
const CLOSE_GRACE_MS = 250;

/**
 * Ends the socket (gracefully when `graceful`, so queued bytes such as a
 * DISCONNECT still go out) and calls `done` once, when it has finished or
 * after CLOSE_GRACE_MS at the latest; the socket is destroyed either way.
 */
export function closeSocket(socket: Duplex, graceful: boolean, done: () => void): void {
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (!socket.destroyed) socket.destroy();
    done();
  };
  const timer = setTimeout(finish, CLOSE_GRACE_MS);
  timer.unref?.();
  if (socket.destroyed || socket.writableEnded || !graceful) {
    finish();
  } else {
    socket.once('finish', finish);
    socket.end();
  }
}
