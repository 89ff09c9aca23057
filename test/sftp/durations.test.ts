/**
 * The SFTP session's `readyTimeout` and `timeout` follow the shared
 * duration rule: Infinity, NaN, negatives and values past 2^31-1 ms reject
 * with SFTPError (FAILURE, code ERR_SSH_BAD_OPTION) before anything is sent
 * or opened; 0 (no limit) and 2^31-1 are accepted.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SFTPError } from '../../ts/errors.js';
import { FX, openSftp, SFTPClient, type SubsystemOpener } from '../../ts/sftp/index.js';
import { startServer } from './helpers.js';
import { BAD_DURATIONS, expectDurationRefusal } from '../helpers/durations.js';

function expectRefusal(e: unknown, name: string, v: number): void {
  expectDurationRefusal(e, name, v, { type: SFTPError, noLimitAtZero: true });
  expect(e).toMatchObject({ status: FX.FAILURE });
}

describe('SFTP session durations', () => {
  for (const name of ['readyTimeout', 'timeout'] as const) {
    for (const [what, v] of BAD_DURATIONS) {
      it(`${name} ${what}: fromStream and openSftp reject before sending or opening anything`, async () => {
        const stream = new PassThrough();
        const written: Buffer[] = [];
        stream.on('data', (d: Buffer) => written.push(d));
        let p: Promise<unknown> | undefined;
        expect(() => (p = SFTPClient.fromStream(stream, { [name]: v }))).not.toThrow();
        expectRefusal(await p!.catch((e: unknown) => e), name, v);
        expect(written).toEqual([]);

        let opened = 0;
        const conn: SubsystemOpener = {
          openSession: () => {
            opened++;
            return Promise.reject(new Error('not expected'));
          },
        };
        expectRefusal(await openSftp(conn, { [name]: v }).catch((e: unknown) => e), name, v);
        expect(opened).toBe(0);
      });
    }
  }

  for (const v of [0, 2 ** 31 - 1]) {
    it(`readyTimeout and timeout ${v} are accepted (0: no limit)`, async () => {
      const { client, proc } = await startServer({ readyTimeout: v, timeout: v });
      try {
        expect(client.version).toBe(3);
        expect(await client.realpath('.')).toMatch(/^\//);
      } finally {
        await client.close();
        proc.kill();
      }
    });
  }
});
