/**
 * DER encodings of the Kerberos 5 messages (RFC 4120 section 5) and the
 * GSS-API initial context token framing (RFC 2743 3.1, RFC 1964 1.1,
 * RFC 4121 4.1). Every `decodeX` takes exactly one encoded X (trailing bytes
 * are an error) and throws ProtocolError, naming the structure, on anything
 * malformed; every `encodeX` produces DER, so encoding is deterministic: the
 * same value always gives the same bytes (which KDC-REQ-BODY's checksum
 * relies on).
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
  DER_CLASS,
  DerReader,
  derApplication,
  derBitString,
  derExplicit,
  derGeneralizedTime,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derString,
  derTlv,
} from '../../wire/der.js';
import type {
  ApRep,
  ApReq,
  AuthorizationDataEntry,
  Authenticator,
  Checksum,
  EncApRepPart,
  EncKdcRepPart,
  EncKrbCredPart,
  EncTicketPart,
  EncryptedData,
  EncryptionKey,
  HostAddress,
  KdcRep,
  KdcReq,
  KdcReqBody,
  KrbCred,
  KrbCredInfo,
  KrbError,
  PaData,
  PrincipalName,
  Ticket,
} from './krb5Types.js';
import { KRB_MSG } from './krb5Types.js';

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

const PVNO = 5;
const { APPLICATION } = DER_CLASS;

// ---------------------------------------------------------------- primitive readers

const int32 = (r: DerReader, what: string): number => r.integer(what, -0x80000000, 0x7fffffff);
/** UInt32, also accepting the signed encoding of values >= 2^31 (see the file comment). */
const uint32 = (r: DerReader, what: string): number => r.integer(what, -0x80000000, 0xffffffff) >>> 0;
const microseconds = (r: DerReader, what: string): number => r.integer(what, 0, 999999);
const kstring = (r: DerReader, what: string): string => r.string(what);
const ktime = (r: DerReader, what: string): Date => r.generalizedTime(what);
const octets = (r: DerReader, what: string): Buffer => r.octetString(what);

/** KerberosFlags: the first 32 bits, bit 0 (the first byte's MSB) as 0x80000000; shorter strings are zero-extended. */
function kflags(r: DerReader, what: string): number {
  const { bits, unused } = r.bitString(what);
  const four = Buffer.alloc(4);
  bits.copy(four, 0, 0, 4);
  // Unused bits should be zero already (DER); clear them in case a short string has junk there.
  if (bits.length <= 4 && bits.length > 0) four[bits.length - 1]! &= (0xff << unused) & 0xff;
  return four.readUInt32BE(0);
}

/** An INTEGER that must equal `want` (pvno, msg-type, the *-vno fields). */
function constant(r: DerReader, what: string, want: number): void {
  const v = r.integer(what, -0x80000000, 0x7fffffff);
  if (v !== want) throw new ProtocolError(`${r.context}: ${what} is ${v}, expected ${want}`);
}

// ---------------------------------------------------------------- primitive writers

const f = derExplicit;
/** An OPTIONAL [n] field: nothing when absent. */
const opt = <T>(n: number, v: T | undefined, enc: (v: T) => Buffer): Buffer | undefined => (v === undefined ? undefined : f(n, enc(v)));
const eInt = derInteger;
const eStr = (s: string): Buffer => derString(s);
const eTime = derGeneralizedTime;
/** KerberosFlags as exactly 32 bits (RFC 4120 5.2.8 wants at least 32). */
function eFlags(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0, 0);
  return derBitString(b, 0);
}
const eSeqOf = <T>(items: readonly T[], enc: (v: T) => Buffer): Buffer => derSequence(...items.map(enc));

/** Decodes exactly one top-level element of `der` with `read`; trailing bytes are an error. */
function whole<T>(der: Uint8Array, what: string, read: (r: DerReader) => T): T {
  const r = new DerReader(der, what);
  const v = read(r);
  r.end(what);
  return v;
}

/** Reads [APPLICATION n] SEQUENCE { ... } with `read` on the SEQUENCE's contents. */
function appSequence<T>(r: DerReader, n: number, what: string, read: (s: DerReader) => T): T {
  const app = r.application(n, what);
  const seq = app.sequence(what);
  const v = read(seq);
  seq.end(what);
  app.end(what);
  return v;
}

/** Reads a plain SEQUENCE { ... } with `read` on its contents. */
function sequence<T>(r: DerReader, what: string, read: (s: DerReader) => T): T {
  const seq = r.sequence(what);
  const v = read(seq);
  seq.end(what);
  return v;
}

/** Reads SEQUENCE OF with `read` for each element. */
const seqOf = <T>(r: DerReader, what: string, read: (r: DerReader) => T): T[] => r.sequence(what).all(read);

// ---------------------------------------------------------------- common types (RFC 4120 5.2)

function readPrincipalName(r: DerReader): PrincipalName {
  return sequence(r, 'PrincipalName', (s) => ({
    nameType: s.field(0, 'name-type', (x) => int32(x, 'name-type')),
    nameString: s.field(1, 'name-string', (x) => seqOf(x, 'name-string', (e) => kstring(e, 'name component'))),
  }));
}
const writePrincipalName = (p: PrincipalName): Buffer => derSequence(f(0, eInt(p.nameType)), f(1, eSeqOf(p.nameString, eStr)));

function readEncryptionKey(r: DerReader): EncryptionKey {
  return sequence(r, 'EncryptionKey', (s) => ({
    keytype: s.field(0, 'keytype', (x) => int32(x, 'keytype')),
    keyvalue: s.field(1, 'keyvalue', (x) => octets(x, 'keyvalue')),
  }));
}
const writeEncryptionKey = (k: EncryptionKey): Buffer => derSequence(f(0, eInt(k.keytype)), f(1, derOctetString(k.keyvalue)));

function readEncryptedData(r: DerReader): EncryptedData {
  return sequence(r, 'EncryptedData', (s) => {
    const etype = s.field(0, 'etype', (x) => int32(x, 'etype'));
    const kvno = s.optionalField(1, 'kvno', (x) => uint32(x, 'kvno'));
    const cipher = s.field(2, 'cipher', (x) => octets(x, 'cipher'));
    return { etype, ...(kvno !== undefined ? { kvno } : {}), cipher };
  });
}
const writeEncryptedData = (e: EncryptedData): Buffer =>
  derSequence(f(0, eInt(e.etype)), opt(1, e.kvno, (v) => eInt(v >>> 0)), f(2, derOctetString(e.cipher)));

function readChecksum(r: DerReader): Checksum {
  return sequence(r, 'Checksum', (s) => ({
    cksumtype: s.field(0, 'cksumtype', (x) => int32(x, 'cksumtype')),
    checksum: s.field(1, 'checksum', (x) => octets(x, 'checksum')),
  }));
}
const writeChecksum = (c: Checksum): Buffer => derSequence(f(0, eInt(c.cksumtype)), f(1, derOctetString(c.checksum)));

function readHostAddress(r: DerReader): HostAddress {
  return sequence(r, 'HostAddress', (s) => ({
    addrType: s.field(0, 'addr-type', (x) => int32(x, 'addr-type')),
    address: s.field(1, 'address', (x) => octets(x, 'address')),
  }));
}
const writeHostAddress = (a: HostAddress): Buffer => derSequence(f(0, eInt(a.addrType)), f(1, derOctetString(a.address)));
const readHostAddresses = (r: DerReader): HostAddress[] => seqOf(r, 'HostAddresses', readHostAddress);
const writeHostAddresses = (list: HostAddress[]): Buffer => eSeqOf(list, writeHostAddress);

function readAuthorizationData(r: DerReader): AuthorizationDataEntry[] {
  return seqOf(r, 'AuthorizationData', (e) =>
    sequence(e, 'AuthorizationData entry', (s) => ({
      adType: s.field(0, 'ad-type', (x) => int32(x, 'ad-type')),
      adData: s.field(1, 'ad-data', (x) => octets(x, 'ad-data')),
    })),
  );
}
const writeAuthorizationData = (list: AuthorizationDataEntry[]): Buffer =>
  eSeqOf(list, (a) => derSequence(f(0, eInt(a.adType)), f(1, derOctetString(a.adData))));

function readPaData(r: DerReader): PaData {
  // PA-DATA's fields are numbered from 1 (RFC 4120 5.2.7).
  return sequence(r, 'PA-DATA', (s) => ({
    type: s.field(1, 'padata-type', (x) => int32(x, 'padata-type')),
    value: s.field(2, 'padata-value', (x) => octets(x, 'padata-value')),
  }));
}
const writePaData = (p: PaData): Buffer => derSequence(f(1, eInt(p.type)), f(2, derOctetString(p.value)));
const readPaDataList = (r: DerReader): PaData[] => seqOf(r, 'PA-DATA sequence', readPaData);
const writePaDataList = (list: PaData[]): Buffer => eSeqOf(list, writePaData);

// ---------------------------------------------------------------- Ticket, EncTicketPart (5.3)

function readTicket(r: DerReader): Ticket {
  const t = r.expect(APPLICATION, KRB_APP.TICKET, true, 'Ticket');
  const app = r.children(t);
  const body = sequence(app, 'Ticket', (s) => {
    s.field(0, 'tkt-vno', (x) => constant(x, 'tkt-vno', PVNO));
    return {
      realm: s.field(1, 'realm', (x) => kstring(x, 'realm')),
      sname: s.field(2, 'sname', readPrincipalName),
      encPart: s.field(3, 'enc-part', readEncryptedData),
    };
  });
  app.end('Ticket');
  return { ...body, raw: Buffer.from(t.raw) };
}

/** The ticket's `raw` bytes when it has any (the exact DER to re-send), else an encoding of its fields. */
function writeTicket(t: Ticket): Buffer {
  if (t.raw && t.raw.length > 0) return Buffer.from(t.raw);
  return derApplication(KRB_APP.TICKET, derSequence(f(0, eInt(PVNO)), f(1, eStr(t.realm)), f(2, writePrincipalName(t.sname)), f(3, writeEncryptedData(t.encPart))));
}

function readEncTicketPart(r: DerReader): EncTicketPart {
  return appSequence(r, KRB_APP.ENC_TICKET_PART, 'EncTicketPart', (s) => {
    const flags = s.field(0, 'flags', (x) => kflags(x, 'flags'));
    const key = s.field(1, 'key', readEncryptionKey);
    const crealm = s.field(2, 'crealm', (x) => kstring(x, 'crealm'));
    const cname = s.field(3, 'cname', readPrincipalName);
    const transited = s.field(4, 'transited', (x) =>
      sequence(x, 'TransitedEncoding', (t) => ({
        trType: t.field(0, 'tr-type', (y) => int32(y, 'tr-type')),
        contents: t.field(1, 'contents', (y) => octets(y, 'contents')),
      })),
    );
    const authtime = s.field(5, 'authtime', (x) => ktime(x, 'authtime'));
    const starttime = s.optionalField(6, 'starttime', (x) => ktime(x, 'starttime'));
    const endtime = s.field(7, 'endtime', (x) => ktime(x, 'endtime'));
    const renewTill = s.optionalField(8, 'renew-till', (x) => ktime(x, 'renew-till'));
    const caddr = s.optionalField(9, 'caddr', readHostAddresses);
    const authorizationData = s.optionalField(10, 'authorization-data', readAuthorizationData);
    return defined({ flags, key, crealm, cname, transited, authtime, starttime, endtime, renewTill, caddr, authorizationData });
  });
}

function writeEncTicketPart(p: EncTicketPart): Buffer {
  return derApplication(
    KRB_APP.ENC_TICKET_PART,
    derSequence(
      f(0, eFlags(p.flags)),
      f(1, writeEncryptionKey(p.key)),
      f(2, eStr(p.crealm)),
      f(3, writePrincipalName(p.cname)),
      f(4, derSequence(f(0, eInt(p.transited.trType)), f(1, derOctetString(p.transited.contents)))),
      f(5, eTime(p.authtime)),
      opt(6, p.starttime, eTime),
      f(7, eTime(p.endtime)),
      opt(8, p.renewTill, eTime),
      opt(9, p.caddr, writeHostAddresses),
      opt(10, p.authorizationData, writeAuthorizationData),
    ),
  );
}

/** `o` without its undefined properties, so absent OPTIONAL fields are absent keys rather than `undefined`. */
function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---------------------------------------------------------------- KDC exchange (5.4)

function readKdcReqBody(r: DerReader): KdcReqBody {
  return sequence(r, 'KDC-REQ-BODY', (s) => {
    const kdcOptions = s.field(0, 'kdc-options', (x) => kflags(x, 'kdc-options'));
    const cname = s.optionalField(1, 'cname', readPrincipalName);
    const realm = s.field(2, 'realm', (x) => kstring(x, 'realm'));
    const sname = s.optionalField(3, 'sname', readPrincipalName);
    const from = s.optionalField(4, 'from', (x) => ktime(x, 'from'));
    const till = s.field(5, 'till', (x) => ktime(x, 'till'));
    const rtime = s.optionalField(6, 'rtime', (x) => ktime(x, 'rtime'));
    const nonce = s.field(7, 'nonce', (x) => uint32(x, 'nonce'));
    const etype = s.field(8, 'etype', (x) => seqOf(x, 'etype', (e) => int32(e, 'etype')));
    const addresses = s.optionalField(9, 'addresses', readHostAddresses);
    // enc-authorization-data: validated, then dropped (nothing here uses it).
    s.optionalField(10, 'enc-authorization-data', readEncryptedData);
    const additionalTickets = s.optionalField(11, 'additional-tickets', (x) => seqOf(x, 'additional-tickets', readTicket));
    return defined({ kdcOptions, cname, realm, sname, from, till, rtime, nonce, etype, addresses, additionalTickets });
  });
}

function writeKdcReqBody(b: KdcReqBody): Buffer {
  return derSequence(
    f(0, eFlags(b.kdcOptions)),
    opt(1, b.cname, writePrincipalName),
    f(2, eStr(b.realm)),
    opt(3, b.sname, writePrincipalName),
    opt(4, b.from, eTime),
    f(5, eTime(b.till)),
    opt(6, b.rtime, eTime),
    f(7, eInt(b.nonce >>> 0)),
    f(8, eSeqOf(b.etype, eInt)),
    opt(9, b.addresses, writeHostAddresses),
    opt(11, b.additionalTickets, (list) => eSeqOf(list, writeTicket)),
  );
}

/** A decoded KDC-REQ with the exact DER of its req-body, over which a TGS-REQ's authenticator checksum is computed. */
export type DecodedKdcReq = KdcReq & { reqBodyRaw: Buffer };

function readKdcReq(r: DerReader): DecodedKdcReq {
  const tag = r.peek()?.tag;
  if (tag !== KRB_MSG.AS_REQ && tag !== KRB_MSG.TGS_REQ) throw new ProtocolError(`${r.context}: not an AS-REQ or TGS-REQ`);
  return appSequence(r, tag, 'KDC-REQ', (s) => {
    s.field(1, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(2, 'msg-type', (x) => constant(x, 'msg-type', tag));
    const padata = s.optionalField(3, 'padata', readPaDataList);
    let reqBodyRaw = Buffer.alloc(0);
    const reqBody = s.field(4, 'req-body', (x) => {
      // Keep the body's exact bytes: re-encoding would match for our own DER,
      // but the checksum covers what the peer sent, minimal or not.
      const t = x.tlv();
      reqBodyRaw = Buffer.from(t.raw);
      const body = new DerReader(t.raw, x.context, x.depth);
      const v = readKdcReqBody(body);
      body.end('KDC-REQ-BODY');
      return v;
    });
    return { msgType: tag, ...(padata ? { padata } : {}), reqBody, reqBodyRaw };
  });
}

function writeKdcReq(q: KdcReq): Buffer {
  return derApplication(
    q.msgType,
    derSequence(f(1, eInt(PVNO)), f(2, eInt(q.msgType)), opt(3, q.padata, writePaDataList), f(4, writeKdcReqBody(q.reqBody))),
  );
}

function readKdcRep(r: DerReader): KdcRep {
  const tag = r.peek()?.tag;
  if (tag !== KRB_MSG.AS_REP && tag !== KRB_MSG.TGS_REP) throw new ProtocolError(`${r.context}: not an AS-REP or TGS-REP`);
  return appSequence(r, tag, 'KDC-REP', (s) => {
    s.field(0, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(1, 'msg-type', (x) => constant(x, 'msg-type', tag));
    const padata = s.optionalField(2, 'padata', readPaDataList);
    const crealm = s.field(3, 'crealm', (x) => kstring(x, 'crealm'));
    const cname = s.field(4, 'cname', readPrincipalName);
    const ticket = s.field(5, 'ticket', readTicket);
    const encPart = s.field(6, 'enc-part', readEncryptedData);
    return { msgType: tag, ...(padata ? { padata } : {}), crealm, cname, ticket, encPart };
  });
}

function writeKdcRep(p: KdcRep): Buffer {
  return derApplication(
    p.msgType,
    derSequence(
      f(0, eInt(PVNO)),
      f(1, eInt(p.msgType)),
      opt(2, p.padata, writePaDataList),
      f(3, eStr(p.crealm)),
      f(4, writePrincipalName(p.cname)),
      f(5, writeTicket(p.ticket)),
      f(6, writeEncryptedData(p.encPart)),
    ),
  );
}

function readEncKdcRepPart(r: DerReader): EncKdcRepPart {
  const tag = r.peek()?.tag;
  // MIT's KDC may label a TGS reply's part EncASRepPart, so either tag is accepted for either reply.
  if (tag !== KRB_APP.ENC_AS_REP_PART && tag !== KRB_APP.ENC_TGS_REP_PART) throw new ProtocolError(`${r.context}: not an EncASRepPart or EncTGSRepPart`);
  return appSequence(r, tag, 'EncKDCRepPart', (s) => {
    const key = s.field(0, 'key', readEncryptionKey);
    const lastReq = s.field(1, 'last-req', (x) =>
      seqOf(x, 'LastReq', (e) =>
        sequence(e, 'LastReq entry', (l) => ({
          lrType: l.field(0, 'lr-type', (y) => int32(y, 'lr-type')),
          lrValue: l.field(1, 'lr-value', (y) => ktime(y, 'lr-value')),
        })),
      ),
    );
    const nonce = s.field(2, 'nonce', (x) => uint32(x, 'nonce'));
    const keyExpiration = s.optionalField(3, 'key-expiration', (x) => ktime(x, 'key-expiration'));
    const flags = s.field(4, 'flags', (x) => kflags(x, 'flags'));
    const authtime = s.field(5, 'authtime', (x) => ktime(x, 'authtime'));
    const starttime = s.optionalField(6, 'starttime', (x) => ktime(x, 'starttime'));
    const endtime = s.field(7, 'endtime', (x) => ktime(x, 'endtime'));
    const renewTill = s.optionalField(8, 'renew-till', (x) => ktime(x, 'renew-till'));
    const srealm = s.field(9, 'srealm', (x) => kstring(x, 'srealm'));
    const sname = s.field(10, 'sname', readPrincipalName);
    const caddr = s.optionalField(11, 'caddr', readHostAddresses);
    // encrypted-pa-data [12] (RFC 6806), which MIT's KDC adds for some clients: validated, then dropped.
    s.optionalField(12, 'encrypted-pa-data', readPaDataList);
    return defined({ key, lastReq, nonce, keyExpiration, flags, authtime, starttime, endtime, renewTill, srealm, sname, caddr });
  });
}

function writeEncKdcRepPart(p: EncKdcRepPart, tag: number): Buffer {
  return derApplication(
    tag,
    derSequence(
      f(0, writeEncryptionKey(p.key)),
      f(1, eSeqOf(p.lastReq, (l) => derSequence(f(0, eInt(l.lrType)), f(1, eTime(l.lrValue))))),
      f(2, eInt(p.nonce >>> 0)),
      opt(3, p.keyExpiration, eTime),
      f(4, eFlags(p.flags)),
      f(5, eTime(p.authtime)),
      opt(6, p.starttime, eTime),
      f(7, eTime(p.endtime)),
      opt(8, p.renewTill, eTime),
      f(9, eStr(p.srealm)),
      f(10, writePrincipalName(p.sname)),
      opt(11, p.caddr, writeHostAddresses),
    ),
  );
}

// ---------------------------------------------------------------- AP exchange (5.5)

function readApReq(r: DerReader): ApReq {
  return appSequence(r, KRB_MSG.AP_REQ, 'AP-REQ', (s) => {
    s.field(0, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(1, 'msg-type', (x) => constant(x, 'msg-type', KRB_MSG.AP_REQ));
    return {
      apOptions: s.field(2, 'ap-options', (x) => kflags(x, 'ap-options')),
      ticket: s.field(3, 'ticket', readTicket),
      authenticator: s.field(4, 'authenticator', readEncryptedData),
    };
  });
}

const writeApReq = (q: ApReq): Buffer =>
  derApplication(
    KRB_MSG.AP_REQ,
    derSequence(f(0, eInt(PVNO)), f(1, eInt(KRB_MSG.AP_REQ)), f(2, eFlags(q.apOptions)), f(3, writeTicket(q.ticket)), f(4, writeEncryptedData(q.authenticator))),
  );

function readAuthenticator(r: DerReader): Authenticator {
  return appSequence(r, KRB_APP.AUTHENTICATOR, 'Authenticator', (s) => {
    s.field(0, 'authenticator-vno', (x) => constant(x, 'authenticator-vno', PVNO));
    const crealm = s.field(1, 'crealm', (x) => kstring(x, 'crealm'));
    const cname = s.field(2, 'cname', readPrincipalName);
    const cksum = s.optionalField(3, 'cksum', readChecksum);
    const cusec = s.field(4, 'cusec', (x) => microseconds(x, 'cusec'));
    const ctime = s.field(5, 'ctime', (x) => ktime(x, 'ctime'));
    const subkey = s.optionalField(6, 'subkey', readEncryptionKey);
    const seqNumber = s.optionalField(7, 'seq-number', (x) => uint32(x, 'seq-number'));
    const authorizationData = s.optionalField(8, 'authorization-data', readAuthorizationData);
    return defined({ crealm, cname, cksum, cusec, ctime, subkey, seqNumber, authorizationData });
  });
}

const writeAuthenticator = (a: Authenticator): Buffer =>
  derApplication(
    KRB_APP.AUTHENTICATOR,
    derSequence(
      f(0, eInt(PVNO)),
      f(1, eStr(a.crealm)),
      f(2, writePrincipalName(a.cname)),
      opt(3, a.cksum, writeChecksum),
      f(4, eInt(a.cusec)),
      f(5, eTime(a.ctime)),
      opt(6, a.subkey, writeEncryptionKey),
      opt(7, a.seqNumber, (v) => eInt(v >>> 0)),
      opt(8, a.authorizationData, writeAuthorizationData),
    ),
  );

function readApRep(r: DerReader): ApRep {
  return appSequence(r, KRB_MSG.AP_REP, 'AP-REP', (s) => {
    s.field(0, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(1, 'msg-type', (x) => constant(x, 'msg-type', KRB_MSG.AP_REP));
    return { encPart: s.field(2, 'enc-part', readEncryptedData) };
  });
}

const writeApRep = (p: ApRep): Buffer =>
  derApplication(KRB_MSG.AP_REP, derSequence(f(0, eInt(PVNO)), f(1, eInt(KRB_MSG.AP_REP)), f(2, writeEncryptedData(p.encPart))));

function readEncApRepPart(r: DerReader): EncApRepPart {
  return appSequence(r, KRB_APP.ENC_AP_REP_PART, 'EncAPRepPart', (s) => {
    const ctime = s.field(0, 'ctime', (x) => ktime(x, 'ctime'));
    const cusec = s.field(1, 'cusec', (x) => microseconds(x, 'cusec'));
    const subkey = s.optionalField(2, 'subkey', readEncryptionKey);
    const seqNumber = s.optionalField(3, 'seq-number', (x) => uint32(x, 'seq-number'));
    return defined({ ctime, cusec, subkey, seqNumber });
  });
}

const writeEncApRepPart = (p: EncApRepPart): Buffer =>
  derApplication(
    KRB_APP.ENC_AP_REP_PART,
    derSequence(f(0, eTime(p.ctime)), f(1, eInt(p.cusec)), opt(2, p.subkey, writeEncryptionKey), opt(3, p.seqNumber, (v) => eInt(v >>> 0))),
  );

// ---------------------------------------------------------------- KRB-ERROR (5.9.1)

function readKrbError(r: DerReader): KrbError {
  return appSequence(r, KRB_MSG.KRB_ERROR, 'KRB-ERROR', (s) => {
    s.field(0, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(1, 'msg-type', (x) => constant(x, 'msg-type', KRB_MSG.KRB_ERROR));
    const ctime = s.optionalField(2, 'ctime', (x) => ktime(x, 'ctime'));
    const cusec = s.optionalField(3, 'cusec', (x) => microseconds(x, 'cusec'));
    const stime = s.field(4, 'stime', (x) => ktime(x, 'stime'));
    const susec = s.field(5, 'susec', (x) => microseconds(x, 'susec'));
    const errorCode = s.field(6, 'error-code', (x) => int32(x, 'error-code'));
    const crealm = s.optionalField(7, 'crealm', (x) => kstring(x, 'crealm'));
    const cname = s.optionalField(8, 'cname', readPrincipalName);
    const realm = s.field(9, 'realm', (x) => kstring(x, 'realm'));
    const sname = s.field(10, 'sname', readPrincipalName);
    const eText = s.optionalField(11, 'e-text', (x) => kstring(x, 'e-text'));
    const eData = s.optionalField(12, 'e-data', (x) => octets(x, 'e-data'));
    return defined({ ctime, cusec, stime, susec, errorCode, crealm, cname, realm, sname, eText, eData });
  });
}

const writeKrbError = (e: KrbError): Buffer =>
  derApplication(
    KRB_MSG.KRB_ERROR,
    derSequence(
      f(0, eInt(PVNO)),
      f(1, eInt(KRB_MSG.KRB_ERROR)),
      opt(2, e.ctime, eTime),
      opt(3, e.cusec, eInt),
      f(4, eTime(e.stime)),
      f(5, eInt(e.susec)),
      f(6, eInt(e.errorCode)),
      opt(7, e.crealm, eStr),
      opt(8, e.cname, writePrincipalName),
      f(9, eStr(e.realm)),
      f(10, writePrincipalName(e.sname)),
      opt(11, e.eText, eStr),
      opt(12, e.eData, derOctetString),
    ),
  );

// ---------------------------------------------------------------- KRB-CRED (5.8)

function readKrbCred(r: DerReader): KrbCred {
  return appSequence(r, KRB_MSG.KRB_CRED, 'KRB-CRED', (s) => {
    s.field(0, 'pvno', (x) => constant(x, 'pvno', PVNO));
    s.field(1, 'msg-type', (x) => constant(x, 'msg-type', KRB_MSG.KRB_CRED));
    return {
      tickets: s.field(2, 'tickets', (x) => seqOf(x, 'tickets', readTicket)),
      encPart: s.field(3, 'enc-part', readEncryptedData),
    };
  });
}

const writeKrbCred = (c: KrbCred): Buffer =>
  derApplication(
    KRB_MSG.KRB_CRED,
    derSequence(f(0, eInt(PVNO)), f(1, eInt(KRB_MSG.KRB_CRED)), f(2, eSeqOf(c.tickets, writeTicket)), f(3, writeEncryptedData(c.encPart))),
  );

function readKrbCredInfo(r: DerReader): KrbCredInfo {
  return sequence(r, 'KrbCredInfo', (s) => {
    const key = s.field(0, 'key', readEncryptionKey);
    const prealm = s.optionalField(1, 'prealm', (x) => kstring(x, 'prealm'));
    const pname = s.optionalField(2, 'pname', readPrincipalName);
    const flags = s.optionalField(3, 'flags', (x) => kflags(x, 'flags'));
    const authtime = s.optionalField(4, 'authtime', (x) => ktime(x, 'authtime'));
    const starttime = s.optionalField(5, 'starttime', (x) => ktime(x, 'starttime'));
    const endtime = s.optionalField(6, 'endtime', (x) => ktime(x, 'endtime'));
    const renewTill = s.optionalField(7, 'renew-till', (x) => ktime(x, 'renew-till'));
    const srealm = s.optionalField(8, 'srealm', (x) => kstring(x, 'srealm'));
    const sname = s.optionalField(9, 'sname', readPrincipalName);
    const caddr = s.optionalField(10, 'caddr', readHostAddresses);
    return defined({ key, prealm, pname, flags, authtime, starttime, endtime, renewTill, srealm, sname, caddr });
  });
}

const writeKrbCredInfo = (i: KrbCredInfo): Buffer =>
  derSequence(
    f(0, writeEncryptionKey(i.key)),
    opt(1, i.prealm, eStr),
    opt(2, i.pname, writePrincipalName),
    opt(3, i.flags, eFlags),
    opt(4, i.authtime, eTime),
    opt(5, i.starttime, eTime),
    opt(6, i.endtime, eTime),
    opt(7, i.renewTill, eTime),
    opt(8, i.srealm, eStr),
    opt(9, i.sname, writePrincipalName),
    opt(10, i.caddr, writeHostAddresses),
  );

function readEncKrbCredPart(r: DerReader): EncKrbCredPart {
  return appSequence(r, KRB_APP.ENC_KRB_CRED_PART, 'EncKrbCredPart', (s) => {
    const ticketInfo = s.field(0, 'ticket-info', (x) => seqOf(x, 'ticket-info', readKrbCredInfo));
    const nonce = s.optionalField(1, 'nonce', (x) => uint32(x, 'nonce'));
    const timestamp = s.optionalField(2, 'timestamp', (x) => ktime(x, 'timestamp'));
    const usec = s.optionalField(3, 'usec', (x) => microseconds(x, 'usec'));
    // s-address and r-address: validated, then dropped (addressless tickets are the norm).
    s.optionalField(4, 's-address', readHostAddress);
    s.optionalField(5, 'r-address', readHostAddress);
    return defined({ ticketInfo, nonce, timestamp, usec });
  });
}

const writeEncKrbCredPart = (p: EncKrbCredPart): Buffer =>
  derApplication(
    KRB_APP.ENC_KRB_CRED_PART,
    derSequence(
      f(0, eSeqOf(p.ticketInfo, writeKrbCredInfo)),
      opt(1, p.nonce, (v) => eInt(v >>> 0)),
      opt(2, p.timestamp, eTime),
      opt(3, p.usec, eInt),
    ),
  );

// ---------------------------------------------------------------- pre-authentication data (5.2.7)

/** PA-ENC-TS-ENC (RFC 4120 5.2.7.2): the plaintext of PA-ENC-TIMESTAMP. */
export interface PaEncTsEnc {
  patimestamp: Date;
  pausec?: number;
}

/** One ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5): how to derive the client's key for `etype`. */
export interface EtypeInfo2Entry {
  etype: number;
  salt?: string;
  s2kparams?: Buffer;
}

function readPaEncTsEnc(r: DerReader): PaEncTsEnc {
  return sequence(r, 'PA-ENC-TS-ENC', (s) => {
    const patimestamp = s.field(0, 'patimestamp', (x) => ktime(x, 'patimestamp'));
    const pausec = s.optionalField(1, 'pausec', (x) => microseconds(x, 'pausec'));
    return defined({ patimestamp, pausec });
  });
}

function readEtypeInfo2(r: DerReader): EtypeInfo2Entry[] {
  return seqOf(r, 'ETYPE-INFO2', (e) =>
    sequence(e, 'ETYPE-INFO2-ENTRY', (s) => {
      const etype = s.field(0, 'etype', (x) => int32(x, 'etype'));
      const salt = s.optionalField(1, 'salt', (x) => kstring(x, 'salt'));
      const s2kparams = s.optionalField(2, 's2kparams', (x) => octets(x, 's2kparams'));
      return defined({ etype, salt, s2kparams });
    }),
  );
}

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
/** PA-ENC-TS-ENC (5.2.7.2). */
export const encodePaEncTsEnc = (p: PaEncTsEnc): Buffer => derSequence(f(0, eTime(p.patimestamp)), opt(1, p.pausec, eInt));
export const decodePaEncTsEnc = (der: Uint8Array): PaEncTsEnc => whole(der, 'PA-ENC-TS-ENC', readPaEncTsEnc);
/** ETYPE-INFO2 (5.2.7.5). */
export const encodeEtypeInfo2 = (list: EtypeInfo2Entry[]): Buffer =>
  eSeqOf(list, (e) => derSequence(f(0, eInt(e.etype)), opt(1, e.salt, eStr), opt(2, e.s2kparams, derOctetString)));
export const decodeEtypeInfo2 = (der: Uint8Array): EtypeInfo2Entry[] => whole(der, 'ETYPE-INFO2', readEtypeInfo2);

/** Ticket [APPLICATION 1]: encoding writes `raw` as is when it is non-empty, else encodes the fields. */
export const encodeTicket = writeTicket;
/** Ticket [APPLICATION 1]; `raw` is a copy of the exact input TLV. */
export const decodeTicket = (der: Uint8Array): Ticket => whole(der, 'Ticket', readTicket);
/** EncTicketPart [APPLICATION 3]. */
export const encodeEncTicketPart = writeEncTicketPart;
export const decodeEncTicketPart = (der: Uint8Array): EncTicketPart => whole(der, 'EncTicketPart', readEncTicketPart);

/** KDC-REQ-BODY: exactly the bytes {@link encodeKdcReq} embeds, so a checksum over them matches the request. */
export const encodeKdcReqBody = writeKdcReqBody;
export const decodeKdcReqBody = (der: Uint8Array): KdcReqBody => whole(der, 'KDC-REQ-BODY', readKdcReqBody);
/** AS-REQ [APPLICATION 10] or TGS-REQ [APPLICATION 12], per `msgType`. */
export const encodeKdcReq = writeKdcReq;
/** AS-REQ or TGS-REQ, with the req-body's exact DER beside it. */
export const decodeKdcReq = (der: Uint8Array): DecodedKdcReq => whole(der, 'KDC-REQ', readKdcReq);
/** AS-REP [APPLICATION 11] or TGS-REP [APPLICATION 13], per `msgType`. */
export const encodeKdcRep = writeKdcRep;
export const decodeKdcRep = (der: Uint8Array): KdcRep => whole(der, 'KDC-REP', readKdcRep);
/** EncASRepPart [APPLICATION 25] or EncTGSRepPart [APPLICATION 26], per `tag`. */
export const encodeEncKdcRepPart = (p: EncKdcRepPart, tag: typeof KRB_APP.ENC_AS_REP_PART | typeof KRB_APP.ENC_TGS_REP_PART): Buffer => writeEncKdcRepPart(p, tag);
/** EncASRepPart or EncTGSRepPart: either tag is accepted, whatever the reply was. */
export const decodeEncKdcRepPart = (der: Uint8Array): EncKdcRepPart => whole(der, 'EncKDCRepPart', readEncKdcRepPart);

/** AP-REQ [APPLICATION 14]. */
export const encodeApReq = writeApReq;
export const decodeApReq = (der: Uint8Array): ApReq => whole(der, 'AP-REQ', readApReq);
/** Authenticator [APPLICATION 2]. */
export const encodeAuthenticator = writeAuthenticator;
export const decodeAuthenticator = (der: Uint8Array): Authenticator => whole(der, 'Authenticator', readAuthenticator);
/** AP-REP [APPLICATION 15]. */
export const encodeApRep = writeApRep;
export const decodeApRep = (der: Uint8Array): ApRep => whole(der, 'AP-REP', readApRep);
/** EncAPRepPart [APPLICATION 27]. */
export const encodeEncApRepPart = writeEncApRepPart;
export const decodeEncApRepPart = (der: Uint8Array): EncApRepPart => whole(der, 'EncAPRepPart', readEncApRepPart);
/** KRB-ERROR [APPLICATION 30]. */
export const encodeKrbError = writeKrbError;
export const decodeKrbError = (der: Uint8Array): KrbError => whole(der, 'KRB-ERROR', readKrbError);
/** KRB-CRED [APPLICATION 22]. */
export const encodeKrbCred = writeKrbCred;
export const decodeKrbCred = (der: Uint8Array): KrbCred => whole(der, 'KRB-CRED', readKrbCred);
/** EncKrbCredPart [APPLICATION 29] (s-address and r-address are accepted on input and dropped). */
export const encodeEncKrbCredPart = writeEncKrbCredPart;
export const decodeEncKrbCredPart = (der: Uint8Array): EncKrbCredPart => whole(der, 'EncKrbCredPart', readEncKrbCredPart);

/**
 * The APPLICATION tag number of a Kerberos message (its msg-type: 30 for
 * KRB-ERROR, 13 for TGS-REP, ...), from its first TLV header, whose length
 * must fit the input. Throws ProtocolError if `der` does not start with an
 * APPLICATION-class constructed TLV.
 */
export function peekKrbMessageType(der: Uint8Array): number {
  const h = new DerReader(der, 'Kerberos message').peek();
  if (!h) throw new ProtocolError('Kerberos message: empty');
  if (h.cls !== APPLICATION || !h.constructed) throw new ProtocolError('Kerberos message: does not start with an APPLICATION tag');
  return h.tag;
}

/** Whether `der` looks like a KRB-ERROR (false for anything unparsable). */
export function isKrbError(der: Uint8Array): boolean {
  try {
    return peekKrbMessageType(der) === KRB_MSG.KRB_ERROR;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- GSS-API token framing

/** The Kerberos 5 GSS-API mechanism (RFC 1964). */
export const KRB5_MECH_OID = '1.2.840.113554.1.2.2';

/** RFC 1964 1.1 / RFC 4121 4.1 TOK_ID values of context tokens. */
export const GSS_TOK_ID = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

/** The DER of {@link KRB5_MECH_OID} (06 09 2a 86 48 86 f7 12 01 02 02), as SSH's gssapi-with-mic carries it. */
export const encodeMechOid = (): Buffer => derOid(KRB5_MECH_OID);

/** A context token: [APPLICATION 0] IMPLICIT { mech OID, TOK_ID (2 bytes, big-endian), body } (RFC 2743 3.1). */
export function wrapInitialToken(tokId: number, body: Uint8Array): Buffer {
  if (!Number.isInteger(tokId) || tokId < 0 || tokId > 0xffff) throw new ProtocolError(`GSS-API token: bad TOK_ID ${tokId}`);
  return derTlv(APPLICATION, true, 0, [encodeMechOid(), Buffer.from([tokId >> 8, tokId & 0xff]), body]);
}

/**
 * Splits a context token made by {@link wrapInitialToken}. The framing must
 * span the whole token; the mechanism must be `expectedOid` (Kerberos 5
 * unless told otherwise; null accepts any). `body` is a copy.
 */
export function unwrapInitialToken(token: Uint8Array, expectedOid: string | null = KRB5_MECH_OID): { oid: string; tokId: number; body: Buffer } {
  const what = 'GSS-API context token';
  const r = new DerReader(token, what);
  const t = r.expect(APPLICATION, 0, true, what);
  r.end(what);
  const inner = r.children(t);
  const oid = inner.oid('mechanism OID');
  if (expectedOid !== null && oid !== expectedOid) throw new ProtocolError(`${what}: mechanism ${oid}, expected ${expectedOid}`);
  const rest = t.value.subarray(t.value.length - inner.remaining);
  if (rest.length < 2) throw new ProtocolError(`${what}: truncated TOK_ID`);
  return { oid, tokId: (rest[0]! << 8) | rest[1]!, body: Buffer.from(rest.subarray(2)) };
}
