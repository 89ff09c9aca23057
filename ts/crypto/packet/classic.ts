/**
 * Block/stream cipher + HMAC packets (RFC 4253 section 6, and OpenSSH's
 * encrypt-then-MAC variants from PROTOCOL section 1.5). Backends supply the
 * two primitives; the packet layout and checks live here once.
 *
 * - encrypt-and-MAC (hmac-sha2-256 ...): MAC(seq || plaintext packet), the
 *   whole packet including its length field is encrypted. The opener must
 *   decrypt the first block to learn the length, so it keeps that block
 *   between calls while the rest of the packet is still arriving.
 * - encrypt-then-MAC (...-etm@openssh.com): the length travels in clear,
 *   MAC(seq || length || ciphertext) is checked before anything is
 *   decrypted, so a forged packet never touches the cipher state.
 */
import { CryptoError, IntegrityError } from '../../errors.js';
import type { PacketOpener, PacketSealer } from '../types.js';
import { constantTimeEqualAt, readU32 } from '../util.js';
import { checkIncomingLength, checkOpenArgs, checkPadding, checkSealArgs, outgoingLength } from './common.js';

/** A cipher in CTR or CBC mode whose state carries across packets. Works in place on whole blocks. */
export interface StreamCipher {
  readonly blockSize: number;
  process(buf: Uint8Array, start: number, end: number): void;
}

/** An HMAC keyed once: computes MAC(uint32 seq || buf[start, end)) into out[outOff...]. */
export interface PacketMac {
  readonly length: number;
  compute(seq: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void;
}

export class ClassicSealer implements PacketSealer {
  readonly blockSize: number;
  readonly macLength: number;
  readonly padsLengthField: boolean;
  readonly #cipher: StreamCipher;
  readonly #mac: PacketMac;
  readonly #etm: boolean;

  constructor(readonly cipher: string, readonly mac: string, cipherImpl: StreamCipher, macImpl: PacketMac, etm: boolean) {
    this.#cipher = cipherImpl;
    this.#mac = macImpl;
    this.#etm = etm;
    this.blockSize = Math.max(8, cipherImpl.blockSize);
    this.macLength = macImpl.length;
    this.padsLengthField = !etm;
  }

  sealPackets(buf: Uint8Array, offset: number, count: number, seq: number): void {
    checkSealArgs(offset, count);
    const macLen = this.macLength;
    let off = offset;
    let s = seq >>> 0;
    for (let i = 0; i < count; i++) {
      const len = outgoingLength(buf, off, macLen, this.blockSize, this.padsLengthField);
      const macOff = off + 4 + len;
      if (this.#etm) {
        this.#cipher.process(buf, off + 4, macOff);
        this.#mac.compute(s, buf, off, macOff, buf, macOff);
      } else {
        this.#mac.compute(s, buf, off, macOff, buf, macOff);
        this.#cipher.process(buf, off, macOff);
      }
      off = macOff + macLen;
      s = (s + 1) >>> 0;
    }
  }
}

export class ClassicOpener implements PacketOpener {
  readonly blockSize: number;
  readonly macLength: number;
  readonly #cipher: StreamCipher;
  readonly #mac: PacketMac;
  readonly #etm: boolean;
  readonly #macScratch: Uint8Array;
  /** Decrypted first block of a packet whose rest has not arrived yet (encrypt-and-MAC only). */
  readonly #first: Uint8Array;
  #pending = false;
  #pendingSeq = 0;
  #pendingLen = 0;

  constructor(readonly cipher: string, readonly mac: string, cipherImpl: StreamCipher, macImpl: PacketMac, etm: boolean) {
    this.#cipher = cipherImpl;
    this.#mac = macImpl;
    this.#etm = etm;
    this.blockSize = Math.max(8, cipherImpl.blockSize);
    this.macLength = macImpl.length;
    this.#macScratch = new Uint8Array(macImpl.length);
    this.#first = new Uint8Array(cipherImpl.blockSize);
  }

  openPackets(buf: Uint8Array, start: number, end: number, seq: number, maxPacketLength: number, spans: Uint32Array): number {
    checkOpenArgs(buf, start, end, spans);
    return this.#etm
      ? this.#openEtm(buf, start, end, seq >>> 0, maxPacketLength, spans)
      : this.#openClassic(buf, start, end, seq >>> 0, maxPacketLength, spans);
  }

  #openEtm(buf: Uint8Array, start: number, end: number, seq: number, maxLen: number, spans: Uint32Array): number {
    const max = spans.length >>> 1;
    const macLen = this.macLength;
    let pos = start;
    let n = 0;
    let s = seq;
    while (n < max && end - pos >= 4) {
      const len = readU32(buf, pos);
      checkIncomingLength(len, this.blockSize, false, maxLen);
      const macOff = pos + 4 + len;
      if (end - macOff < macLen) break;
      this.#mac.compute(s, buf, pos, macOff, this.#macScratch, 0);
      if (!constantTimeEqualAt(this.#macScratch, 0, buf, macOff, macLen)) throw new IntegrityError();
      this.#cipher.process(buf, pos + 4, macOff);
      checkPadding(buf, pos + 4, len);
      spans[2 * n] = pos + 4;
      spans[2 * n + 1] = len;
      n++;
      pos = macOff + macLen;
      s = (s + 1) >>> 0;
    }
    return n;
  }

  #openClassic(buf: Uint8Array, start: number, end: number, seq: number, maxLen: number, spans: Uint32Array): number {
    const max = spans.length >>> 1;
    const macLen = this.macLength;
    const bs = this.#first.length;
    let pos = start;
    let n = 0;
    let s = seq;
    while (n < max) {
      if (!this.#pending) {
        if (end - pos < bs) break;
        // Decrypt the first block into scratch, not in place, so the caller may
        // move the still-incomplete packet before the next call.
        this.#first.set(buf.subarray(pos, pos + bs));
        this.#cipher.process(this.#first, 0, bs);
        const len = readU32(this.#first, 0);
        checkIncomingLength(len, this.blockSize, true, maxLen);
        this.#pending = true;
        this.#pendingSeq = s;
        this.#pendingLen = len;
      } else if (this.#pendingSeq !== s) {
        throw new CryptoError(`opener resumed with sequence number ${s}, expected ${this.#pendingSeq}`);
      }
      const len = this.#pendingLen;
      const macOff = pos + 4 + len;
      if (end - macOff < macLen) break;
      this.#pending = false;
      this.#cipher.process(buf, pos + bs, macOff);
      buf.set(this.#first, pos);
      this.#mac.compute(s, buf, pos, macOff, this.#macScratch, 0);
      if (!constantTimeEqualAt(this.#macScratch, 0, buf, macOff, macLen)) throw new IntegrityError();
      checkPadding(buf, pos + 4, len);
      spans[2 * n] = pos + 4;
      spans[2 * n + 1] = len;
      n++;
      pos = macOff + macLen;
      s = (s + 1) >>> 0;
    }
    return n;
  }
}
