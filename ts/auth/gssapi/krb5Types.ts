/**
 * Kerberos 5 messages (RFC 4120 section 5) as plain structures. The DER
 * encoding and decoding of each lives in krb5Asn1.ts, krb5KdcMessages.ts
 * and krb5ApMessages.ts; the protocol logic (KDC exchange, GSS-API
 * context) works on these types only.
 *
 * Conventions: times are JavaScript Dates (KerberosTime has whole seconds;
 * microseconds travel beside them where the message has them); flags
 * (KDCOptions, APOptions, TicketFlags) are 32-bit unsigned numbers with
 * RFC 4120's bit 0 as the most significant bit (0x80000000); byte strings
 * are Buffers.
 */

/** RFC 4120 7.5.8 name types used here. */
export const NT = { UNKNOWN: 0, PRINCIPAL: 1, SRV_INST: 2, SRV_HST: 3 } as const;

/** RFC 4120 7.5.7 message types. */
export const KRB_MSG = {
  AS_REQ: 10,
  AS_REP: 11,
  TGS_REQ: 12,
  TGS_REP: 13,
  AP_REQ: 14,
  AP_REP: 15,
  KRB_CRED: 22,
  KRB_ERROR: 30,
} as const;

/** Key usage numbers (RFC 4120 7.5.1, RFC 4121 2): each encryption and checksum is keyed for its purpose. */
export const KEY_USAGE = {
  TICKET: 2,
  TGS_REQ_AUTH_CKSUM: 6,
  TGS_REQ_AUTH: 7,
  TGS_REP_ENC_SESSION: 8,
  AP_REQ_AUTH: 11,
  AP_REP_ENC: 12,
  KRB_CRED: 14,
  GSS_ACCEPTOR_SIGN: 23,
  GSS_INITIATOR_SIGN: 25,
} as const;

/** RFC 4120 7.5.2 pre-authentication data types used here. */
export const PA = { TGS_REQ: 1, ENC_TIMESTAMP: 2, ETYPE_INFO2: 19 } as const;

/** Bit `n` of a Kerberos flags field (bit 0 is the most significant). */
export const krbFlag = (n: number): number => (0x80000000 >>> n) >>> 0;

/** KDCOptions bits (RFC 4120 5.4.1). */
export const KDC_OPT = {
  FORWARDABLE: krbFlag(1),
  FORWARDED: krbFlag(2),
  PROXIABLE: krbFlag(3),
  RENEWABLE: krbFlag(8),
  CANONICALIZE: krbFlag(15),
  RENEWABLE_OK: krbFlag(27),
} as const;

/** APOptions bits (RFC 4120 5.5.1). */
export const AP_OPT = { USE_SESSION_KEY: krbFlag(1), MUTUAL_REQUIRED: krbFlag(2) } as const;

/** TicketFlags bits (RFC 4120 5.3). */
export const TKT_FLAG = { FORWARDABLE: krbFlag(1), FORWARDED: krbFlag(2), OK_AS_DELEGATE: krbFlag(13) } as const;

export interface PrincipalName {
  nameType: number;
  /** Components, e.g. ['host', 'server.example.com'] or ['alice']. */
  nameString: string[];
}

export interface EncryptionKey {
  keytype: number;
  keyvalue: Buffer;
}

export interface EncryptedData {
  etype: number;
  kvno?: number;
  cipher: Buffer;
}

export interface Checksum {
  cksumtype: number;
  checksum: Buffer;
}

export interface PaData {
  type: number;
  value: Buffer;
}

/** A host address (RFC 4120 5.2.5); addrType 2 is IPv4, 24 IPv6. */
export interface HostAddress {
  addrType: number;
  address: Buffer;
}

/** Opaque authorization data entries (RFC 4120 5.2.6), carried through unchanged. */
export interface AuthorizationDataEntry {
  adType: number;
  adData: Buffer;
}

/** [APPLICATION 1] Ticket. `raw` is its exact DER, which is what gets re-sent. */
export interface Ticket {
  realm: string;
  sname: PrincipalName;
  encPart: EncryptedData;
  raw: Buffer;
}

/** [APPLICATION 3] EncTicketPart: what a service decrypts from a ticket with its long-term key. */
export interface EncTicketPart {
  flags: number;
  key: EncryptionKey;
  crealm: string;
  cname: PrincipalName;
  transited: { trType: number; contents: Buffer };
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  caddr?: HostAddress[];
  authorizationData?: AuthorizationDataEntry[];
}

/** KDC-REQ-BODY (RFC 4120 5.4.1). */
export interface KdcReqBody {
  kdcOptions: number;
  cname?: PrincipalName;
  realm: string;
  sname?: PrincipalName;
  from?: Date;
  till: Date;
  rtime?: Date;
  nonce: number;
  etype: number[];
  addresses?: HostAddress[];
  additionalTickets?: Ticket[];
}

/** AS-REQ or TGS-REQ. */
export interface KdcReq {
  msgType: typeof KRB_MSG.AS_REQ | typeof KRB_MSG.TGS_REQ;
  padata?: PaData[];
  reqBody: KdcReqBody;
}

/** AS-REP or TGS-REP. */
export interface KdcRep {
  msgType: typeof KRB_MSG.AS_REP | typeof KRB_MSG.TGS_REP;
  padata?: PaData[];
  crealm: string;
  cname: PrincipalName;
  ticket: Ticket;
  encPart: EncryptedData;
}

/** EncASRepPart [APPLICATION 25] / EncTGSRepPart [APPLICATION 26]. */
export interface EncKdcRepPart {
  key: EncryptionKey;
  lastReq: { lrType: number; lrValue: Date }[];
  nonce: number;
  keyExpiration?: Date;
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  srealm: string;
  sname: PrincipalName;
  caddr?: HostAddress[];
}

/** [APPLICATION 14] AP-REQ. */
export interface ApReq {
  apOptions: number;
  ticket: Ticket;
  authenticator: EncryptedData;
}

/** [APPLICATION 2] Authenticator. */
export interface Authenticator {
  crealm: string;
  cname: PrincipalName;
  cksum?: Checksum;
  cusec: number;
  ctime: Date;
  subkey?: EncryptionKey;
  seqNumber?: number;
  authorizationData?: AuthorizationDataEntry[];
}

/** [APPLICATION 15] AP-REP. */
export interface ApRep {
  encPart: EncryptedData;
}

/** [APPLICATION 27] EncAPRepPart. */
export interface EncApRepPart {
  ctime: Date;
  cusec: number;
  subkey?: EncryptionKey;
  seqNumber?: number;
}

/** [APPLICATION 30] KRB-ERROR. */
export interface KrbError {
  ctime?: Date;
  cusec?: number;
  stime: Date;
  susec: number;
  errorCode: number;
  crealm?: string;
  cname?: PrincipalName;
  realm: string;
  sname: PrincipalName;
  eText?: string;
  eData?: Buffer;
}

/** KrbCredInfo (RFC 4120 5.8.1). */
export interface KrbCredInfo {
  key: EncryptionKey;
  prealm?: string;
  pname?: PrincipalName;
  flags?: number;
  authtime?: Date;
  starttime?: Date;
  endtime?: Date;
  renewTill?: Date;
  srealm?: string;
  sname?: PrincipalName;
  caddr?: HostAddress[];
}

/** [APPLICATION 22] KRB-CRED: forwarded credentials. */
export interface KrbCred {
  tickets: Ticket[];
  encPart: EncryptedData;
}

/** [APPLICATION 29] EncKrbCredPart. */
export interface EncKrbCredPart {
  ticketInfo: KrbCredInfo[];
  nonce?: number;
  timestamp?: Date;
  usec?: number;
}

/** A credential as a credential cache holds it (and as a KDC exchange yields it). */
export interface Krb5Credential {
  client: { realm: string; name: PrincipalName };
  server: { realm: string; name: PrincipalName };
  key: EncryptionKey;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  /** TicketFlags. */
  flags: number;
  /** The ticket's DER (what goes into AP-REQs and KRB-CREDs). */
  ticket: Buffer;
}

/** One keytab entry (a service's long-term key). */
export interface KeytabEntry {
  principal: { realm: string; name: PrincipalName };
  kvno: number;
  key: EncryptionKey;
  timestamp: Date;
}
