/**
 * Which signature algorithm a publickey attempt uses (RFC 8332, RFC 8308).
 * An RSA key can sign with rsa-sha2-512, rsa-sha2-256 or (SHA-1) ssh-rsa; the
 * server's `server-sig-algs` says which it verifies. Other key types have one
 * algorithm each, which the server either supports or not.
 */
import type { Signer } from '../crypto/types.js';
import { certAlgorithm, plainAlgorithm } from '../crypto/index.js';
import { DEFAULT_PLAIN_HOST_KEY } from '../transport/algorithms.js';

/**
 * Signature algorithms sent by default: everything but SHA-1 `ssh-rsa`, as
 * OpenSSH 8.8+. As in OpenSSH, the same plain algorithms as host keys, then
 * each one's certificate form.
 */
export const DEFAULT_PUBLICKEY_ALGORITHMS: readonly string[] = [...DEFAULT_PLAIN_HOST_KEY, ...DEFAULT_PLAIN_HOST_KEY.map(certAlgorithm)];

const RSA_FAMILY = new Set(['ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512']);

/**
 * The algorithms to try for `signer`, best first. `accepted` is the user's
 * list of acceptable algorithms (default DEFAULT_PUBLICKEY_ALGORITHMS).
 *
 * For RSA keys with a `server-sig-algs` list, only algorithms the server
 * names are kept (so a server listing only `ssh-rsa` gets `ssh-rsa`, if the
 * user accepts it). Without the list every acceptable algorithm is a
 * candidate, tried in turn. Other key types ignore the list, as OpenSSH does:
 * servers that omit a type from it still often verify it.
 */
export function signatureAlgorithmsToTry(signer: Signer, serverSigAlgs: readonly string[] | null, accepted: readonly string[] = DEFAULT_PUBLICKEY_ALGORITHMS): string[] {
  const ok = new Set(accepted);
  const mine = signer.signatureAlgorithms.filter((a) => ok.has(a));
  const isRsa = mine.some((a) => RSA_FAMILY.has(plainAlgorithm(a)));
  if (!isRsa || serverSigAlgs === null) return mine;
  const theirs = new Set(serverSigAlgs);
  return mine.filter((a) => theirs.has(plainAlgorithm(a)));
}
