/**
 * A private OpenSSH sshd for interop tests: host keys of every type made by
 * ssh-keygen in a temp dir, a generated config, 127.0.0.1 on a free port,
 * DEBUG3 log kept in a file for diagnostics. Missing sshd is a test failure,
 * not a skip.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectOptions } from '../../ts/client.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  /** Extra sshd_config lines. */
  config?: string[];
  /**
   * Lines placed before the defaults. sshd uses the first value it reads for
   * a keyword, so these replace defaults such as `UsePAM no` or
   * `PasswordAuthentication no` (added for the auth tests).
   */
  overrides?: string[];
  /** OpenSSH public key lines to put in the authorized_keys file. */
  authorizedKeys?: string[];
  /** Extra environment for sshd (e.g. KRB5_CONFIG, KRB5_KTNAME). */
  env?: Record<string, string>;
}

export interface Sshd {
  port: number;
  dir: string;
  /** The sshd log so far (DEBUG3). */
  log(): string;
  /** Host public key files by type, e.g. `ssh-ed25519`. */
  hostPublicKeys: Record<string, string>;
  stop(): Promise<void>;
}

/** SIGTERM, then SIGKILL if `proc` has not exited within 3 s. */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const KEY_TYPES: [string, string[]][] = [
  ['ssh-ed25519', ['-t', 'ed25519']],
  ['ecdsa-sha2-nistp256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa-sha2-nistp384', ['-t', 'ecdsa', '-b', '384']],
  ['ecdsa-sha2-nistp521', ['-t', 'ecdsa', '-b', '521']],
  ['ssh-rsa', ['-t', 'rsa', '-b', '2048']],
];

/**
 * Waits until `proc` (named `name` in errors) accepts TCP connections on
 * 127.0.0.1:`port`; fails early if it exits. `details` adds what it printed.
 */
export async function waitForListening(port: number, proc: ChildProcess, name: string, timeoutMs: number, details: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const extra = (): string => {
    const d = details().trim();
    return d ? `: ${d}` : '';
  };
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${name} exited early (${proc.exitCode ?? proc.signalCode})${extra()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms${extra()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts sshd; call `stop()` when done. */
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (interop tests do not skip)`);
  mkdirSync('/run/sshd', { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'sshwire-sshd-'));
  const hostPublicKeys: Record<string, string> = {};
  const hostKeyLines: string[] = [];
  for (const [type, args] of KEY_TYPES) {
    const file = join(dir, `host_${type}`);
    execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-f', file], { stdio: 'ignore' });
    hostPublicKeys[type] = readFileSync(`${file}.pub`, 'utf8').trim();
    hostKeyLines.push(`HostKey ${file}`);
  }
  writeFileSync(join(dir, 'authorized_keys'), (opts.authorizedKeys ?? []).join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const logFile = join(dir, 'sshd.log');
  const config = [
    ...(opts.overrides ?? []),
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    ...hostKeyLines,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    'SetEnv SHLVL=1',
    'LogLevel DEBUG3',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'MaxStartups 100:30:200',
    // Everything OpenSSH 9.2 can do, so the client can force each algorithm alone.
    'KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1',
    'HostKeyAlgorithms +ssh-rsa',
    'Ciphers +3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc',
    'MACs +hmac-sha1-96,hmac-md5,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
    ...(opts.config ?? []),
  ];
  const configFile = join(dir, 'sshd_config');
  writeFileSync(configFile, config.join('\n') + '\n');
  const env = { ...process.env, ...(opts.env ?? {}) };
  execFileSync(SSHD, ['-t', '-f', configFile], { stdio: 'pipe', env });
  const proc = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const chunks: Buffer[] = [];
  proc.stderr!.on('data', (c: Buffer) => chunks.push(c));
  await waitForListening(port, proc, 'sshd', 10_000);
  return {
    port,
    dir,
    hostPublicKeys,
    log: () => Buffer.concat(chunks).toString('utf8'),
    async stop() {
      await stopProcess(proc);
      try {
        writeFileSync(logFile, Buffer.concat(chunks));
      } catch {
        // diagnostics only
      }
      if (!process.env.SSHWIRE_KEEP_SSHD) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts sshd with the client key `key` (a private key path; `.pub` beside
 * it) authorized for every user, and `LogLevel ERROR` first: sshd -e logs
 * to its stderr, which session children share with remote commands, so
 * debug lines would land in the commands' stderr.
 */
export function startSshdTrusting(key: string, opts: SshdOptions = {}): Promise<Sshd> {
  return startSshd({
    ...opts,
    authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim(), ...(opts.authorizedKeys ?? [])],
    overrides: ['LogLevel ERROR', ...(opts.overrides ?? [])],
  });
}

/**
 * connect() options for root on `sshd` with `key` alone: no known_hosts
 * check, agent, ~/.ssh keys or ssh_config, so nothing of the machine's
 * own setup takes part.
 */
export function rootLogin(sshd: Sshd, key: string, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: key, knownHosts: null, agent: false, lookForKeys: false, config: false, ...extra };
}

/** Connects a TCP socket to 127.0.0.1:port. */
export function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
