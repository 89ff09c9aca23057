/**
 * The SFTP layer: a client over any byte stream (an SSH session channel
 * after `subsystem('sftp')`, or a local sftp-server's stdio), the shared
 * SFTPAttributes, and constants. The server side lives in `ts/sftp/server/`
 * and shares the wire codec in `ts/wire/sftp*.ts` and SFTPAttributes.
 */
import type { Duplex } from 'node:stream';
import { SFTPClient, type SFTPClientOptions } from './client/client.js';
import { BYTES_PER_RTT_MS, checkSessionOptions, DEFAULT_READ_AHEAD, DEFAULT_READY_TIMEOUT, LONG_ROUND_TRIP_MS } from './client/session.js';

export { SFTPClient } from './client/client.js';
export type { SFTPClientOptions, CallOptions, SFTPStatVFS } from './client/client.js';
export { SFTPFile } from './client/file.js';
export { SFTPReadStream, SFTPWriteStream } from './client/streams.js';
export type { ReadStreamOptions, WriteStreamOptions } from './client/streams.js';
export { SFTPAttributes } from './attributes.js';
export type { TransferOptions, GetOptions, PutOptions } from './transfer/fileTransfer.js';
export { PART_SUFFIX } from './transfer/fileTransfer.js';
export type { TreeOptions } from './transfer/tree.js';
export type { SFTPLimits, SFTPStream } from './client/session.js';
export * from './constants.js';

/**
 * The minimal shape of an SSH connection this layer needs: a way to open a
 * session channel that is a Duplex and can request a subsystem. Declared
 * here (not imported) so the SFTP layer does not depend on the connection
 * layer's internals.
 */
export interface SubsystemOpener {
  openSession(opts?: { window?: number; signal?: AbortSignal; timeout?: number }): Promise<SubsystemChannel>;
}

/** A session channel as `openSftp` uses it. */
export type SubsystemChannel = Duplex & {
  subsystem(name: string, opts?: { signal?: AbortSignal; timeout?: number }): Promise<unknown>;
  /** Raises the receive window (SSH channels have it). */
  growWindow?(size: number): void;
  /** The receive window's size (SSH channels have it). */
  readonly windowSize?: number;
};

/**
 * Opens the `sftp` subsystem on a new session channel and starts SFTP on it.
 * `conn.sftp()` and `SSHClient.openSftp()` call this. A `readyTimeout` or
 * `timeout` outside 0..2^31-1 ms rejects with SFTPError (code
 * ERR_SSH_BAD_OPTION) before the channel is opened.
 */
export async function openSftp(connection: SubsystemOpener, opts: SFTPClientOptions = {}): Promise<SFTPClient> {
  checkSessionOptions(opts);
  const client = await startSftp(connection, opts);
  // Never longer than LANE_READY_TIMEOUT, also when readyTimeout is 0 (no limit).
  const laneTimeout = opts.readyTimeout ? Math.min(opts.readyTimeout, LANE_READY_TIMEOUT) : LANE_READY_TIMEOUT;
  client.useLanes((signal) => startSftp(connection, { ...opts, signal, readyTimeout: laneTimeout }));
  return client;
}

/** How long opening an extra SFTP session for a transfer may take before the transfer goes on without it (ms). */
const LANE_READY_TIMEOUT = 10_000;

/** The most the receive window grows to for a long round trip. */
const MAX_FITTED_WINDOW = 32 * 1024 * 1024;

/**
 * A get has at most one window in flight per round trip. When the
 * limits@openssh.com request (one round trip, timed by the session) took
 * LONG_ROUND_TRIP_MS or more, the channel's window grows to 1 MiB per
 * millisecond of it (20 MiB at 20 ms), up to 32 MiB. A `window` the caller
 * chose is left alone, and so is a fast link, where a larger window only
 * adds buffering.
 */
function fitWindow(channel: SubsystemChannel, client: SFTPClient, opts: SFTPClientOptions): void {
  const rtt = client.session.roundTripMs;
  if (opts.window !== undefined || rtt === undefined || rtt < LONG_ROUND_TRIP_MS || !channel.growWindow) return;
  channel.growWindow(Math.min(MAX_FITTED_WINDOW, Math.ceil(rtt) * BYTES_PER_RTT_MS));
}

/** Opens the channel, starts the subsystem and the SFTP handshake, each within `readyTimeout` (default 30 s) and `signal`, then fits the window to the round trip. */
async function startSftp(connection: SubsystemOpener, opts: SFTPClientOptions): Promise<SFTPClient> {
  const wait = { signal: opts.signal, timeout: opts.readyTimeout ?? DEFAULT_READY_TIMEOUT };
  const channel = await connection.openSession({ ...wait, ...(opts.window ? { window: opts.window } : {}) });
  try {
    await channel.subsystem('sftp', wait);
  } catch (err) {
    channel.destroy();
    throw err;
  }
  const client = await SFTPClient.fromStream(channel, opts);
  fitWindow(channel, client, opts);
  // A get keeps the window full only with more than a window's worth of READs out.
  if (opts.readAhead === undefined && channel.windowSize !== undefined) client.session.readAhead = Math.max(DEFAULT_READ_AHEAD, 2 * channel.windowSize);
  return client;
}
