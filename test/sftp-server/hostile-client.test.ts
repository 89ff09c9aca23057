/**
 * The SFTP server against a hostile client (test/helpers/sftpServerFuzz.ts):
 * every malformed, mistyped or out-of-root request gets a reply with its id
 * or ends the session with a typed error, and nothing outside the served
 * root changes. Longer runs: `npm run fuzz:sftp-server -- count seed`.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSftpServer } from '../helpers/sftpServerFuzz.js';

describe('SFTP server under a hostile client', () => {
  for (const seed of [1, 2, 13]) {
    it(`seed ${seed}: 1500 random requests, each answered or ending the session with a typed error`, async () => {
      const tally = await fuzzSftpServer(seed, 1500);
      const total = [...tally.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(1500);
      // The requests reach the file system, not only the parser.
      expect([...tally.keys()].filter((k) => k.startsWith('reply ')).length).toBeGreaterThanOrEqual(3);
      expect(tally.get('status 0') ?? 0).toBeGreaterThan(50);
      expect(tally.get('status 5') ?? 0).toBeGreaterThan(10);
    }, 120_000);
  }
});
