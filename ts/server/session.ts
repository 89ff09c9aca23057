/**
 * One session channel on the server: the client's requests (pty-req, env,
 * exec, shell, subsystem, window-change, signal, break, x11-req,
 * auth-agent-req) checked against the policy and the authorized_keys
 * options, then the session started with whoever serves it: a subsystem
 * handler, the SFTP server, the processFactory, or spawnCommands.
 */
import { ProtocolError } from '../errors.js';
import { type ChannelRequest, InOrder, type SessionChannel } from '../connection/index.js';
import { LocalFilesystem, SFTPServerSession, type SFTPServerInterface } from '../sftp/server/index.js';
import { SSHServerProcess, type ServerPty } from './process.js';
import type { ServerContext, SSHServerConnection } from './serverConnection.js';
import { spawnProcess } from './spawn.js';
import { runSubsystem } from './subsystems.js';
import { X11ServerDisplay } from './x11Forward.js';

/** Requests waiting for a policy answer on one channel before we call it a flood. */
const MAX_PENDING_REQUESTS = 32;

type Loose = (...args: unknown[]) => unknown;

/** Glob match for AcceptEnv patterns (`*` and `?`). */
function envPatternMatch(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(name));
}

export function serveSession(conn: SSHServerConnection, ctx: ServerContext, channel: SessionChannel): void {
  const policy = conn.policy;
  const ask = async (name: string, dflt: boolean, ...args: unknown[]): Promise<boolean> => {
    const f = (policy as Record<string, unknown>)[name];
    if (typeof f !== 'function') return dflt;
    return (await (f as Loose).call(policy, ...args, conn)) === true;
  };
  const perms = conn.authorizedKey?.permissions;
  const forced = conn.authorizedKey?.options.command;
  const runsCommands = ctx.processFactory !== null || ctx.spawn !== null;
  const env: Record<string, string> = {};
  let pty: ServerPty | null = null;
  let agentPath: string | null = null;
  let x11: X11ServerDisplay | null = null;
  let proc: SSHServerProcess | null = null;
  let started = false;
  let pending = 0;

  const start = (kind: 'exec' | 'shell' | 'subsystem', what: string | null): boolean => {
    started = true;
    for (const { name, value } of conn.authorizedKey?.options.environment ?? []) env[name] = value;
    if (conn.gssCredentialsCache) env.KRB5CCNAME = `FILE:${conn.gssCredentialsCache}`;
    let command = kind === 'exec' ? what : null;
    let subsystem = kind === 'subsystem' ? what : null;
    if (forced !== undefined) {
      // authorized_keys command= replaces whatever the client asked for, subsystems included (as sshd).
      if (kind === 'exec' && what !== null) env.SSH_ORIGINAL_COMMAND = what;
      command = forced;
      subsystem = null;
    }
    if (subsystem !== null) {
      const handler = ctx.subsystems.get(subsystem);
      if (handler) {
        setImmediate(() => {
          runSubsystem(handler, subsystem!, conn, channel).catch((err: unknown) => {
            ctx.debug(`subsystem ${subsystem} failed: ${(err as Error)?.message ?? String(err)}`);
            channel.close();
          });
        });
        return true;
      }
      if (subsystem === 'sftp' && ctx.sftpFactory) {
        const fs = ctx.sftpFactory(conn);
        setImmediate(() => startSftp(conn, ctx, channel, fs));
        return true;
      }
    }
    proc = new SSHServerProcess({ channel, connection: conn, command, subsystem, env, pty, agentPath, x11 });
    const p = proc;
    setImmediate(() => {
      if (ctx.processFactory) {
        let r: void | Promise<void>;
        try {
          r = ctx.processFactory(p);
        } catch (err) {
          r = Promise.reject(err);
        }
        if (r instanceof Promise) {
          r.then(
            () => p.exit(0),
            (err: unknown) => {
              ctx.debug(`processFactory failed: ${(err as Error)?.message ?? String(err)}`);
              p.exit(1);
            },
          );
        }
      } else if (ctx.spawn) {
        spawnProcess(p, ctx.spawn);
      }
    });
    return true;
  };

  const handle = async (req: ChannelRequest): Promise<boolean> => {
    const info = req.info;
    switch (info?.type) {
      case 'pty-req': {
        if (started || pty || perms?.pty === false) return false;
        const ok = await ask('checkChannelPtyRequest', runsCommands, channel, info.term, info.cols, info.rows, info.width, info.height, info.modes);
        if (ok) pty = { term: info.term, cols: info.cols, rows: info.rows, width: info.width, height: info.height, modes: info.modes };
        return ok;
      }
      case 'env': {
        if (started) return false;
        const ok = await ask('checkChannelEnvRequest', envPatternMatch(info.name, ctx.acceptEnv), channel, info.name, info.value);
        if (ok) env[info.name] = info.value;
        return ok;
      }
      case 'exec': {
        if (started) return false;
        if (!(await ask('checkChannelExecRequest', runsCommands, channel, info.command))) return false;
        if (started || !runsCommands) return false;
        return start('exec', info.command);
      }
      case 'shell': {
        if (started) return false;
        if (!(await ask('checkChannelShellRequest', runsCommands, channel))) return false;
        if (started || !runsCommands) return false;
        return start('shell', null);
      }
      case 'subsystem': {
        if (started) return false;
        const served = forced !== undefined ? runsCommands : ctx.subsystems.has(info.name) || (info.name === 'sftp' && ctx.sftpFactory !== null) || ctx.processFactory !== null;
        if (!(await ask('checkChannelSubsystemRequest', served, channel, info.name))) return false;
        if (started || !served) return false;
        return start('subsystem', info.name);
      }
      case 'window-change': {
        if (!pty) return false;
        const ok = await ask('checkChannelWindowChangeRequest', true, channel, info.cols, info.rows, info.width, info.height);
        if (ok && pty) {
          pty.cols = info.cols;
          pty.rows = info.rows;
          pty.width = info.width;
          pty.height = info.height;
          proc?.emit('resize', info.cols, info.rows, info.width, info.height);
        }
        return ok;
      }
      case 'signal':
        proc?.emit('signal', info.name);
        return proc !== null;
      case 'break':
        if (!proc || proc.listenerCount('break') === 0) return false;
        proc.emit('break', info.ms);
        return true;
      case 'x11-req': {
        if (started || x11 !== null || perms?.x11Forwarding === false) return false;
        if (!(await ask('checkChannelX11Request', false, channel, info.singleConnection, info.authProtocol, info.authCookie, info.screen))) return false;
        try {
          const display = await X11ServerDisplay.open(conn, info);
          if (started || channel.isClosed || channel.destroyed) {
            display.close();
            return false;
          }
          x11 = display;
          // When the channel finishes, not at the stream's 'close' (which waits for stdin to be read).
          channel.once('channelClosed', () => display.close());
        } catch (err) {
          conn.debug(`X11 forwarding granted but not possible: ${(err as Error).message}`);
          return false;
        }
        return true;
      }
      case 'auth-agent-req@openssh.com': {
        if (started || agentPath !== null || perms?.agentForwarding === false) return false;
        if (!(await ask('checkChannelForwardAgentRequest', false, channel))) return false;
        try {
          agentPath = (await conn.agentProxy()).path;
        } catch (err) {
          conn.debug(`agent forwarding granted but not possible: ${(err as Error).message}`);
          return false;
        }
        return true;
      }
      default:
        return false;
    }
  };

  // One request at a time, in arrival order (as sshd): a policy that answers
  // slowly must not let a later exec start before an earlier env or
  // auth-agent-req has taken effect.
  const order = new InOrder();
  channel.onRequest((req) => {
    if (++pending > MAX_PENDING_REQUESTS) {
      conn.fail(new ProtocolError(`client flooded channel ${channel.localId} with requests`, { code: 'ERR_SSH_FLOOD' }));
      return false;
    }
    return order.run(() => handle(req)).finally(() => {
      pending--;
    });
  });
}

function startSftp(conn: SSHServerConnection, ctx: ServerContext, channel: SessionChannel, fs: SFTPServerInterface): void {
  const session = new SFTPServerSession(channel, fs, { username: conn.username ?? '', debug: ctx.debug });
  void session.done.then((err) => {
    if (err) {
      conn.fail(err);
      return;
    }
    try {
      channel.sendExitStatus(0);
    } catch {
      // Already closed by the client.
    }
    channel.close();
  });
}

/** The SFTP filesystem factory for the `sftp` option. */
export function sftpFactoryOf(opt: ServerContext['options']['sftp']): ((conn: SSHServerConnection) => SFTPServerInterface) | null {
  if (!opt) return null;
  if (typeof opt === 'function') return opt;
  const root = opt === true ? process.cwd() : (opt.root ?? process.cwd());
  const fsOpts = opt === true ? {} : { readOnly: opt.readOnly === true, inlineReads: opt.inlineReads };
  // Resolve the root now: a missing directory is reported by listen(), not by the first client.
  new LocalFilesystem(root, fsOpts);
  return () => new LocalFilesystem(root, fsOpts);
}
