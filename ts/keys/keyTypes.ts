/**
 * Facts about the key types sshwire reads and writes, and the encoding of
 * their public key blobs (RFC 4253 section 6.6, RFC 5656 section 3.1,
 * RFC 8709 section 4).
 */
import type { PrivateKeyMaterial } from '../crypto/types.js';
import { KeyFormatError, ProtocolError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { DSA_MAX_P_BITS, checkDsaPublic, type DsaPublic } from '../crypto/dsa.js';

/** A key type sshwire can hold a private key for. */
export type KeyType = PrivateKeyMaterial['type'];

export const KEY_TYPES: readonly KeyType[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'ssh-dss',
];

export type EcdsaKeyType = 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521';

/** Curve facts for each ECDSA key type. */
export const ECDSA_CURVES: Record<EcdsaKeyType, { sshName: string; jwkName: string; nodeName: string; fieldBytes: number; bits: number }> = {
  'ecdsa-sha2-nistp256': { sshName: 'nistp256', jwkName: 'P-256', nodeName: 'prime256v1', fieldBytes: 32, bits: 256 },
  'ecdsa-sha2-nistp384': { sshName: 'nistp384', jwkName: 'P-384', nodeName: 'secp384r1', fieldBytes: 48, bits: 384 },
  'ecdsa-sha2-nistp521': { sshName: 'nistp521', jwkName: 'P-521', nodeName: 'secp521r1', fieldBytes: 66, bits: 521 },
};

/** Largest RSA modulus accepted, in bits (OpenSSH's limit is 16384). */
export const MAX_RSA_BITS = 16384;
/** Smallest RSA modulus accepted (OpenSSH refuses keys under 1024 bits). */
export const MIN_RSA_BITS = 1024;

export function isEcdsaType(t: string): t is EcdsaKeyType {
  return t in ECDSA_CURVES;
}

export function isKeyType(t: string): t is KeyType {
  return (KEY_TYPES as readonly string[]).includes(t);
}

/** Signature algorithms a key of this type can make, best first. */
export function signatureAlgorithmsFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

/** The public key type that makes signatures of this algorithm (`rsa-sha2-256` → `ssh-rsa`). */
export function keyTypeForSignatureAlgorithm(algorithm: string): string {
  if (algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-512') return 'ssh-rsa';
  return algorithm;
}

/** Unsigned big-endian bytes without leading zeros. */
export function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** Left-pad unsigned big-endian bytes to `len` (throws if longer, after stripping zeros). */
export function padTo(b: Uint8Array, len: number, what: string): Uint8Array {
  const s = stripLeadingZeros(b);
  if (s.length > len) throw new KeyFormatError(`${what} is ${s.length} bytes, expected at most ${len}`);
  const out = new Uint8Array(len);
  out.set(s, len - s.length);
  return out;
}

/** Number of significant bits of an unsigned big-endian integer. */
export function bitLength(b: Uint8Array): number {
  const s = stripLeadingZeros(b);
  if (s.length === 0 || s[0] === 0) return 0;
  return (s.length - 1) * 8 + (32 - Math.clz32(s[0]!));
}

/** Check an EC public point's shape: uncompressed SEC1 of the curve's size. */
export function checkEcPoint(keyType: EcdsaKeyType, q: Uint8Array): void {
  const n = ECDSA_CURVES[keyType].fieldBytes;
  if (q.length !== 1 + 2 * n || q[0] !== 0x04) {
    throw new KeyFormatError(`${keyType}: public point must be uncompressed (${1 + 2 * n} bytes starting 0x04)`);
  }
}

/** The public parts of a private key, enough to build its blob. */
export type PublicParts =
  | { type: 'ssh-ed25519'; publicKey: Uint8Array }
  | { type: EcdsaKeyType; q: Uint8Array }
  | { type: 'ssh-rsa'; n: Uint8Array; e: Uint8Array }
  | DsaPublicParts;

/** A DSA public key: domain parameters and y. */
export type DsaPublicParts = { type: 'ssh-dss' } & DsaPublic;

const DSA_FIELDS = ['p', 'q', 'g', 'y'] as const;

/** Write a key's type-specific public fields (no type name) into `w`. */
export function writePublicFields(w: SSHWriter, k: PublicParts): void {
  switch (k.type) {
    case 'ssh-ed25519':
      w.string(k.publicKey);
      break;
    case 'ssh-rsa':
      w.mpintFromUnsigned(k.e).mpintFromUnsigned(k.n);
      break;
    case 'ssh-dss':
      for (const f of DSA_FIELDS) w.mpintFromUnsigned(k[f]);
      break;
    default:
      w.string(ECDSA_CURVES[k.type].sshName).string(k.q);
  }
}

/** The SSH public key blob of a key. */
export function encodePublicBlob(k: PublicParts): Uint8Array {
  const w = new SSHWriter(128);
  w.string(k.type);
  writePublicFields(w, k);
  return w.toBytes();
}

/** Read a key's type-specific public fields (the type name already read) and check their shape. */
export function readPublicFields(r: SSHReader, type: string): PublicParts {
  if (type === 'ssh-ed25519') {
    const publicKey = r.string(1024);
    if (publicKey.length !== 32) throw new KeyFormatError('ssh-ed25519: public key must be 32 bytes');
    return { type, publicKey: publicKey.slice() };
  }
  if (type === 'ssh-rsa') {
    const e = r.mpintBytes(MAX_RSA_BITS / 8 + 1);
    const n = r.mpintBytes(MAX_RSA_BITS / 8 + 1);
    if (bitLength(e) < 2 || bitLength(n) < 512) throw new KeyFormatError('ssh-rsa: modulus or exponent too small');
    return { type, e: e.slice(), n: n.slice() };
  }
  if (type === 'ssh-dss') {
    const max = DSA_MAX_P_BITS / 8 + 1;
    const [p, q, g, y] = DSA_FIELDS.map(() => r.mpintBytes(max).slice());
    const k: DsaPublicParts = { type, p: p!, q: q!, g: g!, y: y! };
    checkDsaPublic(k);
    return k;
  }
  if (isEcdsaType(type)) {
    const curve = r.ascii(64);
    if (curve !== ECDSA_CURVES[type].sshName) throw new KeyFormatError(`${type}: curve name "${curve}" does not match the key type`);
    const q = r.string(1024);
    checkEcPoint(type, q);
    return { type, q: q.slice() };
  }
  throw new KeyFormatError(`unsupported key type "${type}"`);
}

/**
 * Run `fn`, turning the wire reader's ProtocolError (truncated or oversized
 * fields) into KeyFormatError: in a key file they mean corrupt key data.
 */
export function asKeyFormat<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtocolError) throw new KeyFormatError(`${context}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Parse a public key blob into its type-specific parts; trailing bytes are an error. */
export function decodePublicBlob(blob: Uint8Array): PublicParts {
  return asKeyFormat('public key blob', () => {
    const r = new SSHReader(blob, 'public key blob');
    const type = r.ascii(256);
    const parts = readPublicFields(r, type);
    r.end();
    return parts;
  });
}

/** The public parts of private key material. */
export function publicPartsOf(m: PrivateKeyMaterial): PublicParts {
  switch (m.type) {
    case 'ssh-ed25519':
      return { type: m.type, publicKey: m.publicKey };
    case 'ssh-rsa':
      return { type: m.type, n: m.n, e: m.e };
    case 'ssh-dss':
      return { type: m.type, p: m.p, q: m.q, g: m.g, y: m.y };
    default:
      return { type: m.type, q: m.q };
  }
}

/** Key size in bits, as `ssh-keygen -l` prints it. */
export function bitsOf(k: PublicParts): number {
  switch (k.type) {
    case 'ssh-ed25519':
      return 256;
    case 'ssh-rsa':
      return bitLength(k.n);
    case 'ssh-dss':
      return bitLength(k.p);
    default:
      return ECDSA_CURVES[k.type].bits;
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64 decoding: Node's decoder silently skips junk, which would hide corrupt key text. */
export function decodeBase64Strict(text: string, what: string): Uint8Array {
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) throw new KeyFormatError(`${what} is not valid base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}
