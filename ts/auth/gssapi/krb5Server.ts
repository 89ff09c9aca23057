/**
 * The server's Kerberos 5 GSS-API mechanism for gssapi-with-mic: tickets
 * are decrypted with keys from a keytab (KRB5_KTNAME, else
 * /etc/krb5.keytab, read at each attempt so rotated keys take effect), and
 * credentials a client delegates are written to a private credential cache
 * that lives until `dispose()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { krb5Enctype } from '../../crypto/krb5/index.js';
import { CryptoError } from '../../errors.js';
import type { GssKexAcceptor } from '../../transport/index.js';
import type { GssServerMechanism } from '../server.js';
import { writeCcache } from './ccache.js';
import { Krb5Error } from './krb5Errors.js';
import { Krb5Acceptor, type AcceptedContext } from './krb5Mech.js';
import { decodeEncKrbCredPart, decodeKrbCred } from './krb5ApMessages.js';
import { encodeMechOid } from './gssToken.js';
import { KEY_USAGE, type EncKrbCredPart, type Krb5Credential } from './krb5Types.js';
import { keytabPath, readKeytab } from './keytab.js';
import { formatPrincipal, parsePrincipal } from './principal.js';


/**
 * Options of `krb5ServerMechanism` (and of `listen({ gssapi })`): the keytab,
 * which service principal to accept tickets for, and delegated credentials.
 */
export interface Krb5ServerOptions {
  /** Keytab path; default KRB5_KTNAME (FILE: prefix dropped), else /etc/krb5.keytab. */
  keytab?: string;
  /**
   * Accept only tickets for this principal ("host/server.example.com" or
   * with "@REALM"); default any principal the keytab has a key for (sshd's
   * GSSAPIStrictAcceptorCheck no).
   */
  principal?: string;
  /** Allowed clock difference in seconds. Default 300. */
  clockskew?: number;
  /** Store credentials clients delegate (default true); a ccache path then reaches the policy and sessions. */
  storeDelegated?: boolean;
  /** Environment to read KRB5_KTNAME from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A Kerberos 5 server mechanism whose delegated-credential files are removed by dispose(). Its contexts also serve GSS-API key exchange. */
export interface Krb5ServerMechanism extends GssServerMechanism {
  /**
   * A fresh acceptor context for one gssapi-with-mic attempt or one GSS-API key
   * exchange, with the keytab read anew. Rejects with SSHException
   * (ERR_KRB5_NO_KEYTAB, ERR_KRB5_KEYTAB) when the keytab cannot be read.
   */
  createContext(): Promise<GssKexAcceptor>;
  /** Removes the credential caches written for delegated credentials. */
  dispose(): void;
}

/** The forwarded credentials in a KRB-CRED, decrypted with the subkey or the session key (MIT and Heimdal differ) or sent in the clear (etype 0). */
function readDelegation(krbCred: Buffer, accepted: AcceptedContext): Krb5Credential[] {
  const cred = decodeKrbCred(krbCred);
  let part: EncKrbCredPart | null = null;
  if (cred.encPart.etype === 0) {
    part = decodeEncKrbCredPart(cred.encPart.cipher);
  } else {
    for (const key of [accepted.subkey, accepted.sessionKey]) {
      const e = key && key.keytype === cred.encPart.etype ? krb5Enctype(key.keytype) : undefined;
      if (!e || !key) continue;
      try {
        part = decodeEncKrbCredPart(e.decrypt(key.keyvalue, KEY_USAGE.KRB_CRED, cred.encPart.cipher));
        break;
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
      }
    }
  }
  if (!part) throw new Krb5Error('the delegated credentials could not be decrypted');
  if (part.ticketInfo.length !== cred.tickets.length) throw new Krb5Error('the delegated credentials have a different number of tickets and keys');
  return cred.tickets.map((t, i) => {
    const info = part!.ticketInfo[i]!;
    const client = { realm: info.prealm ?? accepted.client.realm, name: info.pname ?? accepted.client.name };
    if (formatPrincipal(client) !== formatPrincipal(accepted.client)) throw new Krb5Error('the delegated credentials belong to another principal');
    const now = new Date();
    return {
      client,
      server: { realm: info.srealm ?? t.realm, name: info.sname ?? t.sname },
      key: info.key,
      authtime: info.authtime ?? info.starttime ?? now,
      ...(info.starttime ? { starttime: info.starttime } : {}),
      endtime: info.endtime ?? now,
      ...(info.renewTill ? { renewTill: info.renewTill } : {}),
      flags: info.flags ?? 0,
      ticket: t.raw,
    };
  });
}

/** The Kerberos 5 mechanism for `UserAuthServer` (`ServerAuthOptions.gssapi`). */
export function krb5ServerMechanism(options: Krb5ServerOptions = {}): Krb5ServerMechanism {
  let dir: string | null = null;
  let files = 0;
  return {
    oid: encodeMechOid(),
    async createContext(): Promise<GssKexAcceptor> {
      const entries = await readKeytab(options.keytab ?? keytabPath(options.env ?? process.env));
      const acceptor = new Krb5Acceptor(entries, {
        ...(options.principal ? { principal: parsePrincipal(options.principal, options.principal.includes('@') ? '' : (entries[0]?.principal.realm ?? '')) } : {}),
        ...(options.clockskew !== undefined ? { clockskew: options.clockskew } : {}),
      });
      let principal = '';
      let ccFile: string | null = null;
      return {
        async accept(token) {
          const ctx = acceptor.accept(token);
          principal = formatPrincipal(ctx.client);
          if (ctx.delegation && options.storeDelegated !== false) {
            const credentials = readDelegation(ctx.delegation, ctx);
            dir ??= mkdtempSync(join(tmpdir(), 'sshwire-krb5-'));
            ccFile = join(dir, `krb5cc_${++files}`);
            await writeCcache(ccFile, { defaultPrincipal: ctx.client, credentials });
          }
          return { token: ctx.replyToken, established: true };
        },
        verifyMic: (message, mic) => acceptor.verifyMic(message, mic),
        getMic: (message) => acceptor.getMic(message),
        get principal() {
          return principal;
        },
        get ccFile() {
          return ccFile;
        },
      };
    },
    dispose() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = null;
    },
  };
}
