/**
 * Test fixtures that touch the system: local users with passwords (for
 * password and PAM keyboard-interactive against sshd), key files made by
 * ssh-keygen, and a private ssh-agent.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Creates a local user with a password (the tests run as root); returns a cleanup. */
export function createUser(name: string, password: string): () => void {
  spawnSync('userdel', [name], { stdio: 'ignore' }); // left over from an interrupted run
  execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', name], { stdio: 'pipe' });
  execFileSync('chpasswd', [], { input: `${name}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  return () => {
    spawnSync('userdel', [name], { stdio: 'ignore' });
  };
}

/** ssh-keygen a key at `dir/name`; returns the private key path (public key at `.pub`). */
export function makeKey(dir: string, name: string, type: string, opts: { bits?: number; passphrase?: string; pem?: boolean } = {}): string {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', opts.passphrase ?? '', '-C', name, '-f', path];
  if (opts.bits !== undefined) args.push('-b', String(opts.bits));
  if (opts.pem) args.push('-m', 'PEM');
  execFileSync('ssh-keygen', args, { stdio: 'pipe' });
  return path;
}

export interface Agent {
  socket: string;
  add(keyPath: string): void;
  stop(): Promise<void>;
}

/** Starts `ssh-agent -D -a <socket>`; `add` runs ssh-add against it. */
export async function startAgent(dir: string): Promise<Agent> {
  const socket = join(dir, 'agent.sock');
  const proc: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null) throw new Error(`ssh-agent exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('ssh-agent did not create its socket');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    add(keyPath: string) {
      execFileSync('ssh-add', ['-q', keyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'pipe' });
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      }
    },
  };
}
