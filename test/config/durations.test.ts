/**
 * Durations of the config layer follow the shared rule (checkDuration):
 * ProxyCommand's timeout and killGraceMs, lookup's execTimeoutMs and
 * dnsTimeoutMs, systemResolver's limit. Infinity, NaN, negatives and values
 * past 2^31-1 ms are refused with SSHException ERR_SSH_BAD_OPTION (async
 * calls reject); 0 and 2^31-1 are accepted, 0 meaning no limit for the
 * timeouts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProxyCommand, SSHConfig, systemResolver, type LookupOptions } from '../../ts/config/index.js';
import { SSHException } from '../../ts/errors.js';
import { BAD_DURATIONS, MAX_MS, thrown, expectDurationRefusal } from '../helpers/durations.js';

function expectRefusal(e: unknown, name: string, v: number): void {
  expectDurationRefusal(e, name, v);
}

const LOCAL: LookupOptions = { localUser: 'alice', homeDir: '/home/alice', localHostname: 'ws1', uid: 1000, env: {} };

describe('ProxyCommand durations', () => {
  for (const name of ['timeout', 'killGraceMs'] as const) {
    for (const [what, v] of BAD_DURATIONS) {
      it(`${name} ${what} throws ERR_SSH_BAD_OPTION and starts nothing`, () => {
        const dir = mkdtempSync(join(tmpdir(), 'sshwire-pc-'));
        try {
          const marker = join(dir, 'ran');
          expectRefusal(
            thrown(() => new ProxyCommand(`touch ${marker}`, { [name]: v })),
            name,
            v,
          );
          expect(existsSync(marker)).toBe(false);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }

  it('0 and 2^31-1 are accepted (timeout 0: no limit)', async () => {
    for (const v of [0, MAX_MS]) {
      // Silent for a while, then speaks: timeout 0 must not cut it short.
      const p = new ProxyCommand(`/bin/sh -c 'sleep 0.1; echo hi'`, { timeout: v, killGraceMs: v });
      const chunks: Buffer[] = [];
      p.on('data', (c: Buffer) => chunks.push(c));
      const err = await new Promise<Error | null>((resolve) => {
        p.once('end', () => resolve(null));
        p.once('error', resolve);
      });
      expect(err).toBeNull();
      expect(Buffer.concat(chunks).toString()).toBe('hi\n');
      p.destroy();
    }
  });
});

describe('SSHConfig lookup durations', () => {
  const cfg = 'Match exec "sleep 0.05"\n  Port 7\n';

  for (const name of ['execTimeoutMs', 'dnsTimeoutMs'] as const) {
    for (const [what, v] of BAD_DURATIONS) {
      it(`${name} ${what}: lookup rejects, lookupSync throws, before any Match exec runs`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'sshwire-me-'));
        try {
          const marker = join(dir, 'ran');
          const text = `Match exec "touch ${marker}"\n  Port 7\n`;
          let p: Promise<unknown> | undefined;
          expect(() => (p = SSHConfig.fromText(text).lookup('h', { ...LOCAL, [name]: v }))).not.toThrow();
          expectRefusal(await p!.catch((e: unknown) => e), name, v);
          expectRefusal(
            thrown(() => SSHConfig.fromText(text).lookupSync('h', { ...LOCAL, [name]: v })),
            name,
            v,
          );
          expect(existsSync(marker)).toBe(false);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }

  for (const [what, v] of BAD_DURATIONS) {
    it(`canonicalize() rejects and systemResolver() throws for a dnsTimeoutMs of ${what}`, async () => {
      const c = SSHConfig.fromText('');
      const dict = await c.lookup('h', LOCAL);
      expectRefusal(await c.canonicalize('h', dict, ['example.com'], { dnsTimeoutMs: v }).catch((e: unknown) => e), 'dnsTimeoutMs', v);
      expectRefusal(
        thrown(() => systemResolver(v)),
        'dnsTimeoutMs',
        v,
      );
    });
  }

  it('execTimeoutMs 0 (no limit) and 2^31-1 run Match exec to its end, sync and async', async () => {
    for (const v of [0, MAX_MS]) {
      expect(SSHConfig.fromText(cfg).lookupSync('h', { ...LOCAL, execTimeoutMs: v }).port).toBe(7);
      expect((await SSHConfig.fromText(cfg).lookup('h', { ...LOCAL, execTimeoutMs: v })).port).toBe(7);
    }
  });

  it('dnsTimeoutMs 0 (no limit) and 2^31-1: the system resolver still answers', async () => {
    for (const v of [0, MAX_MS]) {
      // (Rooted "localhost." is not in /etc/hosts for glibc, so ask for the plain name here.)
      expect(await systemResolver(v)('localhost', 4)).toBe(true);
      expect(await systemResolver(v)('no-such-host.invalid.', 0)).toBe(false);
    }
  });
});
