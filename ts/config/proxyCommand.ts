/**
 * ProxyCommand: run a command whose stdin/stdout carry the SSH connection,
 * exposed as a Duplex stream to use in place of a TCP socket.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

import { ProxyCommandFailure } from '../errors.js';
import { checkDuration } from '../transport/index.js';

/** Options for `ProxyCommand`. */
export interface ProxyCommandOptions {
  /**
   * Fail if the command has written nothing to stdout within this many ms
   * (an SSH server speaks first, so silence means the proxy is stuck),
   * 0 to 2^31-1. Default: no limit (as 0).
   */
  timeout?: number;
  /** Shell that runs the command with `-c`. Default `/bin/sh`. */
  shell?: string;
  /** Environment for the command. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Working directory for the command. */
  cwd?: string;
  /** How much of the end of the command's stderr to keep for error messages, in bytes. Default 8192. */
  stderrLimit?: number;
  /** After `destroy()`, how long to wait after SIGTERM before SIGKILL, in ms, 0 to 2^31-1 (0: SIGKILL at once). Default 2000. */
  killGraceMs?: number;
  /**
   * Run the command in a process group of its own and signal the whole group
   * on `destroy()`, so processes it started die with it. Default false: like
   * OpenSSH, only the command itself is signalled, and it keeps the
   * controlling terminal (a nested `ssh -W` can still prompt for a password).
   */
  processGroup?: boolean;
}

/** How the command ended. */
export interface ProxyCommandExit {
  /** Exit status; null when a signal ended the command or it never started. */
  readonly exitCode: number | null;
  /** The signal that ended the command (e.g. `SIGTERM`), else null. */
  readonly signal: NodeJS.Signals | null;
}

/**
 * A `ProxyCommandFailure` with the command's exit status and the tail of its
 * stderr, when known.
 */
export class ProxyCommandExitError extends ProxyCommandFailure {
  /** The command's exit status; null when a signal ended it, it had not exited yet (timeout, stopped reading) or could not start. */
  readonly exitCode: number | null;
  /** The signal that ended the command, else null. */
  readonly signal: NodeJS.Signals | null;
  /** The last bytes (at most `stderrLimit`) the command wrote to stderr. */
  readonly stderrTail: string;
  constructor(message: string, command: string, details: { exitCode?: number | null; signal?: NodeJS.Signals | null; stderrTail?: string; cause?: unknown }) {
    super(message, command);
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.stderrTail = details.stderrTail ?? '';
    if (details.cause !== undefined) this.cause = details.cause;
  }
}

const DEFAULT_STDERR_LIMIT = 8192;
const DEFAULT_KILL_GRACE_MS = 2000;
/** How long to wait for the exit status after the command stops reading stdin, before failing anyway. */
const EPIPE_GRACE_MS = 1000;

/**
 * A running ProxyCommand as a Duplex stream: writes go to the command's stdin,
 * reads come from its stdout. The command runs as `/bin/sh -c "exec <command>"`
 * (tokens must already be expanded), like OpenSSH, so the shell is replaced by
 * the command and killing it reaches the proxy itself.
 *
 * The stream ends when the command closes stdout and exits with status 0. It
 * errors with a `ProxyCommandExitError` (a `ProxyCommandFailure`) when the
 * command cannot start, exits non-zero or by a signal, stops reading its
 * input, or stays silent past `timeout`; the message carries the command, the
 * exit status and the tail of its stderr. `destroy()` kills the command.
 */
export class ProxyCommand extends Duplex {
  /** The command line, as given. */
  readonly command: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderrLimit: number;
  readonly #killGraceMs: number;
  readonly #processGroup: boolean;
  #stderr: Buffer[] = [];
  #stderrBytes = 0;
  #firstByteTimer: NodeJS.Timeout | undefined;
  #epipeTimer: NodeJS.Timeout | undefined;
  #stdinError: Error | undefined;
  #exit: ProxyCommandExit | undefined;
  #closed = false;
  readonly #exited: Promise<ProxyCommandExit>;

  /** Throws SSHException ERR_SSH_BAD_OPTION, before anything is started, for a `timeout` or `killGraceMs` outside 0..2^31-1 ms. */
  constructor(command: string, options: ProxyCommandOptions = {}) {
    super({ allowHalfOpen: true });
    checkDuration('timeout', options.timeout, { zero: 'no limit' });
    checkDuration('killGraceMs', options.killGraceMs, { zero: 'SIGKILL at once' });
    this.command = command;
    this.#stderrLimit = Math.max(0, options.stderrLimit ?? DEFAULT_STDERR_LIMIT);
    this.#killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.#processGroup = options.processGroup ?? false;
    this.#child = spawn(options.shell ?? '/bin/sh', ['-c', `exec ${command}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: this.#processGroup,
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const child = this.#child;
    this.#exited = new Promise((resolve) => {
      child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => resolve({ exitCode, signal }));
      child.once('error', () => {
        // A failed spawn never emits 'close' on some Node versions; settle anyway.
        if (child.pid === undefined) resolve({ exitCode: null, signal: null });
      });
    });

    child.stdout.on('data', (chunk: Buffer) => {
      this.#clearFirstByteTimer();
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => this.#keepStderr(chunk));
    // Errors on the pipes surface through the exit status; they must not crash the process.
    child.stdout.on('error', () => {});
    child.stderr.on('error', () => {});
    child.stdin.on('error', (err) => this.#onStdinError(err));
    child.once('error', (err) => {
      this.#fail(new ProxyCommandExitError(`ProxyCommand "${command}" could not be started: ${err.message}`, command, { cause: err }));
    });
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => this.#onClose(exitCode, signal));

    if (options.timeout !== undefined && options.timeout > 0) {
      const ms = options.timeout;
      this.#firstByteTimer = setTimeout(() => {
        this.#fail(this.#error(`ProxyCommand "${command}" sent no data within ${ms} ms`));
      }, ms);
    }
  }

  /** The child's process id (undefined if it failed to start). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The last bytes the command wrote to stderr, decoded as UTF-8. */
  get stderrTail(): string {
    return Buffer.concat(this.#stderr).toString('utf8');
  }

  /** How the command ended, once it has (undefined while running). */
  get exitStatus(): ProxyCommandExit | undefined {
    return this.#exit;
  }

  /** Resolves when the command has exited and its pipes are closed. */
  wait(): Promise<ProxyCommandExit> {
    return this.#exited;
  }

  /** Duplex hook (called by Node, not by users): resumes reading the command's stdout. */
  override _read(): void {
    this.#child.stdout.resume();
  }

  /** Duplex hook: writes to the command's stdin; fails with ProxyCommandExitError once the command has exited. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#exit !== undefined) {
      callback(this.#error(`ProxyCommand "${this.command}" has exited`));
      return;
    }
    // Write errors (EPIPE) are reported through #onStdinError with the exit status.
    this.#child.stdin.write(chunk, (err) => {
      if (!err) callback();
    });
  }

  /** Duplex hook: `end()` closes the command's stdin. */
  override _final(callback: (error?: Error | null) => void): void {
    this.#child.stdin.end();
    callback();
  }

  /** Duplex hook: `destroy()` kills the command (SIGTERM, then SIGKILL after `killGraceMs`) and closes its pipes. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearFirstByteTimer();
    clearTimeout(this.#epipeTimer);
    this.#kill();
    this.#child.stdin.destroy();
    this.#child.stdout.destroy();
    this.#child.stderr.destroy();
    callback(error);
  }

  #kill(): void {
    const child = this.#child;
    if (child.pid === undefined || this.#closed || child.exitCode !== null || child.signalCode !== null) return;
    this.#signal('SIGTERM');
    const hard = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) this.#signal('SIGKILL');
    }, this.#killGraceMs);
    hard.unref();
    child.once('exit', () => clearTimeout(hard));
  }

  #signal(sig: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    if (!this.#processGroup) {
      this.#child.kill(sig);
      return;
    }
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is already gone.
    }
  }

  #keepStderr(chunk: Buffer): void {
    if (this.#stderrLimit === 0) return;
    this.#stderr.push(chunk);
    this.#stderrBytes += chunk.length;
    // Keep only the tail: drop whole chunks, then trim the first one.
    while (this.#stderrBytes - this.#stderr[0]!.length >= this.#stderrLimit) {
      this.#stderrBytes -= this.#stderr.shift()!.length;
    }
    if (this.#stderrBytes > this.#stderrLimit) {
      const excess = this.#stderrBytes - this.#stderrLimit;
      this.#stderr[0] = this.#stderr[0]!.subarray(excess);
      this.#stderrBytes -= excess;
    }
  }

  #onStdinError(err: Error): void {
    this.#stdinError ??= err;
    if (this.destroyed || this.#closed || this.#epipeTimer !== undefined) return;
    // The command stopped reading; its exit status (arriving shortly) explains why better than EPIPE.
    this.#epipeTimer = setTimeout(() => {
      this.#fail(this.#error(`ProxyCommand "${this.command}" stopped reading its input`, err));
    }, EPIPE_GRACE_MS);
  }

  #onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
    this.#closed = true;
    this.#exit = { exitCode, signal };
    this.#clearFirstByteTimer();
    clearTimeout(this.#epipeTimer);
    if (this.destroyed) return;
    if (exitCode === 0 && this.#stdinError === undefined) {
      this.push(null);
      return;
    }
    if (exitCode === 0) {
      // A clean exit, but data we wrote was not taken: the writer must not wait forever.
      this.#fail(this.#error(`ProxyCommand "${this.command}" exited before reading all its input`, this.#stdinError));
      return;
    }
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${exitCode}`;
    this.#fail(this.#error(`ProxyCommand "${this.command}" ${how}`));
  }

  #error(message: string, cause?: unknown): ProxyCommandExitError {
    const tail = this.stderrTail.trim();
    const full = tail === '' ? message : `${message}; stderr: ${tail}`;
    return new ProxyCommandExitError(full, this.command, {
      exitCode: this.#exit?.exitCode ?? null,
      signal: this.#exit?.signal ?? null,
      stderrTail: this.stderrTail,
      cause,
    });
  }

  #fail(err: ProxyCommandExitError): void {
    if (this.destroyed) return;
    this.destroy(err);
  }

  #clearFirstByteTimer(): void {
    if (this.#firstByteTimer !== undefined) {
      clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = undefined;
    }
  }
}
