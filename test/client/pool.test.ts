/**
 * pool(): bounded concurrency for bulk execution and tree transfers. A
 * failure or an abort stops new work, and the returned promise settles
 * only once the work already running has settled.
 */
import { describe, expect, it } from 'vitest';
import { pool } from '../../ts/connection/pool.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Work whose item is how long it takes; logs starts and ends. */
function timedWork(log: string[]): (ms: number) => Promise<void> {
  return async (ms) => {
    log.push(`start ${ms}`);
    await sleep(ms);
    log.push(`end ${ms}`);
  };
}

describe('pool', () => {
  it('runs everything, never more than `limit` at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await pool([5, 1, 3, 2, 4], 2, async (i) => {
      running++;
      most = Math.max(most, running);
      await sleep(i * 5);
      running--;
      done.push(i);
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('a limit below one (or not an integer) is refused, not a run of nothing reported as success', async () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(pool([1], limit, async () => {})).rejects.toThrow(RangeError);
    }
    await expect(pool([], 1, async () => {})).resolves.toBeUndefined();
  });

  it('an abort starts no new work and settles only after the running work has finished', async () => {
    const ac = new AbortController();
    const log: string[] = [];
    const work = timedWork(log);
    setTimeout(() => ac.abort('stop'), 10);
    const settled = pool([30, 120, 5, 5], 2, work, ac.signal).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    const outcome = await settled;
    // What was running when the abort came (120 ms) finished before the promise settled.
    const atSettle = [...log];
    // A reason that is not an Error comes wrapped, as everywhere in the library.
    expect(outcome).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'stop' });
    expect(atSettle).toEqual(['start 30', 'start 120', 'end 30', 'end 120']);
    // Nothing starts later either.
    await sleep(50);
    expect(log).toEqual(atSettle);
  });

  it('an abort rejects with the signal\'s reason as it is (an AbortError when none was given)', async () => {
    const ac = new AbortController();
    ac.abort();
    const started: number[] = [];
    const err = await pool([1, 2], 1, async (i) => void started.push(i), ac.signal).catch((e: unknown) => e);
    expect(started).toEqual([]);
    expect(err).toBe(ac.signal.reason);
    expect((err as Error).name).toBe('AbortError');
  });

  it('an abort after the last item started leaves finished work successful', async () => {
    const ac = new AbortController();
    const log: string[] = [];
    setTimeout(() => ac.abort(new Error('late')), 10);
    await expect(pool([30, 40], 2, timedWork(log), ac.signal)).resolves.toBeUndefined();
    expect(log).toEqual(['start 30', 'start 40', 'end 30', 'end 40']);
  });

  it('the first failure stops new work, waits for the running work, and is rethrown', async () => {
    const log: string[] = [];
    const work = timedWork(log);
    const boom = new Error('boom');
    const err = await pool(
      [10, 80, 5, 5],
      2,
      async (ms) => {
        if (ms === 10) {
          log.push('start 10');
          await sleep(10);
          throw boom;
        }
        await work(ms);
      },
    ).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(log).toEqual(['start 10', 'start 80', 'end 80']);
  });
});
