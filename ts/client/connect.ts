/**
 * `connect()`: the AsyncSSH-shaped way in. Resolves ssh_config, opens the
 * socket, checks the host key against known_hosts, authenticates, and
 * returns an SSHClientConnection.
 */
import { mkdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type BannerHandler, type ClientAuthResult, DEFAULT_PUBLICKEY_ALGORITHMS, type KeyboardInteractiveHandler, type PasswordChangeHandler } from '../auth/index.js';
import { krb5ClientMechanism, krb5KexOptionsIfAvailable } from '../auth/gssapi/index.js';
import { ProxyCommand, type SSHConfigDict } from '../config/index.js';
import { checkLayerOptions, Connection, type ConnectionOptions } from '../connection/index.js';
import { SSHException } from '../errors.js';
import { AgentClient, HostKeys, knownHostsName, type PublicKey } from '../keys/index.js';
import { parseForwardAgent } from './agentForward.js';
import type { AlgorithmOptions } from '../transport/index.js';
import { SSHClientConnection } from './clientConnection.js';
import { callerAuth, checkEstablishDurations, establish, type EstablishParams } from './establish.js';
import type { ClientTransport } from './clientTransport.js';
import { hostKeyVerifier, preferredHostKeyAlgorithms } from './hostKeyCheck.js';
import { type HostKeysUpdateSetup, type ServerHostKeysHandler, watchServerHostKeys } from './hostKeysUpdate.js';
import { defaultKeyFiles, type KeyInput } from './identities.js';
import { AutoAddPolicy, type HostKeyPolicyClient, type MissingHostKeyPolicy } from './policies.js';
import { configAlgorithms, configKeepalive, configKnownHosts, lookupConfig } from './sshConfigOptions.js';

/** Algorithm preferences: the transport's categories plus `publicKey` (signature algorithms for user keys). */
export interface ClientAlgorithmOptions extends AlgorithmOptions {
  /** Signature algorithms for user keys (publickey authentication), e.g. `rsa-sha2-512`. In `algorithms` it replaces the config's PubkeyAcceptedAlgorithms, else the built-in list (which has no SHA-1 `ssh-rsa`). */
  publicKey?: string[];
}

/** Options of `connect()`. Times are in milliseconds. */
export interface ConnectOptions {
  /** Host name, address, or ssh_config Host alias (the config's HostName applies). Required: an empty one rejects with SSHException `ERR_SSH_BAD_OPTION`. */
  host: string;
  /** Default 22 (or the config's Port). */
  port?: number;
  /** Default: the config's User, else the local user name. */
  username?: string;
  /** For `password` authentication (tried after public keys); also answers a keyboard-interactive password prompt. Not used as a key passphrase (see `passphrase`). */
  password?: string;
  /** A private key: PrivateKey, key text or bytes, or a file path. */
  privateKey?: KeyInput;
  /** Passphrase for encrypted keys (explicit and discovered). */
  passphrase?: string;
  /** Keys to try, in order (paths or material). `null`: no public key authentication at all. */
  clientKeys?: KeyInput[] | null;
  /**
   * OpenSSH certificates (`-cert.pub` paths or text, or PublicKey) to present
   * with the keys they certify, certificate first (AsyncSSH's
   * `client_certs`). Added to the config's CertificateFile; a key file's
   * `<file>-cert.pub` is picked up without being listed.
   */
  clientCerts?: (string | PublicKey)[];
  /** ssh-agent socket path (default $SSH_AUTH_SOCK), an AgentClient, or false to not use an agent. */
  agent?: string | false | AgentClient;
  /**
   * Forward the local agent to every session run / exec / shell start
   * (AsyncSSH's `agent_forwarding`, `ssh -A`; each call may override it).
   * The agent is the `agent` socket, else $SSH_AUTH_SOCK. Default: the
   * config's ForwardAgent, else false.
   */
  agentForwarding?: boolean;
  /**
   * Forward X11 connections of every session run / exec / shell start to
   * the local display (AsyncSSH's `x11_forwarding`, `ssh -X`; each call may
   * override it). true: a refusal fails the start; `'ignoreFailure'`: the
   * session starts anyway. Default: the config's ForwardX11 (as
   * 'ignoreFailure'), else false.
   */
  x11Forwarding?: boolean | 'ignoreFailure';
  /** The local X display; default $DISPLAY. */
  x11Display?: string;
  /** The Xauthority file holding the display's cookie; default $XAUTHORITY, else ~/.Xauthority. */
  x11AuthPath?: string;
  /** Ask the server to forward only the first X11 connection of each session. */
  x11SingleConnection?: boolean;
  /** Try ~/.ssh/id_ed25519, id_ecdsa, id_rsa, id_dsa (or the config's IdentityFile) when no keys are given; a DSA key only if `ssh-dss` is in `algorithms.publicKey`. Default true. */
  lookForKeys?: boolean;
  /**
   * Trusted host keys: known_hosts file path(s) (default ~/.ssh/known_hosts,
   * or the config's UserKnownHostsFile), a `HostKeys` object, or a list
   * mixing paths and `PublicKey`s trusted for this host (AsyncSSH's list of
   * keys). `null` disables host key checking.
   */
  knownHosts?: string | readonly (string | PublicKey)[] | HostKeys | null;
  /**
   * What to do with an unknown host key. Default: RejectPolicy, or what the
   * config's StrictHostKeyChecking says (`accept-new` and `no` record new
   * keys as AutoAddPolicy; a changed key is refused either way).
   */
  hostKeyPolicy?: MissingHostKeyPolicy;
  /**
   * Learn the server's other host keys (ssh's UpdateHostKeys): after
   * authentication an OpenSSH server announces all its host keys; the ones
   * not on record are proved (the server signs this session with each),
   * then added to the first known_hosts file, and the host's lines for
   * keys the server no longer has are deleted. Only when that file records
   * the key this connection was made with, and only lines naming this host
   * alone are deleted. A `HostKeys` object given as `knownHosts` is
   * changed in memory. Default: the config's UpdateHostKeys (`yes`), else
   * false.
   */
  updateHostKeys?: boolean;
  /**
   * Told what the server's host key announcement means for known_hosts:
   * keys added (proved first), removed, retained and revoked (AsyncSSH's
   * `server_host_keys_handler`). Called once per connection, after
   * `updateHostKeys` has written its change; without `updateHostKeys` it
   * is told the same and nothing is written.
   */
  serverHostKeysHandler?: ServerHostKeysHandler;
  /** The name to look the host key up (and record it) under in known_hosts, without a port (ssh's HostKeyAlias). Default: the config's HostKeyAlias. */
  hostKeyAlias?: string;
  /** Replacement preference lists per category. */
  algorithms?: ClientAlgorithmOptions;
  /** Names to remove from the preference lists. */
  disabledAlgorithms?: ClientAlgorithmOptions;
  /**
   * Everything up to an authenticated connection (TCP, banner, key exchange,
   * auth), 0 to 2^31-1 ms. Default 20 000; 0 = no limit. Like every time
   * here, a value outside its range (negative, Infinity, NaN, past what a
   * timer holds) rejects with SSHException `ERR_SSH_BAD_OPTION` before
   * anything is opened.
   */
  readyTimeout?: number;
  /** Per-reply limit during authentication, 0 to 2^31-1 ms. Default 30 000; 0 = no limit. */
  authTimeout?: number;
  /** Limit on the server's identification line, 0 to 2^31-1 ms. Default 30 000; 0 = no limit (readyTimeout applies as well). */
  bannerTimeout?: number;
  /** Keepalive probe interval when the server is silent, 0 to 2^31-1 ms; 0 (default) disables. */
  keepaliveInterval?: number;
  /** Unanswered keepalives before the connection counts as dead. Default 3. */
  keepaliveCountMax?: number;
  /** Rekey after this many bytes in either direction (AsyncSSH's `rekey_bytes`), capped by the cipher's own limit. Default 1 GiB; below 16 KiB rejects with SSHException `ERR_SSH_BAD_OPTION`. */
  rekeyBytes?: number;
  /** Rekey after this many seconds (seconds, unlike the other times here; AsyncSSH's `rekey_seconds`), 0 to 2147483. Default 3600; 0 disables. */
  rekeySeconds?: number;
  /** A connected stream to use instead of TCP. */
  sock?: Duplex;
  /** Local address to bind the TCP connection to (AsyncSSH's local_addr, ssh -b). Default: the config's BindAddress, else any. */
  localAddress?: string;
  /** Local port to bind (AsyncSSH's local_addr port). Default: any. */
  localPort?: number;
  /** Connect over IPv4 (4) or IPv6 (6) only (AsyncSSH's family, ssh -4/-6). Default: the config's AddressFamily, else either. */
  family?: 4 | 6;
  /**
   * Aborts the connection attempt: `connect()` rejects with the signal's
   * reason (an AbortError when the reason is not an Error) and closes what
   * it opened. With `startClient()` it also aborts the authentication
   * steps. An established connection is not affected.
   */
  signal?: AbortSignal;
  /** ssh_config path; default ~/.ssh/config if it exists; false = ignore. */
  config?: string | false;
  /** Answers keyboard-interactive prompts. */
  kbdintHandler?: KeyboardInteractiveHandler;
  /** Supplies a new password when the server says the old one expired. */
  passwordChangeHandler?: PasswordChangeHandler;
  /** Receives the server's pre-authentication banner. */
  onBanner?: BannerHandler;
  /**
   * Kerberos: gssapi-with-mic with the tickets `kinit` left in the credential
   * cache (KRB5CCNAME), tried first when the server allows it (AsyncSSH's
   * `gss_auth`). Default: the config's GSSAPIAuthentication, else false.
   */
  gssAuth?: boolean;
  /** The host whose `host/` principal to ask a ticket for. Default: the config's GSSAPIServerIdentity, else the host connected to. */
  gssHost?: string;
  /** Forward the ticket-granting ticket to the server (`ssh -K`). Default: the config's GSSAPIDelegateCredentials, else false. */
  gssDelegateCreds?: boolean;
  /**
   * GSS-API key exchange (`gss-*` methods, RFC 4462 section 2 / RFC 8732):
   * the server is authenticated by Kerberos instead of its host key (which
   * is then not checked against known_hosts), and `gssapi-keyex` logs in
   * without another round trip. Tickets are fetched before connecting; a
   * client without them offers the ordinary methods only. Default: the
   * config's GSSAPIKeyExchange, else false.
   */
  gssKex?: boolean;
  /** Canonicalize `gssHost` through the resolver first, unless krb5.conf says dns_canonicalize_hostname = false. Default: the config's GSSAPITrustDns, else true. */
  gssTrustDns?: boolean;
  /** Diagnostic lines (never secrets). */
  debug?: (message: string) => void;
  /** Also hexdump every packet to `debug` / NODE_DEBUG=sshwire (Paramiko's set_hexdump); user-auth requests are withheld. */
  hexdump?: boolean;
  /** Receive window per channel, in bytes (1 to 2^32-1). Default 2 MiB. An invalid value rejects with SSHException `ERR_SSH_BAD_OPTION` before anything is opened. */
  window?: number;
  /** Largest channel data packet accepted, in bytes (1 to 256 KiB - 2048). Default 32 KiB. An invalid value rejects with SSHException `ERR_SSH_BAD_OPTION` before anything is opened. */
  maxPacketSize?: number;
}

function bad(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_OPTION' });
}

/** Loads known_hosts files; a missing file is an empty one. */
export function loadKnownHosts(files: readonly string[]): HostKeys {
  const hk = new HostKeys();
  for (const f of files) {
    try {
      hk.load(f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return hk;
}

/** The policy client `connect()` hands to host key policies: the first known_hosts file is where AutoAddPolicy saves. */
function policyClient(hostKeys: HostKeys, file: string | null): HostKeyPolicyClient {
  return {
    getHostKeys: () => hostKeys,
    saveHostKeys: (filename: string) => {
      mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
      hostKeys.save(filename);
    },
    hostKeysFilename: file,
  };
}

/** The policy ssh_config's StrictHostKeyChecking asks for: `accept-new` / `no` record new keys; anything else leaves the default (reject). */
function strictPolicy(cfg: SSHConfigDict | null): { policy?: MissingHostKeyPolicy } {
  const v = cfg?.get('stricthostkeychecking')?.toLowerCase();
  return v === 'accept-new' || v === 'no' || v === 'off' ? { policy: new AutoAddPolicy() } : {};
}

/** ssh_config's UpdateHostKeys: `yes` updates; `ask` has nobody to ask here, so it does not. */
function configUpdateHostKeys(cfg: SSHConfigDict | null, debug?: (m: string) => void): boolean {
  const v = cfg?.get('updatehostkeys')?.toLowerCase();
  if (v === 'ask') debug?.('UpdateHostKeys ask: no one to ask, so host keys are not updated');
  return v === 'yes' || v === 'true';
}

/** Bind address, port and address family: the options first, then ssh_config's BindAddress / AddressFamily. */
function tcpBinding(options: ConnectOptions, cfg: SSHConfigDict | null): { localAddress?: string; localPort?: number; family?: 4 | 6 } {
  const af = cfg?.get('addressfamily')?.toLowerCase();
  const family = options.family ?? (af === 'inet' ? 4 : af === 'inet6' ? 6 : undefined);
  const localAddress = options.localAddress ?? cfg?.get('bindaddress');
  return {
    ...(localAddress !== undefined ? { localAddress } : {}),
    ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
    ...(family !== undefined ? { family } : {}),
  };
}

function merge(explicit: string[] | undefined, fromConfig: string[] | undefined): string[] | undefined {
  return explicit ?? fromConfig;
}

/**
 * Connects and authenticates. Rejects with TimeoutError (readyTimeout),
 * NoValidConnectionsError (nothing accepted the TCP connection),
 * BadHostKeyException (changed or revoked host key), SSHException
 * ERR_SSH_UNKNOWN_HOST_KEY (unknown host refused by the policy),
 * AuthenticationException and its subclasses, PasswordRequiredException
 * (an explicit key is encrypted and no passphrase was given), or the
 * signal's reason.
 */
export async function connect(options: ConnectOptions): Promise<SSHClientConnection> {
  const prepared = await prepareClient(options);
  let connection: Connection | null = null;
  const { transport, auth } = await establish({ ...prepared.params, onAuthenticated: (t) => (connection = prepared.connectionLayer(t)) });
  return prepared.finish(transport, connection!, auth);
}

/** What connect() and startClient() share: the parameters for the way in, and how to build the connection once in. */
export interface PreparedClient {
  params: EstablishParams;
  /** The connection layer for an authenticated transport (attach it in the tick authentication succeeds). */
  connectionLayer(t: ClientTransport): Connection;
  finish(transport: ClientTransport, connection: Connection, auth: ClientAuthResult): SSHClientConnection;
}

/** @internal Reads ssh_config and the options into everything the way in needs. */
export async function prepareClient(options: ConnectOptions): Promise<PreparedClient> {
  if (!options || typeof options.host !== 'string' || options.host.length === 0) throw bad('connect() needs a host');
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) throw bad(`invalid port ${String(options.port)}`);
  // Before ssh_config is read: its Match exec runs commands.
  checkEstablishDurations(options);
  const cfg = await lookupConfig(options.config, options.host, {
    ...(options.username !== undefined ? { user: options.username } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  const host = cfg?.hostname ?? options.host;
  const port = options.port ?? cfg?.port ?? 22;
  const username = options.username ?? cfg?.user ?? userInfo().username;
  const cfgAlg = cfg ? configAlgorithms(cfg) : {};
  const keepalive = cfg ? configKeepalive(cfg) : {};

  // Host keys.
  const kh = options.knownHosts;
  const checking = kh !== null;
  // Under HostKeyAlias, known_hosts holds the alias alone (port 22 adds no brackets).
  const alias = options.hostKeyAlias ?? cfg?.get('hostkeyalias');
  const [khHost, khPort] = alias !== undefined ? [alias, 22] : [host, port];
  // One set per file, so that what AutoAddPolicy and updateHostKeys write to the first file holds only its own lines.
  let knownFiles: string[] = [];
  let sets: HostKeys[];
  if (kh instanceof HostKeys) {
    sets = [kh];
  } else {
    const list: readonly (string | PublicKey)[] = kh === undefined ? ((cfg && configKnownHosts(cfg)) ?? [join(homedir(), '.ssh', 'known_hosts')]) : kh === null ? [] : typeof kh === 'string' ? [kh] : kh;
    knownFiles = list.filter((e): e is string => typeof e === 'string');
    sets = knownFiles.map((f) => loadKnownHosts([f]));
    const trusted = list.filter((e): e is PublicKey => typeof e !== 'string');
    if (sets.length === 0 || trusted.length > 0) sets.push(new HostKeys());
    for (const k of trusted) sets[sets.length - 1]!.add(knownHostsName(khHost, khPort), k.keyType, k);
    if (cfg?.asBool('hashknownhosts')) for (const s of sets) s.hashHostnames = true;
  }
  const hostKeys = sets[0]!;
  const knownFile = knownFiles[0] ?? null;
  const verifyHostKey = checking
    ? hostKeyVerifier({
        hostKeys: sets,
        ...(options.hostKeyPolicy ? { policy: options.hostKeyPolicy } : strictPolicy(cfg)),
        client: policyClient(hostKeys, knownFile),
        host: khHost,
        port: khPort,
        ...(options.debug ? { debug: options.debug } : {}),
      })
    : async () => true;

  const algorithms: AlgorithmOptions = {};
  const a = options.algorithms ?? {};
  const kex = merge(a.kex, cfgAlg.kex);
  const cipher = merge(a.cipher, cfgAlg.cipher);
  const mac = merge(a.mac, cfgAlg.mac);
  const serverHostKey = merge(a.serverHostKey, cfgAlg.serverHostKey) ?? (checking ? preferredHostKeyAlgorithms(sets, khHost, khPort) ?? undefined : undefined);
  if (kex) algorithms.kex = kex;
  if (cipher) algorithms.cipher = cipher;
  if (mac) algorithms.mac = mac;
  if (serverHostKey) algorithms.serverHostKey = serverHostKey;
  if (a.compression) algorithms.compression = a.compression;
  const { publicKey: disabledPublicKey, ...disabledTransport } = options.disabledAlgorithms ?? {};
  let publicKeyAlgorithms = merge(a.publicKey, cfgAlg.publicKey);
  if (disabledPublicKey?.length) {
    publicKeyAlgorithms = (publicKeyAlgorithms ?? [...DEFAULT_PUBLICKEY_ALGORITHMS]).filter((x) => !disabledPublicKey.includes(x));
  }

  // Keys.
  const explicit: KeyInput[] = [];
  if (options.privateKey !== undefined) explicit.push(options.privateKey);
  if (options.clientKeys) explicit.push(...options.clientKeys);
  const noPublickey = options.clientKeys === null;
  const lookForKeys = options.lookForKeys ?? explicit.length === 0;
  const cfgIdentities = cfg?.identityFiles ?? [];
  const discovered = noPublickey || !lookForKeys ? [] : cfgIdentities.length > 0 ? cfgIdentities : defaultKeyFiles();

  const gssOptions = {
    host: options.gssHost ?? cfg?.get('gssapiserveridentity') ?? host,
    delegate: options.gssDelegateCreds ?? cfg?.asBool('gssapidelegatecredentials') ?? false,
    trustDns: options.gssTrustDns ?? cfg?.asBool('gssapitrustdns', true) ?? true,
  };

  const keepaliveInterval = options.keepaliveInterval ?? keepalive.interval;
  const keepaliveCountMax = options.keepaliveCountMax ?? keepalive.countMax;
  const transportOptions: EstablishParams['transport'] = {
    verifyHostKey,
    algorithms,
    disabledAlgorithms: disabledTransport,
    ...(options.bannerTimeout !== undefined ? { bannerTimeout: options.bannerTimeout } : {}),
    ...(keepaliveInterval !== undefined ? { keepaliveInterval } : {}),
    ...(keepaliveCountMax !== undefined ? { keepaliveCountMax } : {}),
    ...(options.rekeyBytes !== undefined ? { rekeyBytes: options.rekeyBytes } : {}),
    ...(options.rekeySeconds !== undefined ? { rekeySeconds: options.rekeySeconds } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
    ...(options.hexdump ? { hexdump: true } : {}),
  };
  const connectionOptions: ConnectionOptions = {
    role: 'client',
    ...(options.window !== undefined ? { window: options.window } : {}),
    ...(options.maxPacketSize !== undefined ? { maxPacketSize: options.maxPacketSize } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
  };
  // The transport is built after the TCP connect and the connection layer after the login:
  // their own checks run now, so a bad value fails before any of that (or a Kerberos ticket fetch).
  checkLayerOptions({ ...transportOptions, role: 'client' }, connectionOptions);

  const gssKex = (options.gssKex ?? cfg?.asBool('gssapikeyexchange') ?? false) ? await krb5KexOptionsIfAvailable(gssOptions, options.debug) : undefined;

  // Socket: the caller's, else the config's ProxyCommand (started after everything that can refuse the options), else TCP.
  let sock: Duplex | undefined = options.sock;
  if (!sock && cfg?.proxyCommand) sock = new ProxyCommand(cfg.proxyCommand);
  const params: EstablishParams = {
    host,
    port,
    username,
    sock,
    readyTimeout: options.readyTimeout ?? 20_000,
    tcp: tcpBinding(options, cfg),
    signal: options.signal,
    transport: { ...transportOptions, ...(gssKex ? { gssKex } : {}) },
    auth: {
      ...callerAuth(options),
      ...(options.authTimeout !== undefined ? { authTimeout: options.authTimeout } : {}),
      ...(publicKeyAlgorithms ? { publicKeyAlgorithms } : {}),
      ...((options.gssAuth ?? cfg?.asBool('gssapiauthentication') ?? false) ? { gssapi: krb5ClientMechanism(gssOptions) } : {}),
      ...(options.debug ? { debug: options.debug } : {}),
    },
    identities: {
      explicit: noPublickey ? [] : explicit,
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(noPublickey ? { agent: false as const } : options.agent !== undefined ? { agent: options.agent } : {}),
      discovered,
      certificates: [...(options.clientCerts ?? []), ...(cfg?.certificateFiles ?? [])],
      ...(options.debug ? { debug: options.debug } : {}),
    },
  };
  // The connection layer attaches in the same tick as USERAUTH_SUCCESS, before the server's next message.
  const updateSetup: HostKeysUpdateSetup = {
    sets: checking ? sets : [],
    managed: checking ? hostKeys : null,
    save: knownFile === null ? null : () => policyClient(hostKeys, knownFile).saveHostKeys(knownFile),
    host: khHost,
    port: khPort,
    update: options.updateHostKeys ?? configUpdateHostKeys(cfg, options.debug),
    handler: options.serverHostKeysHandler,
    debug: options.debug,
  };
  const connectionLayer = (t: ClientTransport): Connection => {
    const c = new Connection(t, connectionOptions);
    watchServerHostKeys(c, t, updateSetup);
    return c;
  };
  const cfgForward = parseForwardAgent(cfg?.get('forwardagent'));
  const agentSocket =
    typeof cfgForward === 'string' && options.agentForwarding === undefined
      ? cfgForward
      : typeof options.agent === 'string'
        ? options.agent
        : options.agent instanceof AgentClient
          ? options.agent.socketPath
          : (process.env.SSH_AUTH_SOCK ?? null);
  const finish = (transport: ClientTransport, connection: Connection, auth: ClientAuthResult): SSHClientConnection => new SSHClientConnection(transport, connection, auth, {
    socketPath: agentSocket || null,
    byDefault: options.agentForwarding ?? (cfgForward !== undefined && cfgForward !== false),
    ...(options.debug ? { debug: options.debug } : {}),
  }, {
    byDefault: options.x11Forwarding ?? (cfg?.asBool('forwardx11') ? 'ignoreFailure' : false),
    ...(options.x11Display !== undefined ? { display: options.x11Display } : {}),
    ...(options.x11AuthPath !== undefined ? { authPath: options.x11AuthPath } : {}),
    ...(options.x11SingleConnection !== undefined ? { singleConnection: options.x11SingleConnection } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
  });
  return { params, connectionLayer, finish };
}
