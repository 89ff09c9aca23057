/**
 * `sshwire get` / `sshwire put`: one file over SFTP with a progress bar
 * (cli-progress) on stderr.
 */
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { connect } from '../client.js';
import { connectOptions, type ClientFlags } from './connectArgs.js';
import { parseTarget } from './target.js';

function bar(label: string, quiet: boolean): { update(d: number, t: number): void; stop(): void } {
  if (quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
  const b = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | {speed} MB/s | ETA {eta}s`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let started = false;
  return {
    update(d, t) {
      const speed = ((d / 1e6) / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1);
      if (!started) {
        b.start(t, d, { speed });
        started = true;
      } else b.update(d, { speed });
    },
    stop() {
      if (started) b.stop();
    },
  };
}

export interface TransferFlags extends ClientFlags {
  quiet?: boolean;
}

/** Downloads `source` ([user@]host:path) to `local`. */
export async function get(source: string, local: string, flags: TransferFlags): Promise<void> {
  const target = parseTarget(source, true);
  const conn = await connect(connectOptions(target, flags));
  try {
    const sftp = await conn.sftp();
    let dest = local;
    try {
      if (statSync(local).isDirectory()) dest = `${local}/${basename(target.path!)}`;
    } catch {
      // A new file name.
    }
    const b = bar(basename(target.path!), flags.quiet === true);
    try {
      await sftp.get(target.path!, dest, { onProgress: (d, t) => b.update(d, t) });
    } finally {
      b.stop();
      await sftp.close();
    }
  } finally {
    conn.close();
    await conn.closed;
  }
}

/** Uploads `local` to `dest` ([user@]host:path; a directory keeps the file name). */
export async function put(local: string, dest: string, flags: TransferFlags): Promise<void> {
  const target = parseTarget(dest, true);
  const conn = await connect(connectOptions(target, flags));
  try {
    const sftp = await conn.sftp();
    let remote = target.path!;
    try {
      if ((await sftp.stat(remote)).isDirectory()) remote = `${remote.replace(/\/+$/, '')}/${basename(local)}`;
    } catch {
      // Not there yet: the path names the new file.
    }
    const b = bar(basename(local), flags.quiet === true);
    try {
      await sftp.put(local, remote, { onProgress: (d, t) => b.update(d, t) });
    } finally {
      b.stop();
      await sftp.close();
    }
  } finally {
    conn.close();
    await conn.closed;
  }
}
