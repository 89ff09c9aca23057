/**
 * The SFTP client against a hostile server (test/helpers/sftpClientFuzz.ts):
 * wrong reply types, truncated and padded bodies, strangers' ids, second
 * replies, silence, absurd counts and lengths. Every operation settles, with
 * a value or a typed error, and a failed session is replaced.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSftpClient } from '../helpers/sftpClientFuzz.js';

describe('SFTP client against a hostile server', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: 300 operations, each settling with a value or a typed error`, async () => {
      const tally = await fuzzSftpClient(seed, 300);
      const total = [...tally.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(300);
      // Both plain successes and every kind of refusal occur.
      const kinds = new Set([...tally.keys()].map((k) => k.split(' ')[1]));
      for (const k of ['ok', 'SFTPError', 'ProtocolError', 'SFTPTransferError']) expect(kinds).toContain(k);
    }, 120_000);
  }
});
