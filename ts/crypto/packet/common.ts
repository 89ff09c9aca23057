/**
 * Checks shared by every packet construction. Lengths come from the peer, so
 * each is bounded before anything is sized or awaited by it.
 */
import { CryptoError, ProtocolError } from '../../errors.js';
import { readU32 } from '../util.js';

/** The smallest packet_length: padding_length byte plus the 4 bytes of padding RFC 4253 requires. */
export const MIN_PACKET_LENGTH = 5;

/**
 * Throws ProtocolError unless `len` is a valid packet_length for a
 * construction with this padding multiple (RFC 4253 section 6).
 */
export function checkIncomingLength(len: number, blockSize: number, padsLengthField: boolean, maxPacketLength: number): void {
  if (len < MIN_PACKET_LENGTH) throw new ProtocolError(`packet length ${len} is below the minimum of ${MIN_PACKET_LENGTH}`);
  if (len > maxPacketLength) throw new ProtocolError(`packet length ${len} exceeds the limit of ${maxPacketLength}`);
  if ((padsLengthField ? len + 4 : len) % blockSize !== 0) {
    throw new ProtocolError(`packet length ${len} is not a multiple of the cipher block size ${blockSize}`);
  }
}

/** Throws ProtocolError unless the opened packet's padding_length fits RFC 4253 (at least 4, inside the packet). */
export function checkPadding(buf: Uint8Array, bodyOffset: number, len: number): void {
  const pad = buf[bodyOffset]!;
  if (pad < 4 || pad + 1 > len) throw new ProtocolError(`invalid padding length ${pad} in a packet of length ${len}`);
}

/**
 * Reads and checks the plaintext length of an outgoing packet at `off`:
 * a bad one is our own caller's bug, so it is a CryptoError.
 */
export function outgoingLength(buf: Uint8Array, off: number, macLength: number, blockSize: number, padsLengthField: boolean): number {
  if (off < 0 || off + 4 > buf.length) throw new CryptoError(`packet at offset ${off} runs past the end of the buffer`);
  const len = readU32(buf, off);
  if (len < MIN_PACKET_LENGTH || (padsLengthField ? len + 4 : len) % blockSize !== 0) {
    throw new CryptoError(`outgoing packet length ${len} is not a positive multiple of the block size ${blockSize}`);
  }
  if (off + 4 + len + macLength > buf.length) {
    throw new CryptoError(`outgoing packet of length ${len} at offset ${off} runs past the end of the buffer`);
  }
  return len;
}

/** Validates the common arguments of openPackets. */
export function checkOpenArgs(buf: Uint8Array, start: number, end: number, spans: Uint32Array): void {
  if (!(start >= 0 && start <= end && end <= buf.length)) throw new CryptoError(`bad range [${start}, ${end}) for a buffer of ${buf.length} bytes`);
  if (spans.length < 2) throw new CryptoError('spans must hold at least one packet (2 entries)');
}

/** Validates the common arguments of sealPackets. */
export function checkSealArgs(offset: number, count: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new CryptoError(`bad offset ${offset}`);
  if (!Number.isInteger(count) || count < 0) throw new CryptoError(`bad packet count ${count}`);
}

/** What an AEAD construction's `mac` property says: its tag is part of the cipher (as OpenSSH prints it). */
export const IMPLICIT_MAC = '<implicit>';
