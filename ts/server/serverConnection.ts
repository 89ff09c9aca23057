/**
 * One client connection on the server: transport (key exchange), user
 * authentication under the connection's policy, then the connection layer
 * with channel opens and global requests answered by the policy.
 *
 * Anything the client does wrong ends only this connection; the error is
 * recorded (`error`) and reported to the server's 'error' listeners.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { UserAuthServer } from '../auth/index.js';
import { krb5ServerMechanism, type Krb5ServerMechanism } from '../auth/gssapi/index.js';
import { type Channel, Connection, encodeTcpipOpenData, InOrder, OPEN_FAILURE, type IncomingChannelRequest, type SessionChannel, type WaitOptions } from '../connection/index.js';
import { encodeX11OpenData } from '../connection/x11.js';
import type { Signer } from '../crypto/types.js';
import { DisconnectError, ProtocolError, SSHException } from '../errors.js';
import { type AuthorizedKeyEntry, HOSTKEYS_PROVE, type PrivateKey } from '../keys/index.js';
import type { SFTPServerInterface } from '../sftp/server/index.js';
import { Transport } from '../transport/index.js';
import { DISCONNECT_REASON } from '../wire/index.js';
import { AgentServerProxy } from './agentForward.js';
import { connectionAuthPolicy } from './authPolicy.js';
import { PortForwards, openDirectTcpip } from './forwarding.js';
import { announceHostKeys, proveHostKeys } from './hostKeyProofs.js';
import { acceptedPublicKeyAlgorithms, serverConnectionOptions, serverSigAlgsFor, serverTransportOptions, type ListenOptions, type SpawnOptions } from './options.js';
import type { ServerProcessFactory } from './process.js';
import { OPEN_SUCCEEDED, type ServerInterface } from './serverInterface.js';
import { serveSession } from './session.js';
import type { SubsystemHandler } from './subsystems.js';

/** What every connection of one server shares. */
export interface ServerContext {
  options: ListenOptions;
  hostKeys: PrivateKey[];
  /** What the transport offers: the host keys, each after its certificate form when it has one. */
  hostSigners: Signer[];
  subsystems: Map<string, SubsystemHandler>;
  sftpFactory: ((conn: SSHServerConnection) => SFTPServerInterface) | null;
  processFactory: ServerProcessFactory | null;
  spawn: SpawnOptions | null;
  acceptEnv: string[];
  maxChannels: number;
  debug: (m: string) => void;
}

/** Channel opens refused for the channel limit before the client counts as flooding. */
const MAX_REFUSED_OPENS = 256;
/** Global requests waiting for a policy answer before the client counts as flooding. */
const MAX_PENDING_GLOBAL = 32;

type Loose = (...args: unknown[]) => unknown;

/** Who is at the other end of a served stream (a net.Socket carries these itself). */
export interface ConnectionPeer {
  /** The client's address. */
  remoteAddress?: string;
  /** The client's port. */
  remotePort?: number;
  /** Our address the client connected to. */
  localAddress?: string;
  /** Our port the client connected to. */
  localPort?: number;
}

function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * A client connected to an SSHServer. Events: 'authenticated' (username),
 * 'close' (error or null).
 */
export class SSHServerConnection extends EventEmitter {
  /** The SSH transport under this connection (key exchange, encryption), as Paramiko's `Transport`. */
  readonly transport: Transport;
  /** The client's address ('' if unknown); IPv4-mapped IPv6 addresses are given as plain IPv4. */
  readonly remoteAddress: string;
  /** The client's port (0 if unknown). */
  readonly remotePort: number;
  /** Our address the client connected to ('' if unknown), written as `remoteAddress` is. */
  readonly localAddress: string;
  /** Our port the client connected to (0 if unknown). */
  readonly localPort: number;
  /** The policy for this connection. */
  readonly policy: ServerInterface;
  /** Resolves when the connection is gone: null for a clean end, else the error that ended it. */
  readonly closed: Promise<Error | null>;
  /** The connection layer, once the client has authenticated. */
  connection: Connection | null = null;
  /** The authenticated user name. */
  username: string | null = null;
  /** Methods that succeeded, in order. */
  authMethods: string[] = [];
  /** The Kerberos principal that authenticated (gssapi-with-mic or gssapi-keyex), else null. */
  gssPrincipal: string | null = null;
  /** A credential cache with the credentials the client delegated through GSS-API, else null; sessions get it as KRB5CCNAME. */
  gssCredentialsCache: string | null = null;
  /** @internal The server's debug log, lines tagged with this client's address. */
  readonly debug: (message: string) => void;
  #authorizedKey: AuthorizedKeyEntry | null = null;
  #error: Error | null = null;
  readonly #ctx: ServerContext;
  readonly #forwards: PortForwards;
  #refusedOpens = 0;
  #agent: Promise<AgentServerProxy> | null = null;
  readonly #gss: Krb5ServerMechanism | null;
  #pendingGlobal = 0;
  /** Global requests are decided one at a time, in arrival order. */
  readonly #globalOrder = new InOrder();

  constructor(socket: Duplex, ctx: ServerContext, policyInput: ListenOptions['server'], peer: ConnectionPeer = {}) {
    super();
    this.#ctx = ctx;
    this.remoteAddress = plainAddress(peer.remoteAddress);
    this.remotePort = peer.remotePort ?? 0;
    this.localAddress = plainAddress(peer.localAddress);
    this.localPort = peer.localPort ?? 0;
    const o = ctx.options;
    const debug = (m: string): void => ctx.debug(`[${this.remoteAddress}:${this.remotePort}] ${m}`);
    this.debug = debug;
    this.policy = typeof policyInput === 'function' ? policyInput(this) : (policyInput ?? {});
    this.#forwards = new PortForwards(this, debug);
    const gss = (this.#gss = o.gssapi ? krb5ServerMechanism(o.gssapi === true ? {} : o.gssapi) : null);
    const publicKeyAlgorithms = acceptedPublicKeyAlgorithms(o);
    this.transport = new Transport(socket, {
      ...(publicKeyAlgorithms ? { serverSigAlgs: serverSigAlgsFor(publicKeyAlgorithms) } : {}),
      ...serverTransportOptions(o, ctx.hostSigners),
      ...(gss && o.gssKex ? { gssKex: { oid: gss.oid, acceptor: () => gss.createContext() } } : {}),
      ...(o.debug ? { debug } : {}),
    });
    // The transport's own failures surface through `closed`; a late socket error must not crash us.
    socket.on('error', () => {});
    const auth = new UserAuthServer(this.transport, {
      server: connectionAuthPolicy(this.policy, o, this, debug, this.#gss !== null),
      ...(this.#gss ? { gssapi: this.#gss } : {}),
      ...(publicKeyAlgorithms ? { publicKeyAlgorithms } : {}),
      ...(o.maxAuthTries !== undefined ? { maxAuthTries: o.maxAuthTries } : {}),
      ...(o.authTimeout !== undefined ? { authTimeout: o.authTimeout } : {}),
      ...(o.banner !== undefined ? { banner: o.banner } : {}),
      ...(o.debug ? { debug } : {}),
    });
    auth.result.then(
      (r) => {
        if (this.transport.isClosed) return;
        this.username = r.username;
        this.authMethods = r.methods;
        this.#startConnection(debug);
        if (o.sendServerHostKeys !== false) announceHostKeys(this.connection!, ctx.hostKeys).catch(() => {});
        this.emit('authenticated', r.username);
      },
      (err: Error) => {
        if (!(err instanceof DisconnectError)) this.#record(err);
      },
    );
    this.closed = this.transport.closed.then(
      (err) => this.#ended(err),
      (err: unknown) => this.#ended(err instanceof Error ? err : new SSHException(String(err))),
    );
  }

  /** The authorized_keys entry the client logged in with, if any (its options restrict sessions). */
  get authorizedKey(): AuthorizedKeyEntry | null {
    return this.#authorizedKey;
  }

  /** The first error that ended or will end this connection. */
  get error(): Error | null {
    return this.#error;
  }

  /** @internal set by the auth policy when gssapi-with-mic or gssapi-keyex let the client in. */
  _setGss(principal: string, ccFile: string | null): void {
    this.gssPrincipal = principal;
    this.gssCredentialsCache = ccFile;
  }

  /** @internal set by the auth policy when a listed key signed successfully. */
  _setAuthorizedKey(e: AuthorizedKeyEntry): void {
    this.#authorizedKey = e;
  }

  /**
   * Opens an `auth-agent@openssh.com` channel to the client, for talking to
   * its agent (Paramiko's `open_forward_agent_channel`). The client refuses
   * unless a session asked for agent forwarding: ChannelException.
   */
  openForwardAgentChannel(opts?: WaitOptions): Promise<Channel> {
    const c = this.connection;
    if (!c || c.isClosed) return Promise.reject(new SSHException('the client has not authenticated or is gone', { code: 'ERR_SSH_NOT_CONNECTED' }));
    return c.openChannel('auth-agent@openssh.com', new Uint8Array(0), opts);
  }

  /**
   * Opens an `x11` channel to the client for an X client that connected to
   * a forwarded display (Paramiko's `open_x11_channel`); `srcAddr` is where
   * that X client came from. The client refuses unless a session asked for
   * X11 forwarding: ChannelException.
   */
  openX11Channel(srcAddr: readonly [host: string, port: number] = ['127.0.0.1', 0], opts?: WaitOptions): Promise<Channel> {
    const c = this.connection;
    if (!c || c.isClosed) return Promise.reject(new SSHException('the client has not authenticated or is gone', { code: 'ERR_SSH_NOT_CONNECTED' }));
    return c.openChannel('x11', encodeX11OpenData({ originHost: srcAddr[0], originPort: srcAddr[1] }), opts);
  }

  /**
   * Opens a `forwarded-tcpip` channel to the client (Paramiko's
   * `open_forwarded_tcpip_channel`): a connection that arrived at
   * `destAddr`, a forward the client requested, from `srcAddr`. The
   * built-in `tcpip-forward` listeners use it for each accepted connection;
   * a server that accepts forwards without listening itself (a policy
   * returning a port it serves some other way) calls it directly. The
   * client refuses ports it did not ask for: ChannelException.
   */
  openForwardedTcpipChannel(srcAddr: readonly [host: string, port: number], destAddr: readonly [host: string, port: number], opts?: WaitOptions): Promise<Channel> {
    const c = this.connection;
    if (!c || c.isClosed) return Promise.reject(new SSHException('the client has not authenticated or is gone', { code: 'ERR_SSH_NOT_CONNECTED' }));
    return c.openChannel('forwarded-tcpip', encodeTcpipOpenData({ host: destAddr[0], port: destAddr[1], originHost: srcAddr[0], originPort: srcAddr[1] }), opts);
  }

  /**
   * The connection's agent socket (one per connection, as sshd), created on
   * first use: what a session whose agent forwarding was granted gets.
   */
  agentProxy(): Promise<AgentServerProxy> {
    if (!this.#agent) {
      const proxy = new AgentServerProxy(this);
      this.#agent = proxy.connect().then(() => proxy);
      // A failed start may be retried by a later request.
      this.#agent.catch(() => (this.#agent = null));
    }
    return this.#agent;
  }

  /** Disconnects (BY_APPLICATION). */
  close(description = 'server closing'): void {
    this.transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, description);
  }

  /** Ends the connection because of `err` (recorded and reported). */
  fail(err: Error, reason: number = DISCONNECT_REASON.PROTOCOL_ERROR): void {
    this.#record(err);
    this.transport.disconnect(reason, err.message.slice(0, 200));
  }

  #record(err: Error): void {
    if (!this.#error) this.#error = err;
  }

  #ended(err: Error | null): Error | null {
    this.#forwards.closeAll();
    this.#gss?.dispose();
    // A peer that simply went away (DISCONNECT or EOF) is not an error of ours to report.
    if (err && !(err instanceof DisconnectError)) this.#record(err);
    const e = this.#error;
    this.emit('close', e);
    return e;
  }

  #startConnection(debug: (m: string) => void): void {
    const o = this.#ctx.options;
    const conn = new Connection(this.transport, {
      ...serverConnectionOptions(o, this.#ctx.maxChannels),
      ...(o.debug ? { debug } : {}),
    });
    this.connection = conn;
    conn.onChannelOpen((req) => this.#onOpen(req));
    conn.onGlobalRequest((name, data) => this.#onGlobalRequest(name, data));
  }

  #onOpen(req: IncomingChannelRequest): void {
    const conn = this.connection!;
    if (conn.channelCount > this.#ctx.maxChannels) {
      req.reject(OPEN_FAILURE.RESOURCE_SHORTAGE, `at most ${this.#ctx.maxChannels} channels`);
      if (++this.#refusedOpens > MAX_REFUSED_OPENS) {
        this.fail(new ProtocolError(`client kept opening channels beyond the limit of ${this.#ctx.maxChannels}`, { code: 'ERR_SSH_FLOOD' }));
      }
      return;
    }
    void this.#decideOpen(req).catch((err: unknown) => {
      this.#ctx.debug(`channel open failed: ${(err as Error)?.message ?? String(err)}`);
      req.reject(OPEN_FAILURE.CONNECT_FAILED, 'internal error');
    });
  }

  async #decideOpen(req: IncomingChannelRequest): Promise<void> {
    const p = this.policy;
    // Paramiko's chanid: the id the channel has once accepted (its localId), reserved for it already.
    const chanid = req.localId;
    if (p.checkChannelRequest) {
      const verdict = await (p.checkChannelRequest as Loose).call(p, req.type, chanid, this);
      if (verdict !== OPEN_SUCCEEDED) return req.reject(typeof verdict === 'number' && verdict > 0 ? verdict : OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'refused');
    } else if (req.type !== 'session' && req.type !== 'direct-tcpip') {
      return req.reject(OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type`);
    }
    if (this.transport.isClosed) return;
    if (req.type === 'session') {
      const ch = req.accept() as SessionChannel;
      serveSession(this, this.#ctx, ch);
      return;
    }
    if (req.type === 'direct-tcpip') return openDirectTcpip(this, req, chanid);
    req.reject(OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, 'unknown channel type');
  }

  #onGlobalRequest(name: string, data: Uint8Array): boolean | Uint8Array | Promise<boolean | Uint8Array> {
    if (++this.#pendingGlobal > MAX_PENDING_GLOBAL) {
      this.fail(new ProtocolError('client flooded the connection with global requests', { code: 'ERR_SSH_FLOOD' }));
      return false;
    }
    // One at a time, in arrival order: a cancel-tcpip-forward sent right
    // behind its tcpip-forward must find the listener that one made.
    const run = async (): Promise<boolean | Uint8Array> => {
      try {
        if (name === 'tcpip-forward') return await this.#forwards.request(data);
        if (name === 'cancel-tcpip-forward') return await this.#forwards.cancel(data);
        if (name === HOSTKEYS_PROVE) return proveHostKeys(data, this.#ctx.hostKeys, this.transport.sessionId!, this.transport.peerHostKeyAlgorithms);
        const p = this.policy;
        if (!p.checkGlobalRequest) return false;
        const v = await (p.checkGlobalRequest as Loose).call(p, name, data, this);
        return v instanceof Uint8Array ? v : v === true;
      } finally {
        this.#pendingGlobal--;
      }
    };
    return this.#globalOrder.run(run);
  }
}
