/**
 * The connection messages every command sends (CHANNEL_OPEN,
 * CHANNEL_REQUEST, EOF, CLOSE, replies), built straight into Buffers of the
 * exact size. Small `Buffer.allocUnsafe` allocations come from Node's shared
 * pool, whereas a general-purpose writer allocates a fresh ArrayBuffer (and
 * another for its final copy) per message; with hundreds of commands a
 * second that garbage was a visible share of the client's CPU.
 */
import { MSG } from '../wire/index.js';

/** A message that is just a type byte and the recipient channel (EOF, CLOSE, SUCCESS, FAILURE). */
export function channelIdMessage(type: number, remoteId: number): Buffer {
  const p = Buffer.allocUnsafe(5);
  p[0] = type;
  p.writeUInt32BE(remoteId, 1);
  return p;
}

/** Bytes of `s` as UTF-8 (what an SSH string of text carries). */
function byteLength(s: string | Uint8Array): number {
  return typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : s.length;
}

/** Writes an SSH string (uint32 length + bytes) at `off`; returns the offset after it. */
function putString(p: Buffer, off: number, s: string | Uint8Array, len: number): number {
  p.writeUInt32BE(len, off);
  off += 4;
  if (typeof s === 'string') p.write(s, off, len, 'utf8');
  else p.set(s, off);
  return off + len;
}

/** An SSH string on its own: the body of `exec`, `subsystem`, `signal` requests. */
export function sshString(s: string | Uint8Array): Buffer {
  const len = byteLength(s);
  const p = Buffer.allocUnsafe(4 + len);
  putString(p, 0, s, len);
  return p;
}

/** Two SSH strings: the body of an `env` request. */
export function sshStringPair(a: string, b: string): Buffer {
  const la = byteLength(a);
  const lb = byteLength(b);
  const p = Buffer.allocUnsafe(8 + la + lb);
  putString(p, putString(p, 0, a, la), b, lb);
  return p;
}

/** SSH_MSG_CHANNEL_REQUEST. */
export function channelRequestMessage(remoteId: number, type: string, wantReply: boolean, data: Uint8Array): Buffer {
  const lt = byteLength(type);
  const p = Buffer.allocUnsafe(10 + lt + data.length);
  p[0] = MSG.CHANNEL_REQUEST;
  p.writeUInt32BE(remoteId, 1);
  const off = putString(p, 5, type, lt);
  p[off] = wantReply ? 1 : 0;
  p.set(data, off + 1);
  return p;
}

/** SSH_MSG_CHANNEL_OPEN. */
export function channelOpenMessage(type: string, localId: number, window: number, maxPacket: number, extra: Uint8Array): Buffer {
  const lt = byteLength(type);
  const p = Buffer.allocUnsafe(17 + lt + extra.length);
  p[0] = MSG.CHANNEL_OPEN;
  let off = putString(p, 1, type, lt);
  p.writeUInt32BE(localId, off);
  p.writeUInt32BE(window, off + 4);
  p.writeUInt32BE(maxPacket, off + 8);
  off += 12;
  p.set(extra, off);
  return p;
}

/** SSH_MSG_CHANNEL_OPEN_CONFIRMATION without extra data. */
export function openConfirmationMessage(remoteId: number, localId: number, window: number, maxPacket: number): Buffer {
  const p = Buffer.allocUnsafe(17);
  p[0] = MSG.CHANNEL_OPEN_CONFIRMATION;
  p.writeUInt32BE(remoteId, 1);
  p.writeUInt32BE(localId, 5);
  p.writeUInt32BE(window, 9);
  p.writeUInt32BE(maxPacket, 13);
  return p;
}
