/**
 * Session channels (RFC 4254 section 6): the client's requests (pty, env,
 * exec, shell, subsystem, signals, window changes, X11 and agent forwarding)
 * and the server's replies about how the process ended.
 */
import { ChannelException, SSHException } from '../errors.js';
import { SSHWriter } from '../wire/index.js';
import { sshStringPair } from './messages.js';
import { Channel } from './channel.js';
import { encodeTerminalModes } from './modes.js';
import { encodeExitSignal, encodePtyRequest, encodeString } from './requests.js';
import type { WaitOptions } from './wait.js';

/** Pseudo-terminal parameters for `pty-req`. */
export interface PtyOptions {
  /** TERM value; default `xterm`. */
  term?: string;
  /** Size in characters; default 80 × 24. */
  cols?: number;
  /** Height in character rows; default 24. */
  rows?: number;
  /** Size in pixels; default 0 (unknown). */
  width?: number;
  /** Height in pixels; default 0 (unknown). */
  height?: number;
  /** Terminal modes by name (`ECHO: 0`, `TTY_OP_OSPEED: 38400`), or already encoded. */
  modes?: Readonly<Record<string, number>> | Uint8Array;
}

/** X11 forwarding parameters for `x11-req`. */
export interface X11Options {
  singleConnection?: boolean;
  /** Default `MIT-MAGIC-COOKIE-1`. */
  authProtocol?: string;
  /** Hex cookie; default 16 random bytes. */
  authCookie?: string;
  screen?: number;
}

function uint32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new SSHException(`${name} must be an integer in 0..2^32-1, got ${String(v)}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  }
  return v;
}

function signalName(name: string): string {
  const n = name.startsWith('SIG') ? name.slice(3) : name;
  if (!/^[A-Za-z0-9@._-]{1,64}$/.test(n)) throw new SSHException(`bad signal name ${JSON.stringify(name)}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  return n;
}

/**
 * A `session` channel (RFC 4254 section 6), what `openSession()` resolves to.
 * The client asks it for a pty, environment, a command, shell or subsystem,
 * and sends window changes and signals (Paramiko's `get_pty`, `exec_command`,
 * `invoke_shell`, ...); the server reports the exit status or signal on it.
 */
export class SessionChannel extends Channel {
  /** Runs `command`; rejects with ChannelException if the server refuses. */
  async exec(command: string | Uint8Array, opts?: WaitOptions): Promise<void> {
    await this.#must('exec', encodeString(command), opts, 'command execution');
  }

  /** Starts the user's shell; rejects with ChannelException if the server refuses. */
  async shell(opts?: WaitOptions): Promise<void> {
    await this.#must('shell', new Uint8Array(0), opts, 'shell');
  }

  /** Starts a subsystem (e.g. `sftp`); rejects with ChannelException if the server refuses. */
  async subsystem(name: string, opts?: WaitOptions): Promise<void> {
    await this.#must('subsystem', encodeString(name), opts, `subsystem ${name}`);
  }

  /** Requests a pseudo-terminal; rejects with ChannelException if the server refuses. */
  async requestPty(pty: PtyOptions = {}, opts?: WaitOptions): Promise<void> {
    const modes = pty.modes instanceof Uint8Array ? pty.modes : encodeTerminalModes(pty.modes ?? {});
    const body = encodePtyRequest(
      pty.term ?? 'xterm',
      uint32('cols', pty.cols ?? 80),
      uint32('rows', pty.rows ?? 24),
      uint32('width', pty.width ?? 0),
      uint32('height', pty.height ?? 0),
      modes,
    );
    await this.#must('pty-req', body, opts, 'pseudo-terminal');
  }

  /** Sets an environment variable; resolves false when the server refuses (OpenSSH needs AcceptEnv). */
  async setEnv(name: string, value: string, opts?: WaitOptions): Promise<boolean> {
    if (typeof name !== 'string' || typeof value !== 'string') {
      throw new SSHException(`setEnv: name and value must be strings, got ${typeof name} and ${typeof value}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    return this.request('env', sshStringPair(name, value), true, opts);
  }

  /** Tells the server the terminal changed size (no reply). */
  resize(cols: number, rows: number, width = 0, height = 0): void {
    const body = new SSHWriter(16).uint32(uint32('cols', cols)).uint32(uint32('rows', rows)).uint32(uint32('width', width)).uint32(uint32('height', height)).toBytes();
    this.request('window-change', body, false).catch(() => {});
  }

  /** Delivers a signal (`TERM`, `INT`, `KILL`, ... with or without the SIG prefix) to the remote process (no reply). */
  signal(name: string): void {
    this.request('signal', encodeString(signalName(name)), false).catch(() => {});
  }

  /** Sends a break of `ms` milliseconds (RFC 4335); resolves whether the server performed it. */
  async sendBreak(ms = 0, opts?: WaitOptions): Promise<boolean> {
    return this.request('break', new SSHWriter(8).uint32(uint32('ms', ms)).toBytes(), true, opts);
  }

  /** Asks for X11 forwarding; resolves whether the server agreed. */
  async requestX11(x11: X11Options = {}, opts?: WaitOptions): Promise<boolean> {
    const cookie = x11.authCookie ?? Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex');
    const body = new SSHWriter(64 + cookie.length)
      .boolean(x11.singleConnection ?? false)
      .string(x11.authProtocol ?? 'MIT-MAGIC-COOKIE-1')
      .string(cookie)
      .uint32(uint32('screen', x11.screen ?? 0))
      .toBytes();
    return this.request('x11-req', body, true, opts);
  }

  /** Asks for agent forwarding (`auth-agent-req@openssh.com`); resolves whether the server agreed. */
  requestAgentForwarding(opts?: WaitOptions): Promise<boolean> {
    return this.request('auth-agent-req@openssh.com', new Uint8Array(0), true, opts);
  }

  /** Server: reports the exit status. Sent after output already written, before CLOSE. */
  sendExitStatus(code: number): void {
    this.exitStatus = uint32('exit status', code);
    this.sendRequest('exit-status', new SSHWriter(8).uint32(code).toBytes(), false, undefined, true).catch(() => {});
  }

  /** Server: reports that the process was killed by a signal (name without "SIG"). */
  sendExitSignal(name: string, coreDumped = false, message = '', lang = ''): void {
    const sig = { name: signalName(name), coreDumped, message, lang };
    this.exitSignal = sig;
    this.sendRequest('exit-signal', encodeExitSignal(sig), false, undefined, true).catch(() => {});
  }

  async #must(type: string, body: Uint8Array, opts: WaitOptions | undefined, what: string): Promise<void> {
    const ok = await this.request(type, body, true, opts);
    if (!ok) throw new ChannelException(`the server refused the ${what} request (${type})`);
  }
}
