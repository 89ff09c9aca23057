/**
 * X11 forwarding, server side (RFC 4254 section 6.3), as sshd does it with
 * `X11UseLocalhost yes`: once a session's `x11-req` is granted, a proxy
 * display listens on the loopback addresses (127.0.0.1, and ::1 where the
 * machine has IPv6, since `localhost` may resolve to either), port 6000 + N
 * for the first N from 10 up that is free on both, and each X client connecting to it becomes an `x11` channel to
 * the SSH client, relayed byte for byte. The client checks the cookie the
 * X client presents (the fake one it gave us) and swaps in the real one, so
 * the real cookie never reaches the server.
 *
 * The fake cookie is written to a private Xauthority file (directory
 * 0700, file 0600) rather than the user's own, so nothing outside the
 * session changes; spawned commands get `DISPLAY` and `XAUTHORITY`, a
 * processFactory `proc.x11Display` and `proc.x11AuthPath`. Everything is
 * removed when the session's channel closes.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeXauthority, X11_BASE_PORT, XAUTH_FAMILY } from '../connection/x11.js';
import { SSHException } from '../errors.js';
import type { SSHServerConnection } from './serverConnection.js';
import { RelayedSockets } from './socketRelay.js';

/** First display number tried, as sshd's X11DisplayOffset. */
const DISPLAY_OFFSET = 10;
/** Display numbers tried before giving up. */
const DISPLAY_TRIES = 1000;
/** X clients relayed at once per session; more are turned away. */
const MAX_X11_CONNECTIONS = 64;

/** What the client's `x11-req` asked for. */
export interface X11Request {
  singleConnection: boolean;
  authProtocol: string;
  /** Hex, as sent. */
  authCookie: string;
  screen: number;
}

export class X11ServerDisplay {
  /** What `DISPLAY` should hold, e.g. `localhost:10.0`. */
  readonly display: string;
  /** The private Xauthority file holding the client's fake cookie. */
  readonly authPath: string;
  readonly #dir: string;
  readonly #conn: SSHServerConnection;
  readonly #servers: net.Server[];
  readonly #single: boolean;
  readonly #sockets: RelayedSockets;
  #closed = false;

  private constructor(conn: SSHServerConnection, servers: net.Server[], number: number, req: X11Request, dir: string) {
    this.#conn = conn;
    this.#servers = servers;
    this.#single = req.singleConnection;
    this.#sockets = new RelayedSockets('X11 forwarding', MAX_X11_CONNECTIONS, (m) => conn.debug(m));
    this.#dir = dir;
    this.display = `localhost:${number}.${req.screen}`;
    this.authPath = join(dir, 'Xauthority');
    for (const server of servers) {
      server.on('connection', (sock) => this.#accept(sock));
      server.on('error', (err) => conn.debug(`X11 display ${this.display}: ${err.message}`));
    }
    void conn.closed.then(() => this.close());
  }

  /**
   * Listens on the first free display from 10 up and writes the fake cookie
   * for it. Rejects with ERR_SSH_BAD_ARGUMENT for a cookie that is not hex,
   * ERR_SSH_X11 when no display port is free.
   */
  static async open(conn: SSHServerConnection, req: X11Request, options: { directory?: string } = {}): Promise<X11ServerDisplay> {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(req.authCookie) || req.authCookie.length > 512) {
      throw new SSHException('X11 forwarding: the auth cookie is not hex', { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    const { servers, number } = await listenOnFreeDisplay();
    let dir: string;
    try {
      dir = mkdtempSync(join(options.directory ?? tmpdir(), 'sshwire-x11-'));
      chmodSync(dir, 0o700);
      const entry = { family: XAUTH_FAMILY.local, address: Buffer.from(hostname()), number: String(number), name: req.authProtocol, data: Buffer.from(req.authCookie, 'hex') };
      writeFileSync(join(dir, 'Xauthority'), encodeXauthority([entry]), { mode: 0o600 });
    } catch (err) {
      for (const server of servers) server.close();
      throw new SSHException(`X11 forwarding: cannot write the Xauthority file: ${(err as Error).message}`, { code: 'ERR_SSH_X11', cause: err });
    }
    return new X11ServerDisplay(conn, servers, number, req, dir);
  }

  /** `{ DISPLAY, XAUTHORITY }` for a child process's environment. */
  getEnv(): { DISPLAY: string; XAUTHORITY: string } {
    return { DISPLAY: this.display, XAUTHORITY: this.authPath };
  }

  /** Stops listening, ends the relayed X connections and removes the Xauthority file. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const server of this.#servers) server.close();
    this.#sockets.destroyAll();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #accept(sock: net.Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    // single_connection: the first X client is the only one (as sshd).
    if (this.#single) for (const server of this.#servers) server.close();
    this.#sockets.relay(sock, () => this.#conn.openX11Channel([sock.remoteAddress ?? '127.0.0.1', sock.remotePort ?? 0]));
  }
}

/** Listens on `host`:`port`: null on success, else the error code (EADDRINUSE, EADDRNOTAVAIL, ...). */
function tryListen(server: net.Server, host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
    server.listen({ host, port, ipv6Only: host === '::1' }, () => {
      server.removeAllListeners('error');
      resolve(null);
    });
  });
}

/**
 * Listeners on 127.0.0.1 and ::1, port 6000+N, for the first N from
 * DISPLAY_OFFSET free on both: otherwise an X client resolving `localhost`
 * to ::1 could reach another program's display. Without IPv6 on the
 * machine, 127.0.0.1 alone.
 */
async function listenOnFreeDisplay(): Promise<{ servers: net.Server[]; number: number }> {
  for (let number = DISPLAY_OFFSET; number < DISPLAY_OFFSET + DISPLAY_TRIES; number++) {
    const port = X11_BASE_PORT + number;
    const v4 = net.createServer({ allowHalfOpen: true });
    if ((await tryListen(v4, '127.0.0.1', port)) !== null) {
      v4.close();
      continue;
    }
    const v6 = net.createServer({ allowHalfOpen: true });
    const err = await tryListen(v6, '::1', port);
    if (err === null) return { servers: [v4, v6], number };
    v6.close();
    if (err === 'EADDRNOTAVAIL' || err === 'EAFNOSUPPORT') return { servers: [v4], number };
    v4.close();
  }
  throw new SSHException(`X11 forwarding: no free display between ${DISPLAY_OFFSET} and ${DISPLAY_OFFSET + DISPLAY_TRIES - 1}`, { code: 'ERR_SSH_X11' });
}
