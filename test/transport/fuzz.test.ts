import { describe, expect, it } from 'vitest';
import { fuzzServer } from '../helpers/fuzz.js';

describe('fuzz: random bytes after the version exchange', () => {
  it('always ends in a typed error with the transport closed (150 cases)', async () => {
    const codes = await fuzzServer(12345, 150);
    const total = [...codes.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(150);
    // Most inputs are protocol errors, not just hang-ups.
    expect(codes.get('ERR_SSH_PROTOCOL') ?? 0).toBeGreaterThan(30);
  });
});
