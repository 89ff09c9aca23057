/**
 * DSA keys as SSH uses them (`ssh-dss`, RFC 4253 section 6.6): a 160-bit
 * subgroup order q and SHA-1 signatures sent as r || s, 20 bytes each.
 * node:crypto has no JWK form for DSA, so keys cross into OpenSSL as DER
 * (SubjectPublicKeyInfo and PKCS#8, RFC 3279 section 2.3.2) built here.
 *
 * OpenSSH has not enabled ssh-dss by default since 7.0; sshwire reads and
 * uses these keys only for the algorithm lists that name `ssh-dss`.
 */
import { KeyFormatError } from '../errors.js';
import { DerReader, derBitString, derInteger, derOctetString, derOid, derSequence, derUnsignedInteger } from '../wire/der.js';
import type { PrivateKeyMaterial } from './types.js';
import { bigIntToBytes, bytesToBigInt, modPow } from './util.js';

export type DsaMaterial = Extract<PrivateKeyMaterial, { type: 'ssh-dss' }>;
export type DsaPublic = Pick<DsaMaterial, 'p' | 'q' | 'g' | 'y'>;

const DSA_OID = '1.2.840.10040.4.1';
/** Modulus sizes accepted, in bits. ssh-keygen makes 1024; FIPS 186-3 goes to 3072. */
export const DSA_MIN_P_BITS = 1024;
export const DSA_MAX_P_BITS = 3072;
/** ssh-dss signatures carry 20-byte r and s, so q is 160 bits. */
export const DSA_Q_BITS = 160;
/** Length of an ssh-dss signature blob: r || s. */
export const DSA_SIGNATURE_BYTES = 40;

function bits(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** Throws KeyFormatError unless p, q, g, y form a DSA public key SSH can use. */
export function checkDsaPublic(k: DsaPublic): void {
  const p = bytesToBigInt(k.p);
  const q = bytesToBigInt(k.q);
  const g = bytesToBigInt(k.g);
  const y = bytesToBigInt(k.y);
  const pBits = bits(p);
  if (pBits < DSA_MIN_P_BITS || pBits > DSA_MAX_P_BITS) throw new KeyFormatError(`ssh-dss: modulus of ${pBits} bits is outside ${DSA_MIN_P_BITS}..${DSA_MAX_P_BITS}`);
  if (bits(q) !== DSA_Q_BITS) throw new KeyFormatError(`ssh-dss: subgroup order of ${bits(q)} bits (must be ${DSA_Q_BITS})`);
  if ((p & 1n) === 0n || (p - 1n) % q !== 0n) throw new KeyFormatError('ssh-dss: q does not divide p - 1');
  if (g <= 1n || g >= p) throw new KeyFormatError('ssh-dss: generator out of range');
  if (y <= 1n || y >= p) throw new KeyFormatError('ssh-dss: public value out of range');
}

/** Throws KeyFormatError unless the private key is well formed and y = g^x mod p. */
export function checkDsaPrivate(m: DsaMaterial): void {
  checkDsaPublic(m);
  const x = bytesToBigInt(m.x);
  const q = bytesToBigInt(m.q);
  if (x <= 0n || x >= q) throw new KeyFormatError('ssh-dss: private value out of range');
  if (modPow(bytesToBigInt(m.g), x, bytesToBigInt(m.p)) !== bytesToBigInt(m.y)) throw new KeyFormatError('ssh-dss: private value does not match the public key');
}

const algorithmIdentifier = (k: Pick<DsaMaterial, 'p' | 'q' | 'g'>): Buffer =>
  derSequence(derOid(DSA_OID), derSequence(derUnsignedInteger(k.p), derUnsignedInteger(k.q), derUnsignedInteger(k.g)));

/** SubjectPublicKeyInfo DER for a DSA public key. */
export function dsaSpki(k: DsaPublic): Buffer {
  return derSequence(algorithmIdentifier(k), derBitString(derUnsignedInteger(k.y)));
}

/** PKCS#8 PrivateKeyInfo DER for a DSA private key. */
export function dsaPkcs8(m: DsaMaterial): Buffer {
  return derSequence(derInteger(0), algorithmIdentifier(m), derOctetString(derUnsignedInteger(m.x)));
}

/** DSA material from PKCS#8 DER (what OpenSSL exports); y is recomputed from x. */
export function dsaMaterialFromPkcs8(der: Uint8Array): DsaMaterial {
  try {
    const top = new DerReader(der, 'DSA PKCS#8').sequence('PrivateKeyInfo');
    top.integer('version', 0, 1);
    const alg = top.sequence('AlgorithmIdentifier');
    if (alg.oid('algorithm') !== DSA_OID) throw new KeyFormatError('PKCS#8 key is not DSA');
    const params = alg.sequence('Dss-Parms');
    const max = DSA_MAX_P_BITS / 8 + 1;
    const p = params.unsignedInteger('p', max);
    const q = params.unsignedInteger('q', max);
    const g = params.unsignedInteger('g', max);
    params.end('Dss-Parms');
    alg.end('AlgorithmIdentifier');
    const x = new DerReader(top.octetString('privateKey'), 'DSA private key').unsignedInteger('x', max);
    const y = bigIntToBytes(modPow(bytesToBigInt(g), bytesToBigInt(x), bytesToBigInt(p)));
    const m: DsaMaterial = { type: 'ssh-dss', p, q, g, y, x };
    checkDsaPrivate(m);
    return m;
  } catch (e) {
    if (e instanceof KeyFormatError) throw e;
    throw new KeyFormatError(`cannot read a DSA private key: ${(e as Error).message}`, { cause: e });
  }
}
