/**
 * The Kerberos 5 GSS-API mechanism (RFC 1964 for context tokens, RFC 4121
 * for per-message tokens) as far as SSH's gssapi-with-mic needs it: one
 * AP-REQ / AP-REP round trip to establish a context with mutual
 * authentication, then MIC tokens. Both roles.
 *
 * Keys: the initiator always sends a subkey; the acceptor here sends none,
 * so MICs use the initiator's subkey (RFC 4121 section 2). Against an
 * acceptor that does send one (MIT's), the initiator uses the acceptor's.
 */
import { randomBytes } from 'node:crypto';
import { krb5Enctype, type Krb5Enctype } from '../../crypto/krb5/index.js';
import { fromKrbError, Krb5Error, KRB_ERR } from './krb5Errors.js';
import {
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  decodeEncTicketPart,
  decodeTicket,
  encodeApRep,
  encodeApReq,
  encodeAuthenticator,
  encodeEncApRepPart,
} from './krb5ApMessages.js';
import { unwrapInitialToken, wrapInitialToken } from './gssToken.js';
import { decodeKrbError } from './krb5KdcMessages.js';
import { AP_OPT, KEY_USAGE, type EncryptionKey, type KeytabEntry, type Krb5Credential } from './krb5Types.js';
import { formatPrincipal, type Principal } from './principal.js';
import { ReplayCache } from './replayCache.js';

/** RFC 1964 1.1 token identifiers. */
export const TOK = { AP_REQ: 0x0100, AP_REP: 0x0200, ERROR: 0x0300, MIC: 0x0404 } as const;
/** GSS-API context flags (RFC 2744), as carried in the 0x8003 checksum. */
export const GSS_FLAG = { DELEG: 1, MUTUAL: 2, REPLAY: 4, SEQUENCE: 8, CONF: 16, INTEG: 32 } as const;
/** The authenticator checksum type that carries GSS-API data (RFC 4121 4.1.1). */
const GSS_CHECKSUM_TYPE = 0x8003;
/** MIC token flags (RFC 4121 4.2.2). */
const MIC_FLAG = { SENT_BY_ACCEPTOR: 1, ACCEPTOR_SUBKEY: 4 } as const;
const MIC_HEADER = 16;

function enctypeFor(key: EncryptionKey, what: string): Krb5Enctype {
  const e = krb5Enctype(key.keytype);
  if (!e) throw new Krb5Error(`${what}: encryption type ${key.keytype} is not supported`);
  return e;
}

/** The 16-byte MIC header: TOK_ID 04 04, flags, five 0xFF fillers, 64-bit sequence number. */
function micHeader(flags: number, seq: number): Buffer {
  const h = Buffer.alloc(MIC_HEADER, 0xff);
  h.writeUInt16BE(TOK.MIC, 0);
  h[2] = flags;
  h.writeUInt32BE(0, 8);
  h.writeUInt32BE(seq >>> 0, 12);
  return h;
}

/**
 * Whether `mic` is a valid MIC token over `message` from the other side:
 * its TOK_ID and fillers, the sender flag `fromAcceptor`, and the checksum
 * with `keyFor(flags)` (null: the flags name a key this context does not have).
 */
function checkMic(message: Uint8Array, mic: Uint8Array, fromAcceptor: boolean, usage: number, keyFor: (flags: number) => EncryptionKey | null): boolean {
  if (mic.length < MIC_HEADER) return false;
  const m = Buffer.from(mic.buffer, mic.byteOffset, mic.byteLength);
  if (m.readUInt16BE(0) !== TOK.MIC) return false;
  const flags = m[2]!;
  if (((flags & MIC_FLAG.SENT_BY_ACCEPTOR) !== 0) !== fromAcceptor) return false;
  for (let i = 3; i < 8; i++) if (m[i] !== 0xff) return false;
  const key = keyFor(flags);
  if (!key) return false;
  const header = m.subarray(0, MIC_HEADER);
  return enctypeFor(key, 'MIC').verifyChecksum(key.keyvalue, usage, Buffer.concat([message, header]), m.subarray(MIC_HEADER));
}

function makeMic(key: EncryptionKey, usage: number, flags: number, seq: number, message: Uint8Array): Buffer {
  const e = enctypeFor(key, 'MIC');
  const header = micHeader(flags, seq);
  return Buffer.concat([header, e.checksum(key.keyvalue, usage, Buffer.concat([message, header]))]);
}

/**
 * The checksum field of a GSS authenticator (RFC 4121 4.1.1): length of the
 * channel-binding hash (16), the hash (zeros: SSH uses no channel bindings),
 * the flags, and, when delegating, the KRB-CRED.
 */
function gssChecksum(flags: number, deleg?: Buffer): Buffer {
  const b = Buffer.alloc(24 + (deleg ? 4 + deleg.length : 0));
  b.writeUInt32LE(16, 0);
  b.writeUInt32LE(flags, 20);
  if (deleg) {
    b.writeUInt16LE(1, 24);
    b.writeUInt16LE(deleg.length, 26);
    deleg.copy(b, 28);
  }
  return b;
}

function kerberosNow(now: Date): { ctime: Date; cusec: number } {
  const ms = now.getTime();
  return { ctime: new Date(Math.floor(ms / 1000) * 1000), cusec: (ms % 1000) * 1000 + Math.floor(Math.random() * 1000) };
}

const randomSeq = (): number => randomBytes(4).readUInt32BE(0) & 0x3fffffff;

/** Options for the initiator. */
export interface Krb5InitiatorOptions {
  /** A KRB-CRED to delegate (forwarded TGT), already encoded. */
  delegation?: Buffer;
  now?: () => Date;
}

/**
 * Client side: makes the AP-REQ token for `credential` (a service ticket),
 * checks the acceptor's AP-REP, then signs with getMic().
 */
export class Krb5Initiator {
  readonly #cred: Krb5Credential;
  readonly #subkey: EncryptionKey;
  readonly #ctime: Date;
  readonly #cusec: number;
  #seq: number;
  #micKey: EncryptionKey | null = null;
  #micFlags = 0;
  #acceptorSubkey: EncryptionKey | null = null;
  readonly #token: Buffer;

  constructor(credential: Krb5Credential, options: Krb5InitiatorOptions = {}) {
    this.#cred = credential;
    const session = enctypeFor(credential.key, 'the service ticket session key');
    this.#subkey = { keytype: session.etype, keyvalue: session.randomKey() };
    const { ctime, cusec } = kerberosNow(options.now?.() ?? new Date());
    this.#ctime = ctime;
    this.#cusec = cusec;
    this.#seq = randomSeq();
    let flags = GSS_FLAG.MUTUAL | GSS_FLAG.INTEG;
    if (options.delegation) flags |= GSS_FLAG.DELEG;
    const authenticator = encodeAuthenticator({
      crealm: credential.client.realm,
      cname: credential.client.name,
      cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: gssChecksum(flags, options.delegation) },
      cusec,
      ctime,
      subkey: this.#subkey,
      seqNumber: this.#seq,
    });
    const apReq = encodeApReq({
      apOptions: AP_OPT.MUTUAL_REQUIRED,
      ticket: decodeTicket(credential.ticket),
      authenticator: { etype: session.etype, cipher: session.encrypt(credential.key.keyvalue, KEY_USAGE.AP_REQ_AUTH, authenticator) },
    });
    this.#token = wrapInitialToken(TOK.AP_REQ, apReq);
  }

  /** The context-establishment token to send first. */
  get initialToken(): Buffer {
    return this.#token;
  }

  /** Whether the acceptor's reply has been checked. */
  get established(): boolean {
    return this.#micKey !== null;
  }

  /** Checks the acceptor's AP-REP token (or throws the KRB-ERROR it carries). */
  acceptReply(token: Uint8Array): void {
    if (this.established) throw new Krb5Error('a second context token from the acceptor');
    const { tokId, body } = unwrapInitialToken(token);
    const server = formatPrincipal(this.#cred.server);
    if (tokId === TOK.ERROR) throw fromKrbError(`${server} refused the ticket`, decodeKrbError(body));
    if (tokId !== TOK.AP_REP) throw new Krb5Error(`${server} answered with token type 0x${tokId.toString(16)} instead of AP-REP`);
    const session = enctypeFor(this.#cred.key, 'AP-REP');
    const rep = decodeApRep(body);
    const part = decodeEncApRepPart(session.decrypt(this.#cred.key.keyvalue, KEY_USAGE.AP_REP_ENC, rep.encPart.cipher));
    // Mutual authentication: only the service could have echoed our timestamp under the session key.
    if (part.ctime.getTime() !== this.#ctime.getTime() || part.cusec !== this.#cusec) {
      throw new Krb5Error(`${server}'s AP-REP does not echo our authenticator's time: mutual authentication failed`, KRB_ERR.KRB_AP_ERR_MODIFIED);
    }
    if (part.subkey) enctypeFor(part.subkey, 'the acceptor subkey');
    this.#acceptorSubkey = part.subkey ?? null;
    this.#micKey = part.subkey ?? this.#subkey;
    this.#micFlags = part.subkey ? MIC_FLAG.ACCEPTOR_SUBKEY : 0;
  }

  /** Whether `mic` is the acceptor's valid MIC token over `message` (GSS key exchange: the MIC over H). */
  verifyMic(message: Uint8Array, mic: Uint8Array): boolean {
    if (!this.#micKey) return false;
    return checkMic(message, mic, true, KEY_USAGE.GSS_ACCEPTOR_SIGN, (flags) =>
      flags & MIC_FLAG.ACCEPTOR_SUBKEY ? this.#acceptorSubkey : this.#acceptorSubkey ? null : this.#subkey,
    );
  }

  /** A MIC token over `message` (RFC 4121 4.2.6.1). */
  getMic(message: Uint8Array): Buffer {
    if (!this.#micKey) throw new Krb5Error('getMic before the security context is established');
    return makeMic(this.#micKey, KEY_USAGE.GSS_INITIATOR_SIGN, this.#micFlags, this.#seq++, message);
  }
}

/** Options for the acceptor. */
export interface Krb5AcceptorOptions {
  /** Only accept tickets for this principal (e.g. host/server.example.com@REALM); default any key in the keytab. */
  principal?: Principal;
  /** Allowed clock difference in seconds. Default 300. */
  clockskew?: number;
  now?: () => Date;
  /** Where authenticators seen are remembered; default a process-wide cache. */
  replayCache?: ReplayCache;
}

/** What the acceptor learned from an accepted context. */
export interface AcceptedContext {
  /** The authenticated client, e.g. alice@EXAMPLE.COM. */
  client: Principal;
  /** The service principal the ticket was for. */
  server: Principal;
  /** GSS flags the initiator asked for. */
  flags: number;
  /** The KRB-CRED the initiator delegated, undecrypted, when it did. */
  delegation: Buffer | null;
  /** The ticket session key and the initiator's subkey, to read `delegation` with. */
  sessionKey: EncryptionKey;
  subkey: EncryptionKey | null;
  /** The AP-REP token to send back (null when mutual authentication was not asked for). */
  replyToken: Buffer | null;
}

const defaultReplayCache = new ReplayCache();

/**
 * Service side: accepts an AP-REQ token with a key from `keytab`, then
 * verifies the initiator's MIC. Failures are Krb5Error with the RFC 4120
 * code that fits (no key, expired ticket, clock skew, replay, ...).
 */
export class Krb5Acceptor {
  readonly #keytab: readonly KeytabEntry[];
  readonly #options: Krb5AcceptorOptions;
  #micKey: EncryptionKey | null = null;
  #accepted: AcceptedContext | null = null;
  #seq = 0;

  constructor(keytab: readonly KeytabEntry[], options: Krb5AcceptorOptions = {}) {
    this.#keytab = keytab;
    this.#options = options;
  }

  get accepted(): AcceptedContext | null {
    return this.#accepted;
  }

  accept(token: Uint8Array): AcceptedContext {
    if (this.#accepted) throw new Krb5Error('a second context token from the initiator');
    const now = this.#options.now?.() ?? new Date();
    const skew = (this.#options.clockskew ?? 300) * 1000;
    const { tokId, body } = unwrapInitialToken(token);
    if (tokId !== TOK.AP_REQ) throw new Krb5Error(`expected an AP-REQ token, got type 0x${tokId.toString(16)}`, KRB_ERR.KRB_AP_ERR_MSG_TYPE);
    const req = decodeApReq(body);
    if (req.apOptions & AP_OPT.USE_SESSION_KEY) throw new Krb5Error('user-to-user tickets are not supported', KRB_ERR.KRB_AP_ERR_BADMATCH);
    const server: Principal = { realm: req.ticket.realm, name: req.ticket.sname };
    const want = this.#options.principal;
    if (want && formatPrincipal(want) !== formatPrincipal(server)) {
      throw new Krb5Error(`the ticket is for ${formatPrincipal(server)}, not ${formatPrincipal(want)}`, KRB_ERR.KRB_AP_ERR_NOT_US);
    }
    const enc = req.ticket.encPart;
    const entries = this.#keytab.filter((k) => k.key.keytype === enc.etype && formatPrincipal(k.principal) === formatPrincipal(server));
    if (entries.length === 0) throw new Krb5Error(`no key for ${formatPrincipal(server)} with encryption type ${enc.etype} in the keytab`, KRB_ERR.KRB_AP_ERR_NOKEY);
    const entry = enc.kvno === undefined ? entries.reduce((a, b) => (b.kvno > a.kvno ? b : a)) : entries.find((k) => k.kvno === enc.kvno);
    if (!entry) throw new Krb5Error(`the keytab has no key version ${enc.kvno} for ${formatPrincipal(server)}`, KRB_ERR.KRB_AP_ERR_BADKEYVER);
    const longTerm = enctypeFor(entry.key, 'the keytab key');
    const ticket = decodeEncTicketPart(longTerm.decrypt(entry.key.keyvalue, KEY_USAGE.TICKET, enc.cipher));
    const client: Principal = { realm: ticket.crealm, name: ticket.cname };
    const start = (ticket.starttime ?? ticket.authtime).getTime();
    if (start - skew > now.getTime()) throw new Krb5Error(`the ticket of ${formatPrincipal(client)} is not yet valid`, KRB_ERR.KRB_AP_ERR_TKT_NYV);
    if (ticket.endtime.getTime() + skew < now.getTime()) throw new Krb5Error(`the ticket of ${formatPrincipal(client)} has expired`, KRB_ERR.KRB_AP_ERR_TKT_EXPIRED);
    const session = enctypeFor(ticket.key, 'the ticket session key');
    if (req.authenticator.etype !== session.etype) throw new Krb5Error('the authenticator is not encrypted with the session key type', KRB_ERR.KRB_AP_ERR_BAD_INTEGRITY);
    const auth = decodeAuthenticator(session.decrypt(ticket.key.keyvalue, KEY_USAGE.AP_REQ_AUTH, req.authenticator.cipher));
    if (formatPrincipal({ realm: auth.crealm, name: auth.cname }) !== formatPrincipal(client)) {
      throw new Krb5Error('the authenticator names a different client than the ticket', KRB_ERR.KRB_AP_ERR_BADMATCH);
    }
    if (Math.abs(auth.ctime.getTime() - now.getTime()) > skew) throw new Krb5Error(`the client's clock differs from ours by more than ${skew / 1000} s`, KRB_ERR.KRB_AP_ERR_SKEW);
    const replayCache = this.#options.replayCache ?? defaultReplayCache;
    if (!replayCache.add(`${formatPrincipal(client)} ${formatPrincipal(server)} ${auth.ctime.getTime()} ${auth.cusec}`, auth.ctime.getTime() + skew, now.getTime())) {
      throw new Krb5Error(`a replayed authenticator from ${formatPrincipal(client)}`, KRB_ERR.KRB_AP_ERR_REPEAT);
    }
    const cksum = auth.cksum;
    if (!cksum || cksum.cksumtype !== GSS_CHECKSUM_TYPE || cksum.checksum.length < 24 || cksum.checksum.readUInt32LE(0) !== 16) {
      throw new Krb5Error('the authenticator has no GSS-API checksum', KRB_ERR.KRB_AP_ERR_INAPP_CKSUM);
    }
    const flags = cksum.checksum.readUInt32LE(20);
    let delegation: Buffer | null = null;
    if (flags & GSS_FLAG.DELEG && cksum.checksum.length >= 28 && cksum.checksum.readUInt16LE(24) === 1) {
      const len = cksum.checksum.readUInt16LE(26);
      if (28 + len > cksum.checksum.length) throw new Krb5Error('the delegated credentials run past the GSS-API checksum', KRB_ERR.KRB_AP_ERR_MODIFIED);
      delegation = Buffer.from(cksum.checksum.subarray(28, 28 + len));
    }
    if (auth.subkey) enctypeFor(auth.subkey, 'the initiator subkey');
    const mutual = (req.apOptions & AP_OPT.MUTUAL_REQUIRED) !== 0 || (flags & GSS_FLAG.MUTUAL) !== 0;
    this.#seq = randomSeq();
    const replyToken = mutual
      ? wrapInitialToken(
          TOK.AP_REP,
          encodeApRep({
            encPart: {
              etype: session.etype,
              cipher: session.encrypt(
                ticket.key.keyvalue,
                KEY_USAGE.AP_REP_ENC,
                encodeEncApRepPart({ ctime: auth.ctime, cusec: auth.cusec, seqNumber: this.#seq }),
              ),
            },
          }),
        )
      : null;
    this.#micKey = auth.subkey ?? ticket.key;
    this.#accepted = { client, server, flags, delegation, sessionKey: ticket.key, subkey: auth.subkey ?? null, replyToken };
    return this.#accepted;
  }

  /** Whether `mic` is the initiator's valid MIC token over `message`. */
  verifyMic(message: Uint8Array, mic: Uint8Array): boolean {
    const key = this.#micKey;
    // We send no acceptor subkey, so a token claiming one is not for this context.
    return key !== null && checkMic(message, mic, false, KEY_USAGE.GSS_INITIATOR_SIGN, (flags) => (flags & MIC_FLAG.ACCEPTOR_SUBKEY ? null : key));
  }

  /** Our MIC token over `message` (GSS key exchange: the MIC over H). */
  getMic(message: Uint8Array): Buffer {
    if (!this.#micKey) throw new Krb5Error('getMic before the security context is established');
    return makeMic(this.#micKey, KEY_USAGE.GSS_ACCEPTOR_SIGN, MIC_FLAG.SENT_BY_ACCEPTOR, this.#seq++, message);
  }

}
