/**
 * Host key checking for the client: known_hosts verdicts (match, changed,
 * revoked, unknown) turned into the transport's verifyHostKey callback, and
 * the host key algorithm order that prefers key types already on record.
 */
import { BadHostKeyException } from '../errors.js';
import { type HostKeys, type HostKeyVerification, knownHostsName, PublicKey } from '../keys/index.js';
import { DEFAULT_HOST_KEY } from '../transport/index.js';
import { type HostKeyPolicyClient, type MissingHostKeyPolicy, RejectPolicy } from './policies.js';

export interface HostKeyCheck {
  /** Host key sets to consult, in order (e.g. system known_hosts, then the program's own). */
  hostKeys: HostKeys[];
  policy?: MissingHostKeyPolicy;
  client: HostKeyPolicyClient;
  /** The host as known_hosts records it (after ssh_config HostName). */
  host: string;
  port: number;
  debug?: (message: string) => void;
}

/** One verdict from several files: revoked wins, then match, then mismatch. */
export function combinedVerdict(sets: readonly HostKeys[], host: string, port: number, key: PublicKey): HostKeyVerification {
  const verdicts = sets.map((s) => s.verify(host, port, key));
  return (
    verdicts.find((v) => v.status === 'revoked') ??
    verdicts.find((v) => v.status === 'match') ??
    verdicts.find((v) => v.status === 'mismatch') ?? { status: 'unknown' }
  );
}

function where(v: HostKeyVerification): string {
  return v.line ? `${v.line.file} line ${v.line.lineNumber}` : 'the host keys added by the program';
}

/**
 * The transport's `verifyHostKey`: true for a recorded key; BadHostKeyException
 * for a changed or revoked one (naming the file and line); the policy decides
 * for an unknown one.
 */
export function hostKeyVerifier(check: HostKeyCheck): (keyType: string, blob: Uint8Array) => Promise<boolean> {
  const policy = check.policy ?? new RejectPolicy();
  return async (_keyType, blob) => {
    const key = PublicKey.fromBlob(blob);
    const name = knownHostsName(check.host, check.port);
    const v = combinedVerdict(check.hostKeys, check.host, check.port, key);
    switch (v.status) {
      case 'match':
        return true;
      case 'revoked':
        throw new BadHostKeyException(`host key for ${name} (${key.keyType} ${key.fingerprint}) is marked @revoked in ${where(v)}`, name, key.fingerprint, '');
      case 'mismatch': {
        const expected = v.expected?.fingerprint ?? '';
        throw new BadHostKeyException(
          `host key for ${name} has changed: the server sent ${key.keyType} ${key.fingerprint}, but ${where(v)} has ${expected}. ` +
            'Someone may be intercepting the connection (man-in-the-middle), or the host key was replaced; remove the old line to accept the new key.',
          name,
          key.fingerprint,
          expected,
        );
      }
      default:
        // A certificate no @cert-authority line vouches for is judged as its plain key, which is what gets recorded.
        if (v.reason) check.debug?.(`host certificate for ${name} not accepted: ${v.reason}`);
        await policy.missingHostKey(check.client, name, key.certificate ? PublicKey.fromBlob(key.certificate.keyBlob) : key);
        return true;
    }
  };
}

/** Host key algorithms that make `keyType` keys. */
function algorithmsFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [keyType];
}

/**
 * The host key algorithm list with the algorithms for key types already on
 * record for this host moved to the front (as OpenSSH does), so a known
 * host is not asked for a key of a type we have never seen. Null when
 * nothing is on record (keep the transport's default).
 */
export function preferredHostKeyAlgorithms(sets: readonly HostKeys[], host: string, port: number, base: readonly string[] = DEFAULT_HOST_KEY): string[] | null {
  const name = knownHostsName(host, port);
  const known = new Set<string>();
  for (const s of sets) for (const t of s.lookup(name)?.keys() ?? []) for (const a of algorithmsFor(t)) known.add(a);
  if (known.size === 0) return null;
  return [...base.filter((a) => known.has(a)), ...base.filter((a) => !known.has(a))];
}
