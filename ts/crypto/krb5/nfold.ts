/**
 * The n-fold function of RFC 3961 section 5.1, which stretches or shrinks a
 * constant (such as "kerberos" or a key usage number) to the cipher's block
 * size before the simplified profile's DK derivation encrypts it.
 */
import { CryptoError } from '../../errors.js';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * n-folds `data` to `outBytes` bytes (RFC 3961 5.1).
 *
 * Copies of the input, each one rotated 13 bits further right than the one
 * before, are laid end to end until the length is a multiple of both the input
 * and the output size; that string is cut into `outBytes` pieces which are
 * added with ones' complement (end-around carry) addition.
 */
export function nfold(data: Uint8Array, outBytes: number): Buffer {
  if (!(data instanceof Uint8Array) || data.length === 0) {
    throw new CryptoError('n-fold input must be a non-empty Uint8Array', { code: 'ERR_KRB5_CRYPTO' });
  }
  if (!Number.isInteger(outBytes) || outBytes < 1) {
    throw new CryptoError(`n-fold output size must be a positive integer, got ${outBytes}`, { code: 'ERR_KRB5_CRYPTO' });
  }
  const inBytes = data.length;
  const inBits = inBytes * 8;
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);

  // Bit `pos` of the input, bit 0 being the most significant bit of byte 0.
  const bit = (pos: number): number => (data[pos >>> 3]! >>> (7 - (pos & 7))) & 1;

  // Column sums: sums[c] adds up byte c of every outBytes-sized piece. The
  // pieces are at most lcm / outBytes <= inBytes in number, so no overflow.
  const sums = new Array<number>(outBytes).fill(0);
  for (let k = 0; k < lcm; k++) {
    const copy = Math.floor(k / inBytes);
    // Rotating right by r bits means rotated bit b is original bit (b - r) mod n.
    const rot = (13 * copy) % inBits;
    const first = ((k % inBytes) * 8 - rot + inBits) % inBits;
    let byte = 0;
    for (let i = 0; i < 8; i++) byte = (byte << 1) | bit((first + i) % inBits);
    sums[k % outBytes]! += byte;
  }

  // Propagate carries from the least significant (last) byte towards the
  // first; a carry out of the top wraps round to the bottom (ones' complement).
  let carry = 0;
  do {
    for (let c = outBytes - 1; c >= 0; c--) {
      const v = sums[c]! + carry;
      sums[c] = v & 0xff;
      carry = v >>> 8;
    }
  } while (carry !== 0);
  return Buffer.from(sums);
}
