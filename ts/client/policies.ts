/**
 * What to do with a server whose host key is not on record (Paramiko's
 * MissingHostKeyPolicy family). A policy accepts by returning and refuses by
 * throwing; it may be async.
 */
import type { HostKeys, PublicKey } from '../keys/index.js';
import { SSHException } from '../errors.js';

/** The part of a client a host key policy may use. `SSHClient` is one; `connect()` passes its own. */
export interface HostKeyPolicyClient {
  /** The host keys the program manages (known_hosts it may write). */
  getHostKeys(): HostKeys;
  /** Writes the managed host keys to `filename`. */
  saveHostKeys(filename: string): void;
  /** Where the managed host keys were loaded from, if anywhere: AutoAddPolicy saves there. */
  readonly hostKeysFilename: string | null;
}

/**
 * Base class of host key policies. `hostname` is the known_hosts name:
 * `host` for port 22, `[host]:port` otherwise. Subclasses override
 * `missingHostKey`; this base refuses, so a forgotten override is safe.
 */
export class MissingHostKeyPolicy {
  /**
   * Called for a server whose key is not on record (Paramiko's
   * `missing_host_key`): return or resolve to accept, throw to refuse (the
   * connection then fails with that error). `hostname` is the known_hosts
   * name; for a host certificate nothing vouches for, `key` is the plain key.
   * This base throws SSHException `ERR_SSH_UNKNOWN_HOST_KEY`.
   */
  missingHostKey(_client: HostKeyPolicyClient, hostname: string, key: PublicKey): void | Promise<void> {
    throw unknownHostError(hostname, key);
  }
}

/** Refuses unknown hosts (the default). The error names the key's SHA256 fingerprint so it can be checked out of band. */
export class RejectPolicy extends MissingHostKeyPolicy {
  /** Throws SSHException `ERR_SSH_UNKNOWN_HOST_KEY` naming the key type and fingerprint. */
  override missingHostKey(_client: HostKeyPolicyClient, hostname: string, key: PublicKey): void {
    throw unknownHostError(hostname, key);
  }
}

/** Accepts unknown hosts, records the key, and saves the host keys file if one was loaded (Paramiko's AutoAddPolicy). */
export class AutoAddPolicy extends MissingHostKeyPolicy {
  /** Adds the key to `client.getHostKeys()` under `hostname`, then saves them to `client.hostKeysFilename` when that is set. */
  override missingHostKey(client: HostKeyPolicyClient, hostname: string, key: PublicKey): void {
    client.getHostKeys().add(hostname, key.keyType, key);
    if (client.hostKeysFilename !== null) client.saveHostKeys(client.hostKeysFilename);
  }
}

/** Accepts unknown hosts without recording them, emitting a process warning with the fingerprint. */
export class WarningPolicy extends MissingHostKeyPolicy {
  /** Emits a process warning (code `SSHWIRE_UNKNOWN_HOST_KEY`) with the key type and fingerprint, and accepts. */
  override missingHostKey(_client: HostKeyPolicyClient, hostname: string, key: PublicKey): void {
    process.emitWarning(`Unknown ${key.keyType} host key for ${hostname}: ${key.fingerprint}`, { code: 'SSHWIRE_UNKNOWN_HOST_KEY' });
  }
}

/** The error RejectPolicy throws. */
export function unknownHostError(hostname: string, key: PublicKey): SSHException {
  return new SSHException(`Server ${hostname} not found in known_hosts (${key.keyType} key ${key.fingerprint})`, { code: 'ERR_SSH_UNKNOWN_HOST_KEY' });
}
