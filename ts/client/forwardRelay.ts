/**
 * The byte relay between one local socket and one forwarding channel
 * (`direct-tcpip` or `forwarded-tcpip` to a TCP socket, or
 * `auth-agent@openssh.com` to the agent's Unix socket), shared by local,
 * remote and agent forwarding, plus the bookkeeping the port-forwarding
 * listeners need.
 *
 * Each direction is a stream pipe, so backpressure is end to end: a slow
 * TCP reader pauses the channel, whose unread bytes hold back the window
 * credit and so stop the SSH peer; a channel out of window makes its writes
 * wait, which pauses the socket. A FIN from the TCP side becomes CHANNEL_EOF
 * and CHANNEL_EOF becomes a FIN, so half-closed conversations (send, shut
 * down the write side, read the answer) work; sockets must therefore be
 * created with `allowHalfOpen`.
 */
import type * as net from 'node:net';
import { type Channel, type IncomingChannelRequest, OPEN_FAILURE } from '../connection/index.js';
import { SSHException } from '../errors.js';

/** Where a forwarded TCP connection came from, for error reports. */
export interface ForwardedConnectionInfo {
  /** The address and port of the peer that connected (locally for `forwardLocal`, at the server for `forwardRemote`). */
  originHost: string;
  originPort: number;
}

/**
 * Receives the failures of single forwarded connections (the SSH peer
 * refused the channel, the local target refused the TCP connection, a
 * socket failed). They close that one connection; the listener goes on.
 */
export type ForwardErrorHandler = (err: Error, info: ForwardedConnectionInfo) => void;

/**
 * Pipes `sock` and `ch` both ways until both are finished; `onDone` runs
 * once, after the socket closed and the channel's CLOSE went both ways (or
 * the connection ended), with the first error seen or null. Returns a
 * function that tears both down at once.
 */
export function relay(sock: net.Socket, ch: Channel, onDone: (err: Error | null) => void): () => void {
  let firstError: Error | null = null;
  let sockClosed = false;
  let chFinished = false;
  let reported = false;
  const report = (): void => {
    if (reported || !sockClosed || !chFinished) return;
    reported = true;
    onDone(firstError);
  };
  const abort = (): void => {
    sock.destroy();
    if (!ch.destroyed) ch.destroy();
  };

  sock.on('error', (err: Error) => {
    firstError ??= err;
    // The socket is destroyed by its own error; drop what was queued for the peer and close.
    if (!ch.destroyed) ch.destroy();
  });
  ch.on('error', (err: Error) => {
    firstError ??= err;
    sock.destroy();
  });
  sock.once('close', () => {
    sockClosed = true;
    // The TCP side is gone before the channel ended: CLOSE after what is still queued.
    if (!ch.isClosed) ch.close();
    // Already finished: free whatever the channel still buffers for the socket.
    else if (chFinished && !ch.destroyed) ch.destroy();
    report();
  });
  ch.exit.then(
    () => {
      chFinished = true;
      // The channel takes no more data: writing on would only raise write-after-end.
      sock.unpipe(ch);
      // The channel is done both ways; the pipe ends the socket once the
      // channel's data is drained into it, then nothing more can be relayed.
      if (sock.writableFinished || sock.destroyed) sock.destroy();
      else sock.once('finish', () => sock.destroy());
      // A socket nobody reads from would hold the channel's buffers forever.
      if (sockClosed && !ch.destroyed) ch.destroy();
      report();
    },
    (err: unknown) => {
      // The connection ended under the channel: nothing can be relayed any more.
      firstError ??= err instanceof Error ? err : new SSHException(String(err));
      chFinished = true;
      abort();
      report();
    },
  );

  sock.pipe(ch);
  ch.pipe(sock);
  return abort;
}

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
    let ch: Channel;
    try {
      ch = req.accept();
    } catch {
      // The SSH connection went away while we were connecting.
      sock.off('error', onError);
      sock.on('error', () => {});
      sock.destroy();
      return;
    }
    outcome.connected(sock, ch);
    sock.off('error', onError);
  };
  const onConnect = (): void => settle(null);
  const onError = (err: Error): void => settle(err);
  const onTimeout = (): void => settle(new SSHException(`no connection within ${timeoutMs} ms`, { code: 'ERR_SSH_TIMEOUT' }));
  sock.once('connect', onConnect);
  sock.once('error', onError);
  sock.once('timeout', onTimeout);
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
