/**
 * One abort error everywhere: an operation cancelled through its signal
 * rejects with the signal's reason when that is an Error, else with an
 * AbortError (Node's shape: code ABORT_ERR, the reason as cause).
 */
import { describe, expect, it } from 'vitest';
import { AbortError, abortError, SSHException } from '../../ts/errors.js';
import { pool } from '../../ts/connection/pool.js';

describe('abortError', () => {
  it('returns an Error reason itself, the default DOMException included', () => {
    const mine = new SSHException('mine');
    expect(abortError(AbortSignal.abort(mine))).toBe(mine);
    const ac = new AbortController();
    ac.abort();
    expect(abortError(ac.signal)).toBe(ac.signal.reason);
    expect(abortError(ac.signal).name).toBe('AbortError');
  });

  it('wraps any other reason in an AbortError that keeps it as cause', () => {
    const s = abortError(AbortSignal.abort('stop'));
    expect(s).toBeInstanceOf(AbortError);
    expect(s).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', message: 'stop', cause: 'stop' });
    const o = { why: 1 };
    const e = abortError(AbortSignal.abort(o), 'listing was aborted');
    expect(e).toMatchObject({ name: 'AbortError', message: 'listing was aborted', cause: o });
    expect(e).not.toBeInstanceOf(SSHException);
  });
});

describe('pool', () => {
  it('rejects with the same AbortError when aborted with a string', async () => {
    const ac = new AbortController();
    let ran = 0;
    const p = pool([1, 2, 3, 4], 1, async () => {
      ran++;
      ac.abort('enough');
    }, ac.signal);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'enough' });
    expect(ran).toBe(1);
  });
});
