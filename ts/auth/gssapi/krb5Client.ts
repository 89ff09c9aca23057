/**
 * The client's Kerberos 5 GSS-API mechanism for gssapi-with-mic: reads the
 * user's credential cache (KRB5CCNAME, else /tmp/krb5cc_<uid>) and
 * krb5.conf (KRB5_CONFIG, else /etc/krb5.conf), gets a ticket for
 * host/<host>@<realm> from the KDC, optionally a forwarded TGT to delegate,
 * and makes the context. Nothing is written to the cache.
 */
import { lookup, lookupService } from 'node:dns/promises';
import net from 'node:net';
import { krb5Enctype } from '../../crypto/krb5/index.js';
import { SSHException } from '../../errors.js';
import { checkDuration, type GssKexOptions } from '../../transport/index.js';
import type { GssClientContext, GssClientMechanism } from '../client.js';
import { readCcache, resolveCcacheFile } from './ccache.js';
import { kdcAddresses, loadKrb5Config, realmForHost } from './krb5Config.js';
import { Krb5Error } from './krb5Errors.js';
import { Krb5Initiator } from './krb5Mech.js';
import { encodeEncKrbCredPart, encodeKrbCred, decodeTicket } from './krb5ApMessages.js';
import { encodeMechOid } from './gssToken.js';
import { KEY_USAGE, NT, type Krb5Credential } from './krb5Types.js';
import { hostServicePrincipal } from './principal.js';
import { getServiceCredential } from './tgs.js';


/**
 * Options of `krb5ClientMechanism` and `krb5KexOptions`: which host to get a
 * Kerberos ticket for, and whether to delegate (Paramiko's `gss_*` connect options).
 */
export interface Krb5ClientOptions {
  /** The host whose host/ principal to ask a ticket for. */
  host: string;
  /** Delegate a forwarded TGT to the server (Paramiko's gss_deleg_creds, ssh's GSSAPIDelegateCredentials). */
  delegate?: boolean;
  /**
   * Canonicalize `host` through the resolver before making the principal
   * (Paramiko's gss_trust_dns; default true). krb5.conf's
   * dns_canonicalize_hostname = false turns it off too.
   */
  trustDns?: boolean;
  /** Environment to read KRB5CCNAME / KRB5_CONFIG from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Milliseconds for the KDC exchanges, 0 to 2^31-1. Default 10 000; 0 = no
   * limit. Another value is refused with SSHException ERR_SSH_BAD_OPTION
   * (thrown by `krb5ClientMechanism`, a rejection of `krb5KexOptions*`).
   */
  timeout?: number;
  /** Aborts the KDC exchanges; takes precedence over a signal passed to `createContext`. */
  signal?: AbortSignal;
}

/** The host name the service principal is made from. */
async function canonicalHost(host: string, trustDns: boolean): Promise<string> {
  if (!trustDns || net.isIP(host)) return host;
  try {
    // Node does not expose getaddrinfo's canonical name; the name the
    // address maps back to (getnameinfo: /etc/hosts, then DNS) is what MIT's
    // default rdns = true settles on too.
    const { address } = await lookup(host);
    const { hostname } = await lookupService(address, 22);
    return hostname && !net.isIP(hostname) ? hostname : host;
  } catch {
    return host;
  }
}

/** KRB-CRED carrying `fwd` (a forwarded TGT), encrypted with the service session key (RFC 4121 4.1.1.1). */
function krbCredFor(fwd: Krb5Credential, service: Krb5Credential): Buffer {
  const e = krb5Enctype(service.key.keytype);
  if (!e) throw new Krb5Error(`encryption type ${service.key.keytype} is not supported`);
  const part = encodeEncKrbCredPart({
    ticketInfo: [
      {
        key: fwd.key,
        prealm: fwd.client.realm,
        pname: fwd.client.name,
        flags: fwd.flags,
        authtime: fwd.authtime,
        ...(fwd.starttime ? { starttime: fwd.starttime } : {}),
        endtime: fwd.endtime,
        ...(fwd.renewTill ? { renewTill: fwd.renewTill } : {}),
        srealm: fwd.server.realm,
        sname: fwd.server.name,
      },
    ],
  });
  return encodeKrbCred({ tickets: [decodeTicket(fwd.ticket)], encPart: { etype: e.etype, cipher: e.encrypt(service.key.keyvalue, KEY_USAGE.KRB_CRED, part) } });
}

/** Gets the service ticket (and, to delegate, a forwarded TGT in a KRB-CRED) for `options.host`. */
async function credentialsFor(options: Krb5ClientOptions, signal?: AbortSignal): Promise<{ service: Krb5Credential; delegation?: Buffer }> {
  const env = options.env ?? process.env;
  const config = await loadKrb5Config(env);
  const cache = await readCcache(await resolveCcacheFile(env));
  const host = await canonicalHost(options.host, (options.trustDns ?? true) && config.dnsCanonicalizeHostname);
  const realm = realmForHost(config, host) ?? cache.defaultPrincipal.realm;
  const abort = options.signal ?? signal;
  const tgsOptions = {
    kdcs: kdcAddresses(config, realm),
    clockskew: config.clockskew,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(abort ? { signal: abort } : {}),
  };
  const service = await getServiceCredential(cache, hostServicePrincipal('host', host, realm), tgsOptions);
  if (!options.delegate) return { service };
  const krbtgt = { realm, name: { nameType: NT.SRV_INST, nameString: ['krbtgt', realm] } };
  return { service, delegation: krbCredFor(await getServiceCredential(cache, krbtgt, { ...tgsOptions, forwardedTgt: true }), service) };
}

/** Refuses a bad `timeout` up front: later, a failed ticket fetch only means the method is not offered. */
function checkClientOptions(options: Krb5ClientOptions): void {
  checkDuration('timeout', options?.timeout, { zero: 'no limit' });
}

/** The Kerberos 5 mechanism for `UserAuthClient.gssapiWithMic` / `authenticateClient({ gssapi })`. */
export function krb5ClientMechanism(options: Krb5ClientOptions): GssClientMechanism {
  checkClientOptions(options);
  return {
    oid: encodeMechOid(),
    async createContext(signal?: AbortSignal): Promise<GssClientContext> {
      const { service, delegation } = await credentialsFor(options, signal);
      return new Krb5Initiator(service, delegation ? { delegation } : {});
    },
  };
}

/**
 * GSS-API key exchange with Kerberos 5 (the transport's `gssKex`): the
 * tickets are fetched now, before the connection's first KEXINIT (so a
 * client without them offers no gss-* methods), and each exchange, rekeys
 * included, makes a fresh context from them.
 */
export async function krb5KexOptions(options: Krb5ClientOptions): Promise<GssKexOptions> {
  checkClientOptions(options);
  const { service, delegation } = await credentialsFor(options);
  return { oid: encodeMechOid(), initiator: () => new Krb5Initiator(service, delegation ? { delegation } : {}) };
}

/** krb5KexOptions when Kerberos tickets are at hand; without them undefined, so no gss-* method is offered (as ssh does). */
export async function krb5KexOptionsIfAvailable(options: Krb5ClientOptions, debug?: (m: string) => void): Promise<GssKexOptions | undefined> {
  // A bad option is the caller's mistake, not a missing ticket: it rejects.
  checkClientOptions(options);
  try {
    return await krb5KexOptions(options);
  } catch (err) {
    if (!(err instanceof SSHException)) throw err;
    debug?.(`GSS-API key exchange not offered: ${err.message}`);
    return undefined;
  }
}
