/**
 * The SFTP layer: a client over any byte stream (an SSH session channel
 * after `subsystem('sftp')`, or a local sftp-server's stdio), the shared
 * SFTPAttributes, and constants. The server side lives in `ts/sftp/server/`
 * and shares the wire codec in `ts/wire/sftp*.ts` and SFTPAttributes.
 */
import type { Duplex } from 'node:stream';
import { SFTPClient, type SFTPClientOptions } from './client/client.js';

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
  openSession(opts?: { window?: number; signal?: AbortSignal; timeout?: number }): Promise<Duplex & { subsystem(name: string, opts?: { signal?: AbortSignal; timeout?: number }): Promise<unknown> }>;
}

/**
 * Opens the `sftp` subsystem on a new session channel and starts SFTP on it.
 * `conn.sftp()` and `SSHClient.openSftp()` call this.
 */
export async function openSftp(connection: SubsystemOpener, opts: SFTPClientOptions = {}): Promise<SFTPClient> {
  const client = await startSftp(connection, opts);
  const laneTimeout = Math.min(opts.readyTimeout ?? LANE_READY_TIMEOUT, LANE_READY_TIMEOUT);
  client.useLanes((signal) => startSftp(connection, { ...opts, signal, readyTimeout: laneTimeout }));
  return client;
}

/** How long opening an extra SFTP session for a transfer may take before the transfer goes on without it (ms). */
const LANE_READY_TIMEOUT = 10_000;

/** Opens the channel, starts the subsystem and the SFTP handshake, each within `readyTimeout` (default 30 s) and `signal`. */
async function startSftp(connection: SubsystemOpener, opts: SFTPClientOptions): Promise<SFTPClient> {
  const wait = { signal: opts.signal, timeout: opts.readyTimeout ?? 30_000 };
  const channel = await connection.openSession({ ...wait, ...(opts.window ? { window: opts.window } : {}) });
  try {
    await channel.subsystem('sftp', wait);
  } catch (err) {
    channel.destroy();
    throw err;
  }
  return SFTPClient.fromStream(channel, opts);
}
