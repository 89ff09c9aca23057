/**
 * Which compression runs in each direction, and when: `zlib` from the
 * NEWKEYS that negotiated it, `zlib@openssh.com` only once authentication
 * succeeded (OpenSSH's delayed compression). Like OpenSSH, every NEWKEYS
 * starts a fresh zlib stream in its direction.
 */
import { PayloadCompressor, PayloadDecompressor } from './compression.js';
import type { PacketWriter } from './outbound.js';

export class CompressionState {
  /** User authentication succeeded (delayed compression may start). */
  authDone = false;
  readonly #writer: PacketWriter;
  readonly #maxInflated: number;
  #outAlg = 'none';
  #inAlg = 'none';
  #compressor: PayloadCompressor | null = null;
  #decompressor: PayloadDecompressor | null = null;
  #inActive = false;

  /** `maxInflated` bounds every decompressed payload. */
  constructor(writer: PacketWriter, maxInflated: number) {
    this.#writer = writer;
    this.#maxInflated = maxInflated;
  }

  /** Our NEWKEYS went out: `alg` applies to what we send from now on. */
  newOutgoing(alg: string): void {
    this.#outAlg = alg;
    this.#compressor?.close();
    this.#compressor = null;
    this.#apply();
  }

  /** The peer's NEWKEYS arrived: `alg` applies to what it sends from now on. */
  newIncoming(alg: string): void {
    this.#inAlg = alg;
    this.#decompressor?.close();
    this.#decompressor = null;
    this.#apply();
  }

  /** Authentication succeeded; returns false when it was already known. */
  authenticated(): boolean {
    if (this.authDone) return false;
    this.authDone = true;
    this.#apply();
    return true;
  }

  /** The payload as the peer meant it: inflated when incoming compression is on. */
  inflate(payload: Buffer): Buffer {
    return this.#inActive ? this.#decompressor!.decompress(payload) : payload;
  }

  close(): void {
    this.#compressor?.close();
    this.#decompressor?.close();
    this.#compressor = null;
    this.#decompressor = null;
  }

  #active(alg: string): boolean {
    return alg === 'zlib' || (alg === 'zlib@openssh.com' && this.authDone);
  }

  #apply(): void {
    if (this.#active(this.#outAlg)) {
      this.#compressor ??= new PayloadCompressor();
      this.#writer.compressor = this.#compressor;
    } else {
      this.#writer.compressor = null;
    }
    if (this.#active(this.#inAlg)) {
      this.#decompressor ??= new PayloadDecompressor(this.#maxInflated);
      this.#inActive = true;
    } else {
      this.#inActive = false;
    }
  }
}
