/**
 * Bulk execution: one job or a list of commands on many hosts, with a bound
 * on how many hosts are worked on at once and a result per host. A host
 * that cannot be reached, refuses the login or fails mid-way gets its error
 * in its own result; the others carry on.
 */
import { abortError, SSHException } from '../errors.js';
import { parseHostSpec } from '../config/proxyJump.js';
import { pool } from '../connection/pool.js';
import type { RunOptions, RunResult } from '../connection/process.js';
import type { SSHClientConnection } from './clientConnection.js';
import { connect, type ConnectOptions } from './connect.js';
import { checkEstablishDurations } from './establish.js';

/** A host: `host`, `user@host`, `host:port`, `user@[::1]:port`, or full connect() options. */
export type BulkTarget = string | ConnectOptions;

/** What happened on one host. */
export interface HostResult<T> {
  /** The target as given. */
  target: BulkTarget;
  /** The host from the target, before ssh_config's HostName applies. */
  host: string;
  /** The port asked for (undefined: the default, 22 or ssh_config's). */
  port?: number;
  /** True when the job finished without an error (a command's non-zero exit is not an error unless `check` was set). */
  ok: boolean;
  /** The job's value when ok. */
  value?: T;
  /** Why not ok: a typed SSHException (connect, auth, timeout, channel) or the job's own error. */
  error?: Error;
  /** performance.now() when work on this host started and ended (milliseconds). */
  startedAt: number;
  /** performance.now() when work on this host ended (equal to `startedAt` for a host the signal stopped before it started). */
  endedAt: number;
}

/** Options of `mapHosts()` (and, through RunOnHostsOptions, of `runOnHosts()`). */
export interface BulkOptions<T> {
  /** Options shared by every host; a target given as options overrides them field by field. */
  connect?: Partial<ConnectOptions>;
  /** Hosts worked on at once. Default 10. */
  concurrency?: number;
  /** Stops starting hosts and aborts those in progress; their results carry the signal's reason (an AbortError when it is not an Error, as `connect()` rejects with). The returned promise settles once every host in progress has closed. */
  signal?: AbortSignal;
  /** Called as each host finishes, in completion order. */
  onResult?: (result: HostResult<T>) => void;
}

/** Options of `runOnHosts()`: those of `mapHosts()`, plus how each host runs the commands. `signal` also aborts the commands. */
export interface RunOnHostsOptions extends BulkOptions<RunResult[]> {
  /** Options for every command (timeout, env, pty, encoding, check, ...). */
  run?: RunOptions;
  /** Commands run at once on each host's connection, each on its own channel. Default 1: in order. */
  channelsPerHost?: number;
}

function bad(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_OPTION' });
}

/** Splits `[user@]host[:port]` (IPv6 in brackets when a port follows; `ssh://` allowed) into connect() fields. */
export function parseTarget(spec: string): { host: string; port?: number; username?: string } {
  const { user, host, port } = parseHostSpec(spec, (m) => bad(`bad host ${JSON.stringify(spec)}: ${m}`));
  return { host, ...(port !== undefined ? { port } : {}), ...(user !== undefined ? { username: user } : {}) };
}

/**
 * Connects to every target (at most `concurrency` at once), runs `job` on
 * each connection, closes it, and resolves with one result per target in
 * the order given. Never rejects for a host's failure; rejects only for bad
 * options.
 */
export async function mapHosts<T>(targets: readonly BulkTarget[], job: (conn: SSHClientConnection, target: BulkTarget) => Promise<T>, opts: BulkOptions<T> = {}): Promise<HostResult<T>[]> {
  const concurrency = opts.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw bad(`concurrency must be a positive integer, not ${concurrency}`);
  const resolved = targets.map((t) => ({ ...opts.connect, ...(typeof t === 'string' ? parseTarget(t) : t) }) as ConnectOptions);
  for (const r of resolved) {
    if (typeof r.host !== 'string' || r.host === '') throw bad('every target needs a host');
    // A bad timeout fails the call, not every host's result one by one.
    checkEstablishDurations(r);
  }
  const results: HostResult<T>[] = new Array(targets.length);
  const signal = opts.signal;
  const one = async (i: number): Promise<void> => {
    const target = targets[i]!;
    const options = resolved[i]!;
    const startedAt = performance.now();
    const base = { target, host: options.host, ...(options.port !== undefined ? { port: options.port } : {}), startedAt };
    let result: HostResult<T>;
    if (signal?.aborted) {
      result = { ...base, ok: false, error: abortError(signal), endedAt: startedAt };
    } else {
      let conn: SSHClientConnection | null = null;
      const onAbort = (): void => conn?.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        conn = await connect({ ...options, ...(signal ? { signal: options.signal ? AbortSignal.any([signal, options.signal]) : signal } : {}) });
        const value = await job(conn, target);
        if (signal?.aborted) throw abortError(signal);
        result = { ...base, ok: true, value, endedAt: performance.now() };
      } catch (err) {
        const error = signal?.aborted ? abortError(signal) : err instanceof Error ? err : new SSHException(String(err));
        result = { ...base, ok: false, error, endedAt: performance.now() };
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (conn) {
          conn.close();
          await conn.closed;
        }
      }
    }
    results[i] = result;
    opts.onResult?.(result);
  };

  // `one` records every failure in its host's result, so the pool never stops early.
  await pool(targets.map((_, i) => i), concurrency, one);
  return results;
}

/**
 * Runs `commands` (one or several) on every target and resolves with each
 * host's RunResults, in command order. With `channelsPerHost` > 1 a host's
 * commands run concurrently on separate channels of its one connection.
 */
export async function runOnHosts(targets: readonly BulkTarget[], commands: string | readonly string[], opts: RunOnHostsOptions = {}): Promise<HostResult<RunResult[]>[]> {
  const list = typeof commands === 'string' ? [commands] : [...commands];
  const perHost = opts.channelsPerHost ?? 1;
  if (!Number.isInteger(perHost) || perHost < 1) throw bad(`channelsPerHost must be a positive integer, not ${perHost}`);
  return mapHosts(
    targets,
    async (conn) => {
      const out: RunResult[] = new Array(list.length);
      const runOpts = { ...opts.run, ...(opts.signal ? { signal: opts.signal } : {}) };
      await pool(list.map((_, i) => i), perHost, async (i) => {
        out[i] = await conn.run(list[i]!, runOpts);
      });
      return out;
    },
    opts,
  );
}
