/**
 * Methods that return a promise report a bad argument by rejecting, never
 * by throwing before the promise exists: `openSession({ window: 0 })`,
 * `sendBreak(-1)`, `requestX11({ screen: -1 })` and `setEnv` with a name
 * that is not a string all reject with SSHException, and nothing is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SSHException } from '../../ts/errors.js';
import { connectionPair, type ConnPair } from './helpers.js';

let pair: ConnPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

/** Calls `f` and returns its outcome as a value; a synchronous throw is reported as such. */
function outcome(f: () => Promise<unknown>): Promise<unknown> {
  let p: Promise<unknown>;
  try {
    p = f();
  } catch (e) {
    return Promise.resolve({ threwSynchronously: e });
  }
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

describe('bad arguments to promise-returning methods', () => {
  it('openSession and openChannel with a bad window or packet size reject', async () => {
    const p = (pair = await connectionPair());
    let opened = 0;
    p.server.onChannelOpen((req) => {
      opened++;
      req.acceptSession({});
    });
    for (const opts of [{ window: 0 }, { window: 1.5 }, { maxPacketSize: 0 }, { maxPacketSize: 2 ** 40 }]) {
      const got = await outcome(() => p.client.openSession(opts));
      expect(got, JSON.stringify(opts)).toBeInstanceOf(SSHException);
      expect((got as SSHException).code).toBe('ERR_SSH_BAD_OPTION');
    }
    expect(await outcome(() => p.client.openChannel('direct-tcpip', new Uint8Array(0), { window: -1 }))).toBeInstanceOf(SSHException);
    expect(opened).toBe(0);
  });

  it('sendBreak, requestX11 and setEnv with bad values reject', async () => {
    const p = (pair = await connectionPair());
    const requests: string[] = [];
    p.server.onChannelOpen((req) => {
      req.acceptSession({
        onRequest: (r) => {
          requests.push(r.type);
          return true;
        },
      });
    });
    const ch = await p.client.openSession();
    for (const [what, f] of [
      ['sendBreak(-1)', () => ch.sendBreak(-1)],
      ['sendBreak(1.5)', () => ch.sendBreak(1.5)],
      ['requestX11 screen -1', () => ch.requestX11({ screen: -1 })],
      ['setEnv with a number for a name', () => ch.setEnv(5 as unknown as string, 'v')],
    ] as const) {
      const got = await outcome(f);
      expect(got, what).toBeInstanceOf(SSHException);
    }
    // A good request still goes through afterwards.
    expect(await ch.sendBreak(10)).toBe(true);
    expect(requests).toEqual(['break']);
  });
});
