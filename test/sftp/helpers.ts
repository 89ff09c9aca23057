/**
 * Test helpers: OpenSSH's own sftp-server as a child process (its stdio is
 * the SFTP stream, no SSH involved), temp directories on tmpfs.
 */
import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { SFTPClient, type SFTPClientOptions } from '../../ts/sftp/index.js';

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** tmpfs when there is one: big files stay fast. */
export function scratchDir(prefix = 'sshwire-sftp-'): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
  return mkdtempSync(join(base, prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ServerClient {
  client: SFTPClient;
  proc: ChildProcess;
  stderr(): string;
}

/**
 * Spawns sftp-server (optionally as another user via setpriv) and connects
 * our client to its stdio.
 */
export async function startServer(opts: SFTPClientOptions & { asUser?: { uid: number; gid: number }; args?: string[] } = {}): Promise<ServerClient> {
  if (!existsSync(SFTP_SERVER)) throw new Error(`${SFTP_SERVER} is missing: install openssh-server (these tests do not skip)`);
  const args = opts.args ?? [];
  const proc = opts.asUser
    ? spawn('setpriv', [`--reuid=${opts.asUser.uid}`, `--regid=${opts.asUser.gid}`, '--clear-groups', SFTP_SERVER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(SFTP_SERVER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const client = await SFTPClient.fromStream({ readable: proc.stdout!, writable: proc.stdin! }, opts);
  return { client, proc, stderr: () => err };
}

/**
 * An sftp-server and a scratch directory for the tests of one file: started
 * before them, stopped and removed after. Read the fields inside tests.
 */
export function serverForFile(opts?: Parameters<typeof startServer>[0]): { readonly client: SFTPClient; readonly dir: string } {
  const ctx = {} as { client: SFTPClient; dir: string };
  beforeAll(async () => {
    ctx.dir = scratchDir();
    ctx.client = (await startServer(opts)).client;
  });
  afterAll(async () => {
    await ctx.client?.close();
    if (ctx.dir) removeDir(ctx.dir);
  });
  return ctx;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function patternBytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
