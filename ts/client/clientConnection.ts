/**
 * An authenticated client connection (AsyncSSH's SSHClientConnection):
 * run / exec / shell / sftp over the connection layer, TCP port forwarding
 * in both directions (the code is in forwardLocal.ts / forwardRemote.ts),
 * agent forwarding (agentForward.ts), close, and `await using`.
 */
import { openSftp, type SFTPClient, type SFTPClientOptions } from '../sftp/index.js';
import {
  type Channel,
  type Connection,
  execProcess,
  type ExecOptions,
  type PtyOptions,
  runCommand,
  type RunOptions,
  type RunResult,
  type SessionChannel,
  type SSHClientProcess,
  type WaitOptions,
} from '../connection/index.js';
import { SSHException } from '../errors.js';
import type { NegotiatedAlgorithms } from '../transport/index.js';
import { type AgentForwarder, agentForwarderFor } from './agentForward.js';
import { type X11ForwardingSetup, x11ForwarderFor } from './x11Forward.js';
import type { ClientTransport } from './clientTransport.js';
import { type ForwardLocalOptions, type LocalForwardListener, openDirectTcpip, type OpenConnectionOptions, startLocalForward } from './forwardLocal.js';
import { type ForwardRemoteOptions, type RemoteForwardListener, startRemoteForward } from './forwardRemote.js';

/** Options of `shell()`. */
export interface ShellOptions extends WaitOptions {
  /** TERM; default `xterm`. */
  term?: string;
  /** Terminal size in characters; default 80 × 24. */
  cols?: number;
  /** Terminal rows; default 24. */
  rows?: number;
  /** Terminal modes by name, e.g. `{ ECHO: 0 }`. */
  modes?: Readonly<Record<string, number>>;
  /** Environment variables (OpenSSH applies only those in its AcceptEnv). */
  env?: Record<string, string>;
  /** false: no pseudo-terminal (a shell reading commands from stdin). Default true. */
  pty?: boolean;
  /** Forward the local agent to this shell; default: connect()'s `agentForwarding`. */
  agentForwarding?: boolean;
  /** Forward X11 connections to the local display; default: connect()'s `x11Forwarding`. */
  x11Forwarding?: boolean | 'ignoreFailure';
}

/** How a connection forwards the local agent (from connect()'s options). */
export interface AgentForwardingSetup {
  /** The local agent's socket, or null when there is none. */
  socketPath: string | null;
  /** Whether run / exec / shell ask for forwarding unless told otherwise. */
  byDefault: boolean;
  debug?: (message: string) => void;
}

/** How a connection forwards X11 (from connect()'s options). */
export interface X11ForwardingDefaults extends X11ForwardingSetup {
  /** Whether run / exec / shell ask for forwarding unless told otherwise. */
  byDefault: boolean | 'ignoreFailure';
}

export type { ForwardLocalOptions } from './forwardLocal.js';

/**
 * An authenticated client connection (AsyncSSH's `SSHClientConnection`):
 * what `connect()` resolves to, `SSHClient.getConnection()` returns and
 * `ClientAuthSession.connection()` gives. Runs commands and shells, opens
 * SFTP, forwards ports; `close()` or `await using` ends it.
 */
export class SSHClientConnection {
  /** The transport (algorithms, rekeying, keepalive, and Paramiko's Transport calls). */
  readonly transport: ClientTransport;
  /** The connection layer: channels and global requests. */
  readonly connection: Connection;
  /** The user we authenticated as. */
  readonly username: string;
  /** Authentication methods that succeeded, in order. */
  readonly authMethods: readonly string[];
  /** Resolves when the connection is gone: null after `close()`, else the error that ended it. */
  readonly closed: Promise<Error | null>;

  readonly #agent: AgentForwarder | null;
  readonly #agentByDefault: boolean;
  readonly #x11: X11ForwardingDefaults;

  constructor(
    transport: ClientTransport,
    connection: Connection,
    auth: { username: string; methods: readonly string[] },
    agent?: AgentForwardingSetup,
    x11: X11ForwardingDefaults = { byDefault: false },
  ) {
    this.transport = transport;
    transport._attach(this);
    this.connection = connection;
    this.username = auth.username;
    this.authMethods = [...auth.methods];
    this.closed = connection.closed;
    this.#agent = agent?.socketPath ? agentForwarderFor(connection, agent.socketPath, agent.debug) : null;
    this.#agentByDefault = agent?.byDefault ?? false;
    this.#x11 = x11;
  }

  /**
   * `options` with `agentForwarding` and `x11Forwarding` settled: the
   * connection's defaults unless given, and the forwarders told to expect
   * the server's channels before the requests go out.
   */
  #session<T extends ExecOptions>(options: T): T {
    let out = options;
    if (options.agentForwarding ?? this.#agentByDefault) {
      if (!this.#agent) {
        throw new SSHException('agent forwarding needs a local agent: pass connect() an agent socket path or set SSH_AUTH_SOCK', { code: 'ERR_SSH_BAD_OPTION' });
      }
      this.#agent.enable();
      out = { ...out, agentForwarding: true };
    }
    const x11 = options.x11Forwarding ?? this.#x11.byDefault;
    if (x11) {
      try {
        out = { ...out, x11Forwarding: x11, x11: x11ForwarderFor(this.connection, this.#x11).request() };
      } catch (err) {
        // As ssh with ForwardX11 and no DISPLAY: 'ignoreFailure' goes on without.
        if (x11 !== 'ignoreFailure') throw err;
        this.#x11.debug?.(`X11 forwarding skipped: ${(err as Error).message}`);
        out = { ...out, x11Forwarding: false };
      }
    }
    return out;
  }

  /** What the key exchange chose (kex, host key, ciphers, MACs, compression). */
  get negotiated(): NegotiatedAlgorithms | null {
    return this.transport.negotiated;
  }

  /** Whether the connection is closed or closing. */
  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  /**
   * Runs `command` to the end and returns its output and exit status.
   * Options: `stdin`, `env`, `pty`, `signal`, `timeout`, `check` (reject with
   * ProcessError on a non-zero exit), `encoding` (null for Buffers).
   * `run({ subsystem, ... })` runs a subsystem instead (AsyncSSH's
   * `run(subsystem=...)`); so does `run('', { subsystem })`.
   */
  run(command: string, options?: RunOptions): Promise<RunResult>;
  run(options: RunOptions & { subsystem: string }): Promise<RunResult>;
  run(commandOrOptions: string | (RunOptions & { subsystem: string }), options: RunOptions = {}): Promise<RunResult> {
    const [command, opts] = typeof commandOrOptions === 'string' ? [commandOrOptions, options] : ['', commandOrOptions];
    try {
      return runCommand(this.connection, command, this.#session(opts));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Starts `command` and returns its streams (`stdin`, `stdout`, `stderr`) and `exit` promise. */
  exec(command: string, options: ExecOptions = {}): Promise<SSHClientProcess> {
    try {
      return execProcess(this.connection, command, this.#session(options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Starts the user's shell, with a pseudo-terminal unless `pty: false`.
   * Returns the session channel: a Duplex (write to the shell, read its
   * output) with `stderr`, `resize(cols, rows)`, `exit` and `recvExitStatus()`.
   */
  async shell(options: ShellOptions = {}): Promise<SessionChannel> {
    const pty: PtyOptions | false =
      options.pty === false
        ? false
        : {
            ...(options.term !== undefined ? { term: options.term } : {}),
            ...(options.cols !== undefined ? { cols: options.cols } : {}),
            ...(options.rows !== undefined ? { rows: options.rows } : {}),
            ...(options.modes !== undefined ? { modes: options.modes } : {}),
          };
    const proc = await execProcess(this.connection, null, this.#session({
      pty,
      ...(options.agentForwarding !== undefined ? { agentForwarding: options.agentForwarding } : {}),
      ...(options.x11Forwarding !== undefined ? { x11Forwarding: options.x11Forwarding } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    }));
    return proc.channel;
  }

  /** Opens a bare session channel, for requests `exec`/`shell` do not cover. */
  openSession(options?: WaitOptions & { window?: number; maxPacketSize?: number }): Promise<SessionChannel> {
    return this.connection.openSession(options);
  }

  /**
   * Starts SFTP on a new session channel (the `sftp` subsystem) and returns
   * the client. Closing the SFTP client closes only its channel, and the
   * extra SFTP channels large uploads opened (`PutOptions.channels`).
   */
  sftp(options: SFTPClientOptions = {}): Promise<SFTPClient> {
    return openSftp(this, options);
  }

  /**
   * Local port forwarding (`ssh -L`, AsyncSSH's `forward_local_port`):
   * listens on `localHost` (default 127.0.0.1) : `localPort` (0 = any free
   * port) and forwards each connection through the server to
   * `remoteHost:remotePort`. Resolves with the listener once it is up
   * (`localPort` tells the port when 0 was asked); `close()` it or
   * `await using` it. Channels the server refuses close that one
   * connection and go to `onError`; closing the SSH connection closes the
   * listener and every forwarded connection.
   */
  forwardLocal(options: ForwardLocalOptions): Promise<LocalForwardListener> {
    return startLocalForward(this.connection, options);
  }

  /**
   * Remote port forwarding (`ssh -R`, AsyncSSH's `forward_remote_port`,
   * Paramiko's `request_port_forward`): asks the server to listen on
   * `remoteHost` (default '' = all its addresses) : `remotePort` (0 = the
   * server picks) and connects each connection it forwards to
   * `localHost:localPort` from here. Resolves with the listener once the
   * server agreed (`remotePort` tells the port); `close()` cancels. The
   * server's `forwarded-tcpip` channels for anything not requested are
   * refused.
   */
  forwardRemote(options: ForwardRemoteOptions): Promise<RemoteForwardListener> {
    return startRemoteForward(this.connection, options);
  }

  /**
   * Opens one `direct-tcpip` channel to `host:port` as seen from the server
   * (AsyncSSH's `create_connection`, Paramiko's
   * `open_channel('direct-tcpip', dest, src)`): a Duplex carrying that TCP
   * connection. Rejects with ChannelException (with the server's
   * `reasonCode`) when the server refuses or cannot connect.
   */
  openConnection(host: string, port: number, options?: OpenConnectionOptions): Promise<Channel> {
    return openDirectTcpip(this.connection, host, port, options);
  }

  /** Disconnects. Open channels end; await `closed` to know the socket is gone. */
  close(): void {
    this.connection.close();
    this.transport.disconnect();
  }

  /** `await using conn = await connect(...)` closes the connection at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}
