/** Shared helpers for the keys tests: temp dirs and running OpenSSH's tools. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp dir; call the returned cleanup in afterAll. */
export function makeTempDir(prefix = 'sshwire-keys-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run ssh-keygen; throws with its stderr on failure. */
export function sshKeygen(args: string[], opts: { input?: string } = {}): string {
  return execFileSync('ssh-keygen', args, { encoding: 'utf8', input: opts.input ?? '', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
}

/** Run ssh-keygen and return status and output without throwing. */
export function sshKeygenStatus(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh-keygen', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Generate a key with ssh-keygen at `path` (quietly); extra args like ['-m', 'PEM']. */
export function generateWithSshKeygen(path: string, type: string, bits: number | undefined, passphrase: string, extra: string[] = [], comment = 'test key'): void {
  const args = ['-q', '-t', type, '-N', passphrase, '-C', comment, '-f', path, ...extra];
  if (bits !== undefined) args.push('-b', String(bits));
  sshKeygen(args);
}

/** The fingerprint ssh-keygen prints for a key file (`-E sha256` or `md5`), and its bit count. */
export function sshKeygenFingerprint(path: string, hash: 'sha256' | 'md5' = 'sha256'): { bits: number; fingerprint: string } {
  const out = sshKeygen(['-l', '-E', hash, '-f', path]).trim();
  const [bits, fingerprint] = out.split(/\s+/);
  return { bits: Number(bits), fingerprint: fingerprint! };
}
