/**
 * The ticket-granting exchange (RFC 4120 section 3.3): with the user's TGT
 * from the credential cache, ask the KDC for a ticket to a service (or, for
 * delegation, for a forwarded TGT). A ticket already in the cache and still
 * valid is used as is. The cache is only read, never rewritten: a second
 * connection asks the KDC again, which costs one round trip.
 */
import { randomBytes } from 'node:crypto';
import { KRB5_ENCTYPES, krb5Enctype, type Krb5Enctype } from '../../crypto/krb5/index.js';
import type { CredentialCache } from './ccache.js';
import { fromKrbError, Krb5Error } from './krb5Errors.js';
import { decodeTicket, encodeApReq, encodeAuthenticator } from './krb5ApMessages.js';
import { decodeEncKdcRepPart, decodeKdcRep, decodeKrbError, encodeKdcReq, encodeKdcReqBody, peekKrbMessageType } from './krb5KdcMessages.js';
import { KDC_OPT, KEY_USAGE, KRB_MSG, PA, TKT_FLAG, type KdcReqBody, type Krb5Credential } from './krb5Types.js';
import { sendToKdc, type KdcAddress, type KdcSendOptions } from './kdcTransport.js';
import { formatPrincipal, samePrincipal, type Principal } from './principal.js';


/** A credential must stay valid at least this long to be used (seconds). */
const MIN_LIFETIME = 60;

export interface TgsOptions extends KdcSendOptions {
  /** The realm's KDCs. */
  kdcs: readonly KdcAddress[];
  /** Allowed clock difference in seconds (krb5.conf clockskew). Default 300. */
  clockskew?: number;
  /** For tests: the current time. */
  now?: () => Date;
}

const credPrincipal = (c: Krb5Credential['client']): Principal => ({ realm: c.realm, name: c.name });

function usable(cred: Krb5Credential, now: Date): boolean {
  return cred.endtime.getTime() - now.getTime() > MIN_LIFETIME * 1000 && (cred.starttime ?? cred.authtime).getTime() <= now.getTime() + 300_000;
}

function enctypeOf(keytype: number, what: string): Krb5Enctype {
  const e = krb5Enctype(keytype);
  if (!e) throw new Krb5Error(`${what} uses encryption type ${keytype}, which sshwire does not support (supported: ${KRB5_ENCTYPES.join(', ')})`);
  return e;
}

/** The TGT for `realm` in the cache (krbtgt/realm@clientrealm), valid now. */
export function findTgt(cache: CredentialCache, realm: string, now: Date): Krb5Credential {
  const clientRealm = cache.defaultPrincipal.realm;
  const tgt = cache.credentials.find(
    (c) =>
      c.server.realm === clientRealm &&
      c.server.name.nameString.length === 2 &&
      c.server.name.nameString[0] === 'krbtgt' &&
      c.server.name.nameString[1] === realm &&
      samePrincipal(credPrincipal(c.client), cache.defaultPrincipal),
  );
  const who = formatPrincipal(cache.defaultPrincipal);
  if (!tgt) {
    if (realm !== clientRealm) throw new Krb5Error(`no ticket-granting ticket for realm ${realm} in the credential cache of ${who} (cross-realm authentication is not supported)`);
    throw new Krb5Error(`no ticket-granting ticket in the credential cache of ${who} (run kinit)`);
  }
  if (tgt.endtime.getTime() <= now.getTime()) throw new Krb5Error(`the ticket-granting ticket of ${who} expired at ${tgt.endtime.toISOString()} (run kinit)`);
  return tgt;
}

/**
 * A service ticket for `server`: from the cache when one is valid, else
 * from the KDC with the cache's TGT. With `forwardedTgt`, asks for a
 * forwarded TGT instead (`server` is then krbtgt/REALM), for delegation.
 */
export async function getServiceCredential(cache: CredentialCache, server: Principal, options: TgsOptions & { forwardedTgt?: boolean }): Promise<Krb5Credential> {
  const now = options.now?.() ?? new Date();
  if (!options.forwardedTgt) {
    const cached = cache.credentials.find((c) => samePrincipal(credPrincipal(c.server), server) && samePrincipal(credPrincipal(c.client), cache.defaultPrincipal) && usable(c, now));
    if (cached) return cached;
  }
  const tgt = findTgt(cache, server.realm, now);
  if (options.forwardedTgt && !(tgt.flags & TKT_FLAG.FORWARDABLE)) {
    throw new Krb5Error(`the ticket-granting ticket of ${formatPrincipal(cache.defaultPrincipal)} is not forwardable, so credentials cannot be delegated (kinit -f)`);
  }
  const tgtEnctype = enctypeOf(tgt.key.keytype, 'the ticket-granting ticket session key');
  const nonce = randomBytes(4).readUInt32BE(0) & 0x7fffffff;
  let kdcOptions = KDC_OPT.CANONICALIZE;
  if (tgt.flags & TKT_FLAG.FORWARDABLE) kdcOptions |= KDC_OPT.FORWARDABLE;
  if (options.forwardedTgt) kdcOptions |= KDC_OPT.FORWARDED;
  const body: KdcReqBody = {
    kdcOptions: kdcOptions >>> 0,
    realm: server.realm,
    sname: server.name,
    till: tgt.endtime,
    nonce,
    etype: [...KRB5_ENCTYPES],
  };
  const bodyDer = encodeKdcReqBody(body);
  const ctime = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const cusec = (now.getTime() % 1000) * 1000 + Math.floor(Math.random() * 1000);
  const authenticator = encodeAuthenticator({
    crealm: tgt.client.realm,
    cname: tgt.client.name,
    cksum: { cksumtype: tgtEnctype.checksumType, checksum: tgtEnctype.checksum(tgt.key.keyvalue, KEY_USAGE.TGS_REQ_AUTH_CKSUM, bodyDer) },
    cusec,
    ctime,
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: decodeTicket(tgt.ticket),
    authenticator: { etype: tgtEnctype.etype, cipher: tgtEnctype.encrypt(tgt.key.keyvalue, KEY_USAGE.TGS_REQ_AUTH, authenticator) },
  });
  const request = encodeKdcReq({ msgType: KRB_MSG.TGS_REQ, padata: [{ type: PA.TGS_REQ, value: apReq }], reqBody: body });
  const what = `asking the KDC of ${server.realm} for a ticket to ${formatPrincipal(server)}`;
  const reply = await sendToKdc(server.realm, request, options.kdcs, options);
  const type = peekKrbMessageType(reply);
  if (type === KRB_MSG.KRB_ERROR) throw fromKrbError(what, decodeKrbError(reply));
  if (type !== KRB_MSG.TGS_REP) throw new Krb5Error(`${what}: the KDC answered with message type ${type}`);
  const rep = decodeKdcRep(reply);
  const part = decodeEncKdcRepPart(tgtEnctype.decrypt(tgt.key.keyvalue, KEY_USAGE.TGS_REP_ENC_SESSION, rep.encPart.cipher));
  if (part.nonce !== nonce) throw new Krb5Error(`${what}: the reply's nonce does not match the request (a replayed or forged reply)`);
  enctypeOf(part.key.keytype, 'the service ticket session key');
  const client = { realm: rep.crealm, name: rep.cname };
  if (!samePrincipal(client, tgt.client)) throw new Krb5Error(`${what}: the reply is for ${formatPrincipal(client)}, not ${formatPrincipal(tgt.client)}`);
  return {
    client,
    server: { realm: part.srealm, name: part.sname },
    key: part.key,
    authtime: part.authtime,
    ...(part.starttime ? { starttime: part.starttime } : {}),
    endtime: part.endtime,
    ...(part.renewTill ? { renewTill: part.renewTill } : {}),
    flags: part.flags,
    ticket: rep.ticket.raw,
  };
}
