/**
 * Helpers for the server tests: a temp dir with an ssh-keygen client key,
 * a server of ours with its host key pinned in a known_hosts file, and
 * runners for OpenSSH's ssh/sftp and the system Python (Paramiko, AsyncSSH).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, PrivateKey, type ListenOptions, type SSHServer } from '../../ts/index.js';

export interface Fixture {
  dir: string;
  /** SFTP root / command cwd. */
  root: string;
  /** Client private key path (ed25519, from ssh-keygen); its .pub is in authorized_keys. */
  key: string;
  authorizedKeys: string;
  cleanup(): void;
}

let hostKey: PrivateKey | null = null;
/** One ed25519 host key for the whole test file (generation is cheap, pinning is what matters). */
export function testHostKey(): PrivateKey {
  return (hostKey ??= PrivateKey.generate('ed25519'));
}

export function makeFixture(prefix = 'sshwire-server-'): Fixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  mkdirSync(root);
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', key]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${key}.pub`));
  return { dir, root, key, authorizedKeys, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Running {
  server: SSHServer;
  port: number;
  knownHosts: string;
  errors: Error[];
}

/** Starts a server with the fixture's host key pinned in `<dir>/known_hosts-<port>`. */
export async function startServer(fx: Fixture, opts: Partial<ListenOptions> = {}): Promise<Running> {
  const server = await listen({ hostKeys: [testHostKey()], ...opts });
  const errors: Error[] = [];
  server.on('error', (e: Error) => errors.push(e));
  const port = server.address().port;
  const knownHosts = join(fx.dir, `known_hosts-${port}`);
  const k = testHostKey();
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')}\n`);
  return { server, port, knownHosts, errors };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never rejects. */
export function run(file: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeout ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? { ...process.env, SSH_AUTH_SOCK: '' }, cwd: opts.cwd },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** OpenSSH client options pinning our host key and using only the fixture's key. */
export function sshOptions(fx: Fixture, r: Running, extra: string[] = []): string[] {
  return [
    '-F', '/dev/null', '-i', fx.key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${r.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=20', ...extra,
  ];
}

export function ssh(fx: Fixture, r: Running, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; extra?: string[] } = {}): Promise<RunResult> {
  return run('ssh', [...sshOptions(fx, r, opts.extra), '-p', String(r.port), 'tester@127.0.0.1', ...args], opts);
}

/** sftp -b with `commands`, run in `cwd`. */
export function sftpBatch(fx: Fixture, r: Running, commands: string[], cwd: string): Promise<RunResult> {
  const batch = join(fx.dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, commands.join('\n') + '\n');
  return run('sftp', ['-b', batch, ...sshOptions(fx, r), '-P', String(r.port), 'tester@127.0.0.1'], { cwd, timeout: 120_000 });
}

/** Runs a script with the system Python (which has paramiko and asyncssh). */
export function python(code: string, args: string[]): Promise<RunResult> {
  return run('/usr/bin/python3', ['-c', code, ...args]);
}

/** Runs `tasks` with at most `limit` at once. */
export async function bounded<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/** sha256 of each file, by sha256sum(1) (fast on big files). */
export function sha256Files(paths: string[]): string[] {
  return execFileSync('sha256sum', paths, { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]!);
}
