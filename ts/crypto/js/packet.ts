/**
 * Pure-JS (@noble/ciphers, @noble/hashes) primitives plugged into the packet
 * constructions: the fallback where neither node:crypto nor wasm serves.
 * noble's block modes are stateless per call, so the CTR counter and CBC
 * chaining value are carried here between packets.
 */
import { nobleAes, nobleChacha, nobleHmac, noblePoly1305 } from './noble.js';
import { jsHashes } from './hash.js';
import type { StreamCipher, PacketMac } from '../packet/classic.js';
import type { GcmPrimitive } from '../packet/gcm.js';
import type { ChaChaPolyCore, Poly1305Fn } from '../packet/chachapoly.js';
import { constantTimeEqualAt, readU32, writeU32 } from '../util.js';

/** AES-CTR with the 128-bit big-endian counter block carried across calls. */
export class JsCtr implements StreamCipher {
  readonly blockSize = 16;
  readonly #key: Uint8Array;
  readonly #counter: Uint8Array;
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.#key = Uint8Array.from(key);
    this.#counter = Uint8Array.from(iv);
  }
  process(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    buf.set(nobleAes().ctr(this.#key, this.#counter).encrypt(buf.subarray(start, end)), start);
    // Whole blocks only (SSH packets are block multiples): advance by their count.
    let add = Math.ceil((end - start) / 16);
    for (let i = 15; i >= 0 && add > 0; i--) {
      const v = this.#counter[i]! + (add & 0xff);
      this.#counter[i] = v & 0xff;
      add = Math.floor(add / 256) + (v >> 8);
    }
  }
}

/** AES-CBC with the chaining value (last ciphertext block) carried across calls. */
export class JsCbc implements StreamCipher {
  readonly blockSize = 16;
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  constructor(
    key: Uint8Array,
    iv: Uint8Array,
    readonly decrypt: boolean,
  ) {
    this.#key = Uint8Array.from(key);
    this.#iv = Uint8Array.from(iv);
  }
  process(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    const c = nobleAes().cbc(this.#key, this.#iv, { disablePadding: true });
    if (this.decrypt) {
      const nextIv = buf.slice(end - 16, end);
      buf.set(c.decrypt(buf.subarray(start, end)), start);
      this.#iv.set(nextIv);
    } else {
      buf.set(c.encrypt(buf.subarray(start, end)), start);
      this.#iv.set(buf.subarray(end - 16, end));
    }
  }
}


export class JsHmac implements PacketMac {
  readonly #base;
  readonly #seq = new Uint8Array(4);
  readonly #out: Uint8Array;
  constructor(
    hash: 'sha1' | 'sha256' | 'sha512',
    key: Uint8Array,
    readonly length: number,
  ) {
    // Keyed once; each packet clones the keyed inner/outer state.
    this.#base = nobleHmac().hmac.create(jsHashes()[hash], key);
    this.#out = new Uint8Array(this.#base.outputLen);
  }
  compute(seq: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void {
    writeU32(this.#seq, 0, seq);
    const h = this.#base.clone();
    h.update(this.#seq);
    h.update(buf.subarray(start, end));
    h.digestInto(this.#out);
    out.set(this.#out.subarray(0, this.length), outOff);
  }
}

export class JsGcm implements GcmPrimitive {
  readonly #key: Uint8Array;
  constructor(key: Uint8Array) {
    this.#key = Uint8Array.from(key);
  }
  seal(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): void {
    const sealed = nobleAes().gcm(this.#key, nonce, buf.subarray(off, off + 4)).encrypt(buf.subarray(off + 4, off + 4 + len));
    buf.set(sealed, off + 4);
  }
  open(nonce: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
    let pt: Uint8Array;
    try {
      pt = nobleAes().gcm(this.#key, nonce, buf.subarray(off, off + 4)).decrypt(buf.subarray(off + 4, off + 4 + len + 16));
    } catch {
      return false;
    }
    buf.set(pt, off + 4);
    return true;
  }
}

/** Poly1305 from @noble/ciphers. */
export const jsPoly1305: Poly1305Fn = {
  label: 'js',
  mac(key, buf, off, len, out, outOff) {
    out.set(noblePoly1305().poly1305(buf.subarray(off, off + len), key), outOff);
  },
};

const ZERO32 = new Uint8Array(32);

/** OpenSSH chacha20-poly1305 from @noble's original (64-bit nonce) ChaCha20 and Poly1305. */
export class JsChaChaPolyCore implements ChaChaPolyCore {
  readonly #mainKey: Uint8Array;
  readonly #lengthKey: Uint8Array;
  readonly #nonce = new Uint8Array(8);
  readonly #polyKey = new Uint8Array(32);
  readonly #len = new Uint8Array(4);
  readonly #tag = new Uint8Array(16);
  readonly #poly: Poly1305Fn;

  constructor(key: Uint8Array, poly: Poly1305Fn = jsPoly1305) {
    this.#mainKey = key.slice(0, 32);
    this.#lengthKey = key.slice(32, 64);
    this.#poly = poly;
  }

  #prepare(seq: number): void {
    writeU32(this.#nonce, 4, seq);
    nobleChacha().chacha20orig(this.#mainKey, this.#nonce, ZERO32, this.#polyKey, 0);
  }

  seal(buf: Uint8Array, off: number, len: number, seq: number): void {
    this.#prepare(seq);
    const lenBytes = buf.subarray(off, off + 4);
    nobleChacha().chacha20orig(this.#lengthKey, this.#nonce, lenBytes, lenBytes, 0);
    const body = buf.subarray(off + 4, off + 4 + len);
    nobleChacha().chacha20orig(this.#mainKey, this.#nonce, body, body, 1);
    this.#poly.mac(this.#polyKey, buf, off, 4 + len, buf, off + 4 + len);
    this.#polyKey.fill(0);
  }

  length(buf: Uint8Array, off: number, seq: number): number {
    writeU32(this.#nonce, 4, seq);
    this.#len.set(buf.subarray(off, off + 4));
    nobleChacha().chacha20orig(this.#lengthKey, this.#nonce, this.#len, this.#len, 0);
    return readU32(this.#len, 0);
  }

  open(buf: Uint8Array, off: number, len: number, seq: number): boolean {
    this.#prepare(seq);
    this.#poly.mac(this.#polyKey, buf, off, 4 + len, this.#tag, 0);
    this.#polyKey.fill(0);
    if (!constantTimeEqualAt(this.#tag, 0, buf, off + 4 + len, 16)) return false;
    const body = buf.subarray(off + 4, off + 4 + len);
    nobleChacha().chacha20orig(this.#mainKey, this.#nonce, body, body, 1);
    return true;
  }
}
