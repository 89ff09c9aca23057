/**
 * OpenSSH's host key rotation messages (PROTOCOL section 2.5): after user
 * authentication the server announces every host key it holds in a
 * `hostkeys-00@openssh.com` global request, and the client asks it to
 * prove possession of the ones it does not know with
 * `hostkeys-prove-00@openssh.com`. This module holds what both sides share:
 * the request names, the list encoding and the data each proof signs.
 */
import { ProtocolError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';

/** The server's announcement of its host keys (no reply wanted). */
export const HOSTKEYS_NOTICE = 'hostkeys-00@openssh.com';
/** The client's request for signatures proving the server holds some of them. */
export const HOSTKEYS_PROVE = 'hostkeys-prove-00@openssh.com';
/** More keys than any server holds: a longer list is refused, not parsed. */
export const MAX_ANNOUNCED_HOST_KEYS = 64;
/** A host key blob larger than this (RSA-16384 is about 2 KiB) is refused. */
const MAX_BLOB = 16384;

/** A list of SSH strings back to back, as both messages carry keys and signatures. */
export function encodeStringList(items: readonly Uint8Array[]): Uint8Array {
  const w = new SSHWriter(items.reduce((n, b) => n + 4 + b.length, 0));
  for (const b of items) w.string(b);
  return w.toBytes();
}

/**
 * Reads a list of SSH strings filling `data` exactly. A truncated list,
 * more than `max` items or an item longer than `maxItem` bytes throws
 * ProtocolError.
 */
export function decodeStringList(data: Uint8Array, what: string, max = MAX_ANNOUNCED_HOST_KEYS, maxItem = MAX_BLOB): Uint8Array[] {
  const r = new SSHReader(data, what);
  const out: Uint8Array[] = [];
  while (r.remaining > 0) {
    if (out.length === max) throw new ProtocolError(`${what}: more than ${max} entries`);
    out.push(r.string(maxItem));
  }
  return out;
}

/** What the server signs to prove it holds the host key `keyBlob` on the connection `sessionId`. */
export function hostKeyProofData(sessionId: Uint8Array, keyBlob: Uint8Array): Uint8Array {
  return new SSHWriter(64 + sessionId.length + keyBlob.length).string(HOSTKEYS_PROVE).string(sessionId).string(keyBlob).toBytes();
}
