/** InOrder: steps run one at a time in the order handed in, a failure does not stop the ones after it. */
import { describe, expect, it } from 'vitest';
import { InOrder } from '../../ts/connection/index.js';

describe('InOrder', () => {
  it('starts each step only after the one before settled, rejections included', async () => {
    const order = new InOrder();
    const log: string[] = [];
    const slow = order.run(async () => {
      log.push('a start');
      await new Promise((r) => setTimeout(r, 30));
      log.push('a end');
      throw new Error('a failed');
    });
    const fast = order.run(() => {
      log.push('b');
      return 2;
    });
    const last = order.run(async () => {
      log.push('c');
      return 3;
    });
    await expect(slow).rejects.toThrow('a failed');
    expect(await fast).toBe(2);
    expect(await last).toBe(3);
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
  });
});
