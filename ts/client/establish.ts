/**
 * The client's way in, shared by `connect()` and `SSHClient.connect()`:
 * socket (TCP to every resolved address, ProxyCommand, or the caller's),
 * transport and key exchange with host key checking, then user
 * authentication — all under one deadline and one AbortSignal. On any
 * failure everything opened so far is closed again.
 */
import type { Duplex } from 'node:stream';
import { authenticateClient, type ClientAuthOptions, type ClientAuthResult } from '../auth/index.js';
import { abortError, SSHException, TimeoutError } from '../errors.js';
import { checkDuration, type Transport, type TransportOptions } from '../transport/index.js';
import { ClientTransport } from './clientTransport.js';
import { collectKeySources, type IdentityOptions } from './identities.js';
import { connectTcp, type TcpOptions } from './socket.js';

export interface EstablishParams {
  /** Where to connect (after ssh_config HostName). */
  host: string;
  port: number;
  username: string;
  /** A connected stream to use instead of TCP (the caller's `sock`, or a ProxyCommand). */
  sock?: Duplex | undefined;
  /** Milliseconds for each TCP connect attempt (Paramiko's `timeout`); 0 = none of its own. */
  tcpTimeout?: number;
  /** Local bind address/port and address family for the TCP connection. */
  tcp?: Pick<TcpOptions, 'localAddress' | 'localPort' | 'family'>;
  /** Milliseconds for everything: connect, banner, key exchange, authentication. 0 = no limit. */
  readyTimeout: number;
  signal?: AbortSignal | undefined;
  transport: Omit<TransportOptions, 'role'> & { verifyHostKey: NonNullable<TransportOptions['verifyHostKey']> };
  auth: Omit<ClientAuthOptions, 'username' | 'keys' | 'signal'>;
  identities: IdentityOptions;
  /** Runs right after authentication succeeds, before any other I/O is handled (attach the connection layer here). */
  onAuthenticated?: (transport: ClientTransport) => void;
}

/** The password and handlers that both front doors hand to authentication as the caller gave them. */
export type CallerAuth = Pick<ClientAuthOptions, 'password' | 'kbdintHandler' | 'passwordChangeHandler' | 'onBanner'>;

/** `o`'s password and handlers, leaving out the ones it does not set. */
export function callerAuth(o: CallerAuth): CallerAuth {
  const out: CallerAuth = {};
  if (o.password !== undefined) out.password = o.password;
  if (o.kbdintHandler) out.kbdintHandler = o.kbdintHandler;
  if (o.passwordChangeHandler) out.passwordChangeHandler = o.passwordChangeHandler;
  if (o.onBanner) out.onBanner = o.onBanner;
  return out;
}

export interface Established {
  transport: ClientTransport;
  auth: ClientAuthResult;
}

/**
 * The durations establish() takes from the caller's options (the
 * transport's are checked with its other options by checkLayerOptions):
 * SSHException ERR_SSH_BAD_OPTION for a value outside 0..2^31-1 ms. Both
 * clients call it before opening anything.
 */
export function checkEstablishDurations(options: { readyTimeout?: number; authTimeout?: number; tcpTimeout?: number }): void {
  checkDuration('timeout', options.tcpTimeout, { zero: 'no limit' });
  checkDuration('readyTimeout', options.readyTimeout, { zero: 'no limit' });
  checkDuration('authTimeout', options.authTimeout, { zero: 'no limit' });
}

/** Rejects with the signal's reason when it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Socket, transport and key exchange with the host key checked, under the
 * readyTimeout deadline and the caller's signal; `within` then runs under
 * the same deadline (authentication, for establish). Everything opened is
 * closed again on failure.
 */
async function withClientTransport<T>(p: EstablishParams, within: (t: ClientTransport, signal: AbortSignal) => Promise<T>): Promise<T> {
  if (p.signal?.aborted) {
    p.sock?.destroy();
    throw abortError(p.signal);
  }
  const ac = new AbortController();
  const timer =
    p.readyTimeout > 0
      ? setTimeout(() => ac.abort(new TimeoutError(`connection to ${p.host} port ${p.port} was not ready within ${p.readyTimeout} ms`)), p.readyTimeout)
      : null;
  timer?.unref?.();
  const onUserAbort = (): void => ac.abort(abortError(p.signal!));
  p.signal?.addEventListener('abort', onUserAbort, { once: true });
  let socket: Duplex | null = p.sock ?? null;
  let transport: Transport | null = null;
  try {
    if (!socket) socket = await connectTcp(p.host, p.port, { ...p.tcp, ...(p.tcpTimeout ? { timeout: p.tcpTimeout } : {}), signal: ac.signal });
    const verify = p.transport.verifyHostKey;
    const made: ClientTransport = new ClientTransport(socket, {
      ...p.transport,
      role: 'client',
      // Both ways in attach the connection layer once authenticated; what the server sends behind USERAUTH_SUCCESS waits for it.
      holdAfterUserauth: true,
      // Record the key the server proved it holds (getRemoteServerKey), once it passed the check.
      verifyHostKey: async (keyType, blob) => {
        const ok = await verify(keyType, blob);
        if (ok) made._setServerKey(blob);
        return ok;
      },
    });
    transport = made;
    await untilAborted(made.ready, ac.signal);
    return await within(made, ac.signal);
  } catch (err) {
    if (transport) transport.disconnect();
    else socket?.destroy();
    // A readyTimeout or abort surfaces as itself, not as whatever it interrupted.
    if (ac.signal.aborted) throw abortError(ac.signal);
    if (err instanceof Error) throw err;
    throw new SSHException(String(err), { code: 'ERR_SSH_INTERNAL' });
  } finally {
    if (timer) clearTimeout(timer);
    p.signal?.removeEventListener('abort', onUserAbort);
  }
}

/** Connects and authenticates with everything the parameters offer, in Paramiko's order. */
export async function establish(p: EstablishParams): Promise<Established> {
  let keys: ReturnType<typeof collectKeySources>;
  try {
    if (p.signal?.aborted) throw abortError(p.signal);
    // Explicit keys load before any I/O: a wrong path or missing passphrase is reported at once.
    keys = collectKeySources(p.identities);
  } catch (err) {
    // A stream handed in (the caller's sock, a ProxyCommand) is ours to close from here on.
    p.sock?.destroy();
    throw err;
  }
  try {
    return await withClientTransport(p, async (made, signal) => {
      const auth = await authenticateClient(made, { ...p.auth, username: p.username, keys: keys.sources, signal });
      p.onAuthenticated?.(made);
      return { transport: made, auth };
    });
  } finally {
    keys.dispose();
  }
}

/** Connects through key exchange only: authentication is left to the caller (see ClientAuthSession). */
export function openClientTransport(p: EstablishParams): Promise<ClientTransport> {
  return withClientTransport(p, async (made) => made);
}
