/**
 * A private X server (Xvfb) for the X11 forwarding tests: a free display
 * number, a cookie in an Xauthority file written by the real `xauth`, and
 * no TCP listener. Tests that need it fail (not skip) without Xvfb.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopProcess } from './sshd.js';

export interface Xvfb {
  /** The display name, e.g. `:57`. */
  display: string;
  /** Xauthority file holding the display's cookie. */
  authPath: string;
  cookie: string;
  stop(): Promise<void>;
}

const XVFB = '/usr/bin/Xvfb';

export async function startXvfb(): Promise<Xvfb> {
  if (!existsSync(XVFB)) throw new Error(`${XVFB} is missing: install xvfb (the X11 tests do not skip)`);
  const dir = mkdtempSync(join(tmpdir(), 'sshwire-xvfb-'));
  const authPath = join(dir, 'Xauthority');
  const cookie = randomBytes(16).toString('hex');
  let n = 40 + Math.floor(Math.random() * 400);
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n++;
  const display = `:${n}`;
  execFileSync('xauth', ['-f', authPath, 'add', display, 'MIT-MAGIC-COOKIE-1', cookie], { stdio: 'ignore' });
  const proc = spawn(XVFB, [display, '-auth', authPath, '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!existsSync(`/tmp/.X11-unix/X${n}`)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`Xvfb ${display} did not start`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    display,
    authPath,
    cookie,
    async stop() {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
