/**
 * The server's side of OpenSSH host key rotation (PROTOCOL section 2.5):
 * announce every host key once the client has authenticated, and sign for
 * the ones a client asks about, so that it can add them to its
 * known_hosts without a man in the middle slipping in keys of its own.
 */
import type { Connection } from '../connection/index.js';
import { decodeStringList, encodeStringList, HOSTKEYS_NOTICE, HOSTKEYS_PROVE, hostKeyProofData, type PrivateKey } from '../keys/index.js';

/** Sends `hostkeys-00@openssh.com` with the plain public key of every host key (no reply is wanted). */
export function announceHostKeys(conn: Connection, keys: readonly PrivateKey[]): Promise<unknown> {
  return conn.globalRequest(HOSTKEYS_NOTICE, encodeStringList(keys.map((k) => k.publicKeyBlob)), { wantReply: false });
}

/**
 * The signature algorithm for proving `key`, as sshd picks it: for RSA the
 * first of rsa-sha2-512, rsa-sha2-256 the client offered for host keys,
 * else SHA-1 `ssh-rsa`; for other keys their only one.
 */
function proofAlgorithm(key: PrivateKey, clientHostKeyAlgorithms: readonly string[]): string {
  if (key.keyType !== 'ssh-rsa') return key.signatureAlgorithms[0]!;
  return ['rsa-sha2-512', 'rsa-sha2-256'].find((a) => clientHostKeyAlgorithms.includes(a)) ?? 'ssh-rsa';
}

/**
 * The reply to `hostkeys-prove-00@openssh.com`: one signature over
 * (request name, session id, key) per key asked about, in order; false
 * when the request is malformed or names a key that is not ours.
 */
export function proveHostKeys(data: Uint8Array, keys: readonly PrivateKey[], sessionId: Uint8Array, clientHostKeyAlgorithms: readonly string[]): Uint8Array | false {
  let asked: Uint8Array[];
  try {
    asked = decodeStringList(data, HOSTKEYS_PROVE, keys.length);
  } catch {
    return false;
  }
  if (asked.length === 0) return false;
  const sigs: Uint8Array[] = [];
  for (const blob of asked) {
    const key = keys.find((k) => Buffer.from(k.publicKeyBlob).equals(blob));
    if (!key) return false;
    sigs.push(key.signSshData(hostKeyProofData(sessionId, blob), proofAlgorithm(key, clientHostKeyAlgorithms)));
  }
  return encodeStringList(sigs);
}
