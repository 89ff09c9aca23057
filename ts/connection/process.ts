/**
 * AsyncSSH-shaped helpers over session channels: `execProcess` starts a
 * command (or shell) and returns its streams; `runCommand` runs one to the
 * end and collects its output. `client.ts` builds `conn.run` / `conn.exec`
 * / `conn.shell` on these.
 */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ChannelException, ProcessError, TimeoutError } from '../errors.js';
import type { Connection } from './connection.js';
import type { ExitSignal } from './requests.js';
import type { PtyOptions, SessionChannel, X11Options } from './session.js';
import { bounded, checkWaitOptions, freshAbortError, type WaitOptions } from './wait.js';

export type { PtyOptions } from './session.js';

/** How a process ended. */
export interface ProcessExit {
  /** The `exit-status` the server sent; null if none (e.g. killed by a signal). */
  exitStatus: number | null;
  /** The `exit-signal` the server sent, when the process was killed by a signal. */
  exitSignal?: ExitSignal;
}

/**
 * Options of `execProcess` / `conn.exec()` / `conn.shell()` (AsyncSSH's
 * `create_process` options). `timeout` and `signal` bound starting the
 * process, not its run: one deadline covers opening the channel and the
 * requests that start it.
 */
export interface ExecOptions extends WaitOptions {
  /** Environment variables, sent as `env` requests (servers may ignore them: OpenSSH needs AcceptEnv). */
  env?: Record<string, string>;
  /** Request a pseudo-terminal: true for defaults, or its parameters. */
  pty?: boolean | PtyOptions;
  /** Start this subsystem instead of a command (command must then be null). */
  subsystem?: string;
  /**
   * Deliver stderr on the stdout stream, interleaved in arrival order
   * (Paramiko's `set_combine_stderr`, AsyncSSH's `stderr=STDOUT`); `stderr`
   * then stays empty.
   */
  combineStderr?: boolean;
  /**
   * Ask the server to forward the agent to this session
   * (`auth-agent-req@openssh.com`). A refusal does not stop the session.
   * The client connection decides the default and relays the agent.
   */
  agentForwarding?: boolean;
  /**
   * Ask the server to forward this session's X11 connections (`x11-req`,
   * AsyncSSH's `x11_forwarding`): true makes a refusal fail the start with
   * ChannelException, `'ignoreFailure'` starts the session anyway. The
   * client connection decides the default and relays the connections.
   */
  x11Forwarding?: boolean | 'ignoreFailure';
  /** The `x11-req` parameters; the client connection fills them in (its fake cookie). */
  x11?: X11Options;
}

/**
 * Options of `runCommand` / `conn.run()` (AsyncSSH's `run()`): those of
 * ExecOptions plus input, output decoding, `check`, and a `timeout` for the whole run.
 */
export interface RunOptions extends ExecOptions {
  /** Sent to the command's stdin, which is then closed (EOF). Default: nothing, EOF at once. */
  stdin?: string | Uint8Array | Readable;
  /** Reject with ProcessError when the command exits non-zero or by a signal. */
  check?: boolean;
  /** Decode stdout/stderr with this encoding; null gives Buffers. Default 'utf8'. */
  encoding?: BufferEncoding | null;
  /** Milliseconds for the whole run, open to close, 0 to 2^31-1 (0 = no limit); on expiry the channel is closed and TimeoutError (with the output so far) is thrown. Another value rejects with SSHException ERR_SSH_BAD_OPTION before anything is opened. */
  timeout?: number;
}

/** What `runCommand` / `conn.run()` resolves to (AsyncSSH's SSHCompletedProcess). */
export interface RunResult {
  /** The command that ran ('' for a subsystem or the shell). */
  command: string;
  /** The subsystem that ran, when `subsystem` was given. */
  subsystem?: string;
  /** The process's stdout, decoded with `encoding` (a Buffer when it is null). */
  stdout: string | Buffer;
  /** The process's stderr, likewise (empty with `combineStderr`). */
  stderr: string | Buffer;
  /** The `exit-status` the server sent; null if none (e.g. killed by a signal). */
  exitStatus: number | null;
  /** The `exit-signal` the server sent, when the process was killed by a signal. */
  exitSignal?: ExitSignal;
  /** exitStatus, or minus the signal number when killed by a signal (AsyncSSH). */
  returncode: number | null;
}

/** AsyncSSH's returncode: the exit status, or -signal number. */
export function returnCode(exit: ProcessExit): number | null {
  if (exit.exitStatus !== null) return exit.exitStatus;
  if (exit.exitSignal) {
    const n = (osConstants.signals as Record<string, number | undefined>)[`SIG${exit.exitSignal.name}`];
    return n === undefined ? null : -n;
  }
  return null;
}

/** A running remote process. `stdin` and `stdout` are the channel itself (its writable and readable sides). */
export class SSHClientProcess {
  /** The session channel the process runs on. */
  readonly channel: SessionChannel;
  /** null for a shell. */
  readonly command: string | null;
  /** The process's stdin (the channel's writable side); `end()` sends EOF. */
  readonly stdin: Writable;
  /** The process's stdout (the channel's readable side). */
  readonly stdout: Readable;
  /** The process's stderr (extended data type 1); empty with `combineStderr`. */
  readonly stderr: Readable;
  /** Resolves when the channel closes; rejects if the connection dies first without an exit status. */
  readonly exit: Promise<ProcessExit>;

  constructor(channel: SessionChannel, command: string | null) {
    this.channel = channel;
    this.command = command;
    this.stdin = channel;
    this.stdout = channel;
    this.stderr = channel.stderr;
    this.exit = channel.exit.then((e) => (e.exitSignal ? { exitStatus: e.exitStatus, exitSignal: e.exitSignal } : { exitStatus: e.exitStatus }));
    this.exit.catch(() => {});
  }

  /** The exit status received so far, else null (AsyncSSH's `exit_status`); await `exit` for the final value. */
  get exitStatus(): number | null {
    return this.channel.exitStatus;
  }
  /** The exit signal received so far, else undefined (AsyncSSH's `exit_signal`). */
  get exitSignal(): ExitSignal | undefined {
    return this.channel.exitSignal;
  }
  /**
   * AsyncSSH's `returncode`: the exit status, or minus the signal number when
   * killed by a signal; null while neither has arrived or the signal is unknown here.
   */
  get returncode(): number | null {
    return returnCode({ exitStatus: this.channel.exitStatus, exitSignal: this.channel.exitSignal });
  }

  /** Sends a signal (e.g. 'TERM', 'INT') to the remote process. */
  signal(name: string): void {
    this.channel.signal(name);
  }

  /** Reports a new terminal size. */
  resize(cols: number, rows: number, width = 0, height = 0): void {
    this.channel.resize(cols, rows, width, height);
  }

  /**
   * Closes the channel, as AsyncSSH's `close()` does: CLOSE follows any
   * stdin data already written (which then gets its EOF first); with
   * nothing pending it goes at once, without an EOF. It does not wait for
   * the process to exit; `exit` settles when the server's CLOSE arrives.
   */
  close(): void {
    this.channel.close();
  }
}

function ptyOptions(pty: boolean | PtyOptions | undefined): PtyOptions | null {
  if (!pty) return null;
  return pty === true ? {} : pty;
}

/**
 * Opens a session and starts `command` (null: the shell; or `opts.subsystem`).
 * env, pty and the start request are pipelined: one round trip. Rejects
 * with ChannelException if the server refuses the pty or the command.
 */
export async function execProcess(conn: Connection, command: string | null, opts: ExecOptions = {}): Promise<SSHClientProcess> {
  return new SSHClientProcess(await startSession(conn, command, opts), command);
}

/**
 * The work of `execProcess`. `afterRequests` runs right after the start
 * request is queued, in the same tick, so whatever it sends (stdin, EOF)
 * leaves in the same write as the request instead of one round trip later:
 * the server handles messages in order, so the command has started (or was
 * refused) before it sees them.
 */
async function startSession(conn: Connection, command: string | null, opts: ExecOptions, afterRequests?: (ch: SessionChannel) => void): Promise<SessionChannel> {
  checkWaitOptions(opts, command === null ? 'starting the shell' : `starting ${JSON.stringify(command)}`);
  // One deadline for the open and the start requests together.
  const timeout = opts.timeout !== undefined && opts.timeout > 0 ? opts.timeout : undefined;
  const deadline = timeout !== undefined ? Date.now() + timeout : 0;
  const ch = await conn.openSession({ signal: opts.signal, timeout });
  if (opts.combineStderr) ch.setCombineStderr(true);
  // What is left of it (at least 1 ms: 0 would mean no limit).
  const wait = { signal: opts.signal, timeout: timeout !== undefined ? Math.max(1, deadline - Date.now()) : opts.timeout };
  try {
    const steps: Promise<unknown>[] = [];
    for (const [k, v] of Object.entries(opts.env ?? {})) steps.push(ch.setEnv(k, v));
    const pty = ptyOptions(opts.pty);
    if (pty) steps.push(ch.requestPty(pty));
    if (opts.agentForwarding) steps.push(ch.requestAgentForwarding(wait));
    if (opts.x11Forwarding) {
      const strict = opts.x11Forwarding !== 'ignoreFailure';
      steps.push(
        ch.requestX11(opts.x11, wait).then((ok) => {
          if (!ok && strict) throw new ChannelException('the server refused X11 forwarding');
        }),
      );
    }
    if (opts.subsystem !== undefined) {
      if (command !== null) throw new ChannelException('execProcess: give either a command or a subsystem, not both');
      steps.push(ch.subsystem(opts.subsystem));
    } else {
      steps.push(command === null ? ch.shell() : ch.exec(command));
    }
    afterRequests?.(ch);
    const started = steps.length === 1 ? steps[0]! : Promise.all(steps);
    await bounded(started, wait, command === null ? 'starting the shell' : `starting ${JSON.stringify(command)}`);
  } catch (err) {
    ch.destroy();
    throw err;
  }
  return ch;
}

/**
 * Runs `command` to completion: feeds `stdin`, collects stdout and stderr,
 * waits for the channel to close. With `opts.subsystem`, runs that
 * subsystem instead: `command` must then be null or '' (as AsyncSSH's
 * `run(subsystem=...)`); a null command without a subsystem runs the shell.
 * With `check`, a non-zero exit or a signal
 * rejects with ProcessError. A timeout, abort or lost connection closes the
 * channel and rejects with an error carrying `stdout`/`stderr` so far
 * (TimeoutError, AbortError, ProcessError code ERR_SSH_CONNECTION_LOST).
 */
export async function runCommand(conn: Connection, command: string | null, opts: RunOptions = {}): Promise<RunResult> {
  const subsystem = opts.subsystem;
  checkWaitOptions(opts, command === null ? 'running the shell' : `running ${JSON.stringify(command)}`);
  // A subsystem runs instead of a command: '' (what a string-typed caller can pass) counts as none.
  const startCommand = subsystem !== undefined && command === '' ? null : command;
  const label = subsystem !== undefined && startCommand === null ? `subsystem ${JSON.stringify(subsystem)}` : command === null ? 'the shell' : JSON.stringify(command);
  const encoding = opts.encoding === undefined ? 'utf8' : opts.encoding;
  const started = Date.now();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const decode = (parts: Buffer[]): string | Buffer => {
    const b = Buffer.concat(parts);
    return encoding === null ? b : b.toString(encoding);
  };
  const withOutput = <E extends object>(e: E): E => Object.assign(e, { stdout: decode(out), stderr: decode(err) });
  let stdinError: Error | null = null;
  const stdin = opts.stdin;
  /** Collect output and send stdin (when it is already in memory) right behind the exec request. */
  const attach = (ch: SessionChannel): void => {
    ch.on('data', (c: Buffer) => out.push(c));
    ch.stderr.on('data', (c: Buffer) => err.push(c));
    if (stdin === undefined) ch.end();
    else if (typeof stdin === 'string' || stdin instanceof Uint8Array) ch.end(stdin);
  };
  let ch: SessionChannel;
  try {
    ch = await startSession(
      conn,
      startCommand,
      {
        env: opts.env,
        pty: opts.pty,
        ...(subsystem !== undefined ? { subsystem } : {}),
        combineStderr: opts.combineStderr,
        agentForwarding: opts.agentForwarding,
        x11Forwarding: opts.x11Forwarding,
        x11: opts.x11,
        signal: opts.signal,
        timeout: opts.timeout,
      },
      attach,
    );
  } catch (e) {
    // Same error shapes as a run cut short later, with empty output.
    if (opts.signal?.aborted) throw withOutput(freshAbortError(opts.signal, `running ${label} was aborted`));
    if (e instanceof TimeoutError) throw withOutput(new TimeoutError(`${label} did not start within ${opts.timeout} ms`));
    throw e;
  }
  const proc = new SSHClientProcess(ch, startCommand);

  const stdoutDone = new Promise<void>((r) => (ch.readableEnded ? r() : ch.once('end', () => r())));
  const stderrDone = new Promise<void>((r) => (ch.stderr.readableEnded ? r() : ch.stderr.once('end', () => r())));

  if (stdin !== undefined && typeof stdin !== 'string' && !(stdin instanceof Uint8Array)) {
    stdin.once('error', (e: Error) => {
      stdinError = e;
      ch.end();
    });
    stdin.pipe(ch);
  }

  const remaining = opts.timeout !== undefined && opts.timeout > 0 ? Math.max(1, opts.timeout - (Date.now() - started)) : undefined;
  let exit: ProcessExit;
  try {
    const all = Promise.all([proc.exit, stdoutDone, stderrDone]).then(([e]) => e);
    exit = await bounded(all, { signal: opts.signal, timeout: remaining }, `running ${label}`);
  } catch (e) {
    if (!ch.isClosed) ch.destroy();
    if (opts.signal?.aborted) throw withOutput(freshAbortError(opts.signal, `running ${label} was aborted`));
    if (e instanceof TimeoutError) throw withOutput(new TimeoutError(`${label} did not finish within ${opts.timeout} ms`));
    throw new ProcessError(`connection lost while running ${label}: ${(e as Error)?.message ?? String(e)}`, {
      command,
      exitStatus: ch.exitStatus,
      exitSignal: ch.exitSignal,
      returncode: null,
      stdout: decode(out),
      stderr: decode(err),
      code: 'ERR_SSH_CONNECTION_LOST',
      cause: e,
    });
  }
  if (stdinError) {
    throw new ProcessError(`reading stdin for ${label} failed: ${(stdinError as Error).message}`, {
      command,
      exitStatus: exit.exitStatus,
      exitSignal: exit.exitSignal,
      returncode: returnCode(exit),
      stdout: decode(out),
      stderr: decode(err),
      code: 'ERR_SSH_STDIN',
      cause: stdinError,
    });
  }
  const result: RunResult = {
    command: command ?? '',
    ...(subsystem !== undefined && startCommand === null ? { subsystem } : {}),
    stdout: decode(out),
    stderr: decode(err),
    exitStatus: exit.exitStatus,
    returncode: returnCode(exit),
  };
  if (exit.exitSignal) result.exitSignal = exit.exitSignal;
  if (opts.check && ((exit.exitStatus !== null && exit.exitStatus !== 0) || exit.exitSignal)) {
    const how = exit.exitSignal ? `was killed by signal ${exit.exitSignal.name}` : `exited with status ${exit.exitStatus}`;
    throw new ProcessError(`${label} ${how}`, { ...result, code: 'ERR_SSH_PROCESS_EXIT' });
  }
  return result;
}
