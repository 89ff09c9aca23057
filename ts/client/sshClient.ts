/**
 * `SSHClient`: the Paramiko-shaped client. Host keys come from files the
 * program loads (system ones are never written; the others are saved by
 * AutoAddPolicy), the missing-host-key policy decides about unknown hosts,
 * and connect() tries credentials in Paramiko's order. Times are in
 * milliseconds (Paramiko uses seconds).
 */
import type { SFTPClient, SFTPClientOptions } from '../sftp/index.js';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type BannerHandler, DEFAULT_PUBLICKEY_ALGORITHMS, type KeyboardInteractiveHandler, type PasswordChangeHandler } from '../auth/index.js';
import { krb5ClientMechanism, krb5KexOptionsIfAvailable } from '../auth/gssapi/index.js';
import { checkLayerOptions, Connection, type ConnectionOptions, type SessionChannel } from '../connection/index.js';
import { SSHException, TimeoutError } from '../errors.js';
import { HostKeys } from '../keys/index.js';
import { checkDuration, DEFAULT_CIPHER, DEFAULT_HOST_KEY, DEFAULT_KEX, DEFAULT_MAC, type AlgorithmOptions } from '../transport/index.js';
import type { Duplex } from 'node:stream';
import type { ClientTransport } from './clientTransport.js';
import { SSHClientConnection } from './clientConnection.js';
import { callerAuth, checkEstablishDurations, establish, type EstablishParams } from './establish.js';
import { hostKeyVerifier, preferredHostKeyAlgorithms } from './hostKeyCheck.js';
import { defaultKeyFiles, type KeyInput } from './identities.js';
import { type HostKeyPolicyClient, MissingHostKeyPolicy, RejectPolicy } from './policies.js';
import { type ServerHostKeysHandler, watchServerHostKeys } from './hostKeysUpdate.js';

/** Paramiko's `disabled_algorithms` keys, and sshwire's own names. */
export interface DisabledAlgorithms {
  /** Paramiko's name for `cipher`: encryption algorithms. */
  ciphers?: string[];
  /** Paramiko's name for `mac`: MAC algorithms. */
  macs?: string[];
  /** Paramiko's name for `serverHostKey`: host key algorithms. */
  keys?: string[];
  /** Key exchange methods. */
  kex?: string[];
  /** Paramiko's name for `publicKey`: signature algorithms for user keys. */
  pubkeys?: string[];
  /** Compression methods (ignored in `enabledAlgorithms`: `compress` offers zlib). */
  compression?: string[];
  /** Encryption algorithms (merged with `ciphers`). */
  cipher?: string[];
  /** MAC algorithms (merged with `macs`). */
  mac?: string[];
  /** Host key algorithms (merged with `keys`). */
  serverHostKey?: string[];
  /** Signature algorithms for user keys (merged with `pubkeys`). */
  publicKey?: string[];
}

/**
 * sshwire's counterpart of `disabledAlgorithms` (same keys): names added
 * after the defaults, for what is off by default, such as DSA keys
 * (`{ keys: ['ssh-dss'], pubkeys: ['ssh-dss'] }`, which Paramiko enables
 * unasked), SHA-1 `ssh-rsa` or `diffie-hellman-group14-sha1`.
 */
export type EnabledAlgorithms = DisabledAlgorithms;

/** Options of `SSHClient.connect` (Paramiko's, camelCase; times in milliseconds). */
export interface SSHClientConnectOptions {
  /** Default 22. */
  port?: number;
  /** Default: the local user name. */
  username?: string;
  /** For `password` authentication (tried after keys); also answers a keyboard-interactive password prompt, and unlocks encrypted keys when `passphrase` is absent. */
  password?: string;
  /** A private key to try first. */
  pkey?: KeyInput;
  /** Key file(s) to try. */
  keyFilename?: string | string[];
  /**
   * TCP connect timeout per address, 0 to 2^31-1 ms; 0 or absent = none of
   * its own. Like every time here, a value outside its range (negative,
   * Infinity, NaN, past what a timer holds) fails `connect()` with
   * SSHException `ERR_SSH_BAD_OPTION` before anything is opened.
   */
  timeout?: number;
  /** Use keys from ssh-agent ($SSH_AUTH_SOCK). Default true. */
  allowAgent?: boolean;
  /** Try ~/.ssh/id_ed25519, id_ecdsa, id_rsa, id_dsa (DSA only if `ssh-dss` is accepted). Default true. */
  lookForKeys?: boolean;
  /** Offer zlib compression. */
  compress?: boolean;
  /** A connected stream to use instead of TCP. */
  sock?: Duplex;
  /** Kerberos gssapi-with-mic with the credential cache's tickets (KRB5CCNAME), tried first. Default false. */
  gssAuth?: boolean;
  /** GSS-API key exchange (RFC 4462 section 2): Kerberos authenticates the server instead of its host key; gssapi-keyex logs in. Default false. */
  gssKex?: boolean;
  /** Forward the ticket-granting ticket to the server. Default false. */
  gssDelegCreds?: boolean;
  /** The host whose `host/` principal to use. Default: `hostname`. */
  gssHost?: string;
  /** Canonicalize gssHost through the resolver (unless krb5.conf's dns_canonicalize_hostname is false). Default true. */
  gssTrustDns?: boolean;
  /** Limit on the server's identification line, 0 to 2^31-1 ms. Default 15 000 (Paramiko's); 0 = no limit. */
  bannerTimeout?: number;
  /** Per-reply limit during authentication, 0 to 2^31-1 ms. Default 30 000; 0 = no limit. */
  authTimeout?: number;
  /** Limit on opening a channel and on channel and global requests (execCommand, invokeShell), 0 to 2^31-1 ms. Default 60 000; 0 = no limit. */
  channelTimeout?: number;
  /** Unlocks encrypted private keys; when absent, `password` is tried for that too (as Paramiko does). */
  passphrase?: string;
  /** Names to remove from the preference lists (Paramiko's `disabled_algorithms`). A category left empty fails with NegotiationError. */
  disabledAlgorithms?: DisabledAlgorithms;
  /** Legacy algorithms to allow besides the defaults (sshwire's addition; see EnabledAlgorithms). */
  enabledAlgorithms?: EnabledAlgorithms;
  /** Everything up to an authenticated connection, 0 to 2^31-1 ms. Default 0 (no overall limit: each stage has its own). */
  readyTimeout?: number;
  /** Aborts the connection attempt: `connect()` rejects with the signal's reason (an AbortError when it is not an Error). No effect once connected. */
  signal?: AbortSignal;
  /** Answers keyboard-interactive prompts, one string per prompt. Without it, keyboard-interactive is tried only when `password` is set, answering a single password prompt with it. */
  kbdintHandler?: KeyboardInteractiveHandler;
  /** Supplies a new password when the server says `password` has expired; without it that fails with AuthenticationException `ERR_SSH_PASSWORD_CHANGE`. */
  passwordChangeHandler?: PasswordChangeHandler;
  /** Receives the server's pre-authentication banner (show it as is); errors it throws are ignored. */
  onBanner?: BannerHandler;
  /** Milliseconds between keepalive probes while the server is silent (Paramiko's `Transport.set_keepalive`, in seconds), 0 to 2^31-1; 0 (default) disables. After `keepaliveCountMax` unanswered intervals the connection fails with TimeoutError. An invalid value fails `connect()` with SSHException `ERR_SSH_BAD_OPTION`. */
  keepaliveInterval?: number;
  /** Unanswered keepalive intervals before the server counts as dead (OpenSSH's ServerAliveCountMax; sshwire's addition, Paramiko always uses 3): an integer >= 1, default 3. An invalid value fails `connect()` with SSHException `ERR_SSH_BAD_OPTION`. */
  keepaliveCountMax?: number;
  /**
   * Learn the server's other host keys (ssh's UpdateHostKeys; sshwire's
   * addition): keys an OpenSSH server announces after authentication are
   * proved, then added to `getHostKeys()` and saved to the file
   * `loadHostKeys` read, if any; its lines naming only this host for keys
   * the server no longer has are deleted. Only when those host keys (not
   * the system ones) record the key this connection was made with.
   * Default false.
   */
  updateHostKeys?: boolean;
  /** Told what the server's host key announcement means (see connect()'s `serverHostKeysHandler`). */
  serverHostKeysHandler?: ServerHostKeysHandler;
  /** Receives diagnostic lines (never keys or passwords). */
  debug?: (message: string) => void;
  /** Receive window of each channel, in bytes (1 to 2^32-1). Default 2 MiB. An invalid value fails `connect()` with SSHException `ERR_SSH_BAD_OPTION`. */
  window?: number;
  /** Largest channel data packet accepted, in bytes (1 to 256 KiB - 2048). Default 32 KiB. An invalid value fails `connect()` with SSHException `ERR_SSH_BAD_OPTION`. */
  maxPacketSize?: number;
}

/** stdout / stderr of `execCommand`: readable streams that know their channel. */
export type ChannelReadable = Readable & { channel: SessionChannel };

/** Options of `SSHClient.execCommand` (Paramiko's `exec_command` arguments). */
export interface ExecCommandOptions {
  /**
   * Close the channel with TimeoutError if the command has not finished
   * within this many ms, 0 to 2^31-1; 0 or absent = no limit. (Paramiko's is
   * a per-read timeout; Node streams have no blocking read, so here it
   * bounds the whole command.) Another value rejects with SSHException
   * `ERR_SSH_BAD_OPTION` before the channel is opened.
   */
  timeout?: number;
  /** Request a pseudo-terminal first. */
  getPty?: boolean;
  /** Environment variables (the server may ignore them: OpenSSH needs AcceptEnv). */
  environment?: Record<string, string>;
  /** Accepted for Paramiko compatibility; Node streams buffer on their own. */
  bufsize?: number;
  /** Deliver stderr on stdout in arrival order, as `stdout.channel.setCombineStderr(true)` before the command starts. */
  combineStderr?: boolean;
}

/** Options of `SSHClient.invokeShell` (Paramiko's `invoke_shell` arguments). */
export interface InvokeShellOptions {
  /** Default `vt100` (Paramiko's). */
  term?: string;
  /** Size in characters, default 80 × 24. */
  width?: number;
  /** Rows; default 24. */
  height?: number;
  /** Width in pixels; default 0 (not given). */
  widthPixels?: number;
  /** Height in pixels; default 0 (not given). */
  heightPixels?: number;
  /** Environment variables, sent without waiting for replies: one the server refuses is ignored (OpenSSH needs AcceptEnv). */
  environment?: Record<string, string>;
}

/** Paramiko's category names (and ours) as the transport's lists plus the publickey list. */
function translateNames(d: DisabledAlgorithms | undefined): { transport: AlgorithmOptions; publicKey: string[] } {
  const t: AlgorithmOptions = {};
  const join2 = (a?: string[], b?: string[]): string[] | undefined => (a || b ? [...(a ?? []), ...(b ?? [])] : undefined);
  const cipher = join2(d?.ciphers, d?.cipher);
  const mac = join2(d?.macs, d?.mac);
  const hostKey = join2(d?.keys, d?.serverHostKey);
  if (cipher) t.cipher = cipher;
  if (mac) t.mac = mac;
  if (hostKey) t.serverHostKey = hostKey;
  if (d?.kex) t.kex = d.kex;
  if (d?.compression) t.compression = d.compression;
  return { transport: t, publicKey: join2(d?.pubkeys, d?.publicKey) ?? [] };
}

/**
 * Paramiko's `SSHClient`: load host keys, set the missing-host-key policy
 * (default RejectPolicy), `connect()`, then `execCommand`, `invokeShell`,
 * `openSftp`, and `close()` (or `await using`). Times are milliseconds.
 * One connection at a time; the calls that need it reject with SSHException
 * `ERR_SSH_NOT_CONNECTED` when there is none. Every method that returns a
 * promise reports failures through it, never by throwing.
 */
export class SSHClient implements HostKeyPolicyClient {
  #systemHostKeys = new HostKeys();
  #hostKeys = new HostKeys();
  #hostKeysFilename: string | null = null;
  #policy: MissingHostKeyPolicy = new RejectPolicy();
  #conn: SSHClientConnection | null = null;

  /**
   * Loads known_hosts entries that are checked but never written back.
   * Without a path: ~/.ssh/known_hosts, ignored if missing.
   */
  loadSystemHostKeys(filename?: string): void {
    if (filename === undefined) {
      try {
        this.#systemHostKeys.load(join(homedir(), '.ssh', 'known_hosts'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      return;
    }
    this.#systemHostKeys.load(filename);
  }

  /** Loads host keys the program manages; AutoAddPolicy saves new keys back to this file. */
  loadHostKeys(filename: string): void {
    this.#hostKeysFilename = filename;
    try {
      this.#hostKeys.load(filename);
    } catch (err) {
      // Paramiko: a file that does not exist yet is fine; it is created on save.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Writes the managed host keys (not the system ones) to `filename`. */
  saveHostKeys(filename: string): void {
    this.#hostKeys.save(filename);
  }

  /** The managed host keys (add to them to trust a host). */
  getHostKeys(): HostKeys {
    return this.#hostKeys;
  }

  /** Where loadHostKeys read from, or null. */
  get hostKeysFilename(): string | null {
    return this.#hostKeysFilename;
  }

  /** The policy for hosts not in any loaded known_hosts. Default RejectPolicy. */
  setMissingHostKeyPolicy(policy: MissingHostKeyPolicy | (new () => MissingHostKeyPolicy)): void {
    // Paramiko accepts the class as well as an instance.
    const chosen = typeof policy === 'function' ? new policy() : policy;
    if (!chosen || typeof chosen.missingHostKey !== 'function') {
      // The policy in force stays as it was.
      throw new SSHException('a host key policy needs a missingHostKey(client, hostname, key) method', { code: 'ERR_SSH_BAD_OPTION' });
    }
    this.#policy = chosen;
  }

  /**
   * Connects and authenticates: `pkey`, then `keyFilename`, then agent keys,
   * then ~/.ssh/id_* keys, then `password`, then keyboard-interactive.
   */
  async connect(hostname: string, options: SSHClientConnectOptions = {}): Promise<void> {
    if (this.#conn && !this.#conn.isClosed) throw new SSHException('this SSHClient is already connected; close() it first', { code: 'ERR_SSH_BAD_OPTION' });
    if (typeof hostname !== 'string' || hostname.length === 0) throw new SSHException('connect() needs a hostname', { code: 'ERR_SSH_BAD_OPTION' });
    const gssOptions = { host: options.gssHost ?? hostname, delegate: options.gssDelegCreds ?? false, trustDns: options.gssTrustDns ?? true };
    const port = options.port ?? 22;
    const disabled = translateNames(options.disabledAlgorithms);
    const enabled = translateNames(options.enabledAlgorithms);
    const sets = [this.#systemHostKeys, this.#hostKeys];
    const algorithms: AlgorithmOptions = {};
    const plus = (defaults: readonly string[], extra: string[] | undefined): string[] => [...defaults, ...(extra ?? []).filter((a) => !defaults.includes(a))];
    if (enabled.transport.kex) algorithms.kex = plus(DEFAULT_KEX, enabled.transport.kex);
    if (enabled.transport.cipher) algorithms.cipher = plus(DEFAULT_CIPHER, enabled.transport.cipher);
    if (enabled.transport.mac) algorithms.mac = plus(DEFAULT_MAC, enabled.transport.mac);
    const hostKeyBase = plus(DEFAULT_HOST_KEY, enabled.transport.serverHostKey);
    const preferred = preferredHostKeyAlgorithms(sets, hostname, port, hostKeyBase);
    if (preferred || enabled.transport.serverHostKey) algorithms.serverHostKey = preferred ?? hostKeyBase;
    algorithms.compression = options.compress ? ['zlib@openssh.com', 'zlib', 'none'] : ['none'];
    const publicKeyAlgorithms = plus(DEFAULT_PUBLICKEY_ALGORITHMS, enabled.publicKey).filter((a) => !disabled.publicKey.includes(a));
    const explicit: KeyInput[] = options.pkey !== undefined ? [options.pkey] : [];
    const keyFiles = options.keyFilename === undefined ? [] : Array.isArray(options.keyFilename) ? options.keyFilename : [options.keyFilename];
    const channelTimeout = options.channelTimeout ?? 60_000;
    const transportOptions: EstablishParams['transport'] = {
      verifyHostKey: hostKeyVerifier({ hostKeys: sets, policy: this.#policy, client: this, host: hostname, port }),
      algorithms,
      disabledAlgorithms: disabled.transport,
      bannerTimeout: options.bannerTimeout ?? 15_000,
      ...(options.keepaliveInterval !== undefined ? { keepaliveInterval: options.keepaliveInterval } : {}),
      ...(options.keepaliveCountMax !== undefined ? { keepaliveCountMax: options.keepaliveCountMax } : {}),
      ...(options.debug ? { debug: options.debug } : {}),
    };
    const connectionOptions: ConnectionOptions = {
      role: 'client',
      requestTimeout: channelTimeout,
      ...(options.window !== undefined ? { window: options.window } : {}),
      ...(options.maxPacketSize !== undefined ? { maxPacketSize: options.maxPacketSize } : {}),
      ...(options.debug ? { debug: options.debug } : {}),
    };
    // The transport is built after the TCP connect and the connection layer after the login:
    // their own checks run now, so a bad value fails before any of that (or a Kerberos ticket fetch).
    // channelTimeout first, so that a bad one is reported under its own name, not requestTimeout.
    checkDuration('channelTimeout', options.channelTimeout, { zero: 'no limit' });
    checkLayerOptions({ ...transportOptions, role: 'client' }, connectionOptions);
    checkEstablishDurations({ ...options, tcpTimeout: options.timeout });
    const gssKex = options.gssKex ? await krb5KexOptionsIfAvailable(gssOptions, options.debug) : undefined;
    let connection: Connection | null = null;
    const { transport, auth } = await establish({
      host: hostname,
      port,
      username: options.username ?? userInfo().username,
      sock: options.sock,
      ...(options.timeout !== undefined ? { tcpTimeout: options.timeout } : {}),
      readyTimeout: options.readyTimeout ?? 0,
      signal: options.signal,
      transport: { ...transportOptions, ...(gssKex ? { gssKex } : {}) },
      auth: {
        ...callerAuth(options),
        ...(options.gssAuth ? { gssapi: krb5ClientMechanism(gssOptions) } : {}),
        authTimeout: options.authTimeout ?? 30_000,
        publicKeyAlgorithms,
        ...(options.debug ? { debug: options.debug } : {}),
      },
      identities: {
        explicit,
        keyFiles,
        ...((options.passphrase ?? options.password) !== undefined ? { passphrase: options.passphrase ?? options.password } : {}),
        ...(options.allowAgent === false ? { agent: false as const } : {}),
        discovered: options.lookForKeys === false ? [] : defaultKeyFiles(),
        ...(options.debug ? { debug: options.debug } : {}),
      },
      onAuthenticated: (t) => {
        connection = new Connection(t, connectionOptions);
        watchServerHostKeys(connection, t, {
          sets,
          managed: this.#hostKeys,
          save: this.#hostKeysFilename === null ? null : () => this.#hostKeys.save(this.#hostKeysFilename!),
          host: hostname,
          port,
          update: options.updateHostKeys ?? false,
          handler: options.serverHostKeysHandler,
          debug: options.debug,
        });
      },
    });
    this.#conn = new SSHClientConnection(transport, connection!, auth);
  }

  #connection(): SSHClientConnection {
    if (!this.#conn || this.#conn.isClosed) throw new SSHException('SSHClient is not connected', { code: 'ERR_SSH_NOT_CONNECTED' });
    return this.#conn;
  }

  /**
   * Runs `command` on a new channel. Returns its stdin (Writable) and
   * stdout/stderr (Readable, each with `.channel`, so
   * `await stdout.channel.recvExitStatus()` gives the exit status).
   */
  async execCommand(command: string, options: ExecCommandOptions = {}): Promise<{ stdin: Writable; stdout: ChannelReadable; stderr: ChannelReadable }> {
    checkDuration('timeout', options.timeout, { zero: 'no limit' });
    const ch = await this.#connection().openSession();
    if (options.combineStderr) ch.setCombineStderr(true);
    try {
      if (options.getPty) await ch.requestPty({ term: 'vt100' });
      // Paramiko sends env without asking for a reply: a refused variable is not an error.
      for (const [k, v] of Object.entries(options.environment ?? {})) void ch.setEnv(k, v).catch(() => false);
      await ch.exec(command);
    } catch (err) {
      ch.destroy();
      throw err;
    }
    if (options.timeout !== undefined && options.timeout > 0) runTimeout(ch, options.timeout, command);
    const stdout = withChannel(ch, ch);
    const stderr = withChannel(ch.stderr, ch);
    return { stdin: ch, stdout, stderr };
  }

  /** Starts an interactive shell on a pseudo-terminal; returns the channel (a Duplex with `resize`, `stderr`, `recvExitStatus`). */
  async invokeShell(options: InvokeShellOptions = {}): Promise<SessionChannel> {
    const ch = await this.#connection().openSession();
    try {
      for (const [k, v] of Object.entries(options.environment ?? {})) void ch.setEnv(k, v).catch(() => false);
      await ch.requestPty({
        term: options.term ?? 'vt100',
        cols: options.width ?? 80,
        rows: options.height ?? 24,
        width: options.widthPixels ?? 0,
        height: options.heightPixels ?? 0,
      });
      await ch.shell();
    } catch (err) {
      ch.destroy();
      throw err;
    }
    return ch;
  }

  /** Opens an SFTP session on this connection (Paramiko's `open_sftp`). Rejects (never throws) with SSHException `ERR_SSH_NOT_CONNECTED` when not connected. */
  async openSftp(options: SFTPClientOptions = {}): Promise<SFTPClient> {
    return this.#connection().sftp(options);
  }

  /**
   * The transport, or null when not connected. Besides the transport's own
   * members (negotiated algorithms, rekeying, keepalive) it has Paramiko's
   * Transport conveniences: `openSession`, `openChannel`, `openSftpClient`,
   * `isActive`, `isAuthenticated`, `getUsername`, `getRemoteServerKey`.
   */
  getTransport(): ClientTransport | null {
    return this.#conn && !this.#conn.isClosed ? this.#conn.transport : null;
  }

  /** The AsyncSSH-shaped connection (run / exec / shell), or null when not connected. */
  getConnection(): SSHClientConnection | null {
    return this.#conn && !this.#conn.isClosed ? this.#conn : null;
  }

  /** Disconnects (safe to call more than once). */
  close(): void {
    this.#conn?.close();
  }

  /** `await using`: closes, and resolves once the connection is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    const c = this.#conn;
    this.close();
    if (c) await c.closed;
  }
}

function withChannel<T extends Readable>(stream: T, ch: SessionChannel): T & { channel: SessionChannel } {
  Object.defineProperty(stream, 'channel', { value: ch, enumerable: false, configurable: true });
  return stream as T & { channel: SessionChannel };
}

/** Closes the channel with TimeoutError if it is still open after `ms`. */
function runTimeout(ch: SessionChannel, ms: number, command: string): void {
  const timer = setTimeout(() => ch.destroy(new TimeoutError(`${JSON.stringify(command)} did not finish within ${ms} ms`)), ms);
  timer.unref?.();
  const stop = (): void => clearTimeout(timer);
  ch.once('close', stop);
  ch.exit.then(stop, stop);
}
