/**
 * Test helpers for the transport: a connected pair of TCP sockets over
 * 127.0.0.1, host keys of every type, and a client/server Transport pair.
 */
import * as net from 'node:net';
import { createSigner, generatePrivateKey } from '../../ts/crypto/index.js';
import type { Signer } from '../../ts/crypto/types.js';
import { Transport } from '../../ts/transport/index.js';
import type { TransportOptions } from '../../ts/transport/index.js';

/** Two connected sockets: [client end, server end]. */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const s = await accepted;
  server.close();
  return [client, s];
}

export type HostKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

const keyCache = new Map<HostKeyType, Signer>();

/** A host key signer of the given type (generated once per process; RSA is 2048 bits to keep tests fast). */
export function hostKey(type: HostKeyType): Signer {
  let s = keyCache.get(type);
  if (!s) {
    s = createSigner(generatePrivateKey(type, type === 'ssh-rsa' ? 2048 : undefined));
    keyCache.set(type, s);
  }
  return s;
}

/** Every host key type. */
export function allHostKeys(): Signer[] {
  return (['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as HostKeyType[]).map(hostKey);
}

export interface PairOptions {
  client?: Partial<TransportOptions>;
  server?: Partial<TransportOptions>;
}

/** A client and a server Transport talking over a fresh socket pair (not yet awaited). */
export async function transportPair(opts: PairOptions = {}): Promise<{ client: Transport; server: Transport; sockets: [net.Socket, net.Socket] }> {
  const sockets = await socketPair();
  const server = new Transport(sockets[1], { role: 'server', hostKeys: allHostKeys(), ...opts.server });
  const client = new Transport(sockets[0], { role: 'client', verifyHostKey: () => true, ...opts.client });
  return { client, server, sockets };
}

/** Closes both ends and waits for them. */
export async function closeBoth(...ts: Transport[]): Promise<void> {
  for (const t of ts) t.disconnect();
  await Promise.all(ts.map((t) => t.closed));
}

/**
 * A TCP proxy between a client and a server Transport whose client-to-server
 * bytes pass through `tap` (which may alter them), for tampering tests.
 */
export async function tappedPair(
  tap: { fn: (chunk: Buffer) => Buffer },
  opts: PairOptions = {},
): Promise<{ client: Transport; server: Transport }> {
  const [c1, c2] = await socketPair();
  const [s1, s2] = await socketPair();
  c2.on('data', (d: Buffer) => s1.write(tap.fn(d)));
  s1.on('data', (d: Buffer) => c2.write(d));
  for (const s of [c2, s1]) s.on('error', () => {});
  c2.on('close', () => s1.destroy());
  s1.on('close', () => c2.destroy());
  const server = new Transport(s2, { role: 'server', hostKeys: allHostKeys(), ...opts.server });
  const client = new Transport(c1, { role: 'client', verifyHostKey: () => true, ...opts.client });
  return { client, server };
}
