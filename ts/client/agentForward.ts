/**
 * Agent forwarding, OpenSSH's way (PROTOCOL.agent): a session asks with
 * `auth-agent-req@openssh.com`; from then on, each time a program on the
 * server talks to the agent socket sshd made for that session, the server
 * opens an `auth-agent@openssh.com` channel to us, which we connect to the
 * local agent's socket and relay byte for byte. The local agent does the
 * signing; no key leaves it.
 *
 * Opens of that type are refused until a session on this connection has
 * asked for forwarding, so a server cannot reach the local agent unasked.
 *
 * As ssh does, each relayed agent connection is first bound to this
 * session for forwarding (`session-bind@openssh.com` with is_forwarding
 * set): an agent holding destination-restricted keys (`ssh-add -h
 * "here>there"`) then knows the hop the requests come through, and lets
 * them sign only for the onward hosts the restriction names. An agent that
 * does not take the binding is relayed unbound.
 */
import * as net from 'node:net';
import type { Channel, Connection, IncomingChannelRequest, SessionChannel, WaitOptions } from '../connection/index.js';
import { checkWaitOptions, connectionOf, OPEN_FAILURE, relay } from '../connection/index.js';
import { SSHException } from '../errors.js';
import { AgentClient } from '../keys/index.js';
import { acceptConnected, acceptOnConnect } from './forwardRelay.js';
import { handleChannelOpens } from './incomingOpens.js';

/** How long connecting to the local agent socket may take. */
const AGENT_CONNECT_TIMEOUT = 10_000;

/** One forwarder per connection: the server's agent channels do not say which session they serve. */
const forwarders = new WeakMap<Connection, AgentForwarder>();

/** `conn`'s forwarder, made for the agent at `socketPath` if it has none yet (else the existing one, whatever its socket). */
export function agentForwarderFor(conn: Connection, socketPath: string, debug?: (message: string) => void): AgentForwarder {
  let f = forwarders.get(conn);
  if (!f) {
    f = new AgentForwarder(conn, socketPath, debug);
    forwarders.set(conn, f);
  }
  return f;
}

export class AgentForwarder {
  /** The local agent's socket. */
  readonly socketPath: string;
  readonly #conn: Connection;
  readonly #debug: (message: string) => void;
  #requested = false;

  constructor(conn: Connection, socketPath: string, debug: (message: string) => void = () => {}) {
    this.socketPath = socketPath;
    this.#conn = conn;
    this.#debug = debug;
    handleChannelOpens(conn, 'auth-agent@openssh.com', (req) => this.#onOpen(req));
  }

  /** A session is about to ask for forwarding: the server's agent channels are welcome from now on. */
  enable(): void {
    this.#requested = true;
  }

  #onOpen(req: IncomingChannelRequest): void {
    if (!this.#requested) {
      req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'agent forwarding was not requested');
      return;
    }
    void this.#bound().then((sock) => {
      if (sock) acceptConnected(req, sock, { connected: this.#relay });
      else this.#unbound(req);
    });
  }

  /**
   * A connection to the local agent bound to this session for forwarding,
   * or undefined when the agent cannot be reached or refuses the binding
   * (then the channel gets a fresh, unbound connection).
   */
  async #bound(): Promise<net.Socket | undefined> {
    const t = this.#conn.transport;
    const binding = t.sessionBinding;
    if (!binding || !t.sessionId) return undefined;
    const agent = new AgentClient(this.socketPath, { timeout: AGENT_CONNECT_TIMEOUT });
    try {
      await agent.bindSession(binding.hostKey, t.sessionId, binding.signature, true);
    } catch (err) {
      this.#debug(`agent forwarding: the local agent did not take the session binding: ${(err as Error).message}`);
      agent.release()?.destroy();
      return undefined;
    }
    return agent.release();
  }

  #unbound(req: IncomingChannelRequest): void {
    const sock = net.connect({ path: this.socketPath, allowHalfOpen: true });
    acceptOnConnect(req, sock, AGENT_CONNECT_TIMEOUT, {
      claim: () => true,
      connected: this.#relay,
      failed: (err) => this.#debug(`agent forwarding: cannot reach the local agent at ${this.socketPath}: ${err.message}`),
    });
  }

  readonly #relay = (sock: net.Socket, ch: Channel): void => {
    relay(sock, ch, (err) => {
      if (err) this.#debug(`agent forwarding: ${err.message}`);
    });
  };
}

/** Options for AgentRequestHandler. */
export interface AgentRequestOptions extends WaitOptions {
  /** The local agent's socket; default `SSH_AUTH_SOCK`. Ignored when the connection already forwards an agent. */
  agentPath?: string;
}

/**
 * Paramiko's AgentRequestHandler: forwards the local agent to one session
 * channel. Make it after opening the session and before starting the
 * command; programs the command runs then reach the local agent through
 * the server's `SSH_AUTH_SOCK`.
 *
 * ```ts
 * const session = await client.getConnection()!.openSession();
 * const handler = new AgentRequestHandler(session);
 * await session.exec('git pull');
 * await handler.granted; // false if the server refused
 * ```
 *
 * With `connect()`, the `agentForwarding` option does the same per call.
 */
export class AgentRequestHandler {
  /** The local agent socket being relayed to. */
  readonly socketPath: string;
  /** Resolves whether the server granted forwarding (false also when the request failed or timed out). */
  readonly granted: Promise<boolean>;

  /**
   * Throws ERR_SSH_BAD_OPTION with no local agent or a `timeout` outside
   * 0..2^31-1 ms, ERR_SSH_BAD_ARGUMENT for a channel not opened on a connection.
   */
  constructor(session: SessionChannel, options: AgentRequestOptions = {}) {
    const conn = connectionOf(session);
    if (!conn) throw new SSHException('AgentRequestHandler needs a session channel opened on a connection', { code: 'ERR_SSH_BAD_ARGUMENT' });
    // The request's own refusal would only read as "not granted".
    checkWaitOptions(options, 'AgentRequestHandler');
    const path = options.agentPath ?? process.env.SSH_AUTH_SOCK;
    if (!path) throw new SSHException('agent forwarding needs a local agent: pass agentPath or set SSH_AUTH_SOCK', { code: 'ERR_SSH_BAD_OPTION' });
    const forwarder = agentForwarderFor(conn, path);
    forwarder.enable();
    this.socketPath = forwarder.socketPath;
    this.granted = session.requestAgentForwarding({ signal: options.signal, timeout: options.timeout }).catch(() => false);
  }
}

/**
 * Where `ForwardAgent` in ssh_config points: true (the default agent),
 * false, or a socket path (`$VAR` names an environment variable holding one).
 */
export function parseForwardAgent(value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^(yes|true)$/i.test(v)) return true;
  if (/^(no|false)$/i.test(v)) return false;
  if (v.startsWith('$')) {
    const fromEnv = process.env[v.slice(1)];
    return fromEnv ? fromEnv : false;
  }
  return v;
}
