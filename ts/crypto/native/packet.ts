/**
 * node:crypto (OpenSSL) primitives plugged into the packet constructions.
 * node has no update-into API: every update() returns its output. Where
 * the output goes back into the caller's buffer, a third of it is asked for
 * as a latin1 string (see `updateInPlace`); the detached openers keep
 * node's Buffer, which becomes the payload.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type Cipher, type Decipher, type KeyObject } from 'node:crypto';
import type { StreamCipher, PacketMac } from '../packet/classic.js';
import type { GcmPrimitive } from '../packet/gcm.js';
import type { ChaChaPolyCore, Poly1305Fn } from '../packet/chachapoly.js';
import { ChaChaBlock0 } from '../packet/chacha-block0.js';
import { constantTimeEqualAt, writeU32 } from '../util.js';
import { CryptoError } from '../../errors.js';
import { OpenSslPolyCheck } from './poly1305-check.js';

/** OpenSSL cipher names for the SSH wire names the native backend serves. */
export const NATIVE_CIPHER: Readonly<Record<string, string>> = {
  'aes128-ctr': 'aes-128-ctr',
  'aes192-ctr': 'aes-192-ctr',
  'aes256-ctr': 'aes-256-ctr',
  'aes128-cbc': 'aes-128-cbc',
  'aes192-cbc': 'aes-192-cbc',
  'aes256-cbc': 'aes-256-cbc',
  '3des-cbc': 'des-ede3-cbc',
  'aes128-gcm@openssh.com': 'aes-128-gcm',
  'aes256-gcm@openssh.com': 'aes-256-gcm',
  'chacha20-poly1305@openssh.com': 'chacha20',
};

/** Buffer output bytes per latin1 output byte in `updateInPlace`. */
const BUFFER_BYTES_PER_LATIN1 = 2;
/** Buffer output bytes not yet matched by latin1 output, over every in-place update in the process. */
let externalOwed = 0;

/**
 * Runs `ctx.update` over buf[start, end) and writes the output back in
 * place. node returns the output as a fresh Buffer (an external allocation
 * per packet) or as a string. Buffers alone: V8 frees them only in a
 * scavenge, and nothing on this path allocates on the JS heap to bring one
 * on, so they pile up until a mark-compact (45 per GiB sent). Strings
 * alone: a latin1 string (one char per byte, exact for all 256 values)
 * lives on V8's heap and dies young, but costs a decode, a copy more, and a
 * scavenge every few megabytes (300 per GiB). Mixed, one latin1 output
 * for every two Buffers (by bytes), the strings still bring scavenges
 * often enough that the Buffers never pile up: 1 mark-compact and about
 * 150 scavenges per GiB, 6% less client CPU on an aes128-gcm put
 * (docs/PERFORMANCE.md, "Cipher output as latin1" and "One latin1 output
 * in three").
 */
export function updateInPlace(ctx: Cipher | Decipher, buf: Uint8Array, start: number, end: number): void {
  const input = buf.subarray(start, end);
  if (externalOwed <= 0) {
    const out = ctx.update(input);
    out.copy(asBuffer(buf), start);
    externalOwed += out.length;
    return;
  }
  const out = ctx.update(input, undefined, 'latin1');
  asBuffer(buf).write(out, start, out.length, 'latin1');
  externalOwed -= out.length * BUFFER_BYTES_PER_LATIN1;
}

/**
 * Counts `bytes` of Buffers that became garbage outside the sealer (an
 * upload's chunks from its producer, copied and dropped: `putfo` and the
 * write stream, ts/sftp/transfer/producerSource.ts), so that
 * `updateInPlace` takes more of its output as latin1 and the scavenges
 * that free those Buffers come sooner.
 */
export function oweExternal(bytes: number): void {
  externalOwed += bytes;
}

/** `buf` as a Buffer over the same memory (no copy). */
function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A CTR or CBC cipher context kept for the life of the keys, so its state runs across packets. */
export class NativeStreamCipher implements StreamCipher {
  readonly #ctx: Cipher | Decipher;
  constructor(
    algorithm: string,
    key: Uint8Array,
    iv: Uint8Array,
    decrypt: boolean,
    readonly blockSize: number,
  ) {
    this.#ctx = decrypt ? createDecipheriv(algorithm, key, iv) : createCipheriv(algorithm, key, iv);
    // SSH pads packets itself; OpenSSL's PKCS#7 layer would also hold back a block on decrypt.
    this.#ctx.setAutoPadding(false);
  }
  process(buf: Uint8Array, start: number, end: number): void {
    if (end > start) updateInPlace(this.#ctx, buf, start, end);
  }
}

export class NativeHmac implements PacketMac {
  readonly #key: KeyObject;
  readonly #seq = Buffer.alloc(4);
  constructor(
    readonly hash: string,
    key: Uint8Array,
    readonly length: number,
  ) {
    this.#key = createSecretKey(key);
  }
  compute(seq: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void {
    writeU32(this.#seq, 0, seq);
    const h = createHmac(this.hash, this.#key);
    h.update(this.#seq);
    h.update(buf.subarray(start, end));
    out.set(h.digest(), outOff);
  }
}

export class NativeGcm implements GcmPrimitive {
  readonly #key: KeyObject;
  constructor(
    readonly algorithm: string,
    key: Uint8Array,
  ) {
    this.#key = createSecretKey(key);
  }
  seal(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): void {
    // A context per packet: node cannot restart a GCM context with a new nonce.
    const c = createCipheriv(this.algorithm as 'aes-128-gcm', this.#key, nonce, { authTagLength: 16 });
    c.setAAD(buf.subarray(off, off + 4));
    updateInPlace(c, buf, off + 4, off + 4 + len);
    c.final();
    buf.set(c.getAuthTag(), off + 4 + len);
  }
  open(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
    const pt = this.openDetached(nonce, buf, off, len);
    if (!pt) return false;
    buf.set(pt, off + 4);
    return true;
  }
  /** update() returns a fresh Buffer anyway: handing it over spares the copy back. */
  openDetached(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): Uint8Array | null {
    // A context per packet (no nonce restart in node); its output buffer becomes the payload's home.
    const d = createDecipheriv(this.algorithm as 'aes-128-gcm', this.#key, nonce, { authTagLength: 16 });
    d.setAAD(buf.subarray(off, off + 4));
    d.setAuthTag(buf.subarray(off + 4 + len, off + 4 + len + 16));
    const pt = d.update(buf.subarray(off + 4, off + 4 + len));
    try {
      d.final();
    } catch {
      // Plaintext of a forged packet must not linger.
      pt.fill(0);
      return null;
    }
    return pt;
  }
}

/**
 * OpenSSH chacha20-poly1305 with OpenSSL's ChaCha20 and a pluggable
 * Poly1305, or none: then tags are only checked, with OpenSSL's Poly1305
 * (see poly1305-check.ts), and sealing is refused. OpenSSL's 16-byte
 * chacha20 IV is the 32-bit little-endian block counter followed by a
 * 96-bit nonce; OpenSSH's original-ChaCha nonce is the 64-bit counter then
 * the 64-bit big-endian sequence number, so the IV is
 * LE32(counter) || 00000000 || BE64(seq). Block 0 under K_2 (the Poly1305
 * key) comes from plain JS, so node's context starts at the body, block 1.
 */
export class NativeChaChaPolyCore implements ChaChaPolyCore {
  readonly #mainKey: KeyObject;
  /** K_1: one keystream word per packet, cheaper in JS than a node cipher context. */
  readonly #lengthKey: ChaChaBlock0;
  /** K_2's block 0: the Poly1305 key of each packet. */
  readonly #polyKeys: ChaChaBlock0;
  /** Counter 1 (LE32), then zeros until the sequence number at bytes 12..15. */
  readonly #iv = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  readonly #polyKey = new Uint8Array(32);
  readonly #tag = new Uint8Array(16);
  readonly #poly: Poly1305Fn | null;
  readonly #check: OpenSslPolyCheck | null;

  /** With `poly` null, tags are checked by OpenSSL and the core cannot seal. */
  constructor(key: Uint8Array, poly: Poly1305Fn | null) {
    this.#mainKey = createSecretKey(key.subarray(0, 32));
    this.#polyKeys = new ChaChaBlock0(key.subarray(0, 32));
    this.#lengthKey = new ChaChaBlock0(key.subarray(32, 64));
    this.#poly = poly;
    this.#check = poly ? null : new OpenSslPolyCheck(this.#mainKey, this.#polyKeys);
  }

  /** node's context for the body of packet `seq` (keystream from block 1). */
  #body(seq: number): Cipher {
    // The high half of the 64-bit sequence number (bytes 8..11) stays zero.
    writeU32(this.#iv, 12, seq);
    return createCipheriv('chacha20', this.#mainKey, this.#iv);
  }

  /** The Poly1305 tag of buf[off, off+4+len) for packet `seq`, to out[outOff..+16); the key is wiped after. */
  #mac(seq: number, buf: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): void {
    const key = this.#polyKey;
    this.#polyKeys.keyBytes(seq, key, 0);
    this.#poly!.mac(key, buf, off, 4 + len, out, outOff);
    key.fill(0);
    this.#polyKeys.wipe();
  }

  seal(buf: Uint8Array, off: number, len: number, seq: number): void {
    if (!this.#poly) throw new CryptoError('chacha20-poly1305 with OpenSSL alone only checks tags: node:crypto has no Poly1305 to make one');
    // A context per packet: node cannot reset a ChaCha20 context to a new nonce.
    this.#lengthKey.encrypt(buf, off, seq);
    updateInPlace(this.#body(seq), buf, off + 4, off + 4 + len);
    this.#mac(seq, buf, off, len, buf, off + 4 + len);
  }

  length(buf: Uint8Array, off: number, seq: number): number {
    return this.#lengthKey.decrypt(buf, off, seq);
  }

  open(buf: Uint8Array, off: number, len: number, seq: number): boolean {
    const body = this.openDetached(buf, off, len, seq);
    if (!body) return false;
    buf.set(body, off + 4);
    return true;
  }

  /** update() returns a fresh Buffer anyway: handing it over spares the copy back. */
  openDetached(buf: Uint8Array, off: number, len: number, seq: number): Uint8Array | null {
    if (this.#check) {
      if (!this.#check.check(seq, buf, off, 4 + len, off + 4 + len)) return null;
    } else {
      this.#mac(seq, buf, off, len, this.#tag, 0);
      if (!constantTimeEqualAt(this.#tag, 0, buf, off + 4 + len, 16)) return null;
    }
    return this.#body(seq).update(buf.subarray(off + 4, off + 4 + len));
  }
}
