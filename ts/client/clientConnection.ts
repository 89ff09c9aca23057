/**
 * An authenticated client connection (AsyncSSH's SSHClientConnection):
 * run / exec / shell over the connection layer, close, and `await using`.
 */
import { openSftp, type SFTPClient, type SFTPClientOptions } from '../sftp/index.js';
import { SSHException } from '../errors.js';
import {
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
import type { NegotiatedAlgorithms, Transport } from '../transport/index.js';

/** Options of `shell()`. */
export interface ShellOptions extends WaitOptions {
  /** TERM; default `xterm`. */
  term?: string;
  /** Terminal size in characters; default 80 × 24. */
  cols?: number;
  rows?: number;
  /** Terminal modes by name, e.g. `{ ECHO: 0 }`. */
  modes?: Readonly<Record<string, number>>;
  /** Environment variables (OpenSSH applies only those in its AcceptEnv). */
  env?: Record<string, string>;
  /** false: no pseudo-terminal (a shell reading commands from stdin). Default true. */
  pty?: boolean;
}

/** Options of `forwardLocal()` (not available yet). */
export interface ForwardLocalOptions {
  localHost?: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
}

function notYet(what: string, issue: string): SSHException {
  return new SSHException(`${what} is not implemented yet in this version of sshwire (${issue})`, { code: 'ERR_SSH_UNSUPPORTED' });
}

export class SSHClientConnection {
  /** The transport (algorithms, rekeying, keepalive). */
  readonly transport: Transport;
  /** The connection layer: channels and global requests. */
  readonly connection: Connection;
  /** The user we authenticated as. */
  readonly username: string;
  /** Authentication methods that succeeded, in order. */
  readonly authMethods: readonly string[];
  /** Resolves when the connection is gone: null after `close()`, else the error that ended it. */
  readonly closed: Promise<Error | null>;

  constructor(transport: Transport, connection: Connection, auth: { username: string; methods: readonly string[] }) {
    this.transport = transport;
    this.connection = connection;
    this.username = auth.username;
    this.authMethods = [...auth.methods];
    this.closed = connection.closed;
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
   */
  run(command: string, options: RunOptions = {}): Promise<RunResult> {
    return runCommand(this.connection, command, options);
  }

  /** Starts `command` and returns its streams (`stdin`, `stdout`, `stderr`) and `exit` promise. */
  exec(command: string, options: ExecOptions = {}): Promise<SSHClientProcess> {
    return execProcess(this.connection, command, options);
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
    const proc = await execProcess(this.connection, null, {
      pty,
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    });
    return proc.channel;
  }

  /** Opens a bare session channel, for requests `exec`/`shell` do not cover. */
  openSession(options?: WaitOptions): Promise<SessionChannel> {
    return this.connection.openSession(options);
  }

  /**
   * Starts SFTP on a new session channel (the `sftp` subsystem) and returns
   * the client. Closing the SFTP client closes only its channel.
   */
  sftp(options: SFTPClientOptions = {}): Promise<SFTPClient> {
    return openSftp(this, options);
  }

  /**
   * Local port forwarding. **Not implemented yet**: always rejects with
   * SSHException code ERR_SSH_UNSUPPORTED.
   */
  async forwardLocal(_options: ForwardLocalOptions): Promise<never> {
    throw notYet('forwardLocal', 'port forwarding lands in a later release');
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
