/**
 * Shared pieces of the duration tests: the values no duration may take,
 * and the shape of the refusal (the shared rule, checkDuration).
 */
import { expect } from 'vitest';
import { SSHException } from '../../ts/errors.js';

/** The longest delay a Node timer holds, in ms. */
export const MAX_MS = 2 ** 31 - 1;

/** What no duration option may be (after conversion to ms for seconds). */
export const BAD_DURATIONS: [string, number][] = [
  ['Infinity', Number.POSITIVE_INFINITY],
  ['NaN', Number.NaN],
  ['-1', -1],
  ['2^31', 2 ** 31],
];

/** The error `fn` throws, or null. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

/**
 * Checks `e` is the refusal of duration `name` = `v`: an SSHException (or
 * `opts.type`) with code ERR_SSH_BAD_OPTION whose message names the option
 * and the value, and says 0 means no limit when `opts.noLimitAtZero`.
 */
export function expectDurationRefusal(e: unknown, name: string, v: number, opts: { type?: new (...a: never[]) => Error; noLimitAtZero?: boolean } = {}): void {
  expect(e).toBeInstanceOf(opts.type ?? SSHException);
  expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  expect((e as Error).message).toContain(`${name} must be`);
  expect((e as Error).message).toContain(`got ${String(v)}`);
  if (opts.noLimitAtZero) expect((e as Error).message).toContain('0 means no limit');
}
