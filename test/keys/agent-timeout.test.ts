/**
 * AgentClient's per-request `timeout` follows the shared duration rule:
 * Infinity, NaN, negatives and values past 2^31-1 ms throw SSHException
 * ERR_SSH_BAD_OPTION from the constructor; 0 (no limit) and 2^31-1 are
 * accepted and a slow agent is still heard.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSHException } from '../../ts/errors.js';
import { AgentClient } from '../../ts/keys/index.js';
import { makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let server: Server;
let sock: string;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-agent-timeout-');
  sock = join(tmp.dir, 'slow.sock');
  // Answers every request, 50 ms late, with an empty SSH_AGENT_IDENTITIES_ANSWER.
  server = createServer((c) => {
    c.on('error', () => undefined);
    c.on('data', () => setTimeout(() => c.write(Buffer.from([0, 0, 0, 5, 12, 0, 0, 0, 0])), 50));
  });
  await new Promise<void>((r) => server.listen(sock, r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  tmp.cleanup();
});

describe('AgentClient timeout', () => {
  for (const [what, v] of [
    ['Infinity', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['-1', -1],
    ['2^31', 2 ** 31],
  ] as const) {
    it(`${what} throws ERR_SSH_BAD_OPTION from the constructor`, () => {
      let e: unknown = null;
      try {
        new AgentClient(sock, { timeout: v });
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(SSHException);
      expect(e).toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect((e as Error).message).toContain('timeout must be');
      expect((e as Error).message).toContain(`got ${String(v)}`);
      expect((e as Error).message).toContain('0 means no limit');
    });
  }

  for (const v of [0, 2 ** 31 - 1]) {
    it(`${v} is accepted and a slow agent is answered (0: no limit)`, async () => {
      const agent = new AgentClient(sock, { timeout: v });
      try {
        expect(agent.timeout).toBe(v);
        expect(await agent.listIdentities()).toEqual([]);
        expect(await agent.listIdentities()).toEqual([]);
      } finally {
        agent.close();
      }
    });
  }
});
