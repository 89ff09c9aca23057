/**
 * Opening the TCP connection: every address the name resolves to, in turn,
 * until one accepts (Paramiko's behaviour), each attempt bounded and
 * abortable.
 */
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { abortError, NoValidConnectionsError, SSHException, TimeoutError } from '../errors.js';
import { SocketFeed, tagSocketFeed } from '../transport/socket-feed.js';

export interface TcpOptions {
  /** Milliseconds for each address's connect; 0 = no limit of its own. */
  timeout?: number;
  signal?: AbortSignal;
  /** Local address to bind before connecting (AsyncSSH's local_addr, ssh's BindAddress / -b). */
  localAddress?: string;
  /** Local port to bind (default: any). */
  localPort?: number;
  /** Use only IPv4 (4) or IPv6 (6) addresses of the name (ssh's AddressFamily / -4 / -6). Default: both. */
  family?: 4 | 6;
}

function connectOne(address: string, port: number, opts: TcpOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Reads go into one reused buffer that the transport consumes directly (no Buffer per read).
    const feed = new SocketFeed();
    const s = net.connect({
      host: address,
      port,
      onread: feed.onread,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}),
    });
    tagSocketFeed(s, feed);
    let timer: NodeJS.Timeout | null = null;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      s.off('connect', onConnect);
      s.off('error', onError);
    };
    const fail = (e: Error): void => {
      cleanup();
      s.destroy();
      reject(e);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(s);
    };
    const onError = (e: Error): void => fail(e);
    const onAbort = (): void => fail(abortError(opts.signal!));
    s.once('connect', onConnect);
    s.once('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeout && opts.timeout > 0) {
      timer = setTimeout(() => fail(new TimeoutError(`TCP connect to ${address} port ${port} timed out after ${opts.timeout} ms`)), opts.timeout);
      timer.unref?.();
    }
  });
}

/**
 * Connects to `host`:`port`. Throws NoValidConnectionsError (with each
 * address's error) when every address fails, SSHException ERR_SSH_DNS when
 * the name does not resolve, or the abort reason.
 */
export async function connectTcp(host: string, port: number, opts: TcpOptions = {}): Promise<net.Socket> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SSHException(`invalid port ${String(port)}`, { code: 'ERR_SSH_BAD_OPTION' });
  if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) throw new SSHException(`family must be 4 or 6, got ${String(opts.family)}`, { code: 'ERR_SSH_BAD_OPTION' });
  if (opts.localPort !== undefined && (!Number.isInteger(opts.localPort) || opts.localPort < 0 || opts.localPort > 65535)) {
    throw new SSHException(`invalid local port ${String(opts.localPort)}`, { code: 'ERR_SSH_BAD_OPTION' });
  }
  let addresses: string[];
  if (net.isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, ...(opts.family ? { family: opts.family } : {}) })).map((a) => a.address);
    } catch (err) {
      throw new SSHException(`could not resolve host ${host}${opts.family ? ` (IPv${opts.family} only)` : ''}: ${(err as Error).message}`, { code: 'ERR_SSH_DNS', cause: err });
    }
  }
  if (opts.family && net.isIP(host) && net.isIP(host) !== opts.family) {
    throw new NoValidConnectionsError(`${host} is not an IPv${opts.family} address (family ${opts.family} was asked for)`, new Map());
  }
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const errors = new Map<string, Error>();
  for (const address of addresses) {
    try {
      return await connectOne(address, port, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      errors.set(net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`, err as Error);
    }
  }
  const detail = [...errors].map(([a, e]) => `${a} (${(e as NodeJS.ErrnoException).code ?? e.message})`).join(', ');
  throw new NoValidConnectionsError(`unable to connect to port ${port} on ${detail}`, errors);
}
