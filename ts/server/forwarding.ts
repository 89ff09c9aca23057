/**
 * Port forwarding, server side (RFC 4254 section 7): `direct-tcpip`
 * channels (the client's -L: we connect to the target and relay) and
 * `tcpip-forward` requests (the client's -R: we listen and open a
 * `forwarded-tcpip` channel per accepted connection). Both need the
 * policy's consent and are limited by authorized_keys options
 * (no-port-forwarding, restrict, permitopen=, permitlisten=).
 */
import * as net from 'node:net';
import { OPEN_FAILURE, relay, type IncomingChannelRequest } from '../connection/index.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import type { SSHServerConnection } from './serverConnection.js';
import { OPEN_SUCCEEDED } from './serverInterface.js';

const CONNECT_TIMEOUT = 10_000;
const MAX_LISTENERS = 16;

type Loose = (...args: unknown[]) => unknown;

/** permitopen="host:port" / permitlisten="[host:]port" matching (`*` as host or port is a wildcard). */
function permitted(list: readonly string[], host: string, port: number, listen: boolean): boolean {
  if (list.length === 0) return true;
  return list.some((spec) => {
    const m = /^(?:\[?([^\]]*?)\]?:)?([^:]+)$/.exec(spec);
    if (!m) return false;
    const h = m[1];
    const p = m[2]!;
    if (p !== '*' && Number(p) !== port) return false;
    if (h === undefined) return listen; // permitlisten may give the port alone
    return h === '*' || h.toLowerCase() === host.toLowerCase();
  });
}

/** A `direct-tcpip` open: ask the policy, connect, accept, relay. */
export async function openDirectTcpip(conn: SSHServerConnection, req: IncomingChannelRequest, chanid: number): Promise<void> {
  let target;
  try {
    target = req.tcpip();
  } catch {
    return req.reject(OPEN_FAILURE.CONNECT_FAILED, 'malformed direct-tcpip request');
  }
  const perms = conn.authorizedKey;
  if (perms && (!perms.permissions.portForwarding || !permitted(perms.options.permitOpen, target.host, target.port, false))) {
    return req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'port forwarding is not permitted');
  }
  const p = conn.policy;
  const verdict = p.checkChannelDirectTcpipRequest
    ? await (p.checkChannelDirectTcpipRequest as Loose).call(p, chanid, [target.originHost, target.originPort], [target.host, target.port], conn)
    : OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED;
  if (verdict !== OPEN_SUCCEEDED) {
    return req.reject(typeof verdict === 'number' && verdict > 0 ? verdict : OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'refused');
  }
  const sock = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
  sock.setTimeout(CONNECT_TIMEOUT);
  const ok = await new Promise<boolean>((resolve) => {
    sock.once('connect', () => resolve(true));
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => resolve(false));
  });
  sock.setTimeout(0);
  if (!ok || conn.transport.isClosed) {
    sock.destroy();
    return req.reject(OPEN_FAILURE.CONNECT_FAILED, 'connect failed');
  }
  relay(sock, req.accept(), (err) => err && conn.debug(`direct-tcpip to ${target.host}:${target.port}: ${err.message}`));
}

/** The `tcpip-forward` listeners of one connection. */
export class PortForwards {
  readonly #conn: SSHServerConnection;
  readonly #debug: (m: string) => void;
  readonly #listeners = new Map<string, net.Server>();

  constructor(conn: SSHServerConnection, debug: (m: string) => void) {
    this.#conn = conn;
    this.#debug = debug;
  }

  async request(data: Uint8Array): Promise<boolean | Uint8Array> {
    const r = new SSHReader(data, 'tcpip-forward');
    const address = r.utf8(1024);
    const port = r.uint32();
    r.end();
    if (port > 65535 || this.#listeners.size >= MAX_LISTENERS) return false;
    const conn = this.#conn;
    const key = conn.authorizedKey;
    if (key && (!key.permissions.portForwarding || !permitted(key.options.permitListen, address, port, true))) return false;
    const p = conn.policy;
    if (!p.checkPortForwardRequest) return false;
    const verdict = await (p.checkPortForwardRequest as Loose).call(p, address, port, conn);
    if (verdict === false || verdict === undefined || verdict === null) return false;
    const bindPort = typeof verdict === 'number' ? verdict : port;
    const bindHost = address === '' || address === '0.0.0.0' ? '0.0.0.0' : address === 'localhost' ? '127.0.0.1' : address;
    const server = net.createServer({ allowHalfOpen: true }, (sock) => this.#forward(sock, address, server));
    const bound = await new Promise<number | null>((resolve) => {
      server.once('error', () => resolve(null));
      server.listen(bindPort, bindHost, () => resolve((server.address() as net.AddressInfo).port));
    });
    if (bound === null || conn.transport.isClosed) {
      server.close();
      return false;
    }
    server.on('error', (err) => this.#debug(`forward listener ${address}:${bound}: ${err.message}`));
    this.#listeners.set(`${address}:${port === 0 ? bound : port}`, server);
    (server as net.Server & { sshPort?: number }).sshPort = bound;
    this.#debug(`listening on ${bindHost}:${bound} for the client`);
    return port === 0 ? new SSHWriter(4).uint32(bound).toBytes() : true;
  }

  async cancel(data: Uint8Array): Promise<boolean> {
    const r = new SSHReader(data, 'cancel-tcpip-forward');
    const address = r.utf8(1024);
    const port = r.uint32();
    const k = `${address}:${port}`;
    const server = this.#listeners.get(k);
    if (!server) return false;
    this.#listeners.delete(k);
    server.close();
    const p = this.#conn.policy;
    if (p.cancelPortForwardRequest) await (p.cancelPortForwardRequest as Loose).call(p, address, port, this.#conn);
    return true;
  }

  #forward(sock: net.Socket, address: string, server: net.Server): void {
    const port = (server as net.Server & { sshPort?: number }).sshPort ?? 0;
    sock.pause();
    sock.on('error', () => {});
    this.#conn.openForwardedTcpipChannel([sock.remoteAddress ?? '', sock.remotePort ?? 0], [address, port]).then(
      (ch) => {
        relay(sock, ch, (err) => err && this.#debug(`forwarded connection from ${address}:${port}: ${err.message}`));
        sock.resume();
      },
      () => sock.destroy(),
    );
  }

  closeAll(): void {
    for (const s of this.#listeners.values()) s.close();
    this.#listeners.clear();
  }
}
