/**
 * What local, remote and agent forwarding share on the client: accepting a
 * server's channel once the local socket has connected, and the bookkeeping
 * the port-forwarding listeners need. The byte relay itself is
 * `relay` (ts/connection/relay.ts).
 */
import type * as net from 'node:net';
import { type Channel, type IncomingChannelRequest, OPEN_FAILURE, relay } from '../connection/index.js';
import { SSHException } from '../errors.js';

/** Where a forwarded TCP connection came from, for error reports. */
export interface ForwardedConnectionInfo {
  /** The address and port of the peer that connected (locally for `forwardLocal`, at the server for `forwardRemote`). */
  originHost: string;
  /** The port it connected from. */
  originPort: number;
}

/**
 * Receives the failures of single forwarded connections (the SSH peer
 * refused the channel, the local target refused the TCP connection, a
 * socket failed). They close that one connection; the listener goes on.
 */
export type ForwardErrorHandler = (err: Error, info: ForwardedConnectionInfo) => void;

/** What `acceptOnConnect` does once the local socket's connect settles. */
export interface ConnectOutcome {
  /** Whether the open is still wanted (false: its listener went away meanwhile); called once. */
  claim(): boolean;
  /** Connected and accepted: start relaying. */
  connected(sock: net.Socket, ch: Channel): void;
  /** The connect failed or timed out; the channel was refused. */
  failed(err: Error): void;
}

/**
 * Serves a channel open from the SSH peer whose other end is `sock`, a
 * local socket still connecting (created with `allowHalfOpen`): once it
 * connects, the channel is accepted and handed over; if it fails, takes
 * longer than `timeoutMs`, or is no longer wanted, the open is refused
 * with CONNECT_FAILED and the socket destroyed.
 */
export function acceptOnConnect(req: IncomingChannelRequest, sock: net.Socket, timeoutMs: number, outcome: ConnectOutcome): void {
  sock.setTimeout(timeoutMs);
  const settle = (err: Error | null): void => {
    sock.off('connect', onConnect);
    sock.off('timeout', onTimeout);
    sock.setTimeout(0);
    const wanted = outcome.claim();
    if (err || !wanted) {
      // Keep a handler: the socket may still report its destruction.
      sock.off('error', onError);
      sock.on('error', () => {});
      sock.destroy();
      req.reject(OPEN_FAILURE.CONNECT_FAILED, wanted ? 'connect failed' : 'forwarding closed');
      if (wanted && err) outcome.failed(err);
      return;
    }
    sock.off('error', onError);
    acceptConnected(req, sock, outcome);
  };
  const onConnect = (): void => settle(null);
  const onError = (err: Error): void => settle(err);
  const onTimeout = (): void => settle(new SSHException(`no connection within ${timeoutMs} ms`, { code: 'ERR_SSH_TIMEOUT' }));
  sock.once('connect', onConnect);
  sock.once('error', onError);
  sock.once('timeout', onTimeout);
}

/**
 * Accepts `req` for a socket that is already connected and hands both to
 * `outcome.connected`; if the SSH connection went away meanwhile, the
 * socket is destroyed instead.
 */
export function acceptConnected(req: IncomingChannelRequest, sock: net.Socket, outcome: Pick<ConnectOutcome, 'connected'>): void {
  let ch: Channel;
  try {
    ch = req.accept();
  } catch {
    // Keep a handler: the socket may still report its destruction.
    sock.on('error', () => {});
    sock.destroy();
    return;
  }
  outcome.connected(sock, ch);
}

/** A live forwarded connection, as a listener tracks it. */
export interface ForwardedConnection {
  /** Tears the socket and channel down at once. */
  abort(): void;
}

/**
 * What both listener kinds share: the set of live forwarded connections,
 * the `closed` promise and the error callback.
 */
export class ForwardState {
  readonly closed: Promise<Error | null>;
  readonly #active = new Set<ForwardedConnection>();
  readonly #onError: ForwardErrorHandler | undefined;
  #resolveClosed!: (err: Error | null) => void;
  #isClosed = false;
  #unhookSignal: (() => void) | null = null;

  constructor(onError: ForwardErrorHandler | undefined) {
    this.#onError = onError;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  get activeCount(): number {
    return this.#active.size;
  }

  /** Reports a per-connection failure; a throwing handler must not break the listener. */
  error(err: Error, info: ForwardedConnectionInfo): void {
    if (!this.#onError) return;
    try {
      this.#onError(err, info);
    } catch {
      // The application's handler failed; the forward keeps working regardless.
    }
  }

  /** Starts relaying and tracks the pair until it is finished. */
  relay(sock: net.Socket, ch: Channel, info: ForwardedConnectionInfo): void {
    const entry: ForwardedConnection = { abort: () => {} };
    this.#active.add(entry);
    entry.abort = relay(sock, ch, (err) => {
      this.#active.delete(entry);
      // A reset from the TCP peer is how many clients hang up; it is still worth telling.
      if (err) this.error(err, info);
    });
  }

  /** Runs `close` when `signal` aborts, until the listener is finished. */
  closeOnAbort(signal: AbortSignal | undefined, close: () => void): void {
    if (!signal || this.#isClosed) return;
    signal.addEventListener('abort', close, { once: true });
    this.#unhookSignal = () => signal.removeEventListener('abort', close);
  }

  /** Marks the listener closed (once); with `dropConnections`, tears down every live connection too. */
  finish(err: Error | null, dropConnections: boolean): void {
    if (dropConnections) {
      for (const c of [...this.#active]) c.abort();
      this.#active.clear();
    }
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#unhookSignal?.();
    this.#unhookSignal = null;
    this.#resolveClosed(err);
  }
}
