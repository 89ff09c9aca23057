/**
 * Options of `listen()` and their checking; host key loading.
 */
import type { Krb5ServerOptions } from '../auth/gssapi/index.js';
import { SSHException } from '../errors.js';
import { existsSync } from 'node:fs';
import { isPrivateKeyText, PrivateKey, PublicKey, SSH_CERT_TYPE_HOST } from '../keys/index.js';
import { canServeSignature, certifiedSigner, plainAlgorithm } from '../crypto/index.js';
import type { Signer } from '../crypto/types.js';
import type { SFTPServerInterface } from '../sftp/server/index.js';
import type { ConnectionOptions } from '../connection/index.js';
import type { AlgorithmOptions, TransportOptions } from '../transport/index.js';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from '../auth/index.js';
import type { ServerProcessFactory } from './process.js';
import type { SSHServerConnection } from './serverConnection.js';
import type { ServerInterface } from './serverInterface.js';
import type { SubsystemHandler } from './subsystems.js';

/** A host key: a file path, key text/bytes, a PrivateKey, or `'generate'` / a key type to generate one in memory. */
export type HostKeyInput = string | Buffer | Uint8Array | PrivateKey;

/** How `spawnCommands` runs processes. */
export interface SpawnOptions {
  /** Working directory of commands. Default: the server process's home directory. */
  cwd?: string;
  /** Shell for `sh -c` and interactive shells. Default `/bin/sh`. */
  shell?: string;
  /** Extra environment for every command. */
  env?: Record<string, string>;
}

/** Options of `listen()` and, without `host` and `port`, of `createServer()` (AsyncSSH's `listen()` options in camelCase). */
export interface ListenOptions {
  /** Address to bind. Default `127.0.0.1` (a server is opened to the network only on purpose). */
  host?: string;
  /** Port; 0 (default) picks a free one, see `server.address().port`. */
  port?: number;
  /** Host keys (required): paths, key material, PrivateKeys, or `'generate'`/`'ed25519'`/`'ecdsa'`/`'rsa'`/a key type name. */
  hostKeys: HostKeyInput[];
  /** Passphrase for encrypted host key files. */
  hostKeyPassphrase?: string;
  /**
   * OpenSSH host certificates (`-cert.pub` paths or text, or PublicKey) for
   * the host keys (sshd's HostCertificate, AsyncSSH's server_host_certs). A
   * host key read from a file also picks up `<file>-cert.pub`. A host key
   * with a certificate is offered under the certificate algorithms too, first.
   */
  hostCertificates?: (string | PublicKey)[];
  /**
   * After a client authenticates, announce every host key to it
   * (`hostkeys-00@openssh.com`, AsyncSSH's `send_server_host_keys`), so
   * that OpenSSH clients with UpdateHostKeys learn keys added for a
   * rotation and forget removed ones. The proofs clients ask for are
   * answered either way. Default true, as sshd.
   */
  sendServerHostKeys?: boolean;
  /**
   * Keys that may log in (as any user name), with their options honoured:
   * an OpenSSH authorized_keys file (re-read at each attempt, as sshd does),
   * or a list of `PublicKey`s and authorized_keys lines (AsyncSSH's list of
   * authorized keys; `cert-authority` lines trust a CA).
   */
  authorizedClientKeys?: string | readonly (PublicKey | string)[];
  /**
   * Keys refused whatever else says (sshd's RevokedKeys): an OpenSSH KRL
   * (`ssh-keygen -k`) or a file of public key lines, either re-read at each
   * attempt, or a list of PublicKeys / key lines. A certificate is refused
   * when its key or its CA is listed, or the KRL revokes its serial or key ID.
   */
  revokedClientKeys?: string | readonly (PublicKey | string)[];
  /** The policy (Paramiko's ServerInterface), or a factory making one per connection. */
  server?: ServerInterface | ((conn: SSHServerConnection) => ServerInterface);
  /** Runs exec / shell / subsystem sessions (AsyncSSH's process_factory). */
  processFactory?: ServerProcessFactory;
  /**
   * sshd-like: exec and shell requests run as local processes (`/bin/sh -c`),
   * each in a session of its own; `signal` requests reach its process group,
   * which gets SIGHUP when the client goes away while the command runs.
   */
  spawnCommands?: boolean | SpawnOptions;
  /**
   * Serve the `sftp` subsystem: true = the current directory, `{ root }`
   * (with LocalFilesystem's `readOnly` and `inlineReads`), or a factory of
   * SFTPServerInterface.
   */
  sftp?: boolean | { root?: string; readOnly?: boolean; inlineReads?: boolean } | ((conn: SSHServerConnection) => SFTPServerInterface);
  /** Subsystem handlers by name (Paramiko's set_subsystem_handler); also `server.setSubsystemHandler()`. */
  subsystems?: Record<string, SubsystemHandler>;
  /** Environment variable patterns clients may set (sshd AcceptEnv); default `['LANG', 'LC_*']`. */
  acceptEnv?: string[];
  /** Receive window per channel. Default 2 MiB. */
  window?: number;
  /** Largest channel data packet we accept. Default 32 KiB. */
  maxPacketSize?: number;
  /** Connections at once (others get DISCONNECT TOO_MANY_CONNECTIONS). Default 1000. */
  maxConnections?: number;
  /** Channels open at once on one connection. Default 64. */
  maxChannelsPerConnection?: number;
  /** Milliseconds a client has to authenticate (sshd's LoginGraceTime), 0 to 2^31-1. Default 120000; 0 = no limit. Another value makes listen() / createServer() throw SSHException ERR_SSH_BAD_OPTION, as for every time here. */
  authTimeout?: number;
  /** Failed authentication attempts before disconnecting. Default 6. */
  maxAuthTries?: number;
  /**
   * Kerberos gssapi-with-mic: true (the keytab in KRB5_KTNAME, else
   * /etc/krb5.keytab) or options (`keytab`, `principal` to accept tickets
   * for only that service principal, `clockskew`, `storeDelegated`). The
   * policy's `checkAuthGssapiWithMic` decides who gets in. Delegated
   * credentials are stored in a private credential cache that sessions get
   * as KRB5CCNAME, removed when the connection ends. Default off.
   */
  gssapi?: boolean | Krb5ServerOptions;
  /**
   * GSS-API key exchange too (sshd's GSSAPIKeyExchange; needs `gssapi`):
   * gss-* kex methods whose MIC over the exchange hash authenticates this
   * server by its keytab key, and the `gssapi-keyex` login (decided by
   * checkAuthGssapiKeyex, else checkAuthGssapiWithMic). Default false.
   */
  gssKex?: boolean;
  /** Rekey after this many bytes in either direction (capped by the cipher's own limit; at least 16 KiB). Default 1 GiB. */
  rekeyBytes?: number;
  /** Rekey after this many seconds, 0 to 2147483 (what a timer holds). Default 3600; 0 disables. */
  rekeySeconds?: number;
  /**
   * A moduli(5) file (e.g. /etc/ssh/moduli) supplying the groups for
   * diffie-hellman-group-exchange (Paramiko's `load_server_moduli`).
   * Default: the RFC 3526 groups built in.
   */
  moduliFile?: string;
  /** Keepalive probe interval (ms) when a client is silent, 0 to 2^31-1; 0 (default) disables. */
  keepaliveInterval?: number;
  /** Pre-authentication banner. */
  banner?: string;
  /** Our identification string. */
  version?: string;
  /**
   * Replacement algorithm lists. `serverHostKey` and `publicKey` start from
   * the modern defaults: SHA-1 `ssh-rsa` and DSA `ssh-dss` are used only
   * when listed here, as in OpenSSH.
   */
  algorithms?: ServerAlgorithmOptions;
  /** Names taken out of the (default or replacement) lists. */
  disabledAlgorithms?: ServerAlgorithmOptions;
  /** Milliseconds for the client's identification line, 0 to 2^31-1. Default 30000; 0 = no limit. */
  bannerTimeout?: number;
  /** Diagnostic lines (never secrets). */
  debug?: (message: string) => void;
}

/** The server's algorithm lists: the transport's, plus the user authentication signature algorithms. */
export interface ServerAlgorithmOptions extends AlgorithmOptions {
  /**
   * Signature algorithms accepted for publickey authentication (OpenSSH's
   * PubkeyAcceptedAlgorithms), announced in `server-sig-algs`. Default:
   * Ed25519, ECDSA and rsa-sha2-512/256, each also as its certificate type.
   */
  publicKey?: string[];
}

/** The publickey signature algorithms a server accepts, from its options; undefined for the default. */
export function acceptedPublicKeyAlgorithms(o: Pick<ListenOptions, 'algorithms' | 'disabledAlgorithms'>): string[] | undefined {
  if (!o.algorithms?.publicKey && !o.disabledAlgorithms?.publicKey) return undefined;
  const off = new Set(o.disabledAlgorithms?.publicKey ?? []);
  return [...new Set(o.algorithms?.publicKey ?? DEFAULT_PUBLICKEY_ALGORITHMS)].filter((a) => !off.has(a));
}

/** What `server-sig-algs` says for an accepted list: the plain algorithms the crypto layer verifies. */
export function serverSigAlgsFor(accepted: readonly string[]): string[] {
  return [...new Set(accepted.map(plainAlgorithm))].filter((a) => canServeSignature(a));
}

export function bad(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_OPTION' });
}

const GENERATE: Record<string, Parameters<typeof PrivateKey.generate>> = {
  generate: ['ed25519'],
  ed25519: ['ed25519'],
  'ssh-ed25519': ['ed25519'],
  ecdsa: ['ecdsa', 256],
  'ecdsa-sha2-nistp256': ['ecdsa', 256],
  'ecdsa-sha2-nistp384': ['ecdsa', 384],
  'ecdsa-sha2-nistp521': ['ecdsa', 521],
  rsa: ['rsa', 3072],
  'ssh-rsa': ['rsa', 3072],
};

/** Reads one host certificate option; ERR_SSH_BAD_OPTION unless it is a host certificate. */
function hostCertificate(c: string | PublicKey): PublicKey {
  const cert = c instanceof PublicKey ? c : PublicKey.fromFileOrText(c);
  if (cert.certificate?.type !== SSH_CERT_TYPE_HOST) throw bad(`hostCertificates: ${cert.keyType} ${cert.fingerprint} is not a host certificate`);
  return cert;
}

/**
 * Attaches each host certificate to the host key it certifies (and a key
 * file's `<file>-cert.pub`), refusing one that certifies none of them.
 */
function attachHostCertificates(keys: readonly PrivateKey[], files: readonly (string | null)[], certs: readonly (string | PublicKey)[]): void {
  for (const [i, key] of keys.entries()) {
    const f = files[i];
    if (!key.certificate && f && existsSync(`${f}-cert.pub`)) key.loadCertificate(hostCertificate(`${f}-cert.pub`));
  }
  for (const c of certs) {
    const cert = hostCertificate(c);
    const key = keys.find((k) => Buffer.from(k.publicKeyBlob).equals(cert.certificate!.keyBlob));
    if (!key) throw bad(`hostCertificates: ${cert.keyType} ${cert.fingerprint} certifies none of the host keys`);
    key.loadCertificate(cert);
  }
}

/** The signers the transport offers: each host key, after its certificate form when it has one. */
export function hostSigners(keys: readonly PrivateKey[]): Signer[] {
  return keys.flatMap((k) => (k.certificate ? [certifiedSigner(k, k.certificate.publicKeyBlob), k] : [k]));
}

/** Loads or generates the host keys; refuses two keys of one type (the client could not choose). */
export function loadHostKeys(inputs: HostKeyInput[] | undefined, passphrase?: string, certificates: readonly (string | PublicKey)[] = []): PrivateKey[] {
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('listen() needs hostKeys: at least one host key (or "generate")');
  const keys: PrivateKey[] = [];
  const files: (string | null)[] = [];
  for (const k of inputs) {
    const file = typeof k === 'string' && !GENERATE[k] && !isPrivateKeyText(k) ? k : null;
    files.push(file);
    if (k instanceof PrivateKey) keys.push(k);
    else if (typeof k === 'string' && GENERATE[k]) keys.push(PrivateKey.generate(...GENERATE[k]!));
    else if (typeof k === 'string' && isPrivateKeyText(k)) keys.push(PrivateKey.fromString(k, passphrase));
    else if (file) keys.push(PrivateKey.fromFile(file, passphrase));
    else if (k instanceof Uint8Array) keys.push(PrivateKey.fromString(k, passphrase));
    else throw bad(`hostKeys entries must be paths, key material, PrivateKey objects or "generate"`);
  }
  attachHostCertificates(keys, files, certificates);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.keyType)) throw bad(`two host keys of type ${k.keyType}`);
    seen.add(k.keyType);
  }
  return keys;
}

export function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw bad(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/**
 * The Transport options a server connection gets from ListenOptions (what
 * the connection adds itself: server-sig-algs, GSS-API key exchange, debug).
 * listen() checks them up front with the transport's own validation.
 */
export function serverTransportOptions(o: ListenOptions, hostKeys: readonly Signer[]): TransportOptions {
  return {
    role: 'server',
    hostKeys,
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(o.algorithms ? { algorithms: o.algorithms } : {}),
    ...(o.disabledAlgorithms ? { disabledAlgorithms: o.disabledAlgorithms } : {}),
    ...(o.rekeyBytes !== undefined ? { rekeyBytes: o.rekeyBytes } : {}),
    ...(o.rekeySeconds !== undefined ? { rekeySeconds: o.rekeySeconds } : {}),
    ...(o.moduliFile !== undefined ? { moduliFile: o.moduliFile } : {}),
    ...(o.keepaliveInterval !== undefined ? { keepaliveInterval: o.keepaliveInterval } : {}),
    ...(o.bannerTimeout !== undefined ? { bannerTimeout: o.bannerTimeout } : {}),
  };
}

/** The Connection options a server connection gets from ListenOptions (debug aside); `maxChannels` is the per-connection limit. */
export function serverConnectionOptions(o: ListenOptions, maxChannels: number): ConnectionOptions {
  return {
    role: 'server',
    ...(o.window !== undefined ? { window: o.window } : {}),
    ...(o.maxPacketSize !== undefined ? { maxPacketSize: o.maxPacketSize } : {}),
    // One above our own limit, so that every open reaches the server's open handler and is counted there.
    maxChannels: maxChannels + 1,
  };
}
