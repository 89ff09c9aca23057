/**
 * The client's side of OpenSSH host key rotation (ssh's UpdateHostKeys,
 * AsyncSSH's `server_host_keys_handler`). After authentication the server
 * announces all its host keys; keys no known_hosts line records are proved
 * (the server signs the session identifier with each) before anyone hears
 * of them. Then, with `updateHostKeys`, the known_hosts that vouched for
 * this connection learns the new keys and forgets the ones the server no
 * longer has; and the caller's handler is told what was added, removed,
 * kept and revoked.
 */
import type { Connection } from '../connection/index.js';
import {
  decodeStringList, encodeStringList, type HostKeys, HOSTKEYS_NOTICE, HOSTKEYS_PROVE, hostKeyProofData, knownHostsName, PublicKey, signatureAlgorithmsFor,
} from '../keys/index.js';
import { SSHReader } from '../wire/index.js';
import { combinedVerdict } from './hostKeyCheck.js';

/** What a server's host key announcement means for the host's known_hosts records. */
export interface ServerHostKeysUpdate {
  /** The host as known_hosts records it (`[host]:port` for a port other than 22). */
  host: string;
  /** Keys the server proved it holds that no known_hosts line records for the host. */
  added: PublicKey[];
  /** Keys recorded for the host that the server no longer has. */
  removed: PublicKey[];
  /** Keys recorded for the host that the server still has. */
  retained: PublicKey[];
  /** Keys the server announced that a `@revoked` line names: never added. */
  revoked: PublicKey[];
  /** Whether known_hosts changed by `added` and `removed` (`updateHostKeys`), and was saved when it came from a file. */
  recorded: boolean;
}

/** Told about each connection's host key announcement, once the new keys are proved. May be async; what it throws is logged and ignored. */
export type ServerHostKeysHandler = (update: ServerHostKeysUpdate) => void | Promise<void>;

/** How one connection treats the server's announcement. */
export interface HostKeysUpdateSetup {
  /** Every known_hosts set the host key was checked against. */
  sets: readonly HostKeys[];
  /** The set `updateHostKeys` changes (it must record the key this connection was made with), or null. */
  managed: HostKeys | null;
  /** Writes `managed` back to its file; null when it has none. */
  save: (() => void) | null;
  /** The host and port known_hosts records the server under. */
  host: string;
  port: number;
  /** Record added keys in `managed` and drop removed ones. */
  update: boolean;
  handler?: ServerHostKeysHandler | undefined;
  debug?: ((message: string) => void) | undefined;
}

/** The transport facts the update needs: who the server proved to be during key exchange, and what we accept. */
export interface ProvenSession {
  readonly sessionId: Uint8Array | null;
  /** Our host key algorithms: keys none of them can use are never learned, and proofs must use one of them. */
  readonly hostKeyAlgorithms: readonly string[];
  getRemoteServerKey(): PublicKey | null;
}

/**
 * Answers the server's `hostkeys-00@openssh.com` on `conn` (only the first
 * one; a later one is ignored). Does nothing unless `setup` asks for an
 * update or a handler. Nothing here fails the connection: an announcement
 * that is malformed, or whose proofs do not verify, changes nothing and is
 * logged to `debug`.
 */
export function watchServerHostKeys(conn: Connection, session: ProvenSession, setup: HostKeysUpdateSetup): void {
  if (!setup.update && !setup.handler) return;
  const debug = setup.debug ?? ((): void => {});
  let seen = false;
  conn.onGlobalRequest((name, data) => {
    if (name !== HOSTKEYS_NOTICE) return false;
    if (seen) {
      debug(`ignoring another ${HOSTKEYS_NOTICE} from the server`);
      return false;
    }
    seen = true;
    void onAnnouncement(conn, session, setup, data).catch((err: unknown) => {
      debug(`server host keys not updated: ${(err as Error)?.message ?? String(err)}`);
    });
    return false;
  });
}

class Abandon extends Error {}

/**
 * The announced keys this client could use, as OpenSSH decides: keys of
 * unknown types, certificates and keys no algorithm in our host key list
 * can use are left out.
 */
function announcedKeys(blobs: readonly Uint8Array[], accepted: readonly string[], debug: (m: string) => void): PublicKey[] {
  const keys: PublicKey[] = [];
  const seen = new Set<string>();
  for (const blob of blobs) {
    const hex = Buffer.from(blob).toString('hex');
    if (seen.has(hex)) throw new Abandon('the server announced the same host key twice');
    seen.add(hex);
    let key: PublicKey;
    try {
      key = PublicKey.fromBlob(blob);
    } catch (err) {
      debug(`skipping an announced host key: ${(err as Error).message}`);
      continue;
    }
    if (key.certificate) {
      debug(`skipping an announced host certificate (${key.keyType})`);
      continue;
    }
    if (!signatureAlgorithmsFor(key.keyType).some((a) => accepted.includes(a))) {
      debug(`skipping the announced ${key.keyType} host key: not in our host key algorithms`);
      continue;
    }
    keys.push(key);
  }
  return keys;
}

/**
 * Whether `sig` is `key`'s signature over `data` made with one of our host
 * key algorithms (so SHA-1 `ssh-rsa` only where the caller enabled it; sshd
 * signs RSA proofs with the SHA-2 algorithm it saw us offer).
 */
function provesKey(key: PublicKey, data: Uint8Array, sig: Uint8Array, accepted: readonly string[]): boolean {
  try {
    if (!accepted.includes(new SSHReader(sig, HOSTKEYS_PROVE).ascii(256))) return false;
  } catch {
    return false;
  }
  return key.verifySshSignature(data, sig);
}

async function onAnnouncement(conn: Connection, session: ProvenSession, setup: HostKeysUpdateSetup, data: Uint8Array): Promise<void> {
  const debug = setup.debug ?? ((): void => {});
  try {
    const blobs = decodeStringList(data, HOSTKEYS_NOTICE);
    const kexKey = session.getRemoteServerKey();
    const sessionId = session.sessionId;
    if (!kexKey || !sessionId) throw new Abandon('no host key was checked during key exchange');
    if (kexKey.certificate) throw new Abandon('the server was authenticated by a host certificate');
    if (!blobs.some((b) => Buffer.from(b).equals(kexKey.publicKeyBlob))) throw new Abandon('the server did not announce the host key it used');
    const keys = announcedKeys(blobs, session.hostKeyAlgorithms, debug);

    const { host, port } = setup;
    const name = knownHostsName(host, port);
    const added: PublicKey[] = [];
    const retained: PublicKey[] = [];
    const revoked: PublicKey[] = [];
    for (const k of keys) {
      const v = combinedVerdict(setup.sets, host, port, k).status;
      (v === 'revoked' ? revoked : v === 'match' ? retained : added).push(k);
    }
    const announced = new Set(blobs.map((b) => Buffer.from(b).toString('hex')));
    const removed = recordedKeys(setup.sets, name).filter((k) => !announced.has(Buffer.from(k.publicKeyBlob).toString('hex')));

    if (added.length > 0) await prove(conn, sessionId, added, session.hostKeyAlgorithms);
    const recorded = setup.update ? record(setup, name, kexKey, added, removed) : false;
    await tell(setup, { host: name, added, removed, retained, revoked, recorded });
  } catch (err) {
    if (err instanceof Abandon) debug(`server host keys not updated: ${err.message}`);
    else throw err;
  }
}

/** Calls the caller's handler; what it throws is logged, not passed on. */
async function tell(setup: HostKeysUpdateSetup, update: ServerHostKeysUpdate): Promise<void> {
  try {
    await setup.handler?.(update);
  } catch (err) {
    setup.debug?.(`serverHostKeysHandler failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** The distinct plain keys the sets record for `name`. */
function recordedKeys(sets: readonly HostKeys[], name: string): PublicKey[] {
  const out = new Map<string, PublicKey>();
  for (const s of sets) {
    for (const e of s.entries) if (e.marker === null && e.matches(name)) out.set(Buffer.from(e.key.publicKeyBlob).toString('hex'), e.key);
  }
  return [...out.values()];
}

/** Asks the server to sign for `keys`; every signature must verify, or nothing is changed. */
async function prove(conn: Connection, sessionId: Uint8Array, keys: readonly PublicKey[], accepted: readonly string[]): Promise<void> {
  const reply = await conn.globalRequest(HOSTKEYS_PROVE, encodeStringList(keys.map((k) => k.publicKeyBlob)));
  if (!reply.ok) throw new Abandon(`the server refused to prove it holds ${keys.length === 1 ? 'its new host key' : `its ${keys.length} new host keys`}`);
  const sigs = decodeStringList(reply.data, `${HOSTKEYS_PROVE} reply`, keys.length);
  if (sigs.length !== keys.length) throw new Abandon(`the server sent ${sigs.length} proofs for ${keys.length} host keys`);
  keys.forEach((k, i) => {
    if (!provesKey(k, hostKeyProofData(sessionId, k.publicKeyBlob), sigs[i]!, accepted)) {
      throw new Abandon(`the server's proof for its ${k.keyType} host key ${k.fingerprint} does not verify`);
    }
  });
}

/** Writes the change to the managed set (only when that set vouched for this connection's key); true when it was saved. */
function record(setup: HostKeysUpdateSetup, name: string, kexKey: PublicKey, added: readonly PublicKey[], removed: readonly PublicKey[]): boolean {
  const debug = setup.debug ?? ((): void => {});
  const managed = setup.managed;
  if (!managed || managed.verify(setup.host, setup.port, kexKey).status !== 'match') {
    debug(`not recording ${name}'s host keys: the known_hosts that would change does not record the key this connection used`);
    return false;
  }
  if (added.length === 0 && removed.length === 0) return false;
  const hash = managed.hashHostnames || managed.hashesHost(name);
  let dropped = 0;
  for (const k of removed) dropped += managed.remove(name, k);
  for (const k of added) managed.add(name, k.keyType, k, { hash, replace: false });
  debug(`${name}: recorded ${added.length} new host key(s), removed ${dropped} line(s) for keys the server no longer has`);
  if (!setup.save) return true;
  try {
    setup.save();
    return true;
  } catch (err) {
    debug(`could not save known_hosts: ${(err as Error).message}`);
    return false;
  }
}
