/**
 * The `none` cipher with the `none` MAC: what protects (nothing) the initial
 * key exchange. It still enforces the packet rules so a peer cannot make us
 * wait for or allocate an absurd packet.
 */
import type { PacketOpener, PacketSealer } from '../types.js';
import { readU32 } from '../util.js';
import { checkIncomingLength, checkOpenArgs, checkPadding, checkSealArgs, outgoingLength } from './common.js';

export class NoneSealer implements PacketSealer {
  readonly cipher = 'none';
  readonly mac = 'none';
  readonly blockSize = 8;
  readonly macLength = 0;
  readonly padsLengthField = true;

  sealPackets(buf: Uint8Array, offset: number, count: number, _seq: number): void {
    checkSealArgs(offset, count);
    let off = offset;
    for (let i = 0; i < count; i++) off += 4 + outgoingLength(buf, off, 0, 8, true);
  }
}

export class NoneOpener implements PacketOpener {
  readonly cipher = 'none';
  readonly mac = 'none';
  readonly blockSize = 8;
  readonly macLength = 0;

  openPackets(buf: Uint8Array, start: number, end: number, _seq: number, maxPacketLength: number, spans: Uint32Array): number {
    checkOpenArgs(buf, start, end, spans);
    const max = spans.length >>> 1;
    let pos = start;
    let n = 0;
    while (n < max && end - pos >= 4) {
      const len = readU32(buf, pos);
      checkIncomingLength(len, 8, true, maxPacketLength);
      if (end - pos < 4 + len) break;
      checkPadding(buf, pos + 4, len);
      spans[2 * n] = pos + 4;
      spans[2 * n + 1] = len;
      n++;
      pos += 4 + len;
    }
    return n;
  }
}
