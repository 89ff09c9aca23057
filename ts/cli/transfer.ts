/**
 * `sshwire get` / `sshwire put`: one file over SFTP with a progress bar
 * (cli-progress) on stderr.
 */
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { connect } from '../client.js';
import type { SFTPClient } from '../sftp/index.js';
import { connectOptions, type ClientFlags } from './connectArgs.js';
import { parseTarget, type Target } from './target.js';

/**
 * Runs `transfer` with a progress bar named `label` on stderr (none when
 * quiet or not a terminal); the bar is stopped however the transfer ends.
 */
async function withBar(label: string, quiet: boolean, transfer: (onProgress: (done: number, total: number) => void) => Promise<unknown>): Promise<void> {
  if (quiet || !process.stderr.isTTY) {
    await transfer(() => {});
    return;
  }
  const b = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {speed} MB/s | ETA {eta}s`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let started = false;
  try {
    await transfer((d, t) => {
      const speed = ((d / 1e6) / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1);
      if (!started) {
        b.start(t, d, { speed });
        started = true;
      } else b.update(d, { speed });
    });
  } finally {
    if (started) b.stop();
  }
}

/**
 * Connects to `target`, opens SFTP and runs `work` on it; the SFTP session
 * and the connection are closed however `work` ends.
 */
async function withSftp(target: Target, flags: ClientFlags, work: (sftp: SFTPClient) => Promise<void>): Promise<void> {
  const conn = await connect(connectOptions(target, flags));
  try {
    const sftp = await conn.sftp();
    try {
      await work(sftp);
    } finally {
      await sftp.close();
    }
  } finally {
    conn.close();
    await conn.closed;
  }
}

export interface TransferFlags extends ClientFlags {
  quiet?: boolean;
}

/** Downloads `source` ([user@]host:path) to `local`. */
export async function get(source: string, local: string, flags: TransferFlags): Promise<void> {
  const target = parseTarget(source, true);
  const remote = target.path!;
  await withSftp(target, flags, async (sftp) => {
    let dest = local;
    try {
      if (statSync(local).isDirectory()) dest = `${local}/${basename(remote)}`;
    } catch {
      // A new file name.
    }
    await withBar(basename(remote), flags.quiet === true, (onProgress) => sftp.get(remote, dest, { onProgress }));
  });
}

/** Uploads `local` to `dest` ([user@]host:path; a directory keeps the file name). */
export async function put(local: string, dest: string, flags: TransferFlags): Promise<void> {
  const target = parseTarget(dest, true);
  await withSftp(target, flags, async (sftp) => {
    let remote = target.path!;
    try {
      if ((await sftp.stat(remote)).isDirectory()) remote = `${remote.replace(/\/+$/, '')}/${basename(local)}`;
    } catch {
      // Not there yet: the path names the new file.
    }
    await withBar(basename(local), flags.quiet === true, (onProgress) => sftp.put(local, remote, { onProgress }));
  });
}
