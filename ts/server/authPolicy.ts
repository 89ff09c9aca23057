/**
 * The authentication policy one connection runs with: the user's
 * ServerInterface, plus an authorized_keys file if one was configured.
 * A key listed there (with `from=` matching the client and `expiry-time`
 * not passed) is accepted; the user's checkAuthPublickey may still answer
 * AUTH_PARTIALLY_SUCCESSFUL for multi-step logins. The entry that let the
 * client in is kept on the connection: its options restrict the sessions.
 */
import { AUTH_FAILED, AUTH_PARTIALLY_SUCCESSFUL, AUTH_SUCCESSFUL, type AuthResult, type AuthServerInterface, type PublicKeyInfo } from '../auth/index.js';
import { isCertName } from '../crypto/index.js';
import { type AuthorizedKeyEntry, checkCertificate, findAuthorizedKey, isKrl, KeyRevocationList, loadAuthorizedKeys, parseAuthorizedKeyLine, PublicKey } from '../keys/index.js';
import type { ListenOptions } from './options.js';
import { readFileSync } from 'node:fs';
import { KeyFormatError } from '../errors.js';
import type { SSHServerConnection } from './serverConnection.js';
import type { ServerInterface } from './serverInterface.js';

/** Calls a policy method with the connection as the extra last argument (see ServerInterface). */
type Loose = (...args: unknown[]) => unknown;

/** Why a user certificate blob is unusable (malformed, not a user certificate, outside its validity, bad CA signature), or null. */
function certificateProblem(blob: Uint8Array): string | null {
  try {
    const cert = PublicKey.fromBlob(blob).certificate;
    return cert ? checkCertificate(cert, { type: 'user' }) : 'not a certificate';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Where the authorized keys come from: a file read at each attempt, or entries fixed at start. */
export function authorizedEntries(source: ListenOptions['authorizedClientKeys']): (() => AuthorizedKeyEntry[]) | undefined {
  if (source === undefined) return undefined;
  if (typeof source === 'string') return () => loadAuthorizedKeys(source).entries;
  const fixed = source.flatMap((k, i) => {
    const entry = parseAuthorizedKeyLine(typeof k === 'string' ? k : k.toString(), i + 1);
    return entry ? [entry] : [];
  });
  return () => fixed;
}

/** Public keys from text lines: blank lines and comments skipped, anything else must be a key. */
function keyLines(text: string, where: string): PublicKey[] {
  const out: PublicKey[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push(PublicKey.fromString(line));
    } catch (err) {
      throw new KeyFormatError(`${where} line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/**
 * The revocation test of a source: an OpenSSH KRL file, a file of public
 * key lines, or a list of keys / lines. A listed certificate counts as its
 * key; a certificate is revoked when its key or its CA key is listed.
 */
export function loadRevoked(source: string | readonly (PublicKey | string)[]): (key: PublicKey) => boolean {
  let list: PublicKey[];
  if (typeof source === 'string') {
    const data = readFileSync(source);
    if (isKrl(data)) {
      const krl = new KeyRevocationList(data);
      return (key) => krl.isRevoked(key);
    }
    list = keyLines(data.toString('utf8'), source);
  } else {
    list = source.map((k) => (typeof k === 'string' ? PublicKey.fromString(k) : k));
  }
  const set = new Set(list.map((k) => Buffer.from(k.certificate ? k.certificate.keyBlob : k.publicKeyBlob).toString('base64')));
  return (key) => {
    const blobs = key.certificate ? [key.certificate.keyBlob, key.certificate.signatureKey] : [key.publicKeyBlob];
    return blobs.some((b) => set.has(Buffer.from(b).toString('base64')));
  };
}

/** The revoked-key test for a source: a file is read at each attempt (as sshd does), a list is fixed at start. */
function revokedKeys(source: ListenOptions['revokedClientKeys']): ((blob: Uint8Array) => boolean) | undefined {
  if (source === undefined) return undefined;
  const fixed = typeof source === 'string' ? null : loadRevoked(source);
  return (blob) => (fixed ?? loadRevoked(source))(PublicKey.fromBlob(blob));
}

export function connectionAuthPolicy(
  user: ServerInterface,
  keys: Pick<ListenOptions, 'authorizedClientKeys' | 'revokedClientKeys'>,
  conn: SSHServerConnection,
  debug: (m: string) => void,
  gssConfigured = false,
): AuthServerInterface {
  const call = <T>(name: keyof ServerInterface, ...args: unknown[]): Promise<T> | T => (user[name] as Loose).call(user, ...args, conn) as T;
  const authorized = authorizedEntries(keys.authorizedClientKeys);
  const isRevoked = revokedKeys(keys.revokedClientKeys);
  const policy: AuthServerInterface = {
    getAllowedAuths: async (username) => {
      if (user.getAllowedAuths) return call<string | readonly string[]>('getAllowedAuths', username);
      const out: string[] = [];
      const gssAllowed = gssConfigured && (user.enableAuthGssapi ? (await call<boolean>('enableAuthGssapi')) === true : true);
      if (gssAllowed && conn.transport.gssKexContext && (user.checkAuthGssapiKeyex || user.checkAuthGssapiWithMic)) out.push('gssapi-keyex');
      if (gssAllowed && user.checkAuthGssapiWithMic) out.push('gssapi-with-mic');
      if (authorized || user.checkAuthPublickey) out.push('publickey');
      if (user.checkAuthPassword) out.push('password');
      if (user.checkAuthInteractive) out.push('keyboard-interactive');
      return out;
    },
    checkAuthNone: async (username) => (user.checkAuthNone ? call<AuthResult>('checkAuthNone', username) : AUTH_FAILED),
    checkAuthPublickey: async (username: string, key: PublicKeyInfo) => {
      if (isRevoked) {
        let revoked: boolean;
        try {
          revoked = isRevoked(key.blob);
        } catch (err) {
          // An unreadable revocation list refuses every key, as sshd does.
          debug(`cannot read revoked keys: ${(err as Error).message}`);
          revoked = true;
        }
        if (revoked) {
          debug(`publickey: ${key.fingerprint} is revoked`);
          return AUTH_FAILED;
        }
      }
      // A certificate must be a valid user certificate signed by its CA before
      // anyone looks at whether that CA is trusted (authorized_keys or the policy).
      if (isCertName(key.keyType)) {
        const why = certificateProblem(key.blob);
        if (why) {
          debug(`publickey: certificate ${key.fingerprint} refused: ${why}`);
          return AUTH_FAILED;
        }
      }
      let entry = null;
      if (authorized) {
        try {
          // A file is read at each attempt, as sshd does: edits take effect without a restart.
          entry = findAuthorizedKey(authorized(), key.blob, { clientAddress: conn.remoteAddress, username });
        } catch (err) {
          debug(`cannot read authorized keys: ${(err as Error).message}`);
        }
      }
      let verdict: AuthResult = AUTH_FAILED;
      if (entry) {
        const own = user.checkAuthPublickey ? await call<AuthResult>('checkAuthPublickey', username, key) : AUTH_SUCCESSFUL;
        verdict = own === AUTH_PARTIALLY_SUCCESSFUL ? AUTH_PARTIALLY_SUCCESSFUL : AUTH_SUCCESSFUL;
      } else if (user.checkAuthPublickey) {
        verdict = await call<AuthResult>('checkAuthPublickey', username, key);
      }
      if (entry && key.signed && verdict !== AUTH_FAILED) conn._setAuthorizedKey(entry);
      return verdict;
    },
  };
  if (user.checkAuthPassword) policy.checkAuthPassword = (username, password) => call<AuthResult>('checkAuthPassword', username, password);
  if (user.checkAuthInteractive) policy.checkAuthInteractive = (username, sub) => call('checkAuthInteractive', username, sub);
  if (user.checkAuthInteractiveResponse) policy.checkAuthInteractiveResponse = (responses, username) => call('checkAuthInteractiveResponse', responses, username);
  if (user.getBanner) policy.getBanner = () => call('getBanner');
  if (user.enableAuthGssapi) policy.enableAuthGssapi = () => call<boolean>('enableAuthGssapi');
  for (const name of ['checkAuthGssapiWithMic', 'checkAuthGssapiKeyex'] as const) {
    if (!user[name]) continue;
    policy[name] = async (username, gssAuthenticated, ccFile, principal) => {
      const verdict = await call<AuthResult>(name, username, gssAuthenticated, ccFile, principal);
      if (verdict !== AUTH_FAILED) conn._setGss(principal, ccFile);
      return verdict;
    };
  }
  return policy;
}
