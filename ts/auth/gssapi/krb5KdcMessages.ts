/**
 * DER encodings of the Kerberos 5 messages of the KDC exchange (RFC 4120
 * 5.2.7, 5.4, 5.9.1): KDC-REQ-BODY, AS-REQ / TGS-REQ, AS-REP / TGS-REP,
 * EncKDCRepPart, KRB-ERROR, PA-ENC-TS-ENC and ETYPE-INFO2, and a peek at a
 * reply's message type. Built from the blocks in krb5Asn1.ts, whose
 * conventions they follow; tickets are read and written by krb5ApMessages.ts.
 */
import { ProtocolError } from '../../errors.js';
import { DER_CLASS, DerReader, derApplication, derOctetString, derSequence } from '../../wire/der.js';
import type { EncKdcRepPart, KdcRep, KdcReq, KdcReqBody, KrbError } from './krb5Types.js';
import { KRB_MSG } from './krb5Types.js';
import {
  KRB_APP, PVNO, appSequence, constant, defined, sequence, seqOf, whole,
  int32, kflags, kstring, ktime, microseconds, octets, uint32,
  eFlags, eInt, eSeqOf, eStr, eTime, f, opt,
  readEncryptedData, readEncryptionKey, readHostAddresses, readPaDataList, readPrincipalName,
  writeEncryptedData, writeEncryptionKey, writeHostAddresses, writePaDataList, writePrincipalName,
} from './krb5Asn1.js';
import { readTicket, writeTicket } from './krb5ApMessages.js';

const { APPLICATION } = DER_CLASS;

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

/** PA-ENC-TS-ENC (5.2.7.2). */
export const encodePaEncTsEnc = (p: PaEncTsEnc): Buffer => derSequence(f(0, eTime(p.patimestamp)), opt(1, p.pausec, eInt));
export const decodePaEncTsEnc = (der: Uint8Array): PaEncTsEnc => whole(der, 'PA-ENC-TS-ENC', readPaEncTsEnc);
/** ETYPE-INFO2 (5.2.7.5). */
export const encodeEtypeInfo2 = (list: EtypeInfo2Entry[]): Buffer =>
  eSeqOf(list, (e) => derSequence(f(0, eInt(e.etype)), opt(1, e.salt, eStr), opt(2, e.s2kparams, derOctetString)));
export const decodeEtypeInfo2 = (der: Uint8Array): EtypeInfo2Entry[] => whole(der, 'ETYPE-INFO2', readEtypeInfo2);

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

/** KRB-ERROR [APPLICATION 30]. */
export const encodeKrbError = writeKrbError;
export const decodeKrbError = (der: Uint8Array): KrbError => whole(der, 'KRB-ERROR', readKrbError);

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
