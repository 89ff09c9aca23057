/**
 * InlineGuard: when local file I/O may stay on the event loop.
 */
import { describe, expect, it } from 'vitest';
import { InlineGuard, budget } from '../../ts/sftp/localIO.js';

const MiB = 1024 * 1024;

describe('InlineGuard', () => {
  it('budgets grow with the bytes moved', () => {
    const b = budget(4, 4);
    expect(b(0)).toBe(4);
    expect(b(MiB)).toBe(8);
    expect(b(MiB / 4)).toBe(5);
  });

  it('stays inline while operations keep within budget, and through a lone slow one', () => {
    const g = new InlineGuard(true, { budgetMs: () => 1, hardLimitMs: 20 });
    for (let i = 0; i < 100; i++) g.record(0.1, MiB);
    expect(g.on).toBe(true);
    g.record(4, MiB); // four times the budget, once
    expect(g.on).toBe(true);
    for (let i = 0; i < 20; i++) g.record(0.2, MiB);
    expect(g.on).toBe(true);
  });

  it('leaves inline I/O once operations keep running over budget', () => {
    const g = new InlineGuard(true, { budgetMs: () => 1, hardLimitMs: 20 });
    let ops = 0;
    while (g.on && ops < 100) {
      g.record(2, MiB);
      ops++;
    }
    expect(g.on).toBe(false);
    // Twice the budget every time: the running average passes 1 after a handful, not at once.
    expect(ops).toBeGreaterThan(3);
    expect(ops).toBeLessThan(20);
    g.record(0.1, MiB);
    expect(g.on).toBe(false);
  });

  it('one operation past the hard limit is enough', () => {
    const g = new InlineGuard(true, { budgetMs: () => 1000, hardLimitMs: 20 });
    g.record(21, MiB);
    expect(g.on).toBe(false);
  });

  it('a guard made off stays off', () => {
    const g = new InlineGuard(false, { budgetMs: () => 1000, hardLimitMs: 20 });
    g.record(0, 0);
    expect(g.on).toBe(false);
  });
});
