/**
 * Block 0 of ChaCha20 (original variant: 64-bit counter 0, 64-bit
 * big-endian sequence number as nonce) in plain JS, for the two per-packet
 * uses of chacha20-poly1305@openssh.com that need no more than that block:
 * the 4-byte length field (first keystream word under K_1) and the
 * Poly1305 key (first 32 bytes under K_2). One block costs about 0.1 µs
 * here; through node:crypto it costs an update() call and a Buffer.
 */
import { readU32 } from '../util.js';

/** "expand 32-byte k" */
const SIGMA: readonly number[] = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

export class ChaChaBlock0 {
  readonly #k = new Uint32Array(8);
  /** The block's first eight output words (x0..x7 plus the input). */
  readonly #w = new Uint32Array(8);

  /** `key` is 32 bytes: K_1 for the length field, K_2 for the Poly1305 key. */
  constructor(key: Uint8Array) {
    for (let i = 0; i < 8; i++) this.#k[i] = key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24);
  }

  /** Computes block 0 for sequence number `seq`; its first eight keystream words land in `#w`. */
  #block(seq: number): void {
    const k = this.#k;
    let x0 = SIGMA[0]!, x1 = SIGMA[1]!, x2 = SIGMA[2]!, x3 = SIGMA[3]!;
    let x4 = k[0]!, x5 = k[1]!, x6 = k[2]!, x7 = k[3]!, x8 = k[4]!, x9 = k[5]!, x10 = k[6]!, x11 = k[7]!;
    // Counter 0; nonce bytes are BE64(seq): high word 0, low word byte-swapped into little-endian.
    const nonceLo = ((seq >>> 24) | ((seq >>> 8) & 0xff00) | ((seq << 8) & 0xff0000) | (seq << 24)) >>> 0;
    let x12 = 0, x13 = 0, x14 = 0, x15 = nonceLo;
    for (let i = 0; i < 10; i++) {
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);

      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
    }
    const w = this.#w;
    w[0] = x0 + SIGMA[0]!;
    w[1] = x1 + SIGMA[1]!;
    w[2] = x2 + SIGMA[2]!;
    w[3] = x3 + SIGMA[3]!;
    w[4] = x4 + k[0]!;
    w[5] = x5 + k[1]!;
    w[6] = x6 + k[2]!;
    w[7] = x7 + k[3]!;
  }

  /** The first 4 keystream bytes for sequence number `seq`, as a big-endian word (XOR it with the wire's uint32). */
  #word(seq: number): number {
    this.#block(seq);
    const w = this.#w[0]!;
    // Keystream bytes 0..3 are w little-endian; as a big-endian word that is w byte-swapped.
    return ((w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24)) >>> 0;
  }

  /**
   * Writes keystream bytes 0..31 for sequence number `seq` (the Poly1305
   * key under K_2) to out[off, off+32). The last block's words stay in this
   * object until the next call or {@link ChaChaBlock0.wipe}.
   */
  keyBytes(seq: number, out: Uint8Array, off: number): void {
    this.#block(seq);
    const w = this.#w;
    for (let i = 0; i < 8; i++) {
      const v = w[i]!;
      const o = off + 4 * i;
      out[o] = v & 0xff;
      out[o + 1] = (v >>> 8) & 0xff;
      out[o + 2] = (v >>> 16) & 0xff;
      out[o + 3] = v >>> 24;
    }
  }

  /** Zeroes the last block's words. */
  wipe(): void {
    this.#w.fill(0);
  }

  /** The decrypted packet length at buf[off..off+4) (memory untouched). */
  decrypt(buf: Uint8Array, off: number, seq: number): number {
    return (readU32(buf, off) ^ this.#word(seq)) >>> 0;
  }

  /** Encrypts the length field at buf[off..off+4) in place. */
  encrypt(buf: Uint8Array, off: number, seq: number): void {
    const v = (readU32(buf, off) ^ this.#word(seq)) >>> 0;
    buf[off] = v >>> 24;
    buf[off + 1] = (v >>> 16) & 0xff;
    buf[off + 2] = (v >>> 8) & 0xff;
    buf[off + 3] = v & 0xff;
  }
}
