/**
 * Shared by the config tests: OpenSSH's own answer (`ssh -G`, which prints
 * the effective configuration without touching the network) and a fake
 * resolver for canonicalisation.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HostResolver, LookupOptions } from '../../ts/config/index.js';

/** A local side that does not depend on who runs the tests. */
export const LOCAL: LookupOptions = { localUser: 'alice', homeDir: '/home/alice', localHostname: 'ws1', uid: 1000, env: {} };

/** `ssh -G -F <file> [extra] <host>` as key → values (repeated keys accumulate). */
export function sshG(file: string, host: string, extra: string[] = []): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', file, ...extra, host], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const k = line.slice(0, sp);
    map.set(k, [...(map.get(k) ?? []), line.slice(sp + 1)]);
  }
  return map;
}

/**
 * For a test file: a temporary directory (removed after), `path` inside it,
 * and `sshG` on a config given as text (`user` becomes `-l user`).
 */
export function configOracle(prefix: string): {
  sshG(text: string, host: string, user?: string): Map<string, string[]>;
  path(...names: string[]): string;
} {
  let dir = '';
  let seq = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    sshG(text, host, user) {
      const file = join(dir, `g${seq++}.conf`);
      writeFileSync(file, text);
      return sshG(file, host, user !== undefined ? ['-l', user] : []);
    },
    path: (...names) => join(dir, ...names),
  };
}

/** A resolver that knows a fixed set of rooted names and records every query. */
export function fakeResolver(known: string[]): HostResolver & { queries: string[] } {
  const queries: string[] = [];
  const fn: HostResolver = async (name) => {
    queries.push(name);
    return known.includes(name);
  };
  return Object.assign(fn, { queries });
}
