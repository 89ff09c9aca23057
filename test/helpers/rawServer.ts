/**
 * Server Transports for raw, hand-driven clients: a listener on 127.0.0.1,
 * opened before the test file's tests and closed after, that wraps each
 * accepted socket in a server Transport.
 */
import * as net from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { Transport, type TransportOptions } from '../../ts/transport/index.js';
import { allHostKeys } from './pair.js';
import { rawConnect, waitFor } from './raw.js';

/** A raw client, the server Transport it reached, and everything that server has sent so far. */
export type RawToServer = Awaited<ReturnType<typeof rawConnect>> & { server: Transport; bytes(): Buffer };

/**
 * Registers the listener (servers get `timeoutMs` as bannerTimeout and
 * kexTimeout) and returns a function that connects a raw client to a fresh
 * server Transport made with `opts`.
 */
export function rawServerTransports(timeoutMs: number): (opts?: Partial<TransportOptions>) => Promise<RawToServer> {
  let listener: net.Server;
  let port = 0;
  const servers: Transport[] = [];
  let serverOptions: Partial<TransportOptions> = {};
  beforeAll(async () => {
    listener = net.createServer((s) => servers.push(new Transport(s, { role: 'server', hostKeys: allHostKeys(), bannerTimeout: timeoutMs, kexTimeout: timeoutMs, ...serverOptions })));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as net.AddressInfo).port;
  });
  afterAll(() => listener.close());
  return async (opts = {}) => {
    serverOptions = opts;
    const before = servers.length;
    const raw = await rawConnect(port);
    const chunks: Buffer[] = [];
    raw.socket.on('data', (c: Buffer) => chunks.push(c));
    await waitFor(() => servers.length > before);
    return { ...raw, server: servers[servers.length - 1]!, bytes: () => Buffer.concat(chunks) };
  };
}
