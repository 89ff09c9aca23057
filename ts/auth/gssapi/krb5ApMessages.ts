/**
 * DER encodings of the Kerberos 5 messages of the AP exchange and of
 * credential forwarding (RFC 4120 5.3, 5.5, 5.8): Ticket, EncTicketPart,
 * AP-REQ, Authenticator, AP-REP, EncAPRepPart, KRB-CRED and EncKrbCredPart.
 * Built from the blocks in krb5Asn1.ts, whose conventions they follow.
 */
import { DER_CLASS, DerReader, derApplication, derOctetString, derSequence } from '../../wire/der.js';
import type { ApRep, ApReq, Authenticator, EncApRepPart, EncKrbCredPart, EncTicketPart, KrbCred, KrbCredInfo, Ticket } from './krb5Types.js';
import { KRB_MSG } from './krb5Types.js';
import {
  KRB_APP, PVNO, appSequence, constant, defined, sequence, seqOf, whole,
  int32, kflags, kstring, ktime, microseconds, octets, uint32,
  eFlags, eInt, eSeqOf, eStr, eTime, f, opt,
  readAuthorizationData, readChecksum, readEncryptedData, readEncryptionKey, readHostAddress, readHostAddresses, readPrincipalName,
  writeAuthorizationData, writeChecksum, writeEncryptedData, writeEncryptionKey, writeHostAddresses, writePrincipalName,
} from './krb5Asn1.js';

const { APPLICATION } = DER_CLASS;

// ---------------------------------------------------------------- Ticket, EncTicketPart (5.3)

export function readTicket(r: DerReader): Ticket {
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
export function writeTicket(t: Ticket): Buffer {
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

// ---------------------------------------------------------------- exported codecs

/** Ticket [APPLICATION 1]: encoding writes `raw` as is when it is non-empty, else encodes the fields. */
export const encodeTicket = writeTicket;
/** Ticket [APPLICATION 1]; `raw` is a copy of the exact input TLV. */
export const decodeTicket = (der: Uint8Array): Ticket => whole(der, 'Ticket', readTicket);
/** EncTicketPart [APPLICATION 3]. */
export const encodeEncTicketPart = writeEncTicketPart;
export const decodeEncTicketPart = (der: Uint8Array): EncTicketPart => whole(der, 'EncTicketPart', readEncTicketPart);

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
/** KRB-CRED [APPLICATION 22]. */
export const encodeKrbCred = writeKrbCred;
export const decodeKrbCred = (der: Uint8Array): KrbCred => whole(der, 'KRB-CRED', readKrbCred);
/** EncKrbCredPart [APPLICATION 29] (s-address and r-address are accepted on input and dropped). */
export const encodeEncKrbCredPart = writeEncKrbCredPart;
export const decodeEncKrbCredPart = (der: Uint8Array): EncKrbCredPart => whole(der, 'EncKrbCredPart', readEncKrbCredPart);
