/**
 * Remote port forwarding (OpenSSH's `-R`, AsyncSSH's `forward_remote_port`,
 * Paramiko's `request_port_forward`): a `tcpip-forward` global request makes
 * the server listen (RFC 4254 section 7.1); for each connection it accepts,
 * it opens a `forwarded-tcpip` channel to us, which we connect to a local
 * TCP address and relay. `cancel-tcpip-forward` stops it.
 *
 * One dispatcher per connection answers the server's channel opens: it
 * accepts `forwarded-tcpip` for an address we asked for and refuses
 * everything else with ADMINISTRATIVELY_PROHIBITED, as the connection does
 * without a handler.
 */
import * as net from 'node:net';
import { type Channel, type Connection, type IncomingChannelRequest, OPEN_FAILURE, type TcpipOpenData } from '../connection/index.js';
import { abortError, ChannelException, ProtocolError, SSHException } from '../errors.js';
import { checkDuration } from '../transport/index.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import type { ForwardCloseOptions } from './forwardLocal.js';
import { handleChannelOpens } from './incomingOpens.js';
import { acceptOnConnect, type ForwardedConnectionInfo, type ForwardErrorHandler, ForwardState } from './forwardRelay.js';

/** Default limit on connecting to the local target of a remote forward. */
const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** Options of `forwardRemote()`. */
export interface ForwardRemoteOptions {
  /**
   * Address the server listens on. Default `''`: all of the server's
   * addresses (OpenSSH narrows that to loopback unless its GatewayPorts
   * allows more). `localhost` means the server's loopback.
   */
  remoteHost?: string;
  /** Port the server listens on; 0 lets the server choose (read it from the listener's `remotePort`). */
  remotePort: number;
  /** Where each forwarded connection is connected to, from this machine. Default `127.0.0.1`. */
  localHost?: string;
  /** The local port to connect each forwarded connection to; required unless `onConnection` takes them. */
  localPort?: number;
  /**
   * Takes each forwarded connection itself instead of connecting it to
   * `localPort` (Paramiko's `request_port_forward` handler): the accepted
   * channel (a Duplex) and where the connection came from at the server.
   */
  onConnection?: (channel: Channel, info: ForwardedConnectionInfo) => void;
  /**
   * Aborting before the server answered rejects `forwardRemote()` with the
   * signal's reason; aborting later closes the listener, like `close()`.
   */
  signal?: AbortSignal;
  /** Milliseconds to wait for the server's answer (and for cancelling the forward), 0 to 2^31-1; 0 = no limit. Default: the connection's request timeout (60 s). */
  timeout?: number;
  /** Milliseconds to wait for each local TCP connection, 0 to 2^31-1; 0 = no limit. Default 10 000. */
  connectTimeout?: number;
  /**
   * Told about each forwarded connection that failed (e.g. the local target
   * refused it: the channel is then refused with CONNECT_FAILED). The
   * forwarding goes on.
   */
  onError?: ForwardErrorHandler;
}

function badOption(message: string): SSHException {
  return new SSHException(`forwardRemote: ${message}`, { code: 'ERR_SSH_BAD_OPTION' });
}

function checkPort(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw badOption(`${name} must be an integer in ${min}..65535, got ${String(v)}`);
  return v;
}

function forwardRequestData(host: string, port: number): Uint8Array {
  return new SSHWriter(16 + host.length * 3).string(host).uint32(port).toBytes();
}

/**
 * A remote forward the server accepted. `close()` cancels it at the server;
 * `closed` resolves when it has stopped: null after `close()` or an abort,
 * else the error that ended it (the SSH connection closed or failed).
 */
export class RemoteForwardListener {
  /** The address the server listens on, as requested (`''` = all). */
  readonly remoteHost: string;
  /** The port the server listens on (the one it chose when 0 was asked). */
  readonly remotePort: number;
  /** Where forwarded connections are connected to, from here. */
  readonly localHost: string;
  /** The local port connected to; 0 when `onConnection` takes the connections instead. */
  readonly localPort: number;
  /** Resolves once the forward has stopped: null after `close()`, else the error that ended it. */
  readonly closed: Promise<Error | null>;

  readonly #conn: Connection;
  readonly #registry: RemoteForwards;
  readonly #state: ForwardState;
  readonly #connectTimeout: number;
  readonly #requestTimeout: number | undefined;
  /** Local sockets still connecting. */
  readonly #connecting = new Set<net.Socket>();
  readonly #onConnection: ForwardRemoteOptions['onConnection'] | null;
  /** Channels handed to onConnection, closed with `dropConnections`. */
  readonly #handed = new Set<Channel>();
  #cancelled: Promise<void> | null = null;

  /** @internal Use `SSHClientConnection.forwardRemote()` or `startRemoteForward()`. */
  constructor(
    conn: Connection,
    registry: RemoteForwards,
    state: ForwardState,
    opts: { remoteHost: string; remotePort: number; localHost: string; localPort: number; connectTimeout: number; timeout?: number; onConnection?: ForwardRemoteOptions['onConnection'] },
  ) {
    this.#conn = conn;
    this.#registry = registry;
    this.#state = state;
    this.closed = state.closed;
    this.remoteHost = opts.remoteHost;
    this.remotePort = opts.remotePort;
    this.localHost = opts.localHost;
    this.localPort = opts.localPort;
    this.#connectTimeout = opts.connectTimeout;
    this.#requestTimeout = opts.timeout;
    this.#onConnection = opts.onConnection ?? null;
  }

  /** Whether the forward has stopped (cancelled or the connection is gone). */
  get isClosed(): boolean {
    return this.#state.isClosed;
  }

  /** Forwarded connections currently open (including those still connecting locally, and channels given to onConnection). */
  get connections(): number {
    return this.#state.activeCount + this.#connecting.size + this.#handed.size;
  }

  /**
   * Cancels the forward (`cancel-tcpip-forward`) and resolves once the
   * server answered. From the call on, channels the server still opens for
   * it are refused. Connections already forwarded go on unless
   * `dropConnections` is set. A refused or unanswered cancel is not an
   * error: nothing more is forwarded either way.
   */
  close(options: ForwardCloseOptions = {}): Promise<void> {
    this._shutdown(null, options.dropConnections === true);
    return this.#cancelled ?? Promise.resolve();
  }

  /** `await using fwd = await conn.forwardRemote(...)` cancels the forward at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Closes the forward when `signal` aborts. */
  _closeOnAbort(signal: AbortSignal | undefined): void {
    this.#state.closeOnAbort(signal, () => void this.close());
  }

  /** @internal Stops the forward; sends the cancel unless the connection is gone (err set). */
  _shutdown(err: Error | null, dropConnections: boolean): void {
    if (!this.#state.isClosed) {
      this.#registry.remove(this);
      if (err === null && !this.#conn.isClosed) {
        this.#cancelled = this.#conn
          .globalRequest('cancel-tcpip-forward', forwardRequestData(this.remoteHost, this.remotePort), this.#requestTimeout !== undefined ? { timeout: this.#requestTimeout } : undefined)
          .then(
            () => {},
            () => {},
          );
      }
    }
    if (dropConnections) {
      const connecting = [...this.#connecting];
      this.#connecting.clear();
      // The 'error' this raises settles each one: its channel is refused.
      for (const s of connecting) s.destroy(new SSHException('forwarding closed', { code: 'ERR_SSH_FORWARD_CLOSED' }));
      for (const ch of [...this.#handed]) ch.destroy();
      this.#handed.clear();
    }
    this.#state.finish(err, dropConnections);
  }

  /** @internal A `forwarded-tcpip` open the registry matched to this forward. */
  _incoming(req: IncomingChannelRequest, target: TcpipOpenData): void {
    const info: ForwardedConnectionInfo = { originHost: target.originHost, originPort: target.originPort };
    if (this.#state.isClosed) {
      req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'forwarding cancelled');
      return;
    }
    if (this.#onConnection) {
      const ch = req.accept();
      this.#handed.add(ch);
      ch.once('close', () => this.#handed.delete(ch));
      try {
        this.#onConnection(ch, info);
      } catch (err) {
        ch.destroy();
        this.#state.error(new SSHException(`forwardRemote: onConnection threw: ${(err as Error)?.message ?? String(err)}`, { code: 'ERR_SSH_FORWARD_HANDLER', cause: err }), info);
      }
      return;
    }
    const sock = net.connect({ host: this.localHost, port: this.localPort, allowHalfOpen: true });
    this.#connecting.add(sock);
    acceptOnConnect(req, sock, this.#connectTimeout, {
      // Not in the set any more: the forward was torn down while we were connecting.
      claim: () => this.#connecting.delete(sock),
      connected: (s, ch) => this.#state.relay(s, ch, info),
      failed: (err) =>
        this.#state.error(new SSHException(`forwardRemote: cannot connect to ${this.localHost}:${this.localPort}: ${err.message}`, { code: 'ERR_SSH_FORWARD_CONNECT', cause: err }), info),
    });
  }
}

/** The remote forwards of one connection, and the handler for the server's channel opens. */
export class RemoteForwards {
  readonly #conn: Connection;
  readonly #active = new Set<RemoteForwardListener>();
  /** `tcpip-forward` requests awaiting their reply: a channel for one may arrive before we have read the reply. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(conn: Connection) {
    this.#conn = conn;
    handleChannelOpens(conn, 'forwarded-tcpip', (req) => this.#onOpen(req));
    void conn.closed.then((err) => {
      const reason = err ?? new ChannelException('the SSH connection closed');
      for (const l of [...this.#active]) l._shutdown(reason, true);
    });
  }

  /** Sends `tcpip-forward` and registers the listener once the server accepts. */
  async request(options: ForwardRemoteOptions): Promise<RemoteForwardListener> {
    const conn = this.#conn;
    const remoteHost = options.remoteHost ?? '';
    if (typeof remoteHost !== 'string' || remoteHost.length > 1024) throw badOption('remoteHost must be a string of at most 1024 characters');
    const remotePort = checkPort('remotePort', options.remotePort, 0);
    const localHost = options.localHost ?? '127.0.0.1';
    if (typeof localHost !== 'string' || localHost.length === 0) throw badOption('localHost must be a non-empty string');
    const onConnection = options.onConnection;
    if (onConnection !== undefined && typeof onConnection !== 'function') throw badOption('onConnection must be a function');
    const localPort = onConnection && options.localPort === undefined ? 0 : checkPort('localPort', options.localPort, 1);
    const connectTimeout = checkDuration('connectTimeout', options.connectTimeout, { zero: 'no limit', error: badOption }) ?? DEFAULT_CONNECT_TIMEOUT;
    const timeout = checkDuration('timeout', options.timeout, { zero: 'no limit', error: badOption });
    const signal = options.signal;
    if (signal?.aborted) throw abortError(signal);
    if (conn.isClosed) throw new ChannelException('forwardRemote: the connection is closed');

    const reply = conn.globalRequest('tcpip-forward', forwardRequestData(remoteHost, remotePort), {
      wantReply: true,
      ...(signal ? { signal } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    });
    this.#pending.add(reply);
    let res: { ok: boolean; data: Uint8Array };
    try {
      res = await reply;
    } catch (err) {
      // Timed out or aborted: the server may still set the forward up. With a known port, cancel it.
      if (remotePort !== 0 && !conn.isClosed) void conn.globalRequest('cancel-tcpip-forward', forwardRequestData(remoteHost, remotePort), { wantReply: false }).catch(() => {});
      throw err;
    } finally {
      this.#pending.delete(reply);
    }
    const shown = `${remoteHost === '' ? '*' : remoteHost}:${remotePort}`;
    if (!res.ok) throw new SSHException(`forwardRemote: the server refused to listen on ${shown}`, { code: 'ERR_SSH_FORWARD_REFUSED' });
    let bound = remotePort;
    if (remotePort === 0) {
      const r = new SSHReader(res.data, 'tcpip-forward reply');
      bound = r.uint32();
      if (bound < 1 || bound > 65535) throw new ProtocolError(`tcpip-forward reply: the server chose port ${bound}`);
    }
    const listener = new RemoteForwardListener(conn, this, new ForwardState(options.onError), {
      remoteHost,
      remotePort: bound,
      localHost,
      localPort,
      connectTimeout,
      ...(timeout !== undefined ? { timeout } : {}),
      ...(onConnection ? { onConnection } : {}),
    });
    if (conn.isClosed) throw new ChannelException('forwardRemote: the connection closed');
    this.#active.add(listener);
    listener._closeOnAbort(signal);
    return listener;
  }

  remove(l: RemoteForwardListener): void {
    this.#active.delete(l);
  }

  #match(host: string, port: number): RemoteForwardListener | null {
    const byPort = [...this.#active].filter((l) => l.remotePort === port);
    if (byPort.length === 1) return byPort[0]!;
    // Several forwards on one port (different addresses): the address must say which.
    return byPort.find((l) => l.remoteHost === host) ?? null;
  }

  #onOpen(req: IncomingChannelRequest): void {
    let target: TcpipOpenData;
    try {
      target = req.tcpip();
    } catch {
      req.reject(OPEN_FAILURE.CONNECT_FAILED, 'malformed forwarded-tcpip data');
      return;
    }
    const found = this.#match(target.host, target.port);
    if (found) return found._incoming(req, target);
    if (this.#pending.size === 0) {
      req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `no forwarding was requested for ${target.host}:${target.port}`);
      return;
    }
    // The server may open a channel right behind its reply; decide once the replies are read.
    void Promise.allSettled([...this.#pending]).then(() => {
      // The listener is registered in the continuation after the reply: one more turn.
      setImmediate(() => {
        const late = this.#match(target.host, target.port);
        if (late) late._incoming(req, target);
        else req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `no forwarding was requested for ${target.host}:${target.port}`);
      });
    });
  }
}

const registries = new WeakMap<Connection, RemoteForwards>();

/**
 * Starts a remote forward on `conn`: the server listens on
 * remoteHost:remotePort and each connection it accepts is connected to
 * localHost:localPort from here. Resolves with the listener once the server
 * agreed. Rejects with SSHException code ERR_SSH_FORWARD_REFUSED when the
 * server refuses (e.g. AllowTcpForwarding no, port in use), ERR_SSH_BAD_OPTION
 * for bad options, TimeoutError, or the signal's reason.
 *
 * The server's `forwarded-tcpip` opens reach us through
 * handleChannelOpens; other channel types stay refused unless something
 * else registered them (agent forwarding).
 */
export function startRemoteForward(conn: Connection, options: ForwardRemoteOptions): Promise<RemoteForwardListener> {
  if (options === null || typeof options !== 'object') return Promise.reject(badOption('options are required: { remotePort, localPort }'));
  let reg = registries.get(conn);
  if (!reg) {
    if (conn.isClosed) return Promise.reject(new ChannelException('forwardRemote: the connection is closed'));
    reg = new RemoteForwards(conn);
    registries.set(conn, reg);
  }
  return reg.request(options);
}
