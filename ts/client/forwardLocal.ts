/**
 * Local port forwarding (OpenSSH's `-L`, AsyncSSH's `forward_local_port`):
 * a TCP listener here, and for each connection it accepts a `direct-tcpip`
 * channel (RFC 4254 section 7.2) asking the server to connect to the
 * destination, with the bytes relayed both ways.
 */
import * as net from 'node:net';
import { type Channel, type Connection, encodeTcpipOpenData } from '../connection/index.js';
import type { WaitOptions } from '../connection/wait.js';
import { abortError, ChannelException, SSHException } from '../errors.js';
import { checkDuration } from '../transport/index.js';
import { type ForwardedConnectionInfo, type ForwardErrorHandler, ForwardState } from './forwardRelay.js';

/** Options of `forwardLocal()`. */
export interface ForwardLocalOptions {
  /** Address to listen on. Default `127.0.0.1` (only this machine can use the tunnel). */
  localHost?: string;
  /** Port to listen on; 0 picks a free one (read it from the listener's `localPort`). */
  localPort: number;
  /** Host the server connects to, resolved by the server (`localhost` is the server itself). */
  remoteHost: string;
  /** Port the server connects to (1-65535). */
  remotePort: number;
  /**
   * Aborting before the listener is up rejects `forwardLocal()` with the
   * signal's reason; aborting later closes the listener, like `close()`.
   */
  signal?: AbortSignal;
  /** Milliseconds to wait for the server to open each channel, 0 to 2^31-1; 0 = no limit. Default: the connection's request timeout (60 s). */
  openTimeout?: number;
  /**
   * Told about each forwarded connection that failed, e.g. a ChannelException
   * whose `reasonCode` is 2 (CONNECT_FAILED) when the server could not reach
   * the destination. That connection is closed; the listener keeps accepting.
   */
  onError?: ForwardErrorHandler;
}

/** Options of a forwarding listener's `close()`. */
export interface ForwardCloseOptions {
  /**
   * Also tear down the connections already being forwarded. Default false:
   * like OpenSSH and AsyncSSH, closing a listener stops new connections and
   * lets the current ones run to their end (or the SSH connection's).
   */
  dropConnections?: boolean;
}

/** Options of `openConnection()`: the originator the server is told about, and the wait's bounds. */
export interface OpenConnectionOptions extends WaitOptions {
  /** Originator address and port put in the request (RFC 4254 section 7.2). Default `127.0.0.1`, 0. */
  originHost?: string;
  /** Originator port (0-65535); default 0. */
  originPort?: number;
}

/**
 * Opens one `direct-tcpip` channel: the server connects to host:port and
 * the channel (a Duplex) carries that TCP connection. Ending the channel's
 * writable side sends EOF (the server shuts down its write side to the
 * target). Rejects with ChannelException (`reasonCode` 2, CONNECT_FAILED,
 * when the server could not connect; 1 when forwarding is not allowed),
 * TimeoutError, or the signal's reason.
 */
export function openDirectTcpip(conn: Connection, host: string, port: number, options: OpenConnectionOptions = {}): Promise<Channel> {
  if (typeof host !== 'string' || host.length === 0 || host.length > 1024) {
    return Promise.reject(new SSHException('openConnection: host must be a non-empty string of at most 1024 characters', { code: 'ERR_SSH_BAD_OPTION' }));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new SSHException(`openConnection: port must be an integer in 1..65535, got ${String(port)}`, { code: 'ERR_SSH_BAD_OPTION' }));
  }
  const originHost = options.originHost ?? '127.0.0.1';
  const originPort = options.originPort ?? 0;
  if (typeof originHost !== 'string' || originHost.length > 1024 || !Number.isInteger(originPort) || originPort < 0 || originPort > 65535) {
    return Promise.reject(new SSHException('openConnection: originHost must be a string and originPort an integer in 0..65535', { code: 'ERR_SSH_BAD_OPTION' }));
  }
  try {
    checkDuration('timeout', options.timeout, { zero: 'no limit', error: (m) => new SSHException(`openConnection: ${m}`, { code: 'ERR_SSH_BAD_OPTION' }) });
  } catch (err) {
    return Promise.reject(err);
  }
  const wait: WaitOptions = {};
  if (options.signal) wait.signal = options.signal;
  if (options.timeout !== undefined) wait.timeout = options.timeout;
  return conn.openChannel('direct-tcpip', encodeTcpipOpenData({ host, port, originHost, originPort }), wait);
}

function badOption(message: string): SSHException {
  return new SSHException(`forwardLocal: ${message}`, { code: 'ERR_SSH_BAD_OPTION' });
}

function checkPort(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw badOption(`${name} must be an integer in ${min}..65535, got ${String(v)}`);
  return v;
}

/**
 * The open local listeners of each connection, closed with it. One 'close'
 * handler per connection (not per listener), and a listener closed early is
 * not kept alive by a long-lived connection.
 */
const watched = new WeakMap<Connection, Set<LocalForwardListener>>();

function watchConnection(conn: Connection, l: LocalForwardListener): void {
  let set = watched.get(conn);
  if (!set) {
    const fresh = new Set<LocalForwardListener>();
    set = fresh;
    watched.set(conn, fresh);
    conn.once('close', (err: Error | null) => {
      watched.delete(conn);
      for (const x of [...fresh]) x._connectionClosed(err);
    });
  }
  set.add(l);
}

function unwatchConnection(conn: Connection, l: LocalForwardListener): void {
  watched.get(conn)?.delete(l);
}

/**
 * A listening local forward. `close()` stops accepting; `closed` resolves
 * when the listener has stopped: null after `close()` or an abort, else the
 * error that ended it (the SSH connection closed or failed).
 */
export class LocalForwardListener {
  /** The address listened on. */
  readonly localHost: string;
  /** The port listened on (the one the system chose when 0 was asked). */
  readonly localPort: number;
  /** Where the server connects each forwarded connection to. */
  readonly remoteHost: string;
  /** The port the server connects each forwarded connection to. */
  readonly remotePort: number;
  /** Resolves once the listener has stopped: null after `close()`, else the error that ended it. */
  readonly closed: Promise<Error | null>;

  readonly #server: net.Server;
  readonly #conn: Connection;
  readonly #state: ForwardState;
  readonly #openTimeout: number | undefined;
  /** Accepted sockets whose channel is still being opened. */
  readonly #opening = new Set<net.Socket>();

  /** @internal Use `SSHClientConnection.forwardLocal()` or `startLocalForward()`. */
  constructor(conn: Connection, server: net.Server, state: ForwardState, opts: { localHost: string; localPort: number; remoteHost: string; remotePort: number; openTimeout?: number }) {
    this.#conn = conn;
    this.#server = server;
    this.#state = state;
    this.closed = state.closed;
    this.localHost = opts.localHost;
    this.localPort = opts.localPort;
    this.remoteHost = opts.remoteHost;
    this.remotePort = opts.remotePort;
    this.#openTimeout = opts.openTimeout;
    server.on('connection', (sock: net.Socket) => this.#accept(sock));
    // Accept failures (e.g. out of file descriptors) do not stop the server: report them and go on.
    server.on('error', (err: Error) => state.error(err, { originHost: '', originPort: 0 }));
    watchConnection(conn, this);
  }

  /** @internal The SSH connection ended: stop, and tear down every forwarded connection. */
  _connectionClosed(err: Error | null): void {
    this.#shutdown(err ?? new ChannelException('the SSH connection closed'), true);
  }

  /** Whether the listener has stopped accepting. */
  get isClosed(): boolean {
    return this.#state.isClosed;
  }

  /** Forwarded connections currently open (including those whose channel is being opened). */
  get connections(): number {
    return this.#state.activeCount + this.#opening.size;
  }

  /**
   * Stops accepting connections (new ones are refused at once). Connections
   * already forwarded go on unless `dropConnections` is set; they end anyway
   * when the SSH connection does.
   */
  async close(options: ForwardCloseOptions = {}): Promise<void> {
    this.#shutdown(null, options.dropConnections === true);
  }

  /** `await using fwd = await conn.forwardLocal(...)` closes the listener at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Closes the listener when `signal` aborts. */
  _closeOnAbort(signal: AbortSignal | undefined): void {
    this.#state.closeOnAbort(signal, () => this.#shutdown(null, false));
  }

  #shutdown(err: Error | null, dropConnections: boolean): void {
    if (!this.#state.isClosed) {
      this.#server.close();
      unwatchConnection(this.#conn, this);
    }
    if (dropConnections) {
      for (const s of this.#opening) s.destroy();
      this.#opening.clear();
    }
    this.#state.finish(err, dropConnections);
  }

  #accept(sock: net.Socket): void {
    const info: ForwardedConnectionInfo = { originHost: sock.remoteAddress ?? '', originPort: sock.remotePort ?? 0 };
    const conn = this.#conn;
    if (this.#state.isClosed || conn.isClosed) {
      sock.destroy();
      return;
    }
    // Until the relay takes over: a reset before the channel is up must not be an unhandled 'error'.
    const early = (): void => {};
    sock.on('error', early);
    this.#opening.add(sock);
    openDirectTcpip(conn, this.remoteHost, this.remotePort, {
      originHost: info.originHost,
      originPort: info.originPort,
      ...(this.#openTimeout !== undefined ? { timeout: this.#openTimeout } : {}),
    }).then(
      (ch: Channel) => {
        const wanted = this.#opening.delete(sock);
        if (!wanted || sock.destroyed) {
          // The client went away (or the forward was torn down) while the server was connecting.
          ch.destroy();
          sock.destroy();
          return;
        }
        this.#state.relay(sock, ch, info);
        sock.off('error', early);
      },
      (err: unknown) => {
        this.#opening.delete(sock);
        // Closing (not resetting) tells the client what OpenSSH's -L tells it: the tunnel's far end is not there.
        sock.destroy();
        this.#state.error(err instanceof Error ? err : new SSHException(String(err)), info);
      },
    );
  }
}

/**
 * Starts a local forward on `conn`: listens on localHost:localPort and
 * resolves with the listener once it is up. Rejects with SSHException
 * (code ERR_SSH_BAD_OPTION) for bad options, code ERR_SSH_FORWARD_LISTEN
 * when the address cannot be listened on (cause: the system error),
 * ChannelException when the connection is closed, or the signal's reason.
 */
export async function startLocalForward(conn: Connection, options: ForwardLocalOptions): Promise<LocalForwardListener> {
  if (options === null || typeof options !== 'object') throw badOption('options are required: { localPort, remoteHost, remotePort }');
  const localHost = options.localHost ?? '127.0.0.1';
  if (typeof localHost !== 'string' || localHost.length === 0) throw badOption('localHost must be a non-empty string');
  const localPort = checkPort('localPort', options.localPort, 0);
  if (typeof options.remoteHost !== 'string' || options.remoteHost.length === 0 || options.remoteHost.length > 1024) {
    throw badOption('remoteHost must be a non-empty string of at most 1024 characters');
  }
  const remotePort = checkPort('remotePort', options.remotePort, 1);
  const openTimeout = checkDuration('openTimeout', options.openTimeout, { zero: 'no limit', error: badOption });
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  if (conn.isClosed) throw new ChannelException('forwardLocal: the connection is closed');

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cleanup();
      server.close();
      reject(abortError(signal!));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new SSHException(`forwardLocal: cannot listen on ${localHost}:${localPort}: ${err.message}`, { code: 'ERR_SSH_FORWARD_LISTEN', cause: err }));
    };
    const cleanup = (): void => {
      server.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    server.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    server.listen({ host: localHost, port: localPort }, () => {
      cleanup();
      resolve();
    });
  });
  if (conn.isClosed) {
    server.close();
    throw new ChannelException('forwardLocal: the connection closed while the listener was starting');
  }
  const bound = (server.address() as net.AddressInfo).port;
  const listener = new LocalForwardListener(conn, server, new ForwardState(options.onError), {
    localHost,
    localPort: bound,
    remoteHost: options.remoteHost,
    remotePort,
    ...(openTimeout !== undefined ? { openTimeout } : {}),
  });
  listener._closeOnAbort(signal);
  return listener;
}
