/**
 * Durations that end up in a timer: one rule (checkDuration) refuses what
 * setTimeout cannot hold (Node turns Infinity, NaN and anything past
 * 2^31-1 ms into 1 ms), negatives and non-numbers, with SSHException
 * ERR_SSH_BAD_OPTION naming the option and the value; the transport's time
 * options follow it, and their largest values are timers that do not fire.
 */
import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SSHException } from '../../ts/errors.js';
import { timedWait } from '../../ts/transport/deferred.js';
import { checkDuration, MAX_TIMER_MS, resolveTransportOptions, Transport, type TransportOptions } from '../../ts/transport/index.js';
import { closeBoth, hostKey, transportPair } from '../helpers/pair.js';
import { BAD_DURATIONS, thrown } from '../helpers/durations.js';

/** Collects TimeoutOverflowWarnings while a test runs. */
function watchOverflow(): { warnings: string[]; stop(): void } {
  const warnings: string[] = [];
  const on = (w: Error): void => {
    if (w.name === 'TimeoutOverflowWarning') warnings.push(w.message);
  };
  process.on('warning', on);
  return { warnings, stop: () => process.off('warning', on) };
}

describe('checkDuration', () => {
  it('passes undefined through and returns accepted values unchanged', () => {
    expect(checkDuration('t', undefined)).toBeUndefined();
    for (const v of [0, 1, 0.5, 1500.25, MAX_TIMER_MS]) expect(checkDuration('t', v)).toBe(v);
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });

  it('refuses Infinity, -Infinity, NaN, negatives, 2^31 and non-numbers with SSHException ERR_SSH_BAD_OPTION', () => {
    const bad: unknown[] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -1, -0.5, 2 ** 31, 1e10, '5', null, true, {}];
    for (const v of bad) {
      const e = thrown(() => checkDuration('someTimeout', v as number));
      expect(e, String(v)).toBeInstanceOf(SSHException);
      expect(e, String(v)).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    }
  });

  it('says which option, which value, the range, and what 0 means', () => {
    const e = thrown(() => checkDuration('readyTimeout', Number.POSITIVE_INFINITY, { zero: 'no limit' })) as Error;
    expect(e.message).toBe('readyTimeout must be a number of milliseconds from 0 to 2147483647 (0 means no limit), got Infinity');
    expect((thrown(() => checkDuration('x', Number.NaN)) as Error).message).toBe('x must be a number of milliseconds from 0 to 2147483647, got NaN');
    expect((thrown(() => checkDuration('x', '30' as unknown as number)) as Error).message).toContain('got "30"');
  });

  it('seconds: the cap is what fits a timer after multiplying by 1000', () => {
    const rule = { unitMs: 1000 };
    expect(checkDuration('rekeySeconds', 2147483, rule)).toBe(2147483);
    expect(checkDuration('rekeySeconds', 0, rule)).toBe(0);
    const e = thrown(() => checkDuration('rekeySeconds', 2147484, rule)) as Error;
    expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    expect(e.message).toBe('rekeySeconds must be a number of seconds from 0 to 2147483, got 2147484');
  });

  it('a rule may make its own error type', () => {
    class Mine extends Error {}
    expect(thrown(() => checkDuration('t', -1, { error: (m) => new Mine(m) }))).toBeInstanceOf(Mine);
  });
});

describe('transport time options', () => {
  const base = (): TransportOptions => ({ role: 'server', hostKeys: [hostKey('ssh-ed25519')] });
  const MS_OPTIONS = ['bannerTimeout', 'kexTimeout', 'requestTimeout', 'keepaliveInterval'] as const;

  for (const name of MS_OPTIONS) {
    for (const [what, v] of BAD_DURATIONS) {
      it(`${name} ${what} is refused with ERR_SSH_BAD_OPTION naming it`, () => {
        const e = thrown(() => resolveTransportOptions({ ...base(), [name]: v }));
        expect(e).toBeInstanceOf(SSHException);
        expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
        expect((e as Error).message).toContain(name);
        expect((e as Error).message).toContain(`got ${String(v)}`);
      });
    }
    it(`${name}: 0 and 2^31-1 are accepted`, () => {
      expect(resolveTransportOptions({ ...base(), [name]: 0 })[name]).toBe(0);
      expect(resolveTransportOptions({ ...base(), [name]: MAX_TIMER_MS })[name]).toBe(MAX_TIMER_MS);
    });
  }

  for (const [what, v] of [...BAD_DURATIONS, ['1e7 (past 2^31-1 ms once in ms)', 1e7], ['2147484', 2147484]] as [string, number][]) {
    it(`rekeySeconds ${what} is refused with ERR_SSH_BAD_OPTION`, () => {
      const e = thrown(() => resolveTransportOptions({ ...base(), rekeySeconds: v }));
      expect(e).toBeInstanceOf(SSHException);
      expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect((e as Error).message).toContain('rekeySeconds');
    });
  }

  it('rekeySeconds: 0 and 2147483 (2^31-1 ms in whole seconds) are accepted', () => {
    expect(resolveTransportOptions({ ...base(), rekeySeconds: 0 }).rekeySeconds).toBe(0);
    expect(resolveTransportOptions({ ...base(), rekeySeconds: 2147483 }).rekeySeconds).toBe(2147483);
  });

  it('the Transport constructor refuses them before touching the socket', () => {
    const sock = new net.Socket();
    try {
      const e = thrown(() => new Transport(sock, { ...base(), rekeySeconds: 1e7 }));
      expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
    } finally {
      sock.destroy();
    }
  });

  it('the messages say what 0 means', () => {
    const msg = (o: Partial<TransportOptions>): string => (thrown(() => resolveTransportOptions({ ...base(), ...o })) as Error).message;
    expect(msg({ bannerTimeout: -1 })).toContain('0 means no limit');
    expect(msg({ kexTimeout: -1 })).toContain('0 means no limit');
    expect(msg({ requestTimeout: -1 })).toContain('0 means no limit');
    expect(msg({ keepaliveInterval: -1 })).toContain('0 means no keepalive');
    expect(msg({ rekeySeconds: -1 })).toContain('0 means no rekeying by time');
  });
});

describe('the largest accepted values are timers that do not fire', () => {
  let overflow: ReturnType<typeof watchOverflow>;
  beforeEach(() => {
    overflow = watchOverflow();
  });
  afterEach(() => overflow.stop());

  it('a pair with every time option at its maximum connects, stays up, rekeys never and pings fine', async () => {
    const max: Partial<TransportOptions> = { bannerTimeout: MAX_TIMER_MS, kexTimeout: MAX_TIMER_MS, requestTimeout: MAX_TIMER_MS, keepaliveInterval: MAX_TIMER_MS, rekeySeconds: 2147483 };
    const { client, server } = await transportPair({ client: max, server: max });
    try {
      await Promise.all([client.ready, server.ready]);
      client.authenticated();
      server.authenticated();
      let rekeys = 0;
      client.on('rekey', () => rekeys++);
      server.on('rekey', () => rekeys++);
      await client.ping();
      await new Promise((r) => setTimeout(r, 100));
      expect(rekeys).toBe(0);
      expect(client.isClosed || server.isClosed).toBe(false);
      expect(overflow.warnings).toEqual([]);
    } finally {
      await closeBoth(client, server);
    }
  });

  it('requestTimeout 0 means no limit: a ping waits for its PONG, however long', async () => {
    const { client, server } = await transportPair({ client: { requestTimeout: 0 } });
    try {
      await Promise.all([client.ready, server.ready]);
      await client.ping();
    } finally {
      await closeBoth(client, server);
    }
  });

  it('timedWait(0) sets no timer and never times out by itself', async () => {
    let removed = 0;
    const w = timedWait<void>(0, () => removed++, () => new Error('timed out'));
    expect(w.timer).toBeUndefined();
    const outcome = await Promise.race([w.d.promise.then(() => 'settled', () => 'rejected'), new Promise((r) => setTimeout(() => r('waiting'), 30))]);
    expect(outcome).toBe('waiting');
    expect(removed).toBe(0);
    w.d.resolve();
  });
});
