/**
 * Destination constraints for agent keys (OpenSSH 8.9+, `ssh-add -h`): a
 * key added with them is used by the agent only for connections bound to
 * the hosts they name (session-bind@openssh.com), and through agent
 * forwarding only along the hops they name ("gateway>server"). The agent
 * matches hosts by their host keys, so each hop carries the keys (or the
 * certificate authorities) it is known by.
 *
 * Wire form (the `restrict-destination-v00@openssh.com` key constraint):
 * a string holding one string per constraint; a constraint is the `from`
 * hop, the `to` hop and a reserved string, each hop a string holding the
 * user, the hostname, a reserved string and then (key blob, is-CA flag)
 * pairs to its end.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SSHException } from '../errors.js';
import { SSHWriter } from '../wire/index.js';
import { HostKeys } from './knownHosts.js';
import type { PublicKey } from './publicKey.js';

/** The key-constraint extension's name. */
export const RESTRICT_DESTINATION = 'restrict-destination-v00@openssh.com';

/** One host on a permitted path. */
export interface AgentHop {
  /** The host's name, as it is known (informational for the agent, which matches keys). */
  hostname: string;
  /** For a `to` hop: the only user the key may log in as there (any user when absent). */
  user?: string;
  /** The host's keys. */
  hostKeys?: readonly PublicKey[];
  /** Certificate authorities whose host certificates identify the host. */
  certAuthorities?: readonly PublicKey[];
}

/**
 * One permitted use: at `to`, reached directly from this machine (no
 * `from`), or through an agent forwarded to `from`.
 */
export interface AgentDestination {
  from?: AgentHop;
  to: AgentHop;
}

function badDestination(message: string): SSHException {
  return new SSHException(`agent destination constraint: ${message}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
}

/** The keys `hostKeys` has for `hostname` as an agent hop: plain lines and @cert-authority lines, @revoked left out. */
function hopFromKnownHosts(hostname: string, user: string | undefined, hostKeys: HostKeys): AgentHop {
  const matching = hostKeys.entries.filter((e) => e.matches(hostname));
  const keys = matching.filter((e) => e.marker === null).map((e) => e.key);
  const cas = matching.filter((e) => e.marker === 'cert-authority').map((e) => e.key);
  if (keys.length + cas.length === 0) throw badDestination(`no host keys known for "${hostname}"`);
  return { hostname, ...(user === undefined ? {} : { user }), hostKeys: keys, certAuthorities: cas };
}

/**
 * `ssh-add -h` syntax: `[user@]host` for a host reached directly, or
 * `host>[user@]host` for one reached through an agent forwarded to the
 * first; the hosts' keys come from `hostKeys` (a known_hosts file, as
 * `ssh-add -H`). Throws ERR_SSH_BAD_ARGUMENT for bad syntax or a host with
 * no known keys.
 */
export function parseAgentDestination(spec: string, hostKeys: HostKeys): AgentDestination {
  const parts = spec.split('>');
  if (parts.length > 2) throw badDestination(`"${spec}" has more than one ">"`);
  const hop = (text: string, from: boolean): AgentHop => {
    const at = text.lastIndexOf('@');
    const user = at >= 0 ? text.slice(0, at) : undefined;
    const hostname = at >= 0 ? text.slice(at + 1) : text;
    if (hostname === '' || user === '') throw badDestination(`"${spec}" has an empty user or host`);
    if (from && user !== undefined) throw badDestination(`"${spec}": only the destination may name a user`);
    return hopFromKnownHosts(hostname, user, hostKeys);
  };
  return parts.length === 2 ? { from: hop(parts[0]!, true), to: hop(parts[1]!, false) } : { to: hop(parts[0]!, false) };
}

function writeHop(w: SSHWriter, hop: AgentHop | undefined, role: 'from' | 'to'): void {
  const keys = hop?.hostKeys ?? [];
  const cas = hop?.certAuthorities ?? [];
  if (hop) {
    if (!hop.hostname) throw badDestination(`a "${role}" hop needs a hostname`);
    if (keys.length + cas.length === 0) throw badDestination(`hop "${hop.hostname}" needs at least one host key or certificate authority`);
    if (role === 'from' && hop.user !== undefined) throw badDestination(`the "from" hop "${hop.hostname}" may not name a user`);
  }
  const inner = new SSHWriter(256).string(hop?.user ?? '').string(hop?.hostname ?? '').string('');
  for (const k of keys) inner.string(k.publicKeyBlob).boolean(false);
  for (const k of cas) inner.string(k.publicKeyBlob).boolean(true);
  w.string(inner.toBytes());
}

/** The known_hosts files ssh-add reads for destination constraints. */
function defaultKnownHosts(): HostKeys {
  const hk = new HostKeys();
  for (const file of [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts']) {
    if (existsSync(file)) hk.load(file);
  }
  return hk;
}

/**
 * The `restrict-destination-v00@openssh.com` constraint's data (the string
 * after its name); string specs find their keys in `knownHosts` (default:
 * the files ssh-add reads, loaded only if a string needs them).
 */
export function encodeAgentDestinations(destinations: readonly (string | AgentDestination)[], knownHosts?: HostKeys): Uint8Array {
  if (destinations.length === 0) throw badDestination('the list is empty');
  const all = new SSHWriter(1024);
  for (const spec of destinations) {
    const d = typeof spec === 'string' ? parseAgentDestination(spec, (knownHosts ??= defaultKnownHosts())) : spec;
    const one = new SSHWriter(512);
    writeHop(one, d.from, 'from');
    writeHop(one, d.to, 'to');
    one.string('');
    all.string(one.toBytes());
  }
  return all.toBytes();
}
