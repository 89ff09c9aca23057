/**
 * Recursive directory transfers: walk the source tree first (so progress
 * has a total), create the directories, then move files several at a time,
 * each with its own pipelined transfer. Symlinked directories are not
 * followed (no loops); symlinked files are copied as their content.
 */
import { mkdir, readdir, stat as fsStat } from 'node:fs/promises';
import { join as localJoin, relative, sep } from 'node:path';
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import type { SFTPAttributes } from '../attributes.js';
import type { SFTPClient } from '../client/client.js';
import { getFile, putFile, type GetOptions, type PutOptions, type TransferOptions } from './fileTransfer.js';
import { pool } from '../../connection/pool.js';

/**
 * Options of `SFTPClient.getDir` / `putDir`. Progress (`onProgress`) covers
 * the whole tree; `concurrency` and `chunkSize` apply to each file.
 */
export interface TreeOptions extends TransferOptions {
  /** Files transferred at once. Default 4. */
  fileConcurrency?: number;
  /** Return false to skip a file or a whole directory; `path` is relative to the tree's root, '/'-separated. */
  filter?: (path: string, isDirectory: boolean) => boolean;
  /** Copy modes and times. */
  preserve?: boolean;
  /** Per-file options passed through (verify, resume). */
  verify?: boolean;
  /** Continue each file's partial transfer (GetOptions.resume / PutOptions.resume). */
  resume?: boolean;
  /** putDir: SFTP channels per file of 64 MiB or more (PutOptions.channels). */
  channels?: number;
}

interface Entry {
  rel: string;
  size: number;
}


/** Aggregates per-file progress into one (transferred, total) stream. */
function treeProgress(total: number, cb?: (t: number, total: number) => void): (key: string) => (n: number) => void {
  const per = new Map<string, number>();
  let sum = 0;
  return (key) => (n) => {
    sum += n - (per.get(key) ?? 0);
    per.set(key, n);
    cb?.(sum, total);
  };
}

/**
 * Moves the walked files `fileConcurrency` at a time with the per-file options
 * taken from `opts`, one progress stream over the whole tree; `transfer` moves
 * one file and returns the bytes it counts for.
 */
async function transferFiles(
  files: Entry[],
  opts: TreeOptions,
  transfer: (f: Entry, fileOpts: GetOptions & PutOptions) => Promise<number>,
): Promise<{ files: number; bytes: number }> {
  const { signal } = opts;
  const total = files.reduce((s, f) => s + f.size, 0);
  const progress = treeProgress(total, opts.onProgress);
  let bytes = 0;
  // Lenient, as the other transfer sizes are: anything below one file at a time is one.
  const fileConcurrency = Math.floor(opts.fileConcurrency ?? 4);
  await pool(
    files,
    fileConcurrency >= 1 ? fileConcurrency : 1,
    async (f) => {
      // Await first, then add: `bytes += await …` would read `bytes` before the wait and lose other runners' counts.
      const n = await transfer(f, {
        concurrency: opts.concurrency,
        chunkSize: opts.chunkSize,
        signal,
        preserve: opts.preserve,
        verify: opts.verify,
        resume: opts.resume,
        channels: opts.channels,
        onProgress: progress(f.rel),
      });
      bytes += n;
    },
    signal,
  );
  return { files: files.length, bytes };
}

/**
 * A directory entry's name must be one path component. A hostile server
 * could otherwise list "../x" (or "/etc/x") and have getDir write outside
 * the local directory; OpenSSH's sftp refuses such names too.
 */
function checkEntryName(name: string, dir: string): void {
  const bad = name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || (sep === '\\' && name.includes('\\'));
  if (bad) throw new SFTPError(`getDir ${JSON.stringify(dir)}: the server listed an entry named ${JSON.stringify(name)}, which is not a file name`, FX.BAD_MESSAGE, dir);
}

export async function getDir(client: SFTPClient, remoteDir: string, localDir: string, opts: TreeOptions): Promise<{ files: number; bytes: number }> {
  const { signal } = opts;
  const files: Entry[] = [];
  const dirs: string[] = [''];
  const walk = async (rel: string): Promise<void> => {
    const here = rel === '' ? remoteDir : `${remoteDir}/${rel}`;
    const entries: SFTPAttributes[] = await client.listdirAttr(here, { signal });
    for (const e of entries) {
      checkEntryName(e.filename, here);
      const childRel = rel === '' ? e.filename : `${rel}/${e.filename}`;
      let a = e;
      if (a.isSymbolicLink()) {
        try {
          a = await client.stat(`${here}/${e.filename}`, { signal });
        } catch {
          continue; // dangling link
        }
        if (a.isDirectory()) continue;
      }
      if (a.isDirectory()) {
        if (opts.filter && !opts.filter(childRel, true)) continue;
        dirs.push(childRel);
        await walk(childRel);
      } else if (a.isFile()) {
        if (opts.filter && !opts.filter(childRel, false)) continue;
        files.push({ rel: childRel, size: a.st_size ?? 0 });
      }
    }
  };
  const top = await client.stat(remoteDir, { signal });
  if (!top.isDirectory()) throw new SFTPError(`getDir ${JSON.stringify(remoteDir)}: not a directory`, FX.FAILURE, remoteDir);
  await walk('');
  for (const d of dirs) await mkdir(localJoin(localDir, ...d.split('/')), { recursive: true });
  return transferFiles(files, opts, (f, fileOpts) => getFile(client, `${remoteDir}/${f.rel}`, localJoin(localDir, ...f.rel.split('/')), fileOpts));
}

export async function putDir(client: SFTPClient, localDir: string, remoteDir: string, opts: TreeOptions): Promise<{ files: number; bytes: number }> {
  const { signal } = opts;
  const files: Entry[] = [];
  const dirs: string[] = [''];
  const walk = async (abs: string): Promise<void> => {
    for (const d of await readdir(abs, { withFileTypes: true })) {
      const full = localJoin(abs, d.name);
      // Only the platform's separator separates: on POSIX "\\" is part of a name.
      const rel = relative(localDir, full).split(sep).join('/');
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        const st = await fsStat(full).catch(() => null);
        if (!st || st.isDirectory()) continue;
        isFile = st.isFile();
        isDir = false;
      }
      if (isDir) {
        if (opts.filter && !opts.filter(rel, true)) continue;
        dirs.push(rel);
        await walk(full);
      } else if (isFile) {
        if (opts.filter && !opts.filter(rel, false)) continue;
        files.push({ rel, size: (await fsStat(full)).size });
      }
    }
  };
  await walk(localDir);
  for (const d of dirs) {
    const target = d === '' ? remoteDir : `${remoteDir}/${d}`;
    try {
      await client.mkdir(target, 0o777, { signal });
    } catch (err) {
      // Already there is fine if it is a directory.
      const st = await client.stat(target, { signal }).catch(() => null);
      if (!st?.isDirectory()) throw err;
    }
  }
  return transferFiles(files, opts, async (f, fileOpts) => {
    await putFile(client, localJoin(localDir, ...f.rel.split('/')), `${remoteDir}/${f.rel}`, fileOpts);
    return f.size;
  });
}
