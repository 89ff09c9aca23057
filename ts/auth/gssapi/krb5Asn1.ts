/**
 * The building blocks of the Kerberos 5 DER encodings (RFC 4120 section 5):
 * readers and writers of KerberosString, KerberosTime, KerberosFlags and the
 * integer kinds, the SEQUENCE / [APPLICATION n] helpers, and the common types
 * (PrincipalName, EncryptionKey, EncryptedData, Checksum, HostAddresses,
 * AuthorizationData, PA-DATA). The messages built from them live in
 * krb5KdcMessages.ts and krb5ApMessages.ts. Every `decodeX` takes exactly one
 * encoded X (trailing bytes are an error) and throws ProtocolError, naming
 * the structure, on anything malformed; every `encodeX` produces DER, so
 * encoding is deterministic: the same value always gives the same bytes
 * (which KDC-REQ-BODY's checksum relies on).
 *
 * Reading conventions (RFC 4120 5.2): KerberosString is written as
 * GeneralString and read from any of the usual string types; KerberosTime is
 * GeneralizedTime YYYYMMDDHHMMSSZ; KerberosFlags are written as 32 bits and
 * read from any length. UInt32 fields (nonce, seq-number, kvno) also accept
 * the negative values that implementations encoding them as signed Int32
 * send, and map them back to 0..2^32-1, as RFC 4120 5.3 / 5.5.1 suggest.
 */
import { ProtocolError } from '../../errors.js';
import {
  DerReader,
  derBitString,
  derExplicit,
  derGeneralizedTime,
  derInteger,
  derOctetString,
  derSequence,
  derString,
} from '../../wire/der.js';
import type { AuthorizationDataEntry, Checksum, EncryptedData, EncryptionKey, HostAddress, PaData, PrincipalName } from './krb5Types.js';

/** APPLICATION tags of the encrypted parts and of the structures that are not messages. */
export const KRB_APP = {
  TICKET: 1,
  AUTHENTICATOR: 2,
  ENC_TICKET_PART: 3,
  ENC_AS_REP_PART: 25,
  ENC_TGS_REP_PART: 26,
  ENC_AP_REP_PART: 27,
  ENC_KRB_CRED_PART: 29,
} as const;

export const PVNO = 5;

// ---------------------------------------------------------------- primitive readers

export const int32 = (r: DerReader, what: string): number => r.integer(what, -0x80000000, 0x7fffffff);
/** UInt32, also accepting the signed encoding of values >= 2^31 (see the file comment). */
export const uint32 = (r: DerReader, what: string): number => r.integer(what, -0x80000000, 0xffffffff) >>> 0;
export const microseconds = (r: DerReader, what: string): number => r.integer(what, 0, 999999);
export const kstring = (r: DerReader, what: string): string => r.string(what);
export const ktime = (r: DerReader, what: string): Date => r.generalizedTime(what);
export const octets = (r: DerReader, what: string): Buffer => r.octetString(what);

/** KerberosFlags: the first 32 bits, bit 0 (the first byte's MSB) as 0x80000000; shorter strings are zero-extended. */
export function kflags(r: DerReader, what: string): number {
  const { bits, unused } = r.bitString(what);
  const four = Buffer.alloc(4);
  bits.copy(four, 0, 0, 4);
  // Unused bits should be zero already (DER); clear them in case a short string has junk there.
  if (bits.length <= 4 && bits.length > 0) four[bits.length - 1]! &= (0xff << unused) & 0xff;
  return four.readUInt32BE(0);
}

/** An INTEGER that must equal `want` (pvno, msg-type, the *-vno fields). */
export function constant(r: DerReader, what: string, want: number): void {
  const v = r.integer(what, -0x80000000, 0x7fffffff);
  if (v !== want) throw new ProtocolError(`${r.context}: ${what} is ${v}, expected ${want}`);
}

// ---------------------------------------------------------------- primitive writers

export const f = derExplicit;
/** An OPTIONAL [n] field: nothing when absent. */
export const opt = <T>(n: number, v: T | undefined, enc: (v: T) => Buffer): Buffer | undefined => (v === undefined ? undefined : f(n, enc(v)));
export const eInt = derInteger;
export const eStr = (s: string): Buffer => derString(s);
export const eTime = derGeneralizedTime;
/** KerberosFlags as exactly 32 bits (RFC 4120 5.2.8 wants at least 32). */
export function eFlags(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0, 0);
  return derBitString(b, 0);
}
export const eSeqOf = <T>(items: readonly T[], enc: (v: T) => Buffer): Buffer => derSequence(...items.map(enc));

/** Decodes exactly one top-level element of `der` with `read`; trailing bytes are an error. */
export function whole<T>(der: Uint8Array, what: string, read: (r: DerReader) => T): T {
  const r = new DerReader(der, what);
  const v = read(r);
  r.end(what);
  return v;
}

/** Reads [APPLICATION n] SEQUENCE { ... } with `read` on the SEQUENCE's contents. */
export function appSequence<T>(r: DerReader, n: number, what: string, read: (s: DerReader) => T): T {
  const app = r.application(n, what);
  const seq = app.sequence(what);
  const v = read(seq);
  seq.end(what);
  app.end(what);
  return v;
}

/** Reads a plain SEQUENCE { ... } with `read` on its contents. */
export function sequence<T>(r: DerReader, what: string, read: (s: DerReader) => T): T {
  const seq = r.sequence(what);
  const v = read(seq);
  seq.end(what);
  return v;
}

/** Reads SEQUENCE OF with `read` for each element. */
export const seqOf = <T>(r: DerReader, what: string, read: (r: DerReader) => T): T[] => r.sequence(what).all(read);

/** `o` without its undefined properties, so absent OPTIONAL fields are absent keys rather than `undefined`. */
export function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---------------------------------------------------------------- common types (RFC 4120 5.2)

export function readPrincipalName(r: DerReader): PrincipalName {
  return sequence(r, 'PrincipalName', (s) => ({
    nameType: s.field(0, 'name-type', (x) => int32(x, 'name-type')),
    nameString: s.field(1, 'name-string', (x) => seqOf(x, 'name-string', (e) => kstring(e, 'name component'))),
  }));
}
export const writePrincipalName = (p: PrincipalName): Buffer => derSequence(f(0, eInt(p.nameType)), f(1, eSeqOf(p.nameString, eStr)));

export function readEncryptionKey(r: DerReader): EncryptionKey {
  return sequence(r, 'EncryptionKey', (s) => ({
    keytype: s.field(0, 'keytype', (x) => int32(x, 'keytype')),
    keyvalue: s.field(1, 'keyvalue', (x) => octets(x, 'keyvalue')),
  }));
}
export const writeEncryptionKey = (k: EncryptionKey): Buffer => derSequence(f(0, eInt(k.keytype)), f(1, derOctetString(k.keyvalue)));

export function readEncryptedData(r: DerReader): EncryptedData {
  return sequence(r, 'EncryptedData', (s) => {
    const etype = s.field(0, 'etype', (x) => int32(x, 'etype'));
    const kvno = s.optionalField(1, 'kvno', (x) => uint32(x, 'kvno'));
    const cipher = s.field(2, 'cipher', (x) => octets(x, 'cipher'));
    return { etype, ...(kvno !== undefined ? { kvno } : {}), cipher };
  });
}
export const writeEncryptedData = (e: EncryptedData): Buffer =>
  derSequence(f(0, eInt(e.etype)), opt(1, e.kvno, (v) => eInt(v >>> 0)), f(2, derOctetString(e.cipher)));

export function readChecksum(r: DerReader): Checksum {
  return sequence(r, 'Checksum', (s) => ({
    cksumtype: s.field(0, 'cksumtype', (x) => int32(x, 'cksumtype')),
    checksum: s.field(1, 'checksum', (x) => octets(x, 'checksum')),
  }));
}
export const writeChecksum = (c: Checksum): Buffer => derSequence(f(0, eInt(c.cksumtype)), f(1, derOctetString(c.checksum)));

export function readHostAddress(r: DerReader): HostAddress {
  return sequence(r, 'HostAddress', (s) => ({
    addrType: s.field(0, 'addr-type', (x) => int32(x, 'addr-type')),
    address: s.field(1, 'address', (x) => octets(x, 'address')),
  }));
}
const writeHostAddress = (a: HostAddress): Buffer => derSequence(f(0, eInt(a.addrType)), f(1, derOctetString(a.address)));
export const readHostAddresses = (r: DerReader): HostAddress[] => seqOf(r, 'HostAddresses', readHostAddress);
export const writeHostAddresses = (list: HostAddress[]): Buffer => eSeqOf(list, writeHostAddress);

export function readAuthorizationData(r: DerReader): AuthorizationDataEntry[] {
  return seqOf(r, 'AuthorizationData', (e) =>
    sequence(e, 'AuthorizationData entry', (s) => ({
      adType: s.field(0, 'ad-type', (x) => int32(x, 'ad-type')),
      adData: s.field(1, 'ad-data', (x) => octets(x, 'ad-data')),
    })),
  );
}
export const writeAuthorizationData = (list: AuthorizationDataEntry[]): Buffer =>
  eSeqOf(list, (a) => derSequence(f(0, eInt(a.adType)), f(1, derOctetString(a.adData))));

function readPaData(r: DerReader): PaData {
  // PA-DATA's fields are numbered from 1 (RFC 4120 5.2.7).
  return sequence(r, 'PA-DATA', (s) => ({
    type: s.field(1, 'padata-type', (x) => int32(x, 'padata-type')),
    value: s.field(2, 'padata-value', (x) => octets(x, 'padata-value')),
  }));
}
const writePaData = (p: PaData): Buffer => derSequence(f(1, eInt(p.type)), f(2, derOctetString(p.value)));
export const readPaDataList = (r: DerReader): PaData[] => seqOf(r, 'PA-DATA sequence', readPaData);
export const writePaDataList = (list: PaData[]): Buffer => eSeqOf(list, writePaData);

// ---------------------------------------------------------------- exported codecs

/** PrincipalName (RFC 4120 5.2.2). */
export const encodePrincipalName = writePrincipalName;
export const decodePrincipalName = (der: Uint8Array): PrincipalName => whole(der, 'PrincipalName', readPrincipalName);
/** EncryptionKey (5.2.9). */
export const encodeEncryptionKey = writeEncryptionKey;
export const decodeEncryptionKey = (der: Uint8Array): EncryptionKey => whole(der, 'EncryptionKey', readEncryptionKey);
/** EncryptedData (5.2.9). */
export const encodeEncryptedData = writeEncryptedData;
export const decodeEncryptedData = (der: Uint8Array): EncryptedData => whole(der, 'EncryptedData', readEncryptedData);
/** Checksum (5.2.9). */
export const encodeChecksum = writeChecksum;
export const decodeChecksum = (der: Uint8Array): Checksum => whole(der, 'Checksum', readChecksum);
/** SEQUENCE OF PA-DATA (METHOD-DATA; also the e-data of KDC_ERR_PREAUTH_REQUIRED). */
export const encodePaDataList = writePaDataList;
export const decodePaDataList = (der: Uint8Array): PaData[] => whole(der, 'PA-DATA sequence', readPaDataList);
