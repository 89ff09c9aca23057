/**
 * Bulk execution (mapHosts / runOnHosts) against sshd: per-host results in
 * target order, failures confined to their host, the concurrency bound,
 * several channels per host, and abort.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, AuthenticationException, NoValidConnectionsError, SSHException } from '../../ts/errors.js';
import { connect, mapHosts, parseTarget, runOnHosts, type ConnectOptions } from '../../ts/client.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { freePort, startSshdTrusting, type Sshd } from '../helpers/sshd.js';

let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
let key: string;
let shared: Partial<ConnectOptions>;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-bulk-');
  key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
  sshd = await startSshdTrusting(key, { config: ['MaxStartups 50', 'MaxSessions 20'] });
  shared = { privateKey: key, knownHosts: null, agent: false, lookForKeys: false, config: false, readyTimeout: 10_000 };
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  tmp?.cleanup();
});

describe('parseTarget', () => {
  it('splits user, host and port, with IPv6 in brackets', () => {
    expect(parseTarget('example.org')).toEqual({ host: 'example.org' });
    expect(parseTarget('alice@example.org:2222')).toEqual({ host: 'example.org', port: 2222, username: 'alice' });
    expect(parseTarget('bob@[::1]:22')).toEqual({ host: '::1', port: 22, username: 'bob' });
    expect(parseTarget('[fe80::1]')).toEqual({ host: 'fe80::1' });
    expect(parseTarget('fe80::1')).toEqual({ host: 'fe80::1' });
  });

  it('refuses empty hosts and bad ports with a typed error', () => {
    for (const bad of ['', '@host', 'host:0', 'host:70000', 'host:x', '[::1', '[::1]x']) {
      expect(() => parseTarget(bad), bad).toThrow(SSHException);
    }
  });
});

describe('runOnHosts', () => {
  it('gives every host its own result, in target order, failures included', async () => {
    const closed = await freePort();
    const good = `root@127.0.0.1:${sshd.port}`;
    const targets = [good, `127.0.0.1:${closed}`, { host: '127.0.0.1', port: sshd.port, username: 'no-such-user-here' }, good];
    const finished: string[] = [];
    const results = await runOnHosts(targets, ['echo $((6*7))', 'echo err >&2; exit 3'], {
      connect: shared,
      concurrency: 2,
      onResult: (r) => finished.push(String(r.port)),
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    for (const i of [0, 3]) {
      const [a, b] = results[i]!.value!;
      expect(a!.stdout).toBe('42\n');
      expect(a!.exitStatus).toBe(0);
      expect(b!.stderr).toBe('err\n');
      expect(b!.exitStatus).toBe(3);
    }
    expect(results[1]!.error).toBeInstanceOf(NoValidConnectionsError);
    expect(results[2]!.error).toBeInstanceOf(AuthenticationException);
    expect(results[1]!.port).toBe(closed);
    expect(finished).toHaveLength(4);
  }, 30_000);

  it('never works on more hosts at once than `concurrency`', async () => {
    const targets = Array.from({ length: 7 }, () => `root@127.0.0.1:${sshd.port}`);
    const results = await runOnHosts(targets, 'sleep 0.1; echo ok', { connect: shared, concurrency: 3 });
    expect(results.every((r) => r.ok && r.value![0]!.stdout === 'ok\n')).toBe(true);
    // At each start, count the hosts whose interval contains it.
    const most = Math.max(...results.map((r) => results.filter((o) => o.startedAt <= r.startedAt && r.startedAt < o.endedAt).length));
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  }, 30_000);

  it('runs a host\'s commands on several channels at once, results in command order', async () => {
    const cmds = Array.from({ length: 6 }, (_, i) => `sleep 0.0${6 - i}; echo ${i}`);
    const [r] = await runOnHosts([`root@127.0.0.1:${sshd.port}`], cmds, { connect: shared, channelsPerHost: 3 });
    expect(r!.ok).toBe(true);
    expect(r!.value!.map((x) => x.stdout)).toEqual(cmds.map((_, i) => `${i}\n`));
  }, 30_000);

  it('an abort stops the remaining hosts; their results carry the abort', async () => {
    const ac = new AbortController();
    const targets = Array.from({ length: 4 }, () => `root@127.0.0.1:${sshd.port}`);
    const results = await runOnHosts(targets, 'echo hi', {
      connect: shared,
      concurrency: 1,
      signal: ac.signal,
      onResult: () => ac.abort(),
    });
    expect(results[0]!.ok).toBe(true);
    for (const r of results.slice(1)) {
      expect(r.ok).toBe(false);
      expect(r.error?.name).toBe('AbortError');
    }
  }, 30_000);

  it('an abort with a reason that is not an Error gives the same AbortError as aborting connect()', async () => {
    const shape = (e: unknown): Record<string, unknown> => {
      const err = e as Error & { code?: unknown };
      return { ctor: err?.constructor, name: err?.name, message: err?.message, code: err?.code };
    };
    // A server that accepts and never speaks: the attempts are still connecting when the abort comes.
    const silent = net.createServer((s) => s.resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      // Aborted before they start.
      const before = AbortSignal.abort('stop now');
      const viaConnect = await connect({ host: '127.0.0.1', port, ...shared, signal: before }).catch((e: unknown) => e);
      const [early] = await mapHosts([`root@127.0.0.1:${port}`], async () => 1, { connect: shared, signal: before });
      expect(early!.ok).toBe(false);
      expect(shape(early!.error)).toEqual(shape(viaConnect));
      expect(shape(viaConnect)).toMatchObject({ ctor: AbortError, name: 'AbortError', message: 'stop now', code: 'ABORT_ERR' });

      // Aborted while connecting.
      const ac1 = new AbortController();
      const ac2 = new AbortController();
      const connecting = connect({ host: '127.0.0.1', port, ...shared, signal: ac1.signal }).catch((e: unknown) => e);
      const bulk = runOnHosts([`root@127.0.0.1:${port}`, `root@127.0.0.1:${port}`], 'true', { connect: shared, concurrency: 1, signal: ac2.signal });
      setTimeout(() => {
        ac1.abort('stop later');
        ac2.abort('stop later');
      }, 100);
      const [midConnect, results] = await Promise.all([connecting, bulk]);
      expect(shape(midConnect)).toMatchObject({ name: 'AbortError', message: 'stop later', code: 'ABORT_ERR' });
      for (const r of results) {
        expect(r.ok).toBe(false);
        expect(shape(r.error)).toEqual(shape(midConnect));
      }
    } finally {
      await new Promise((r) => silent.close(r));
    }
  }, 30_000);

  it('refuses bad options before connecting anywhere', async () => {
    await expect(runOnHosts(['h'], 'true', { concurrency: 0 })).rejects.toThrow(SSHException);
    await expect(runOnHosts(['h'], 'true', { channelsPerHost: 1.5 })).rejects.toThrow(SSHException);
    await expect(mapHosts([{ host: '' } as ConnectOptions], async () => 1)).rejects.toThrow(SSHException);
    // A bad duration in the shared options or in one target fails the call, not each host's result.
    const refused = await runOnHosts(['h1', 'h2'], 'true', { connect: { readyTimeout: Number.POSITIVE_INFINITY } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'SSHException', code: 'ERR_SSH_BAD_OPTION' });
    await expect(mapHosts(['h1', { host: 'h2', authTimeout: -1 }], async () => 1)).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  });
});
