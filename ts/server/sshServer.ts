/**
 * `listen()` and SSHServer: a TCP listener handing each socket to an
 * SSHServerConnection, with the connection limit, the shared context and a
 * clean shutdown.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { NegotiationError, SSHException } from '../errors.js';
import { DISCONNECT_REASON } from '../wire/index.js';
import { serverAuthLimits } from '../auth/index.js';
import { checkLayerOptions } from '../connection/index.js';
import { buildAlgorithmLists, loadModuliFile } from '../transport/index.js';
import { signerSupports } from '../transport/kex/hostkey.js';
import { bad, hostSigners, loadHostKeys, positiveInt, serverConnectionOptions, serverTransportOptions, type ListenOptions } from './options.js';
import { type ConnectionPeer, SSHServerConnection, type ServerContext } from './serverConnection.js';
import { authorizedEntries, loadRevoked } from './authPolicy.js';
import { sftpFactoryOf } from './session.js';
import type { SubsystemHandler } from './subsystems.js';
import type { PrivateKey } from '../keys/index.js';

const DEFAULT_MAX_CONNECTIONS = 1000;
const DEFAULT_MAX_CHANNELS = 64;
/** How long close() lets connections say goodbye before dropping their sockets. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The identification line and an unencrypted DISCONNECT packet (RFC 4253
 * sections 4.2 and 6), for refusing a client before any key exchange.
 */
function refusalBytes(version: string, reason: number, description: string): Buffer {
  const desc = Buffer.from(description, 'utf8');
  const payload = Buffer.alloc(1 + 4 + 4 + desc.length + 4);
  let p = payload.writeUInt8(1, 0); // SSH_MSG_DISCONNECT
  p = payload.writeUInt32BE(reason, p);
  p = payload.writeUInt32BE(desc.length, p);
  p += desc.copy(payload, p);
  payload.writeUInt32BE(0, p); // empty language tag
  let padding = 8 - ((5 + payload.length) % 8);
  if (padding < 4) padding += 8;
  const packet = Buffer.alloc(5 + payload.length + padding);
  packet.writeUInt32BE(1 + payload.length + padding, 0);
  packet.writeUInt8(padding, 4);
  payload.copy(packet, 5);
  return Buffer.concat([Buffer.from(`${version}\r\n`, 'latin1'), packet]);
}

/**
 * A listening SSH server. Events: 'connection' (SSHServerConnection, as a
 * client arrives), 'error' (err, conn: what ended a connection badly — the
 * server's log; without a listener these go to the `debug` option only),
 * 'close'.
 */
export class SSHServer extends EventEmitter {
  readonly #net: net.Server;
  readonly #ctx: ServerContext;
  readonly #maxConnections: number;
  readonly #connections = new Set<SSHServerConnection>();
  #closing: Promise<void> | null = null;

  /** @internal use listen() */
  constructor(options: ListenOptions, hostKeys: PrivateKey[]) {
    super();
    const o = options;
    if (o.spawnCommands && o.processFactory) throw bad('use either processFactory or spawnCommands, not both');
    if (o.gssKex && !o.gssapi) throw bad('gssKex needs gssapi (the keytab that authenticates the server)');
    const subsystems = new Map<string, SubsystemHandler>(Object.entries(o.subsystems ?? {}));
    const debug = o.debug ?? (() => {});
    this.#ctx = {
      options: o,
      hostKeys,
      hostSigners: hostSigners(hostKeys),
      subsystems,
      sftpFactory: sftpFactoryOf(o.sftp),
      processFactory: o.processFactory ?? null,
      spawn: o.spawnCommands ? (o.spawnCommands === true ? {} : o.spawnCommands) : null,
      acceptEnv: o.acceptEnv ?? ['LANG', 'LC_*'],
      maxChannels: positiveInt('maxChannelsPerConnection', o.maxChannelsPerConnection, DEFAULT_MAX_CHANNELS),
      debug: (m) => debug(`server: ${m}`),
    };
    this.#maxConnections = positiveInt('maxConnections', o.maxConnections, DEFAULT_MAX_CONNECTIONS);
    checkConnectionOptions(this.#ctx);
    this.#net = net.createServer((sock) => this.#accept(sock));
    this.#net.on('error', (err) => this.#report(err, null));
  }

  /** @internal */
  _listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new SSHException(`cannot listen on ${host}:${port}: ${err.message}`, { code: 'ERR_SSH_LISTEN', cause: err }));
      this.#net.once('error', onError);
      this.#net.listen(port, host, () => {
        this.#net.off('error', onError);
        resolve();
      });
    });
  }

  /** The bound address (`port` tells the port chosen for port 0). Throws for a server from createServer() that is not listening. */
  address(): net.AddressInfo {
    const a = this.#net.address();
    if (!a || typeof a === 'string') throw new SSHException('this server is not listening on a TCP port', { code: 'ERR_SSH_NOT_CONNECTED' });
    return a;
  }

  /** Connections open now (authenticated or not). */
  get connections(): number {
    return this.#connections.size;
  }

  /** The host keys the server presents. */
  get hostKeys(): readonly PrivateKey[] {
    return this.#ctx.hostKeys;
  }

  /** Serves subsystem `name` with `handler` on every connection from now on (Paramiko's set_subsystem_handler). */
  setSubsystemHandler(name: string, handler: SubsystemHandler): void {
    this.#ctx.subsystems.set(name, handler);
  }

  /** Stops accepting, disconnects every client (BY_APPLICATION), resolves when all are gone. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = (async () => {
        const stopped = new Promise<void>((r) => this.#net.close(() => r()));
        const all = [...this.#connections];
        for (const c of all) c.close('server shutting down');
        const grace = new Promise<void>((r) => setTimeout(r, CLOSE_GRACE_MS).unref());
        await Promise.race([Promise.all(all.map((c) => c.closed)), grace]);
        // Anyone still there after the grace period has their socket dropped.
        for (const c of this.#connections) c.transport.disconnect();
        await stopped;
        this.emit('close');
      })();
    }
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(sock: net.Socket): void {
    sock.setNoDelay(true);
    this.#serve(sock, sock);
  }

  /**
   * Serves one client over a stream obtained elsewhere (Paramiko's
   * `Transport(sock)` + `start_server`): an inetd-style socket, a Unix
   * socket, a socket pair, a tunnel. `peer` names the other end for logs,
   * policies and `from=` (a net.Socket names itself). Returns the
   * connection, or null when it was refused (the server is closing or at
   * `maxConnections`; the stream is then ended).
   */
  handleConnection(stream: Duplex, peer: ConnectionPeer = stream as Partial<ConnectionPeer>): SSHServerConnection | null {
    return this.#serve(stream, peer);
  }

  #serve(sock: Duplex, peer: Partial<ConnectionPeer>): SSHServerConnection | null {
    sock.on('error', () => {});
    if (this.#closing) {
      sock.destroy();
      return null;
    }
    if (this.#connections.size >= this.#maxConnections) {
      this.#ctx.debug(`refusing ${peer.remoteAddress ?? 'a client'}: ${this.#maxConnections} connections already`);
      sock.end(refusalBytes(this.#ctx.options.version ?? 'SSH-2.0-sshwire_0.1', DISCONNECT_REASON.TOO_MANY_CONNECTIONS, 'too many connections'));
      setTimeout(() => sock.destroy(), 2_000).unref();
      return null;
    }
    let conn: SSHServerConnection;
    try {
      conn = new SSHServerConnection(sock, this.#ctx, this.#ctx.options.server, peer);
    } catch (err) {
      this.#report(err as Error, null);
      sock.destroy();
      return null;
    }
    this.#connections.add(conn);
    void conn.closed.then((err) => {
      this.#connections.delete(conn);
      if (err) this.#report(err, conn);
    });
    this.emit('connection', conn);
    return conn;
  }

  #report(err: Error, conn: SSHServerConnection | null): void {
    this.#ctx.debug(`${conn ? `connection from ${conn.remoteAddress}:${conn.remotePort}` : 'listener'}: ${err.name}: ${err.message}`);
    if (this.listenerCount('error') > 0) this.emit('error', err, conn);
  }
}

/**
 * Checks the options every connection hands to its Transport, Connection
 * and user authentication with their own validation, so that a bad one (rekeyBytes below 16 KiB, a
 * window of 0, a malformed version string, an algorithm category left
 * empty, ...) makes listen() / createServer() throw the error each
 * connection would otherwise fail with (SSHException ERR_SSH_BAD_OPTION,
 * NegotiationError).
 */
function checkConnectionOptions(ctx: ServerContext): void {
  const o = ctx.options;
  // Host key algorithms as the Transport filters them (GSS-API methods come on top of these).
  checkLayerOptions(serverTransportOptions(o, ctx.hostSigners), serverConnectionOptions(o, ctx.maxChannels), (alg) => ctx.hostSigners.some((k) => signerSupports(k, alg)));
  serverAuthLimits(o);
}

/**
 * Refuses a server none of whose host keys has an enabled algorithm (say a
 * lone DSA key while `ssh-dss` is not listed): every client would fail key
 * exchange. GSS-API key exchange needs no host key.
 */
function checkHostKeysUsable(hostKeys: readonly PrivateKey[], options: ListenOptions): void {
  if (options.gssKex) return;
  try {
    // Host key lists only: other empty lists fail later with their own message.
    const only = (o: ListenOptions['algorithms']) => ({ serverHostKey: o?.serverHostKey });
    buildAlgorithmLists(only(options.algorithms), only(options.disabledAlgorithms), (alg) => hostKeys.some((k) => k.signatureAlgorithms.includes(alg)));
    return;
  } catch (e) {
    if (!(e instanceof NegotiationError)) throw e;
  }
  const types = [...new Set(hostKeys.map((k) => k.keyType))].join(', ');
  throw bad(`no enabled host key algorithm can use the host keys (${types}); list their algorithm in algorithms.serverHostKey (ssh-dss and SHA-1 ssh-rsa are off by default)`);
}

/**
 * An SSH server that does not listen: feed it clients with
 * `handleConnection(stream)` (for inetd-style sockets, Unix sockets, socket
 * pairs or tunnels). The options are listen()'s, without host and port.
 */
export function createServer(options: Omit<ListenOptions, 'host' | 'port'>): SSHServer {
  if (!options || typeof options !== 'object') throw bad('createServer() needs an options object');
  const hostKeys = loadHostKeys(options.hostKeys, options.hostKeyPassphrase, options.hostCertificates);
  checkHostKeysUsable(hostKeys, options);
  // A listed authorized key that does not parse fails here, not at each connection.
  try {
    authorizedEntries(options.authorizedClientKeys);
  } catch (err) {
    throw bad(`authorizedClientKeys: ${(err as Error).message}`);
  }
  // Likewise a revocation list that cannot be read: refusing to start beats refusing every key.
  try {
    if (options.revokedClientKeys !== undefined) loadRevoked(options.revokedClientKeys);
  } catch (err) {
    throw bad(`revokedClientKeys: ${(err as Error).message}`);
  }
  // A moduli file that cannot be used fails here, not at each connection.
  if (options.moduliFile !== undefined) loadModuliFile(options.moduliFile);
  return new SSHServer(options, hostKeys);
}

/** Starts an SSH server (see ListenOptions); resolves once it is listening. */
export async function listen(options: ListenOptions): Promise<SSHServer> {
  if (!options || typeof options !== 'object') throw bad('listen() needs an options object');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad(`port must be 0..65535, got ${String(port)}`);
  const server = createServer(options);
  await server._listen(options.host ?? '127.0.0.1', port);
  return server;
}
