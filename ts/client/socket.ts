/**
 * Opening the TCP connection: every address the name resolves to, in turn,
 * until one accepts (Paramiko's behaviour), each attempt bounded and
 * abortable.
 */
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { NoValidConnectionsError, SSHException, TimeoutError } from '../errors.js';
import { abortError } from '../auth/inbox.js';
import { SocketFeed, tagSocketFeed } from '../transport/socket-feed.js';

export interface TcpOptions {
  /** Milliseconds for each address's connect; 0 = no limit of its own. */
  timeout?: number;
  signal?: AbortSignal;
}

function connectOne(address: string, port: number, opts: TcpOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Reads go into one reused buffer that the transport consumes directly (no Buffer per read).
    const feed = new SocketFeed();
    const s = net.connect({ host: address, port, onread: feed.onread });
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
  let addresses: string[];
  if (net.isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch (err) {
      throw new SSHException(`could not resolve host ${host}: ${(err as Error).message}`, { code: 'ERR_SSH_DNS', cause: err });
    }
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
