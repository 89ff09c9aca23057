/** Small helpers shared by every backend. */
import { CryptoError } from '../errors.js';

/**
 * Compares two byte arrays in time independent of where they differ (the
 * length is not secret). Returns false for different lengths.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Constant-time comparison of `a[aOff, aOff+n)` with `b[bOff, bOff+n)`. */
export function constantTimeEqualAt(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[aOff + i]! ^ b[bOff + i]!;
  return diff === 0;
}

/** Throws CryptoError unless `bytes` has exactly `n` bytes. */
export function expectLength(bytes: Uint8Array, n: number, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError(`${what} must be a Uint8Array`);
  if (bytes.length !== n) throw new CryptoError(`${what} must be ${n} bytes, got ${bytes.length}`);
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}

/** Unsigned big-endian bytes to bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Non-negative bigint to unsigned big-endian bytes; `len` left-pads with zeros. */
export function bigIntToBytes(v: bigint, len = 0): Uint8Array {
  if (v < 0n) throw new CryptoError('negative integer where an unsigned one is required');
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const n = Math.max(len, hex.length / 2);
  const out = new Uint8Array(n);
  for (let i = 0, o = n - hex.length / 2; i < hex.length; i += 2, o++) out[o] = parseInt(hex.slice(i, i + 2), 16);
  return out;
}

/** Strips leading zero bytes (a view, not a copy). */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

/** (base ^ exp) mod m by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    e >>= 1n;
    if (e > 0n) b = (b * b) % m;
  }
  return result;
}
