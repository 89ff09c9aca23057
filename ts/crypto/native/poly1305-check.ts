/**
 * Checking OpenSSH's Poly1305 tags with OpenSSL's Poly1305, which node:crypto
 * offers only inside the IETF chacha20-poly1305 AEAD (RFC 8439). Per 32 KiB
 * packet that costs 6-7 µs (the AEAD plus the arithmetic below) where
 * rust-core's simd128 Poly1305 takes 11, and @noble's about 90. The
 * default opener keeps rust-core's all the same: the extra node cipher
 * object per packet grew a 1 GiB get's RSS by 7-14 MiB for about 0.07
 * CPU-s saved (docs/PERFORMANCE.md, "OpenSSL's Poly1305 checks the tags"),
 * so this serves when wasm is unavailable.
 *
 * Both constructions key Poly1305 with the first 32 bytes of ChaCha20 block
 * 0 under K_2: OpenSSH's 64-bit block counter and 64-bit sequence number
 * give the same block as the IETF 32-bit counter with the 96-bit nonce
 * 0^4 || BE64(seq). Given the n-byte packet M (encrypted length and body)
 * as additional data and no plaintext, the AEAD authenticates
 * M || zeros to a 16-byte boundary || LE64(n) || LE64(0); OpenSSH
 * authenticates M alone. Write A for the accumulator after M's full
 * blocks, c for its last L = n mod 16 bytes as OpenSSH pads them
 * (+ 2^(8L)), and p = 2^130 - 5. The AEAD pads the same bytes to a full
 * block (+ 2^128) and adds the length block l = n + 2^128, so
 *
 *   OpenSSH:  h  = (A + c) r                       (h = A when L = 0)
 *   AEAD:     h' = ((A + c + 2^128 - 2^(8L)) r + l) r
 *                = (h + l + (2^128 - 2^(8L)) r) r  (mod p; without the
 *                                                   r term when L = 0)
 *
 * The received tag T = (h + s) mod 2^128 leaves up to four candidates for
 * h below p; the packet is authentic when one of them maps to the AEAD's
 * tag T' = (h' + s) mod 2^128. Each candidate is compared in full, with no
 * early exit. Only checking works this way round (making T from T' would
 * need r's inverse, and h' has four candidates too), so sealing keeps its
 * own Poly1305.
 *
 * Security: a forgery now passes if it satisfies any of the four candidate
 * equations, each no more likely than Poly1305's own (a polynomial in r of
 * degree about n/16, with r's 106 free bits). Per attempt on a 32 KiB
 * packet that is below 2^-89 instead of about 2^-92, and a failed attempt
 * ends the connection.
 */
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { ChaChaBlock0 } from '../packet/chacha-block0.js';
import { writeU32 } from '../util.js';

const P = (1n << 130n) - 5n;
const TWO128 = 1n << 128n;
const MASK128 = TWO128 - 1n;
const R_CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn;
/** 2^128 - 2^(8L): how the AEAD's padding of a last block of L bytes differs from OpenSSH's (none for L = 0). */
const PAD_DIFF: readonly bigint[] = Array.from({ length: 16 }, (_, L) => (L === 0 ? 0n : TWO128 - (1n << BigInt(8 * L))));

function le128(b: Buffer, off: number): bigint {
  return (b.readBigUInt64LE(off + 8) << 64n) | b.readBigUInt64LE(off);
}

/**
 * True when `tag` is OpenSSH's Poly1305 tag, under the one-time key `otk`
 * (32 bytes: r then s), of an n-byte message whose AEAD tag (see the module
 * comment) is `aeadTag`.
 */
export function tagsAgree(otk: Buffer, n: number, tag: Buffer, aeadTag: Buffer): boolean {
  const r = le128(otk, 0) & R_CLAMP;
  const s = le128(otk, 16);
  const base = (le128(tag, 0) - s) & MASK128;
  const want = le128(aeadTag, 0);
  // h'(h) for the first candidate; each next one is 2^128 further, so h' moves by 2^128 r.
  let mapped = ((base + BigInt(n) + TWO128 + PAD_DIFF[n & 15]! * r) * r) % P;
  const step = (r << 128n) % P;
  let agree = 0;
  for (let k = 0n; k < 4n; k++) {
    const differs = ((mapped + s) & MASK128) ^ want;
    if (base + k * TWO128 < P) agree |= differs === 0n ? 1 : 0;
    mapped += step;
    if (mapped >= P) mapped -= P;
  }
  return agree === 1;
}

/** Checks chacha20-poly1305@openssh.com tags for one direction's K_2. */
export class OpenSslPolyCheck {
  readonly #key: KeyObject;
  readonly #keys: ChaChaBlock0;
  /** 0^4 || BE64(seq): the high half of the sequence number (bytes 4..7) stays zero. */
  readonly #nonce = Buffer.alloc(12);
  readonly #otk = Buffer.alloc(32);
  readonly #tag = Buffer.alloc(16);

  /** `key` is K_2 as a node KeyObject, `keys` its block-0 keystream. */
  constructor(key: KeyObject, keys: ChaChaBlock0) {
    this.#key = key;
    this.#keys = keys;
  }

  /** True when buf[tagOff, tagOff+16) is the tag of buf[off, off+n) for packet `seq`. */
  check(seq: number, buf: Uint8Array, off: number, n: number, tagOff: number): boolean {
    writeU32(this.#nonce, 8, seq);
    const aead = createCipheriv('chacha20-poly1305', this.#key, this.#nonce, { authTagLength: 16 });
    aead.setAAD(buf.subarray(off, off + n), { plaintextLength: 0 });
    aead.final();
    const otk = this.#otk;
    this.#keys.keyBytes(seq, otk, 0);
    this.#tag.set(buf.subarray(tagOff, tagOff + 16));
    const ok = tagsAgree(otk, n, this.#tag, aead.getAuthTag());
    otk.fill(0);
    this.#keys.wipe();
    return ok;
  }
}

/**
 * Whether this node's OpenSSL can check tags this way: a known answer
 * (K_2 = 00 01 .. 1f, packet 7, the 36 bytes (7i + 3) mod 256, tag from
 * rust-core's and @noble's Poly1305 alike) must pass and the same tag with
 * one bit flipped must not.
 */
export function openSslPolyCheckWorks(): boolean {
  try {
    const raw = Uint8Array.from({ length: 32 }, (_, i) => i);
    const check = new OpenSslPolyCheck(createSecretKey(raw), new ChaChaBlock0(raw));
    const buf = Buffer.alloc(36 + 16);
    for (let i = 0; i < 36; i++) buf[i] = (i * 7 + 3) & 0xff;
    Buffer.from('8c628a135e31fad90b7624fc79b7efb0', 'hex').copy(buf, 36);
    if (!check.check(7, buf, 0, 36, 36)) return false;
    buf[40] ^= 0x10;
    return !check.check(7, buf, 0, 36, 36);
  } catch {
    return false;
  }
}
