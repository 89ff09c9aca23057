/**
 * The deterministic random generator NIST's PQC KAT programs use
 * (rng.c from the submission package: AES-256 CTR_DRBG without derivation
 * function or reseeding), so published known-answer tests can be replayed.
 *
 * Its output depends on how requests are split: every randombytes(n) call
 * ends with a state update, so two calls of 4 bytes differ from one of 8.
 */
import { createCipheriv } from 'node:crypto';

export class NistKatDrbg {
  #key = new Uint8Array(32);
  #v = new Uint8Array(16);

  /** randombytes_init(entropy, NULL, 256): entropy is 48 bytes. */
  constructor(entropy: Uint8Array) {
    if (entropy.length !== 48) throw new RangeError('NIST KAT DRBG entropy must be 48 bytes');
    this.#update(entropy);
  }

  /** A copy of the current state, for retrying a draw sequence. */
  clone(): NistKatDrbg {
    const c = new NistKatDrbg(new Uint8Array(48));
    c.#key = this.#key.slice();
    c.#v = this.#v.slice();
    return c;
  }

  #incrementV(): void {
    for (let j = 15; j >= 0; j--) {
      if (this.#v[j] === 0xff) {
        this.#v[j] = 0;
      } else {
        this.#v[j]!++;
        break;
      }
    }
  }

  #encryptV(): Uint8Array {
    const cipher = createCipheriv('aes-256-ecb', this.#key, null);
    cipher.setAutoPadding(false);
    return new Uint8Array(cipher.update(this.#v));
  }

  #update(provided: Uint8Array | null): void {
    const temp = new Uint8Array(48);
    for (let i = 0; i < 3; i++) {
      this.#incrementV();
      temp.set(this.#encryptV(), 16 * i);
    }
    if (provided) for (let i = 0; i < 48; i++) temp[i]! ^= provided[i]!;
    this.#key = temp.slice(0, 32);
    this.#v = temp.slice(32, 48);
  }

  /** randombytes(x, n). */
  randombytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 16) {
      this.#incrementV();
      const block = this.#encryptV();
      out.set(block.subarray(0, Math.min(16, n - off)), off);
    }
    this.#update(null);
    return out;
  }
}

/** The 48-byte seeds of a NIST KAT file: the DRBG seeded with 0, 1, ..., 47. */
export function katSeeds(count: number): Uint8Array[] {
  const drbg = new NistKatDrbg(Uint8Array.from({ length: 48 }, (_, i) => i));
  return Array.from({ length: count }, () => drbg.randombytes(48));
}

/** `k` separate randombytes(4) calls, concatenated (NTRU Prime's urandom32 draws). */
export function draw32s(drbg: NistKatDrbg, k: number): Uint8Array {
  const out = new Uint8Array(4 * k);
  for (let i = 0; i < k; i++) out.set(drbg.randombytes(4), 4 * i);
  return out;
}

/** Uppercase hex as the KAT files print it. */
export function katHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}
