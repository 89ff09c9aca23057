/**
 * Running `Match exec` commands: `/bin/sh -c <command>` with stdin, stdout and
 * stderr discarded; exit status 0 means the criterion holds. Every run has a
 * time limit, after which the command is killed and a TimeoutError raised.
 */
import { spawn, spawnSync } from 'node:child_process';

import { SSHException, TimeoutError } from '../errors.js';

/** Default limit for one `Match exec` command. */
export const DEFAULT_EXEC_TIMEOUT_MS = 10_000;

const SHELL = '/bin/sh';

/**
 * Run a Match exec command synchronously; returns whether it exited with
 * status 0 (`timeoutMs` 0 = no limit). On timeout only the shell is killed (spawnSync cannot signal a
 * process group), so anything the command started in the background may
 * outlive it.
 */
export function runMatchExecSync(command: string, timeoutMs: number): boolean {
  const r = spawnSync(SHELL, ['-c', command], { stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
      throw new TimeoutError(`Match exec "${command}" did not finish within ${timeoutMs} ms`);
    }
    throw new SSHException(`Match exec "${command}" could not be run: ${r.error.message}`, { code: 'ERR_SSH_CONFIG', cause: r.error });
  }
  return r.status === 0;
}

/** Run a Match exec command without blocking the event loop; `timeoutMs` 0 = no limit. */
export function runMatchExec(command: string, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    // A process group of its own, so a timeout kills whatever the shell started too.
    const child = spawn(SHELL, ['-c', command], { stdio: 'ignore', detached: true });
    let timedOut = false;
    // 0: no limit (as spawnSync's timeout 0 in runMatchExecSync).
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            killGroup(child.pid);
          }, timeoutMs)
        : undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new SSHException(`Match exec "${command}" could not be run: ${err.message}`, { code: 'ERR_SSH_CONFIG', cause: err }));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new TimeoutError(`Match exec "${command}" did not finish within ${timeoutMs} ms`));
      else resolve(code === 0);
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
