/**
 * The connection layer against a hostile peer (test/helpers/connectionFuzz.ts):
 * random and mutated channel and global messages while our Connection, as
 * client or as server, opens sessions, runs commands, writes and asks
 * global requests. Every call settles with a value or a typed error, and a
 * Connection that gives up says why with an SSHException.
 */
import { describe, expect, it } from 'vitest';
import { fuzzConnection } from '../helpers/connectionFuzz.js';

describe('Connection against a hostile peer', () => {
  for (const role of ['client', 'server'] as const) {
    it(`as ${role}: 80 operations, each settling with a value or a typed error`, async () => {
      const tally = await fuzzConnection(role === 'client' ? 11 : 12, 80, role);
      const ops = [...tally].filter(([k]) => !k.startsWith('closed:')).reduce((a, [, n]) => a + n, 0);
      expect(ops).toBe(80);
      // Work gets done between the violations, and violations end connections.
      expect([...tally.keys()].some((k) => k.endsWith(' ok'))).toBe(true);
      expect(tally.get('closed: ProtocolError') ?? 0).toBeGreaterThan(0);
    }, 120_000);
  }
});
