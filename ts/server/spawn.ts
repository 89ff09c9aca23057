/**
 * `spawnCommands`: sshd-like execution of exec and shell requests as local
 * processes. Commands run through `sh -c` with pipes for stdin, stdout and
 * stderr; the channel's flow control and the pipes' backpressure meet in
 * `pipe()`, so a client that stops reading stops the process, not our memory.
 * Each command gets a session of its own, as under sshd: `signal` requests go
 * to its process group, which is hung up (SIGHUP) if the client goes away
 * while the command runs.
 * With a pty requested, util-linux `script` provides a real terminal when it
 * is installed (window changes after the start are not passed on).
 */
import { spawn, spawnSync } from 'node:child_process';
import { homedir, userInfo } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { SpawnOptions } from './options.js';
import type { SSHServerProcess } from './process.js';

let scriptPath: string | null | undefined;

/** util-linux script(1), if present: it gives a command a pseudo-terminal. */
function findScript(): string | null {
  if (scriptPath === undefined) {
    const r = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' });
    scriptPath = r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  }
  return scriptPath;
}

const SIGNALS = new Set(['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2']);

/**
 * Copies a child's output into the channel with backpressure, like pipe(),
 * but drops what arrives once the channel can no longer take it: the client
 * may close the channel while the command is still writing, and a write
 * after end would otherwise surface as an uncaught stream error.
 */
function forward(src: Readable, dst: Writable): void {
  src.on('data', (chunk: Buffer) => {
    if (dst.writableEnded || dst.destroyed) return;
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  });
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs the process's command (or a shell) and connects it to the channel. */
export function spawnProcess(proc: SSHServerProcess, opts: SpawnOptions): void {
  const shell = opts.shell ?? '/bin/sh';
  const me = userInfo();
  const conn = proc.connection;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: me.homedir || homedir(),
    USER: me.username,
    LOGNAME: me.username,
    SHELL: shell,
    SSH_CLIENT: `${conn.remoteAddress} ${conn.remotePort} ${conn.localPort}`,
    SSH_CONNECTION: `${conn.remoteAddress} ${conn.remotePort} ${conn.localAddress} ${conn.localPort}`,
    ...(opts.env ?? {}),
    ...proc.env,
  };
  if (proc.pty) env.TERM = proc.pty.term;
  if (proc.agentPath) env.SSH_AUTH_SOCK = proc.agentPath;
  if (proc.x11Display && proc.x11AuthPath) Object.assign(env, { DISPLAY: proc.x11Display, XAUTHORITY: proc.x11AuthPath });
  const command = proc.command;
  let file: string;
  let args: string[];
  const script = proc.pty ? findScript() : null;
  if (script) {
    const size = proc.pty ? `stty cols ${proc.pty.cols} rows ${proc.pty.rows} 2>/dev/null; ` : '';
    const inner = command === null ? `exec ${quote(shell)} -l` : `exec ${quote(shell)} -c ${quote(command)}`;
    file = script;
    args = ['-qfec', size + inner, '/dev/null'];
  } else {
    file = shell;
    args = command === null ? ['-l'] : ['-c', command];
  }
  // A session of its own (setsid), as sshd gives every session: signals
  // and the hang-up go to its whole process group, so `sh -c 'a; b'` and
  // what it started are reached, not the shell alone.
  const child = spawn(file, args, { cwd: opts.cwd ?? env.HOME, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // The group is gone already (every member exited).
    }
  };
  const ch = proc.channel;
  child.stdin.on('error', () => {}); // EPIPE when the command does not read its input
  ch.pipe(child.stdin);
  forward(child.stdout, ch);
  forward(child.stderr, proc.stderr);
  let stdoutDone = false;
  let stderrDone = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const maybeFinish = (): void => {
    if (!exit || !stdoutDone || !stderrDone) return;
    if (exit.signal) proc.exitWithSignal(exit.signal.replace(/^SIG/, ''));
    else proc.exit(exit.code ?? 255);
  };
  child.stdout.once('end', () => {
    stdoutDone = true;
    maybeFinish();
  });
  child.stderr.once('end', () => {
    stderrDone = true;
    maybeFinish();
  });
  child.once('exit', (code, signal) => {
    exit = { code, signal };
    maybeFinish();
  });
  child.once('error', (err) => {
    proc.stderr.write(`sshwire: cannot run command: ${err.message}\n`);
    exit = { code: 127, signal: null };
    stdoutDone = stderrDone = true;
    maybeFinish();
  });
  proc.on('signal', (name: string) => {
    if (SIGNALS.has(name) && child.exitCode === null) signalGroup(`SIG${name}` as NodeJS.Signals);
  });
  // The client went away (the channel closed, or the connection ended)
  // while the command still runs: hang up its process group, as a closing
  // terminal would. 'channelClosed' comes whether or not the command's
  // input was consumed, unlike the stream's 'close'. A command that has
  // finished is not signalled, so what it left running in the background
  // (`server &`) runs on, as under sshd; so do processes that left the group.
  const hangUp = (): void => {
    if (child.exitCode === null && child.signalCode === null) signalGroup('SIGHUP');
    // Nothing will drain a paused copy any more: let the output flow (and be dropped).
    child.stdout.resume();
    child.stderr.resume();
  };
  if (ch.isClosed) hangUp();
  else ch.once('channelClosed', hangUp);
}
