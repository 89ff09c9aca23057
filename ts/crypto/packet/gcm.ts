/**
 * AES-GCM packets as OpenSSH uses them (RFC 5647 section 7): the 4-byte
 * length is additional authenticated data sent in clear, the rest is
 * encrypted, a 16-byte tag follows. The 12-byte nonce is a fixed 4-byte
 * field and a 64-bit invocation counter that increases by one per packet.
 */
import { IntegrityError } from '../../errors.js';
import type { PacketOpener, PacketSealer } from '../types.js';
import { readU32 } from '../util.js';
import { IMPLICIT_MAC, checkIncomingLength, checkOpenArgs, checkPadding, checkSealArgs, outgoingLength } from './common.js';

/** One AES-GCM key. The packet at `off` is [len4 = AAD][len bytes][16-byte tag]. */
export interface GcmPrimitive {
  /** Encrypts buf[off+4, off+4+len) in place and writes the tag after it. */
  seal(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): void;
  /** Verifies the tag, then decrypts in place. Returns false (buf untouched) on a mismatch. */
  open(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): boolean;
  /**
   * Optional: verifies the tag and returns the plaintext in a buffer of its
   * own (buf untouched), or null on a mismatch. For primitives that make a
   * fresh buffer anyway, this spares the copy back into `buf`.
   */
  openDetached?(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): Uint8Array | null;
}

/** The RFC 5647 nonce: fixed || invocation counter, incremented per packet. */
class GcmNonce {
  readonly bytes: Uint8Array;
  constructor(iv: Uint8Array) {
    this.bytes = Uint8Array.from(iv);
  }
  /** Adds one to the 64-bit big-endian invocation counter (bytes 4..11), wrapping. */
  next(): void {
    const b = this.bytes;
    for (let i = 11; i >= 4; i--) {
      b[i] = (b[i]! + 1) & 0xff;
      if (b[i] !== 0) break;
    }
  }
}

export class GcmSealer implements PacketSealer {
  readonly mac = IMPLICIT_MAC;
  readonly blockSize = 16;
  readonly macLength = 16;
  readonly padsLengthField = false;
  readonly #impl: GcmPrimitive;
  readonly #nonce: GcmNonce;

  constructor(readonly cipher: string, impl: GcmPrimitive, iv: Uint8Array) {
    this.#impl = impl;
    this.#nonce = new GcmNonce(iv);
  }

  sealPackets(buf: Uint8Array, offset: number, count: number, _seq: number): void {
    checkSealArgs(offset, count);
    let off = offset;
    for (let i = 0; i < count; i++) {
      const len = outgoingLength(buf, off, 16, 16, false);
      this.#impl.seal(this.#nonce.bytes, buf, off, len);
      this.#nonce.next();
      off += 4 + len + 16;
    }
  }
}

export class GcmOpener implements PacketOpener {
  readonly mac = IMPLICIT_MAC;
  readonly blockSize = 16;
  readonly macLength = 16;
  readonly #impl: GcmPrimitive;
  readonly #nonce: GcmNonce;

  constructor(readonly cipher: string, impl: GcmPrimitive, iv: Uint8Array) {
    this.#impl = impl;
    this.#nonce = new GcmNonce(iv);
  }

  openPackets(buf: Uint8Array, start: number, end: number, _seq: number, maxPacketLength: number, spans: Uint32Array, bodies?: (Uint8Array | undefined)[]): number {
    checkOpenArgs(buf, start, end, spans);
    const max = spans.length >>> 1;
    const detached = bodies !== undefined && this.#impl.openDetached !== undefined;
    let pos = start;
    let n = 0;
    while (n < max && end - pos >= 4) {
      const len = readU32(buf, pos);
      checkIncomingLength(len, 16, false, maxPacketLength);
      if (end - pos < 4 + len + 16) break;
      // The counter only moves on success, so a forged packet does not
      // desynchronise the nonce for the genuine one.
      if (detached) {
        const body = this.#impl.openDetached!(this.#nonce.bytes, buf, pos, len);
        if (!body) throw new IntegrityError();
        this.#nonce.next();
        checkPadding(body, 0, len);
        bodies[n] = body;
      } else {
        if (!this.#impl.open(this.#nonce.bytes, buf, pos, len)) throw new IntegrityError();
        this.#nonce.next();
        checkPadding(buf, pos + 4, len);
      }
      spans[2 * n] = pos + 4;
      spans[2 * n + 1] = len;
      n++;
      pos += 4 + len + 16;
    }
    return n;
  }
}
