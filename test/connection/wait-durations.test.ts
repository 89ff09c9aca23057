/**
 * Timeouts of the connection layer follow the shared duration rule: the
 * connection's requestTimeout option, and every per-call `timeout`
 * (WaitOptions: channel opens, channel and global requests, exit status,
 * execProcess / runCommand). Infinity, NaN, negatives and values past
 * 2^31-1 ms are refused with SSHException ERR_SSH_BAD_OPTION, as a
 * rejection and before anything is sent; 0 (no limit) and 2^31-1 work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, execProcess, resolveConnectionOptions, runCommand, type SessionChannel } from '../../ts/connection/index.js';
import { SSHException } from '../../ts/errors.js';
import { connectionPair, type ConnPair } from './helpers.js';
import { BAD_DURATIONS, MAX_MS } from '../helpers/durations.js';

let pair: ConnPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** A pair whose server counts what reaches it and runs any exec as "print ok, exit 0". */
async function countingPair(): Promise<{ p: ConnPair; seen: { opens: number; requests: number; globals: number } }> {
  const p = (pair = await connectionPair());
  const seen = { opens: 0, requests: 0, globals: 0 };
  p.server.onChannelOpen((req) => {
    seen.opens++;
    const ch: SessionChannel = req.acceptSession({
      onRequest: (r) => {
        seen.requests++;
        if (r.type !== 'exec') return true;
        setImmediate(() => {
          ch.write('ok\n');
          ch.sendExitStatus(0);
          ch.end();
          ch.close();
        });
        return true;
      },
    });
  });
  p.server.onGlobalRequest(() => {
    seen.globals++;
    return true;
  });
  return { p, seen };
}

/** Awaits `make()`'s promise, checking it rejected (never threw) with ERR_SSH_BAD_OPTION naming `timeout` and the value. */
async function refused(make: () => Promise<unknown>, v: number): Promise<void> {
  let p: Promise<unknown> | undefined;
  expect(() => (p = make())).not.toThrow();
  const e = await p!.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SSHException);
  expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  expect((e as Error).message).toContain('timeout must be');
  expect((e as Error).message).toContain(`got ${String(v)}`);
  expect((e as Error).message).toContain('0 means no limit');
}

describe('ConnectionOptions.requestTimeout', () => {
  for (const [what, v] of BAD_DURATIONS) {
    it(`${what} is refused with ERR_SSH_BAD_OPTION`, () => {
      expect(() => resolveConnectionOptions({ role: 'client', requestTimeout: v })).toThrow(SSHException);
      expect(() => resolveConnectionOptions({ role: 'client', requestTimeout: v })).toThrow(/requestTimeout .*0 means no limit/);
      expect(() => new Connection({} as never, { role: 'client', requestTimeout: v })).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_OPTION' }));
    });
  }
  it('0 and 2^31-1 are accepted', () => {
    expect(resolveConnectionOptions({ role: 'client', requestTimeout: 0 }).requestTimeout).toBe(0);
    expect(resolveConnectionOptions({ role: 'client', requestTimeout: MAX_MS }).requestTimeout).toBe(MAX_MS);
  });
});

describe('per-call timeouts', () => {
  for (const [what, v] of BAD_DURATIONS) {
    it(`${what}: openSession / openChannel / globalRequest reject before sending anything`, async () => {
      const { p, seen } = await countingPair();
      await refused(() => p.client.openSession({ timeout: v }), v);
      await refused(() => p.client.openChannel('session', undefined, { timeout: v }), v);
      await refused(() => p.client.globalRequest('x@example.com', undefined, { timeout: v }), v);
      // Still in step: a good call after the refused ones works.
      expect((await p.client.globalRequest('x@example.com')).ok).toBe(true);
      expect(seen).toEqual({ opens: 0, requests: 0, globals: 1 });
    });

    it(`${what}: channel requests and recvExitStatus reject before sending anything`, async () => {
      const { p, seen } = await countingPair();
      const ch = await p.client.openSession();
      await refused(() => ch.request('env', undefined, true, { timeout: v }), v);
      await refused(() => ch.setEnv('A', 'b', { timeout: v }), v);
      await refused(() => ch.exec('x', { timeout: v }), v);
      await refused(() => ch.recvExitStatus({ timeout: v }), v);
      expect(seen.requests).toBe(0);
      await ch.exec('x');
      expect(await ch.recvExitStatus()).toBe(0);
      // Also once the channel has finished: the bad timeout is still refused.
      await refused(() => ch.recvExitStatus({ timeout: v }), v);
    });

    it(`${what}: execProcess and runCommand reject before opening a channel`, async () => {
      const { p, seen } = await countingPair();
      await refused(() => execProcess(p.client, 'x', { timeout: v }), v);
      await refused(() => runCommand(p.client, 'x', { timeout: v }), v);
      await refused(() => runCommand(p.client, null, { timeout: v }), v);
      expect(seen.opens).toBe(0);
    });
  }

  for (const v of [0, MAX_MS]) {
    it(`timeout ${v} is accepted everywhere (0: no limit)`, async () => {
      const { p, seen } = await countingPair();
      const ch = await p.client.openSession({ timeout: v });
      expect(await ch.setEnv('A', 'b', { timeout: v })).toBe(true);
      await ch.exec('x', { timeout: v });
      expect(await ch.recvExitStatus({ timeout: v })).toBe(0);
      expect((await p.client.globalRequest('x@example.com', undefined, { timeout: v })).ok).toBe(true);
      expect((await runCommand(p.client, 'x', { timeout: v })).stdout).toBe('ok\n');
      const proc = await execProcess(p.client, 'x', { timeout: v });
      expect((await proc.exit).exitStatus).toBe(0);
      expect(seen.opens).toBe(3);
    });
  }
});
