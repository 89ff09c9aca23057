/**
 * SSH public key blobs (RFC 4253 section 6.6, RFC 5656 section 3.1,
 * RFC 8709 section 4) and the inner signature encodings, parsed and built
 * with the wire layer so every length is bounds-checked.
 */
import { CryptoError, KeyFormatError, ProtocolError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import type { PrivateKeyMaterial } from './types.js';
import { DSA_MAX_P_BITS, checkDsaPublic } from './dsa.js';
import { stripLeadingZeros } from './util.js';

export type EcCurve = 'nistp256' | 'nistp384' | 'nistp521';

/** Facts about each NIST curve SSH uses. */
export const EC_CURVES: Readonly<Record<EcCurve, { openssl: string; jwk: string; fieldBytes: number; hash: 'sha256' | 'sha384' | 'sha512' }>> = {
  nistp256: { openssl: 'prime256v1', jwk: 'P-256', fieldBytes: 32, hash: 'sha256' },
  nistp384: { openssl: 'secp384r1', jwk: 'P-384', fieldBytes: 48, hash: 'sha384' },
  nistp521: { openssl: 'secp521r1', jwk: 'P-521', fieldBytes: 66, hash: 'sha512' },
};

export type ParsedPublicKey =
  | { type: 'ssh-ed25519'; publicKey: Uint8Array }
  | { type: 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521'; curve: EcCurve; q: Uint8Array }
  | { type: 'ssh-rsa'; e: Uint8Array; n: Uint8Array }
  | { type: 'ssh-dss'; p: Uint8Array; q: Uint8Array; g: Uint8Array; y: Uint8Array };

/** RSA moduli sshwire accepts, in bits (OpenSSH's minimum is 1024). */
export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 16384;

function bitLength(bytes: Uint8Array): number {
  const b = stripLeadingZeros(bytes);
  if (b.length === 0 || b[0] === 0) return 0;
  return (b.length - 1) * 8 + (32 - Math.clz32(b[0]!));
}

/** Reads a key's type-specific fields after its type name; KeyFormatError on a bad shape or an unsupported type. */
export function readPublicKeyFields(r: SSHReader, type: string): ParsedPublicKey {
  if (type === 'ssh-ed25519') {
    const pk = r.string(32);
    if (pk.length !== 32) throw new KeyFormatError(`ssh-ed25519 public key must be 32 bytes, got ${pk.length}`);
    return { type, publicKey: pk };
  }
  if (type === 'ecdsa-sha2-nistp256' || type === 'ecdsa-sha2-nistp384' || type === 'ecdsa-sha2-nistp521') {
    const curve = r.ascii(16);
    if (`ecdsa-sha2-${curve}` !== type) throw new KeyFormatError(`ECDSA key type ${type} names curve ${curve}`);
    const q = r.string(1 + 2 * 66);
    const fb = EC_CURVES[curve as EcCurve].fieldBytes;
    if (q.length !== 1 + 2 * fb || q[0] !== 4) throw new KeyFormatError(`${type} public point must be uncompressed (${1 + 2 * fb} bytes)`);
    return { type, curve: curve as EcCurve, q };
  }
  if (type === 'ssh-rsa') {
    const e = r.mpintBytes(64);
    const n = r.mpintBytes(RSA_MAX_BITS / 8 + 1);
    const bits = bitLength(n);
    if (bits < RSA_MIN_BITS) throw new KeyFormatError(`RSA modulus of ${bits} bits is below the minimum of ${RSA_MIN_BITS}`);
    if (bits > RSA_MAX_BITS) throw new KeyFormatError(`RSA modulus of ${bits} bits exceeds ${RSA_MAX_BITS}`);
    if (e.length === 0 || (e[e.length - 1]! & 1) === 0) throw new KeyFormatError('RSA public exponent must be odd');
    return { type, e, n };
  }
  if (type === 'ssh-dss') {
    const max = DSA_MAX_P_BITS / 8 + 1;
    const key = { type, p: r.mpintBytes(max), q: r.mpintBytes(max), g: r.mpintBytes(max), y: r.mpintBytes(max) } as const;
    checkDsaPublic(key);
    return key;
  }
  throw new KeyFormatError(`unsupported public key type ${JSON.stringify(type)}`);
}

/** Runs a blob parser, turning the wire reader's ProtocolError into KeyFormatError. */
export function asKeyBlob<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    if (err instanceof ProtocolError) throw new KeyFormatError(err.message, { cause: err });
    throw err;
  }
}

/** Parses an SSH public key blob. Throws KeyFormatError on anything malformed or unsupported. */
export function parsePublicKeyBlob(blob: Uint8Array): ParsedPublicKey {
  if (!(blob instanceof Uint8Array)) throw new KeyFormatError('public key blob must be a Uint8Array');
  return asKeyBlob(() => {
    const r = new SSHReader(blob, 'public key blob');
    const key = readPublicKeyFields(r, r.ascii(64));
    r.end();
    return key;
  });
}

/** The SSH public key blob for private key material. */
export function publicKeyBlobOf(material: PrivateKeyMaterial): Uint8Array {
  const w = new SSHWriter(128);
  switch (material.type) {
    case 'ssh-ed25519':
      return w.string('ssh-ed25519').string(material.publicKey).toBytes();
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return w.string(material.type).string(material.type.slice('ecdsa-sha2-'.length)).string(material.q).toBytes();
    case 'ssh-rsa':
      return w.string('ssh-rsa').mpintFromUnsigned(material.e).mpintFromUnsigned(material.n).toBytes();
    case 'ssh-dss':
      return w.string('ssh-dss').mpintFromUnsigned(material.p).mpintFromUnsigned(material.q).mpintFromUnsigned(material.g).mpintFromUnsigned(material.y).toBytes();
    default:
      throw new CryptoError(`unsupported private key type ${JSON.stringify((material as { type: unknown }).type)}`);
  }
}

/** ECDSA (r, s) as SSH mpints (RFC 5656 section 3.1.2) from fixed-width r || s. */
export function ecdsaSigToSsh(rs: Uint8Array): Uint8Array {
  const half = rs.length / 2;
  return new SSHWriter(rs.length + 16).mpintFromUnsigned(rs.subarray(0, half)).mpintFromUnsigned(rs.subarray(half)).toBytes();
}

/** SSH mpint (r, s) to fixed-width r || s, or null if malformed or too wide. */
export function ecdsaSigFromSsh(sig: Uint8Array, fieldBytes: number): Uint8Array | null {
  try {
    const rd = new SSHReader(sig, 'ECDSA signature');
    const r = rd.mpintBytes(fieldBytes + 1);
    const s = rd.mpintBytes(fieldBytes + 1);
    rd.end();
    if (r.length > fieldBytes || s.length > fieldBytes || r.length === 0 || s.length === 0) return null;
    const out = new Uint8Array(2 * fieldBytes);
    out.set(r, fieldBytes - r.length);
    out.set(s, 2 * fieldBytes - s.length);
    return out;
  } catch {
    return null;
  }
}

/** The hash behind an RSA signature algorithm name, or undefined. */
export function rsaHashOf(algorithm: string): 'sha1' | 'sha256' | 'sha512' | undefined {
  return algorithm === 'rsa-sha2-256' ? 'sha256' : algorithm === 'rsa-sha2-512' ? 'sha512' : algorithm === 'ssh-rsa' ? 'sha1' : undefined;
}

/** Signature algorithms a key type makes, best first. */
export function signatureAlgorithmsFor(type: ParsedPublicKey['type']): readonly string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** Left-pads (or strips leading zeros of) `bytes` to exactly `len` bytes; null if the value does not fit. */
export function fixedWidth(bytes: Uint8Array, len: number): Uint8Array | null {
  const b = stripLeadingZeros(bytes);
  if (b.length > len) return null;
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

/** Base64url without padding, for JWK fields. */
export function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
