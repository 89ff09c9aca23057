/**
 * The DER codec (ts/wire/der.ts) and the Kerberos 5 message encodings
 * (ts/auth/gssapi/krb5Asn1.ts, krb5KdcMessages.ts, krb5ApMessages.ts and
 * gssToken.ts): DER edge cases, round trips of every message with all
 * optional fields present and absent, hand-built DER decoded field by
 * field, GSS-API token framing, and (when MIT's kinit is installed) kinit
 * talking to a fake KDC made of these encoders.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kdcAvailable, startKdc } from '../helpers/kdc.js';
import { ProtocolError } from '../../ts/errors.js';
import {
  DER_CLASS,
  DER_MAX_DEPTH,

  DerReader,
  derBitString,

  derGeneralizedTime,
  derInteger,
  derOid,
  derSequence,
  derString,
  derTlv,
  formatGeneralizedTime,
} from '../../ts/wire/der.js';
import * as Ap from '../../ts/auth/gssapi/krb5ApMessages.js';
import * as Asn1 from '../../ts/auth/gssapi/krb5Asn1.js';
import * as Gss from '../../ts/auth/gssapi/gssToken.js';
import * as Kdc from '../../ts/auth/gssapi/krb5KdcMessages.js';
import {
  AP_OPT,
  KDC_OPT,
  KRB_MSG,
  NT,
  PA,
  TKT_FLAG,
  type ApReq,
  type Authenticator,
  type EncKdcRepPart,
  type EncKrbCredPart,
  type EncTicketPart,
  type KdcRep,
  type KdcReq,
  type KrbCred,
  type KrbError,
  type Ticket,
} from '../../ts/auth/gssapi/krb5Types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** A hand-rolled TLV (lengths below 256), independent of the writer under test. */
function h(id: number, ...children: (Buffer | string)[]): Buffer {
  const body = Buffer.concat(children.map((c) => (typeof c === 'string' ? Buffer.from(c, 'latin1') : c)));
  expect(body.length).toBeLessThan(256);
  return Buffer.concat([Buffer.from(body.length < 128 ? [id, body.length] : [id, 0x81, body.length]), body]);
}
const ctx = (n: number, child: Buffer): Buffer => h(0xa0 | n, child);
const int = (n: number): Buffer => h(0x02, Buffer.from([n]));
const gstr = (s: string): Buffer => h(0x1b, s);
const gtime = (s: string): Buffer => h(0x18, s);
const seq = (...c: Buffer[]): Buffer => h(0x30, ...c);

const expectProtocolError = (fn: () => unknown, message?: RegExp): void => {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  if (message) expect((caught as Error).message).toMatch(message);
};

const t = (iso: string): Date => new Date(iso);
const host = { nameType: NT.SRV_HST, nameString: ['host', 'server.example.com'] };
const alice = { nameType: NT.PRINCIPAL, nameString: ['alice'] };
const krbtgt = { nameType: NT.SRV_INST, nameString: ['krbtgt', 'EXAMPLE.COM'] };
const key = { keytype: 18, keyvalue: Buffer.alloc(32, 7) };
const enc = (etype = 18, kvno?: number): { etype: number; kvno?: number; cipher: Buffer } => ({ etype, ...(kvno !== undefined ? { kvno } : {}), cipher: Buffer.from('ciphertext-' + etype) });
/** A ticket encoded from fields, then decoded (so `raw` is its real DER). */
const ticket = (kvno?: number): Ticket => Ap.decodeTicket(Ap.encodeTicket({ realm: 'EXAMPLE.COM', sname: host, encPart: enc(18, kvno), raw: Buffer.alloc(0) }));
const addrs = [
  { addrType: 2, address: Buffer.from([127, 0, 0, 1]) },
  { addrType: 24, address: Buffer.alloc(16, 1) },
];
const authz = [{ adType: 1, adData: Buffer.from('ad-if-relevant') }];

// ---------------------------------------------------------------- DER

describe('DER reader and writer', () => {
  it('encodes integers in minimal two\'s complement and reads them back', () => {
    const cases: [number, string][] = [
      [0, '020100'],
      [127, '02017f'],
      [128, '02020080'],
      [255, '020200ff'],
      [256, '02020100'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [2 ** 31, '02050080000000'],
      [2 ** 32 - 1, '020500ffffffff'],
      [-(2 ** 31), '020480000000'],
      [Number.MAX_SAFE_INTEGER, '02071fffffffffffff'],
    ];
    for (const [n, der] of cases) {
      expect(derInteger(n).toString('hex')).toBe(der);
      expect(new DerReader(hex(der)).integer('n', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toBe(n);
    }
    expect(() => derInteger(2 ** 53)).toThrow(ProtocolError);
    expect(() => derInteger(1.5)).toThrow(ProtocolError);
  });

  it('checks integer ranges, signed and unsigned', () => {
    expectProtocolError(() => new DerReader(hex('0201ff')).integer('u', 0, 10), /u: -1 is outside \[0, 10\]/);
    expectProtocolError(() => new DerReader(hex('02050100000000')).integer('i32', -(2 ** 31), 2 ** 31 - 1));
    expect(new DerReader(hex('02050100000000')).integer('big', 0, 2 ** 40)).toBe(2 ** 32);
    expectProtocolError(() => new DerReader(hex('0200')).integer('empty', 0, 1), /empty INTEGER/);
    expectProtocolError(() => new DerReader(hex('0209010000000000000000')).integer('huge', 0, 1));
    // Non-minimal encodings are accepted (MIT's decoder does too); their value is unambiguous.
    expect(new DerReader(hex('0203000005')).integer('n', 0, 10)).toBe(5);
  });

  it('reads and writes long-form lengths', () => {
    const body = Buffer.alloc(300, 0x41);
    const der = Asn1.encodeChecksum({ cksumtype: 1, checksum: body });
    expect(derTlv(0, false, 4, [Buffer.alloc(200)]).subarray(0, 3).toString('hex')).toBe('0481c8');
    expect(derTlv(0, false, 4, [body]).subarray(0, 4).toString('hex')).toBe('0482012c');
    expect(derTlv(0, false, 4, [Buffer.alloc(127)]).subarray(0, 2).toString('hex')).toBe('047f');
    expect(Asn1.decodeChecksum(der).checksum).toEqual(body);
    // A non-minimal long form (81 05 for 5) is read too.
    expect(new DerReader(hex('048105 6162636465')).octetString('s').toString()).toBe('abcde');
  });

  it('reads and writes the high-tag-number form', () => {
    expect(derTlv(DER_CLASS.CONTEXT, true, 31, [derInteger(1)]).toString('hex')).toBe('bf1f03020101');
    expect(derTlv(DER_CLASS.APPLICATION, false, 200, []).toString('hex')).toBe('5f814800');
    const r = new DerReader(hex('bf1f03020101 5f814800'));
    expect(r.peek()).toEqual({ cls: DER_CLASS.CONTEXT, constructed: true, tag: 31 });
    expect(r.field(31, 'x', (x) => x.integer('x', 0, 1))).toBe(1);
    expect(r.tlv()).toMatchObject({ cls: DER_CLASS.APPLICATION, constructed: false, tag: 200 });
    r.end();
    expectProtocolError(() => new DerReader(hex('9f8001 00')).tlv(), /non-minimal DER tag/);
    expectProtocolError(() => new DerReader(hex('9f8181818101 00')).tlv(), /tag number too large/);
  });

  it('rejects indefinite lengths, lengths beyond the input and truncated headers', () => {
    expectProtocolError(() => new DerReader(hex('3080 020100 0000')).tlv(), /indefinite/);
    expectProtocolError(() => new DerReader(hex('0405 616263')).tlv(), /runs past the end/);
    expectProtocolError(() => new DerReader(hex('0482ffff 00')).tlv(), /runs past the end/);
    expectProtocolError(() => new DerReader(hex('0485 0000000001')).tlv(), /length of 5 bytes/);
    expectProtocolError(() => new DerReader(hex('04')).tlv(), /truncated DER header/);
    expectProtocolError(() => new DerReader(hex('0482 01')).tlv(), /truncated DER header/);
    expectProtocolError(() => new DerReader(hex('')).tlv(), /truncated DER header/);
    // A child's length is bounded by its parent, not by the whole input.
    expectProtocolError(() => new DerReader(hex('3003 0405 61 626364 65')).sequence('s').tlv(), /runs past the end/);
  });

  it('limits nesting depth', () => {
    const nest = (n: number): Buffer => {
      let d: Buffer = derInteger(0);
      for (let i = 0; i < n; i++) d = derSequence(d);
      return d;
    };
    const descend = (der: Buffer, levels: number): void => {
      let r = new DerReader(der);
      for (let i = 0; i < levels; i++) r = r.sequence('level');
    };
    descend(nest(DER_MAX_DEPTH), DER_MAX_DEPTH);
    expectProtocolError(() => descend(nest(DER_MAX_DEPTH + 1), DER_MAX_DEPTH + 1), /nested more than 32/);
  });

  it('formats and parses KerberosTime (GeneralizedTime, whole seconds, Z)', () => {
    expect(formatGeneralizedTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 999)))).toBe('20240102030405Z');
    expect(formatGeneralizedTime(new Date(0))).toBe('19700101000000Z');
    expect(derGeneralizedTime(t('2037-12-31T23:59:59Z')).toString('hex')).toBe('180f' + Buffer.from('20371231235959Z').toString('hex'));
    const read = (s: string): Date => new DerReader(h(0x18, s)).generalizedTime('time');
    expect(read('20240229120000Z')).toEqual(t('2024-02-29T12:00:00Z'));
    // Years below 100 are not shifted into the 1900s.
    expect(read('00500101000000Z').getUTCFullYear()).toBe(50);
    for (const bad of ['20240102030405.5Z', '202401020304Z', '20240102030405', '20240102030405+0100', '20230229000000Z', '20241301000000Z', '20240101240000Z', '2024010203040aZ']) {
      expectProtocolError(() => read(bad), /time/);
    }
    // A time under any other tag is refused.
    expectProtocolError(() => new DerReader(gstr('20240102030405Z')).generalizedTime('time'), /expected a character string/);
    expect(() => formatGeneralizedTime(new Date(Date.UTC(10000, 0, 1)))).toThrow(ProtocolError);
    expect(() => formatGeneralizedTime(new Date(NaN))).toThrow(ProtocolError);
  });

  it('reads and writes OIDs, BIT STRINGs and strings', () => {
    expect(derOid('1.2.840.113554.1.2.2').toString('hex')).toBe('06092a864886f712010202');
    for (const oid of ['1.2.840.113554.1.2.2', '2.999.3', '0.0', '1.39.4294967296']) {
      expect(new DerReader(derOid(oid)).oid('oid')).toBe(oid);
    }
    for (const bad of ['1', '3.1', '1.40', '1..2', 'a.b']) expect(() => derOid(bad)).toThrow(ProtocolError);
    expectProtocolError(() => new DerReader(hex('0602 2a86')).oid('oid'), /truncated/);
    expectProtocolError(() => new DerReader(hex('0600')).oid('oid'), /empty/);
    expect(new DerReader(derBitString(hex('a0'), 5)).bitString('b')).toEqual({ bits: hex('a0'), unused: 5 });
    expectProtocolError(() => new DerReader(hex('030108')).bitString('b'), /unused/);
    expectProtocolError(() => new DerReader(hex('030109 00')).bitString('b'), /unused/);
    expect(new DerReader(derString('grüße')).string('s')).toBe('grüße');
    expectProtocolError(() => new DerReader(hex('1b02 c328')).string('s'), /UTF-8/);
    expectProtocolError(() => new DerReader(hex('0401 41')).string('s'), /character string/);
  });

  it('reads OPTIONAL fields by peeking at the tag', () => {
    const r = new DerReader(seq(ctx(0, int(1)), ctx(2, int(3)))).sequence('s');
    expect(r.optionalField(0, 'a', (x) => x.integer('a', 0, 9))).toBe(1);
    expect(r.optionalField(1, 'b', (x) => x.integer('b', 0, 9))).toBeUndefined();
    expect(r.peekIs(DER_CLASS.CONTEXT, 2)).toBe(true);
    expect(r.field(2, 'c', (x) => x.integer('c', 0, 9))).toBe(3);
    expect(r.peek()).toBeUndefined();
    r.end();
    // An [n] wrapper holding more than its one element is malformed.
    expectProtocolError(() => new DerReader(ctx(0, Buffer.concat([int(1), int(2)]))).field(0, 'a', (x) => x.integer('a', 0, 9)), /trailing bytes after a/);
    expectProtocolError(() => new DerReader(int(1)).field(0, 'a', (x) => x.integer('a', 0, 9)), /expected a \[0\]/);
  });
});

// ---------------------------------------------------------------- flags

describe('KerberosFlags', () => {
  it('puts bit 0 in the most significant position', () => {
    expect(KDC_OPT.FORWARDABLE).toBe(0x40000000);
    const body = Kdc.encodeKdcReqBody({ kdcOptions: KDC_OPT.FORWARDABLE | KDC_OPT.RENEWABLE_OK, realm: 'R', till: new Date(0), nonce: 1, etype: [18] });
    // kdc-options [0] BIT STRING, 5 bytes: no unused bits, then 32 bits.
    expect(body.subarray(2, 11).toString('hex')).toBe('a0070305' + '00' + '40000010');
    expect(Kdc.decodeKdcReqBody(body).kdcOptions).toBe((KDC_OPT.FORWARDABLE | KDC_OPT.RENEWABLE_OK) >>> 0);
    expect(Ap.encodeApReq({ apOptions: AP_OPT.MUTUAL_REQUIRED, ticket: ticket(), authenticator: enc() }).includes(hex('a20703050020000000'))).toBe(true);
  });

  it('reads flags of any length', () => {
    const withFlags = (bits: Buffer): EncKrbCredPart => Ap.decodeEncKrbCredPart(h(0x7d, seq(ctx(0, seq(seq(ctx(0, seq(ctx(0, int(1)), ctx(1, h(0x04)))), ctx(3, bits)))))));
    expect(withFlags(hex('030207 80')).ticketInfo[0]!.flags).toBe(0x80000000);
    // Junk in the unused bits of a short string is ignored.
    expect(withFlags(hex('030207 ff')).ticketInfo[0]!.flags).toBe(0x80000000);
    expect(withFlags(hex('030100')).ticketInfo[0]!.flags).toBe(0);
    expect(withFlags(hex('030600 40800000 ff')).ticketInfo[0]!.flags).toBe((TKT_FLAG.FORWARDABLE | 0x00800000) >>> 0);
    expect(withFlags(hex('030900 00040000 ffffffff')).ticketInfo[0]!.flags).toBe(TKT_FLAG.OK_AS_DELEGATE);
  });
});

// ---------------------------------------------------------------- round trips

/** encode → decode gives the value back, and re-encoding gives the same bytes. */
function roundTrip<T>(value: T, encode: (v: T) => Buffer, decode: (d: Uint8Array) => T, expected: unknown = value): Buffer {
  const der = encode(value);
  const back = decode(der);
  expect(back).toEqual(expected);
  expect(encode(back)).toEqual(der);
  // Every proper prefix is malformed, and so is the message with a trailing byte.
  for (const cut of new Set([0, 1, 2, der.length >> 1, der.length - 1].filter((c) => c < der.length))) expectProtocolError(() => decode(der.subarray(0, cut)));
  expectProtocolError(() => decode(Buffer.concat([der, Buffer.from([0])])), /trailing bytes/);
  return der;
}

describe('Kerberos message round trips', () => {
  const full = {
    ticket: ticket(3),
    encTicketPart: {
      flags: (TKT_FLAG.FORWARDABLE | TKT_FLAG.OK_AS_DELEGATE) >>> 0,
      key,
      crealm: 'EXAMPLE.COM',
      cname: alice,
      transited: { trType: 1, contents: Buffer.from('OTHER.REALM,') },
      authtime: t('2024-05-01T10:00:00Z'),
      starttime: t('2024-05-01T10:00:01Z'),
      endtime: t('2024-05-01T20:00:00Z'),
      renewTill: t('2024-05-08T10:00:00Z'),
      caddr: addrs,
      authorizationData: authz,
    } satisfies EncTicketPart,
  };

  it('PrincipalName, EncryptionKey, EncryptedData, Checksum, PA-DATA', () => {
    roundTrip(host, Asn1.encodePrincipalName, Asn1.decodePrincipalName);
    roundTrip({ nameType: NT.UNKNOWN, nameString: [] }, Asn1.encodePrincipalName, Asn1.decodePrincipalName);
    roundTrip({ nameType: -5, nameString: ['ünïcödé'] }, Asn1.encodePrincipalName, Asn1.decodePrincipalName);
    roundTrip(key, Asn1.encodeEncryptionKey, Asn1.decodeEncryptionKey);
    roundTrip(enc(18, 2 ** 32 - 1), Asn1.encodeEncryptedData, Asn1.decodeEncryptedData);
    roundTrip(enc(23), Asn1.encodeEncryptedData, Asn1.decodeEncryptedData);
    roundTrip({ cksumtype: 0x8003, checksum: Buffer.alloc(24, 2) }, Asn1.encodeChecksum, Asn1.decodeChecksum);
    roundTrip([{ type: PA.TGS_REQ, value: Buffer.from('ap-req') }, { type: 149, value: Buffer.alloc(0) }], Asn1.encodePaDataList, Asn1.decodePaDataList);
    roundTrip([], Asn1.encodePaDataList, Asn1.decodePaDataList);
    roundTrip({ patimestamp: t('2024-01-01T00:00:00Z'), pausec: 999999 }, Kdc.encodePaEncTsEnc, Kdc.decodePaEncTsEnc);
    roundTrip({ patimestamp: t('2024-01-01T00:00:00Z') }, Kdc.encodePaEncTsEnc, Kdc.decodePaEncTsEnc);
    roundTrip([{ etype: 18, salt: 'EXAMPLE.COMalice', s2kparams: hex('00001000') }, { etype: 17 }], Kdc.encodeEtypeInfo2, Kdc.decodeEtypeInfo2);
  });

  it('Ticket keeps its raw DER and re-sends it unchanged', () => {
    const tk = ticket(7);
    roundTrip(tk, Ap.encodeTicket, Ap.decodeTicket);
    expect(tk.raw[0]).toBe(0x61);
    // A peer's non-minimal encoding (long-form length where short would do) survives byte for byte.
    const inner = Ap.encodeTicket({ ...tk, raw: Buffer.alloc(0) }).subarray(2);
    const odd = Buffer.concat([Buffer.from([0x61, 0x81, inner.length]), inner]);
    const decoded = Ap.decodeTicket(odd);
    expect(decoded.raw).toEqual(odd);
    expect(Ap.encodeTicket(decoded)).toEqual(odd);
    const apReq = Ap.encodeApReq({ apOptions: 0, ticket: decoded, authenticator: enc() });
    expect(apReq.includes(odd)).toBe(true);
    expect(Ap.decodeApReq(apReq).ticket.raw).toEqual(odd);
    // tkt-vno must be 5.
    const v4 = Buffer.from(inner);
    v4[v4.indexOf(hex('a003020105')) + 4] = 4;
    expectProtocolError(() => Ap.decodeTicket(Buffer.concat([hex('61'), Buffer.from([v4.length]), v4])), /tkt-vno is 4, expected 5/);
  });

  it('EncTicketPart', () => {
    roundTrip(full.encTicketPart, Ap.encodeEncTicketPart, Ap.decodeEncTicketPart);
    const { starttime: _s, renewTill: _r, caddr: _c, authorizationData: _a, ...minimal } = full.encTicketPart;
    const der = roundTrip(minimal, Ap.encodeEncTicketPart, Ap.decodeEncTicketPart);
    expect(der[0]).toBe(0x63);
    expect(Object.keys(Ap.decodeEncTicketPart(der))).not.toContain('starttime');
  });

  it('KDC-REQ-BODY and AS-REQ / TGS-REQ', () => {
    const body = {
      kdcOptions: (KDC_OPT.FORWARDABLE | KDC_OPT.CANONICALIZE) >>> 0,
      cname: alice,
      realm: 'EXAMPLE.COM',
      sname: krbtgt,
      from: t('2024-05-01T10:00:00Z'),
      till: t('2024-05-02T10:00:00Z'),
      rtime: t('2024-05-08T10:00:00Z'),
      nonce: 0xfedcba98,
      etype: [18, 17, 20, 19],
      addresses: addrs,
      additionalTickets: [ticket(1), ticket()],
    };
    roundTrip(body, Kdc.encodeKdcReqBody, Kdc.decodeKdcReqBody);
    const minimal = { kdcOptions: 0, realm: 'EXAMPLE.COM', till: t('1970-01-01T00:00:00Z'), nonce: 0, etype: [] };
    roundTrip(minimal, Kdc.encodeKdcReqBody, Kdc.decodeKdcReqBody);

    for (const [msgType, reqBody, padata] of [
      [KRB_MSG.AS_REQ, body, [{ type: PA.ENC_TIMESTAMP, value: Asn1.encodeEncryptedData(enc()) }]],
      [KRB_MSG.TGS_REQ, minimal, undefined],
    ] as const) {
      const req: KdcReq = { msgType, reqBody, ...(padata ? { padata: [...padata] } : {}) };
      const bodyDer = Kdc.encodeKdcReqBody(reqBody);
      const der = roundTrip(req, Kdc.encodeKdcReq, Kdc.decodeKdcReq, { ...req, reqBodyRaw: bodyDer });
      expect(der[0]).toBe(0x60 | msgType);
      // The checksum is over exactly the bytes inside the request.
      expect(der.subarray(der.length - bodyDer.length)).toEqual(bodyDer);
      expect(Kdc.peekKrbMessageType(der)).toBe(msgType);
    }
  });

  it('AS-REP / TGS-REP and EncASRepPart / EncTGSRepPart', () => {
    for (const msgType of [KRB_MSG.AS_REP, KRB_MSG.TGS_REP] as const) {
      const rep: KdcRep = { msgType, crealm: 'EXAMPLE.COM', cname: alice, ticket: ticket(2), encPart: enc(18, 5) };
      roundTrip(rep, Kdc.encodeKdcRep, Kdc.decodeKdcRep);
      const der = roundTrip({ ...rep, padata: [{ type: PA.ETYPE_INFO2, value: Kdc.encodeEtypeInfo2([{ etype: 18 }]) }] }, Kdc.encodeKdcRep, Kdc.decodeKdcRep);
      expect(der[0]).toBe(0x60 | msgType);
    }
    const part: EncKdcRepPart = {
      key,
      lastReq: [{ lrType: 0, lrValue: t('2024-05-01T10:00:00Z') }],
      nonce: 0x80000001,
      keyExpiration: t('2025-01-01T00:00:00Z'),
      flags: TKT_FLAG.FORWARDABLE,
      authtime: t('2024-05-01T10:00:00Z'),
      starttime: t('2024-05-01T10:00:00Z'),
      endtime: t('2024-05-01T20:00:00Z'),
      renewTill: t('2024-05-08T10:00:00Z'),
      srealm: 'EXAMPLE.COM',
      sname: host,
      caddr: addrs,
    };
    const { keyExpiration: _k, starttime: _s, renewTill: _r, caddr: _c, ...minimal } = part;
    for (const tag of [Asn1.KRB_APP.ENC_AS_REP_PART, Asn1.KRB_APP.ENC_TGS_REP_PART] as const) {
      for (const p of [part, { ...minimal, lastReq: [] }]) {
        const der = roundTrip(p, (v) => Kdc.encodeEncKdcRepPart(v, tag), Kdc.decodeEncKdcRepPart);
        expect(der[0]).toBe(0x60 | tag);
      }
    }
    expectProtocolError(() => Kdc.decodeEncKdcRepPart(Ap.encodeEncApRepPart({ ctime: new Date(0), cusec: 0 })), /not an EncASRepPart or EncTGSRepPart/);
  });

  it('AP-REQ, Authenticator, AP-REP, EncAPRepPart', () => {
    const apReq: ApReq = { apOptions: (AP_OPT.MUTUAL_REQUIRED | AP_OPT.USE_SESSION_KEY) >>> 0, ticket: ticket(), authenticator: enc(18, 0) };
    expect(roundTrip(apReq, Ap.encodeApReq, Ap.decodeApReq)[0]).toBe(0x6e);
    const auth: Authenticator = {
      crealm: 'EXAMPLE.COM',
      cname: alice,
      cksum: { cksumtype: 0x8003, checksum: Buffer.alloc(24) },
      cusec: 999999,
      ctime: t('2024-05-01T10:00:00Z'),
      subkey: key,
      seqNumber: 0xffffffff,
      authorizationData: authz,
    };
    expect(roundTrip(auth, Ap.encodeAuthenticator, Ap.decodeAuthenticator)[0]).toBe(0x62);
    roundTrip({ crealm: 'R', cname: alice, cusec: 0, ctime: t('2024-05-01T10:00:00Z') }, Ap.encodeAuthenticator, Ap.decodeAuthenticator);
    expect(roundTrip({ encPart: enc() }, Ap.encodeApRep, Ap.decodeApRep)[0]).toBe(0x6f);
    expect(roundTrip({ ctime: t('2024-05-01T10:00:00Z'), cusec: 5, subkey: key, seqNumber: 0 }, Ap.encodeEncApRepPart, Ap.decodeEncApRepPart)[0]).toBe(0x7b);
    roundTrip({ ctime: t('2024-05-01T10:00:00Z'), cusec: 5 }, Ap.encodeEncApRepPart, Ap.decodeEncApRepPart);
    // cusec is Microseconds (0..999999): the writer does not check, the reader does.
    const tooMany = Ap.encodeAuthenticator({ ...auth, cusec: 1000000 });
    expectProtocolError(() => Ap.decodeAuthenticator(tooMany), /cusec: 1000000 is outside \[0, 999999\]/);
  });

  it('KRB-ERROR', () => {
    const err: KrbError = {
      ctime: t('2024-05-01T10:00:00Z'),
      cusec: 12,
      stime: t('2024-05-01T10:00:01Z'),
      susec: 34,
      errorCode: 25,
      crealm: 'EXAMPLE.COM',
      cname: alice,
      realm: 'EXAMPLE.COM',
      sname: krbtgt,
      eText: 'Additional pre-authentication required',
      eData: Asn1.encodePaDataList([{ type: PA.ETYPE_INFO2, value: Kdc.encodeEtypeInfo2([{ etype: 18, salt: 'EXAMPLE.COMalice' }]) }]),
    };
    const der = roundTrip(err, Kdc.encodeKrbError, Kdc.decodeKrbError);
    expect(der[0]).toBe(0x7e);
    expect(Kdc.isKrbError(der)).toBe(true);
    expect(Kdc.peekKrbMessageType(der)).toBe(KRB_MSG.KRB_ERROR);
    roundTrip({ stime: err.stime, susec: 0, errorCode: -1765328378, realm: 'R', sname: krbtgt }, Kdc.encodeKrbError, Kdc.decodeKrbError);
  });

  it('KRB-CRED and EncKrbCredPart', () => {
    const cred: KrbCred = { tickets: [ticket(), ticket(4)], encPart: enc(18) };
    expect(roundTrip(cred, Ap.encodeKrbCred, Ap.decodeKrbCred)[0]).toBe(0x76);
    roundTrip({ tickets: [], encPart: enc(0) }, Ap.encodeKrbCred, Ap.decodeKrbCred);
    const part: EncKrbCredPart = {
      ticketInfo: [
        {
          key,
          prealm: 'EXAMPLE.COM',
          pname: alice,
          flags: TKT_FLAG.FORWARDED,
          authtime: t('2024-05-01T10:00:00Z'),
          starttime: t('2024-05-01T10:00:00Z'),
          endtime: t('2024-05-01T20:00:00Z'),
          renewTill: t('2024-05-08T10:00:00Z'),
          srealm: 'EXAMPLE.COM',
          sname: krbtgt,
          caddr: addrs,
        },
        { key },
      ],
      nonce: 42,
      timestamp: t('2024-05-01T10:00:00Z'),
      usec: 77,
    };
    expect(roundTrip(part, Ap.encodeEncKrbCredPart, Ap.decodeEncKrbCredPart)[0]).toBe(0x7d);
    roundTrip({ ticketInfo: [] }, Ap.encodeEncKrbCredPart, Ap.decodeEncKrbCredPart);
  });

  it('survives arbitrary corruption with ProtocolError only', () => {
    const der = Kdc.encodeKdcRep({ msgType: KRB_MSG.TGS_REP, padata: [{ type: 3, value: Buffer.from('x') }], crealm: 'EXAMPLE.COM', cname: alice, ticket: ticket(1), encPart: enc(18, 1) });
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(der);
      for (let k = 0, n = 1 + rand(3); k < n; k++) bad[rand(bad.length)] = rand(256);
      try {
        Kdc.decodeKdcRep(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }
  });
});

// ---------------------------------------------------------------- hand-built DER

describe('hand-built DER decodes field by field', () => {
  it('PrincipalName with each accepted string type', () => {
    for (const id of [0x1b, 0x0c, 0x16, 0x13, 0x1a]) {
      const der = seq(ctx(0, int(3)), ctx(1, seq(h(id, 'host'), h(id, 'a.example'))));
      expect(Asn1.decodePrincipalName(der)).toEqual({ nameType: 3, nameString: ['host', 'a.example'] });
    }
    // BMPString (0x1e) is not a KerberosString.
    expectProtocolError(() => Asn1.decodePrincipalName(seq(ctx(0, int(1)), ctx(1, seq(h(0x1e, '\0a'))))), /name component: expected a character string/);
    // Missing name-string.
    expectProtocolError(() => Asn1.decodePrincipalName(seq(ctx(0, int(1)))), /missing name-string \[1\]/);
    // Fields out of order.
    expectProtocolError(() => Asn1.decodePrincipalName(seq(ctx(1, seq()), ctx(0, int(1)))), /name-type/);
  });

  it('EncryptedData with and without kvno, including a negative (signed) kvno', () => {
    expect(Asn1.decodeEncryptedData(hex('3011 a003020112 a103020102 a2050403 616263'))).toEqual({ etype: 18, kvno: 2, cipher: Buffer.from('abc') });
    expect(Asn1.decodeEncryptedData(hex('300c a003020117 a2050403 616263'))).toEqual({ etype: 23, cipher: Buffer.from('abc') });
    expect(Asn1.decodeEncryptedData(hex('3011 a003020112 a1030201ff a2050403 616263')).kvno).toBe(0xffffffff);
    // etype is Int32: a 5-byte value is out of range.
    expectProtocolError(() => Asn1.decodeEncryptedData(hex('3010 a00702050100000000 a2050403 616263')), /etype/);
  });

  it('AP-REP and a KRB-ERROR', () => {
    const apRep = h(0x6f, seq(ctx(0, int(5)), ctx(1, int(15)), ctx(2, seq(ctx(0, int(18)), ctx(2, h(0x04, 'xyz'))))));
    expect(Ap.decodeApRep(apRep)).toEqual({ encPart: { etype: 18, cipher: Buffer.from('xyz') } });
    expectProtocolError(() => Ap.decodeApRep(h(0x6f, seq(ctx(0, int(4)), ctx(1, int(15))))), /pvno is 4, expected 5/);
    expectProtocolError(() => Ap.decodeApRep(h(0x6f, seq(ctx(0, int(5)), ctx(1, int(14))))), /msg-type is 14, expected 15/);

    const sname = seq(ctx(0, int(2)), ctx(1, seq(gstr('krbtgt'), gstr('R.TEST'))));
    const krbError = h(
      0x7e,
      seq(
        ctx(0, int(5)),
        ctx(1, int(30)),
        ctx(4, gtime('20240501100001Z')),
        ctx(5, h(0x02, Buffer.from([0x01, 0x00]))),
        ctx(6, int(6)),
        ctx(9, gstr('R.TEST')),
        ctx(10, sname),
        ctx(11, h(0x0c, 'CLIENT_NOT_FOUND')),
      ),
    );
    expect(Kdc.peekKrbMessageType(krbError)).toBe(30);
    expect(Kdc.isKrbError(krbError)).toBe(true);
    expect(Kdc.decodeKrbError(krbError)).toEqual({
      stime: t('2024-05-01T10:00:01Z'),
      susec: 256,
      errorCode: 6,
      realm: 'R.TEST',
      sname: { nameType: 2, nameString: ['krbtgt', 'R.TEST'] },
      eText: 'CLIENT_NOT_FOUND',
    });
  });

  it('EncKDCRepPart tagged 25 in a TGS reply, with RFC 6806 encrypted-pa-data', () => {
    const body = seq(
      ctx(0, seq(ctx(0, int(18)), ctx(1, h(0x04, 'k')))),
      ctx(1, seq(seq(ctx(0, int(0)), ctx(1, gtime('20240501100000Z'))))),
      ctx(2, h(0x02, Buffer.from([0x81, 0, 0, 1]))), // a nonce written as a negative Int32
      ctx(4, hex('030500 40e00000')),
      ctx(5, gtime('20240501100000Z')),
      ctx(7, gtime('20240501200000Z')),
      ctx(9, gstr('R.TEST')),
      ctx(10, seq(ctx(0, int(3)), ctx(1, seq(gstr('host'), gstr('h'))))),
      ctx(12, seq(seq(ctx(1, int(149)), ctx(2, h(0x04))))),
    );
    for (const id of [0x79, 0x7a]) {
      const part = Kdc.decodeEncKdcRepPart(h(id, body));
      expect(part).toEqual({
        key: { keytype: 18, keyvalue: Buffer.from('k') },
        lastReq: [{ lrType: 0, lrValue: t('2024-05-01T10:00:00Z') }],
        nonce: 0x81000001,
        flags: 0x40e00000,
        authtime: t('2024-05-01T10:00:00Z'),
        endtime: t('2024-05-01T20:00:00Z'),
        srealm: 'R.TEST',
        sname: { nameType: 3, nameString: ['host', 'h'] },
      });
    }
  });

  it('peekKrbMessageType and isKrbError on non-messages', () => {
    expectProtocolError(() => Kdc.peekKrbMessageType(hex('')), /empty/);
    expectProtocolError(() => Kdc.peekKrbMessageType(hex('3000')), /APPLICATION/);
    expectProtocolError(() => Kdc.peekKrbMessageType(hex('7e05 3003')), /runs past/);
    expect(Kdc.isKrbError(hex('7e05 3003'))).toBe(false);
    expect(Kdc.isKrbError(Ap.encodeApRep({ encPart: enc() }))).toBe(false);
  });
});

// ---------------------------------------------------------------- GSS-API framing

describe('GSS-API initial context token framing', () => {
  it('wraps and unwraps', () => {
    expect(Gss.KRB5_MECH_OID).toBe('1.2.840.113554.1.2.2');
    expect(Gss.encodeMechOid().toString('hex')).toBe('06092a864886f712010202');
    const apReq = Ap.encodeApReq({ apOptions: AP_OPT.MUTUAL_REQUIRED, ticket: ticket(), authenticator: enc() });
    const token = Gss.wrapInitialToken(Gss.GSS_TOK_ID.AP_REQ, apReq);
    expect(token[0]).toBe(0x60);
    expect(token.subarray(token.length - apReq.length - 13, token.length - apReq.length).toString('hex')).toBe('06092a864886f712010202' + '0100');
    const { oid, tokId, body } = Gss.unwrapInitialToken(token);
    expect({ oid, tokId }).toEqual({ oid: Gss.KRB5_MECH_OID, tokId: 0x0100 });
    expect(body).toEqual(apReq);
    expect(Ap.decodeApReq(body).apOptions).toBe(AP_OPT.MUTUAL_REQUIRED);
    // Short token: 60 0f 06 09 <oid> 03 00 <body>.
    const small = Gss.wrapInitialToken(Gss.GSS_TOK_ID.KRB_ERROR, Buffer.from('ab'));
    expect(small.toString('hex')).toBe('600f06092a864886f712010202' + '0300' + '6162');
    expect(Gss.unwrapInitialToken(small).tokId).toBe(Gss.GSS_TOK_ID.KRB_ERROR);
  });

  it('rejects malformed tokens', () => {
    const small = Gss.wrapInitialToken(Gss.GSS_TOK_ID.AP_REP, Buffer.from('ab'));
    expectProtocolError(() => Gss.unwrapInitialToken(Buffer.concat([small, hex('00')])), /trailing/);
    expectProtocolError(() => Gss.unwrapInitialToken(small.subarray(0, small.length - 1)), /runs past/);
    expectProtocolError(() => Gss.unwrapInitialToken(hex('600c06092a864886f712010202 01')), /truncated TOK_ID/);
    expectProtocolError(() => Gss.unwrapInitialToken(hex('6002 0500')), /mechanism OID/);
    const spnego = derTlv(DER_CLASS.APPLICATION, true, 0, [derOid('1.3.6.1.5.5.2'), hex('0100')]);
    expectProtocolError(() => Gss.unwrapInitialToken(spnego), /mechanism 1.3.6.1.5.5.2/);
    expect(Gss.unwrapInitialToken(spnego, null).oid).toBe('1.3.6.1.5.5.2');
    expect(() => Gss.wrapInitialToken(0x10000, Buffer.alloc(0))).toThrow(ProtocolError);
  });
});

// ---------------------------------------------------------------- MIT interop

const KINIT = '/usr/bin/kinit';
const KVNO = '/usr/bin/kvno';

/** Runs a command to completion with `input` on stdin. */
function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(input);
    setTimeout(() => p.kill('SIGKILL'), 20000).unref();
  });
}

describe.skipIf(!existsSync(KINIT))('interop with MIT kinit (a fake KDC built from these encoders)', () => {
  it('decodes kinit\'s AS-REQs byte-exactly and kinit understands our KRB-ERRORs and ETYPE-INFO2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krb5-msg-'));
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      const port = sock.address().port;
      const realm = 'SSHWIRE.TEST';
      writeFileSync(
        join(dir, 'krb5.conf'),
        `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n` +
          `[realms]\n ${realm} = {\n  kdc = 127.0.0.1:${port}\n }\n`,
      );
      const requests: ReturnType<typeof Kdc.decodeKdcReq>[] = [];
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      const failures: unknown[] = [];
      sock.on('message', (msg, rinfo) => {
        let req: ReturnType<typeof Kdc.decodeKdcReq>;
        try {
          req = Kdc.decodeKdcReq(msg);
          // MIT writes DER, so our encoding of what we decoded is the same bytes.
          if (!Kdc.encodeKdcReq(req).equals(msg)) throw new Error('re-encoded AS-REQ differs from kinit\'s');
        } catch (e) {
          failures.push(e);
          return;
        }
        requests.push(req);
        const base = { stime: now, susec: 0, realm, sname: req.reqBody.sname!, ...(req.reqBody.cname ? { cname: req.reqBody.cname, crealm: realm } : {}) };
        const reply =
          requests.length === 1
            ? // KDC_ERR_PREAUTH_REQUIRED with our METHOD-DATA: kinit must answer with an encrypted timestamp of our etype.
              Kdc.encodeKrbError({
                ...base,
                errorCode: 25,
                eData: Asn1.encodePaDataList([
                  { type: PA.ETYPE_INFO2, value: Kdc.encodeEtypeInfo2([{ etype: 17, salt: 'custom-salt' }]) },
                  { type: PA.ENC_TIMESTAMP, value: Buffer.alloc(0) },
                ]),
              })
            : // Then KDC_ERR_C_PRINCIPAL_UNKNOWN with text.
              Kdc.encodeKrbError({ ...base, errorCode: 6, eText: 'no such user here' });
        sock.send(reply, rinfo.port, rinfo.address);
      });
      const env = { ...process.env, KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5_TRACE: '/dev/null' };
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const p = spawn(KINIT, [`alice@${realm}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.stdout.on('data', () => {});
        p.on('error', reject);
        p.on('close', (c) => resolve({ code: c, stderr: err }));
        p.stdin.end('secret\n');
        setTimeout(() => p.kill('SIGKILL'), 15000).unref();
      });
      expect(failures).toEqual([]);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/not found in Kerberos database/);
      expect(requests.length).toBe(2);
      const [first, second] = requests as [(typeof requests)[0], (typeof requests)[0]];
      expect(first.msgType).toBe(KRB_MSG.AS_REQ);
      expect(first.reqBody.cname).toEqual({ nameType: NT.PRINCIPAL, nameString: ['alice'] });
      expect(first.reqBody.sname).toEqual({ nameType: NT.SRV_INST, nameString: ['krbtgt', realm] });
      expect(first.reqBody.realm).toBe(realm);
      expect(first.reqBody.etype).toContain(17);
      expect(first.reqBodyRaw).toEqual(Kdc.encodeKdcReqBody(first.reqBody));
      const ts = second.padata?.find((p) => p.type === PA.ENC_TIMESTAMP);
      expect(ts).toBeDefined();
      expect(Asn1.decodeEncryptedData(ts!.value).etype).toBe(17);
    } finally {
      sock.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});

describe.skipIf(!kdcAvailable() || !existsSync(KVNO))('interop with a real MIT KDC (through a recording UDP relay)', () => {
  it('decodes and re-encodes byte-exactly every AS and TGS message kinit, kvno and krb5kdc exchange', async () => {
    const kdc = await startKdc();
    const relay = createSocket('udp4');
    try {
      const realm = kdc.realm;
      const kdcPort = kdc.port;
      await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
      // The tools talk to the relay (UDP only); the relay forwards to the KDC.
      const relayConf = join(kdc.dir, 'krb5-relay.conf');
      writeFileSync(
        relayConf,
        `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n` +
          ` udp_preference_limit = 4000\n[realms]\n ${realm} = {\n  kdc = 127.0.0.1:${relay.address().port}\n }\n`,
      );
      const env = { ...process.env, ...kdc.env, KRB5_CONFIG: relayConf, KRB5CCNAME: `FILE:${join(kdc.dir, 'ccache')}` };
      kdc.addPrincipal('alice', 'secret');
      kdc.addPrincipal('host/server.test');

      // The relay: each request goes to the KDC from a fresh socket, and the reply goes back to its sender.
      const seen: { request: Buffer; reply?: Buffer }[] = [];
      relay.on('message', (msg, client) => {
        const entry: { request: Buffer; reply?: Buffer } = { request: msg };
        seen.push(entry);
        const up = createSocket('udp4');
        up.on('message', (reply) => {
          entry.reply = reply;
          relay.send(reply, client.port, client.address);
          up.close();
        });
        up.send(msg, kdcPort, '127.0.0.1');
      });
      const kinit = await runTool(KINIT, ['-f', `alice@${realm}`], env, 'secret\n');
      expect(kinit.code, kinit.out).toBe(0);
      const kvno = await runTool(KVNO, [`host/server.test@${realm}`], env);
      expect(kvno.code, kvno.out).toBe(0);

      const types: number[] = [];
      for (const { request, reply } of seen) {
        for (const der of reply ? [request, reply] : [request]) {
          const type = Kdc.peekKrbMessageType(der);
          types.push(type);
          switch (type) {
            case KRB_MSG.AS_REQ:
            case KRB_MSG.TGS_REQ: {
              const req = Kdc.decodeKdcReq(der);
              expect(Kdc.encodeKdcReq(req)).toEqual(der);
              expect(der.includes(req.reqBodyRaw)).toBe(true);
              for (const pa of req.padata ?? []) {
                if (pa.type === PA.TGS_REQ) {
                  // MIT's AP-REQ, with the ticket our KDC issued.
                  const apReq = Ap.decodeApReq(pa.value);
                  expect(Ap.encodeApReq(apReq)).toEqual(pa.value);
                  expect(apReq.ticket.sname).toEqual({ nameType: NT.SRV_INST, nameString: ['krbtgt', realm] });
                }
              }
              break;
            }
            case KRB_MSG.AS_REP:
            case KRB_MSG.TGS_REP: {
              const rep = Kdc.decodeKdcRep(der);
              expect(Kdc.encodeKdcRep(rep)).toEqual(der);
              expect(rep.cname).toEqual({ nameType: NT.PRINCIPAL, nameString: ['alice'] });
              expect(rep.ticket.encPart.kvno).toBeGreaterThan(0);
              expect(Ap.decodeTicket(rep.ticket.raw)).toEqual(rep.ticket);
              break;
            }
            case KRB_MSG.KRB_ERROR: {
              const err = Kdc.decodeKrbError(der);
              expect(Kdc.encodeKrbError(err)).toEqual(der);
              expect(err.errorCode).toBe(25); // KDC_ERR_PREAUTH_REQUIRED
              const methods = Asn1.decodePaDataList(err.eData!);
              const info = methods.find((m) => m.type === PA.ETYPE_INFO2);
              expect(Kdc.decodeEtypeInfo2(info!.value)[0]).toMatchObject({ etype: 18, salt: `${realm}alice` });
              break;
            }
            default:
              throw new Error(`unexpected message type ${type}`);
          }
        }
      }
      expect(types).toEqual([KRB_MSG.AS_REQ, KRB_MSG.KRB_ERROR, KRB_MSG.AS_REQ, KRB_MSG.AS_REP, KRB_MSG.TGS_REQ, KRB_MSG.TGS_REP]);
    } finally {
      relay.close();
      await kdc.stop();
    }
  }, 60000);
});
