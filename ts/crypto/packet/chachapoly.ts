/**
 * chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305), packet
 * by packet, over a backend's `ChaChaPolyCore`. The 64-byte key splits into
 * K_2 (first 32 bytes: body and Poly1305 key) and K_1 (last 32: the length).
 * The nonce is the 64-bit big-endian sequence number. The wasm backend has
 * its own batch implementation (ts/crypto/wasm/chachapoly.ts).
 */
import { IntegrityError } from '../../errors.js';
import type { PacketOpener, PacketSealer } from '../types.js';
import { IMPLICIT_MAC, checkIncomingLength, checkOpenArgs, checkPadding, checkSealArgs, outgoingLength } from './common.js';

export const CHACHAPOLY = 'chacha20-poly1305@openssh.com';

/** One keyed instance of the construction for single packets [len4][len][tag16] at `off`. */
export interface ChaChaPolyCore {
  seal(buf: Uint8Array, off: number, len: number, seq: number): void;
  /** The decrypted length field, memory untouched. */
  length(buf: Uint8Array, off: number, seq: number): number;
  /** Verifies the tag in constant time, then decrypts the body in place (length bytes stay encrypted). */
  open(buf: Uint8Array, off: number, len: number, seq: number): boolean;
  /** Optional: like open, but returns the decrypted body in a buffer of its own (buf untouched), or null on a bad tag. */
  openDetached?(buf: Uint8Array, off: number, len: number, seq: number): Uint8Array | null;
}

export class ChaChaPolySealer implements PacketSealer {
  readonly cipher = CHACHAPOLY;
  readonly mac = IMPLICIT_MAC;
  readonly blockSize = 8;
  readonly macLength = 16;
  readonly padsLengthField = false;
  readonly #core: ChaChaPolyCore;

  constructor(core: ChaChaPolyCore) {
    this.#core = core;
  }

  sealPackets(buf: Uint8Array, offset: number, count: number, seq: number): void {
    checkSealArgs(offset, count);
    let off = offset;
    let s = seq >>> 0;
    for (let i = 0; i < count; i++) {
      const len = outgoingLength(buf, off, 16, 8, false);
      this.#core.seal(buf, off, len, s);
      off += 4 + len + 16;
      s = (s + 1) >>> 0;
    }
  }
}

export class ChaChaPolyOpener implements PacketOpener {
  readonly cipher = CHACHAPOLY;
  readonly mac = IMPLICIT_MAC;
  readonly blockSize = 8;
  readonly macLength = 16;
  readonly #core: ChaChaPolyCore;

  constructor(core: ChaChaPolyCore) {
    this.#core = core;
  }

  openPackets(buf: Uint8Array, start: number, end: number, seq: number, maxPacketLength: number, spans: Uint32Array, bodies?: (Uint8Array | undefined)[]): number {
    checkOpenArgs(buf, start, end, spans);
    const max = spans.length >>> 1;
    const core = this.#core;
    const detached = bodies !== undefined && core.openDetached !== undefined;
    let pos = start;
    let n = 0;
    let s = seq >>> 0;
    while (n < max && end - pos >= 4) {
      const len = core.length(buf, pos, s);
      checkIncomingLength(len, 8, false, maxPacketLength);
      if (end - pos < 4 + len + 16) break;
      if (detached) {
        const body = core.openDetached!(buf, pos, len, s);
        if (!body) throw new IntegrityError();
        checkPadding(body, 0, len);
        bodies[n] = body;
      } else {
        if (!core.open(buf, pos, len, s)) throw new IntegrityError();
        checkPadding(buf, pos + 4, len);
      }
      spans[2 * n] = pos + 4;
      spans[2 * n + 1] = len;
      n++;
      pos += 4 + len + 16;
      s = (s + 1) >>> 0;
    }
    return n;
  }
}

/** A Poly1305 one-time authenticator: tag of buf[off, off+len) under a 32-byte key, written to out[outOff..+16). */
export interface Poly1305Fn {
  readonly label: string;
  mac(key: Uint8Array, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void;
}
