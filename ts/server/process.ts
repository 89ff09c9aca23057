/**
 * SSHServerProcess (AsyncSSH's shape): what a `processFactory` receives for
 * each exec, shell or subsystem session. stdin/stdout/stderr are streams on
 * the channel with the channel's flow control behind them: writing faster
 * than the client reads makes `write()` return false until 'drain'.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { SessionChannel } from '../connection/index.js';
import type { SSHServerConnection } from './serverConnection.js';

/** The pseudo-terminal the client asked for. */
export interface ServerPty {
  /** The TERM value the client sent, e.g. `xterm-256color`. */
  term: string;
  /** Width in characters; updated by granted window changes. */
  cols: number;
  /** Height in rows; updated by granted window changes. */
  rows: number;
  /** Width in pixels (0 if unknown). */
  width: number;
  /** Height in pixels (0 if unknown). */
  height: number;
  /** Terminal modes by name (ECHO, ICANON, TTY_OP_OSPEED, ...). */
  modes: Record<string, number>;
}

/**
 * `processFactory`: called once per exec, shell or subsystem session not served
 * otherwise (AsyncSSH's `process_factory`). If it returns a promise, the session
 * exits with status 0 when it resolves (1 if it rejects) unless it was already
 * ended; a synchronous factory must end the session itself (`proc.exit()`).
 */
export type ServerProcessFactory = (proc: SSHServerProcess) => void | Promise<void>;

export interface ServerProcessInit {
  channel: SessionChannel;
  connection: SSHServerConnection;
  command: string | null;
  subsystem: string | null;
  env: Record<string, string>;
  pty: ServerPty | null;
  agentPath: string | null;
  x11: { display: string; authPath: string } | null;
}

/**
 * One running session. Events: 'resize' (cols, rows, width, height),
 * 'signal' (name without SIG), 'break' (ms), 'close' (once, when the channel
 * is gone: CLOSE went both ways or the connection ended, whether or not
 * stdin was read).
 */
export class SSHServerProcess extends EventEmitter {
  /** The command of an exec request; null for a shell or subsystem. */
  readonly command: string | null;
  /** The subsystem name, for subsystem requests. */
  readonly subsystem: string | null;
  /** Environment the client set (those the policy accepted) and authorized_keys environment= values. */
  readonly env: Record<string, string>;
  /** The pseudo-terminal, if one was requested and granted. */
  readonly pty: ServerPty | null;
  /**
   * The forwarded agent's socket when the client asked for agent forwarding
   * on this session and the policy granted it (`checkChannelForwardAgentRequest`),
   * else null. Give it to programs as `SSH_AUTH_SOCK`.
   */
  readonly agentPath: string | null;
  /**
   * The forwarded X display (e.g. `localhost:10.0`) when the client asked
   * for X11 forwarding on this session and the policy granted it
   * (`checkChannelX11Request`), else null. Give it to programs as
   * `DISPLAY`, with `x11AuthPath` as `XAUTHORITY`.
   */
  readonly x11Display: string | null;
  /** The Xauthority file with the cookie for `x11Display`, else null. */
  readonly x11AuthPath: string | null;
  /** The session channel, for what the streams and methods here do not cover. */
  readonly channel: SessionChannel;
  /** The client connection the session belongs to (user, policy, peer address). */
  readonly connection: SSHServerConnection;
  /** The client's data (the channel's readable side). */
  readonly stdin: Readable;
  /** To the client (the channel's writable side). */
  readonly stdout: Writable;
  /** To the client as extended data (stderr). */
  readonly stderr: Writable;
  #exited = false;

  constructor(init: ServerProcessInit) {
    super();
    this.channel = init.channel;
    this.connection = init.connection;
    this.command = init.command;
    this.subsystem = init.subsystem;
    this.env = init.env;
    this.pty = init.pty;
    this.agentPath = init.agentPath;
    this.x11Display = init.x11?.display ?? null;
    this.x11AuthPath = init.x11?.authPath ?? null;
    this.stdin = init.channel;
    this.stdout = init.channel;
    this.stderr = init.channel.stderrWriter;
    // 'channelClosed', not the stream's 'close': that one waits until stdin
    // has been read to the end, which a process need never do.
    if (init.channel.isClosed) process.nextTick(() => this.emit('close'));
    else init.channel.once('channelClosed', () => this.emit('close'));
  }

  /** The user who logged in. */
  get username(): string {
    return this.connection.username ?? '';
  }

  /** `{ cols, rows, width, height }` of the pty (updated by window changes), or null. */
  get terminalSize(): { cols: number; rows: number; width: number; height: number } | null {
    const p = this.pty;
    return p ? { cols: p.cols, rows: p.rows, width: p.width, height: p.height } : null;
  }

  /** Whether exit() or exitWithSignal() was called. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Ends the session with an exit status: output already written goes out
   * first, then EOF, `exit-status`, and CLOSE.
   */
  exit(code: number): void {
    const status = Number.isInteger(code) ? code >>> 0 : 255;
    this.#finish(() => this.channel.sendExitStatus(status));
  }

  /** Ends the session reporting a signal (`TERM`, `KILL`, ... with or without SIG). */
  exitWithSignal(name: string, coreDumped = false, message = ''): void {
    this.#finish(() => {
      try {
        this.channel.sendExitSignal(name, coreDumped, message);
      } catch {
        // An unusable signal name: report a failure status instead of nothing.
        this.channel.sendExitStatus(255);
      }
    });
  }

  /** Closes the channel without an exit status. */
  close(): void {
    this.#finish(() => {});
  }

  #finish(report: () => void): void {
    if (this.#exited) return;
    this.#exited = true;
    const ch = this.channel;
    const done = (): void => {
      if (ch.isClosed) return;
      try {
        report();
      } catch {
        // The channel closed meanwhile; nothing to report to.
      }
      ch.close();
    };
    if (ch.isClosed) return;
    if (ch.writableFinished) {
      done();
      return;
    }
    ch.once('finish', done);
    if (!ch.writableEnded) ch.end();
  }
}
