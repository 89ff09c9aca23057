/**
 * Agent forwarding, server side (OpenSSH PROTOCOL.agent): after a session's
 * `auth-agent-req@openssh.com` is granted, a Unix socket in a private
 * directory stands in for the client's agent. Each program that connects
 * to it gets an `auth-agent@openssh.com` channel to the client, relayed
 * byte for byte; the client's agent does the signing and no key reaches
 * the server. Spawned commands find the socket in `SSH_AUTH_SOCK`, a
 * processFactory in `proc.agentPath`. This is Paramiko's AgentServerProxy.
 *
 * The directory is mode 0700 and the socket 0600, so only this user can
 * reach the client's agent (as with sshd); both are removed on close,
 * which happens by itself when the connection ends.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSHException } from '../errors.js';
import type { SSHServerConnection } from './serverConnection.js';
import { RelayedSockets } from './socketRelay.js';

/** Programs talking to the forwarded agent at once, per connection; more are turned away. */
const MAX_AGENT_CONNECTIONS = 32;

/** Options of `AgentServerProxy`. */
export interface AgentServerProxyOptions {
  /** Where to create the private socket directory; default `os.tmpdir()`. */
  directory?: string;
}

/**
 * Paramiko's `AgentServerProxy`: a private Unix socket on the server whose
 * connections are each relayed to the client's agent over an
 * `auth-agent@openssh.com` channel. The server makes one per connection when
 * agent forwarding is granted (`SSHServerConnection.agentProxy()`); it closes
 * itself when the connection ends.
 */
export class AgentServerProxy {
  /** The socket's path: what `SSH_AUTH_SOCK` should hold. */
  readonly path: string;
  readonly #dir: string;
  readonly #conn: SSHServerConnection;
  readonly #server: net.Server;
  readonly #sockets: RelayedSockets;
  #state: 'new' | 'listening' | 'closed' = 'new';

  /** Creates the private directory; `connect()` starts listening. */
  constructor(conn: SSHServerConnection, options: AgentServerProxyOptions = {}) {
    this.#conn = conn;
    this.#sockets = new RelayedSockets('agent forwarding', MAX_AGENT_CONNECTIONS, (m) => conn.debug(m));
    this.#dir = mkdtempSync(join(options.directory ?? tmpdir(), 'sshwire-agent-'));
    chmodSync(this.#dir, 0o700);
    this.path = join(this.#dir, `agent.${process.pid}`);
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.#accept(sock));
    this.#server.on('error', (err) => conn.debug(`agent socket ${this.path}: ${err.message}`));
    void conn.closed.then(() => this.close());
  }

  /** Starts listening on `path`. Rejects if the socket cannot be created or the connection is gone. */
  async connect(): Promise<void> {
    if (this.#state !== 'new') {
      if (this.#state === 'closed') throw new SSHException('the agent proxy is closed', { code: 'ERR_SSH_NOT_CONNECTED' });
      return;
    }
    if (!this.#conn.connection || this.#conn.transport.isClosed) {
      this.close();
      throw new SSHException('agent forwarding needs an authenticated, open connection', { code: 'ERR_SSH_NOT_CONNECTED' });
    }
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => reject(new SSHException(`cannot create the agent socket ${this.path}: ${err.message}`, { code: 'ERR_SSH_AGENT', cause: err }));
      this.#server.once('error', failed);
      this.#server.listen(this.path, () => {
        this.#server.off('error', failed);
        resolve();
      });
    }).catch((err: unknown) => {
      this.close();
      throw err;
    });
    if ((this.#state as string) === 'closed') throw new SSHException('the agent proxy was closed while starting', { code: 'ERR_SSH_NOT_CONNECTED' });
    chmodSync(this.path, 0o600);
    this.#state = 'listening';
  }

  /** `{ SSH_AUTH_SOCK }` for a child process's environment (Paramiko's `get_env`). */
  getEnv(): { SSH_AUTH_SOCK: string } {
    return { SSH_AUTH_SOCK: this.path };
  }

  /** Stops listening, ends the relayed agent connections and removes the socket and its directory. Safe to call twice. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#server.close();
    this.#sockets.destroyAll();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #accept(sock: net.Socket): void {
    const c = this.#conn.connection;
    if (this.#state !== 'listening' || !c || c.isClosed) {
      sock.destroy();
      return;
    }
    this.#sockets.relay(sock, () => this.#conn.openForwardAgentChannel());
  }
}
