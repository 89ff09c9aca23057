/**
 * Starting a process: one `timeout` covers opening the channel and the
 * start requests together; runCommand honours `subsystem`; the peer's
 * opens have their channel id before they are decided.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelException, TimeoutError } from '../../ts/errors.js';
import { execProcess, runCommand, type Channel, type IncomingChannelRequest, type SessionChannel } from '../../ts/connection/index.js';
import { connectionPair, type ConnPair } from './helpers.js';

let pair: ConnPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A server that confirms each session `openDelay` ms late and answers its start request `replyDelay` ms late. */
async function slowServer(openDelay: number, replyDelay: number): Promise<{ pair: ConnPair; channels: SessionChannel[] }> {
  const p = (pair = await connectionPair());
  const channels: SessionChannel[] = [];
  p.server.onChannelOpen((req) => {
    setTimeout(() => {
      const ch = req.acceptSession({
        onRequest: async (r) => {
          if (r.type !== 'exec' && r.type !== 'subsystem') return false;
          await sleep(replyDelay);
          setImmediate(() => {
            // The client may have given up and closed the channel meanwhile.
            if (ch.isClosed || ch.writableEnded) return;
            ch.write('started\n');
            ch.sendExitStatus(0);
            ch.end();
            ch.close();
          });
          return true;
        },
      });
      channels.push(ch);
    }, openDelay);
  });
  return { pair: p, channels };
}

describe('ExecOptions.timeout: one deadline for opening and starting', () => {
  it('execProcess: an open and a start reply each within the timeout but together beyond it time out', async () => {
    const { pair: p, channels } = await slowServer(250, 500);
    const t0 = Date.now();
    const err = await execProcess(p.client, 'cmd', { timeout: 600 }).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(1_100);
    // The half-started channel was given up.
    await sleep(50);
    expect(channels).toHaveLength(1);
    await Promise.race([channels[0]!.exit.catch(() => {}), sleep(2_000)]);
    expect(channels[0]!.isClosed).toBe(true);
  });

  it('runCommand: the same deadline bounds the start ("did not start within")', async () => {
    const { pair: p } = await slowServer(250, 500);
    const err = (await runCommand(p.client, 'cmd', { timeout: 600 }).catch((e: unknown) => e)) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/did not start within 600 ms/);
  });

  it('a start that fits the deadline succeeds', async () => {
    const { pair: p } = await slowServer(100, 100);
    const proc = await execProcess(p.client, 'cmd', { timeout: 2_000 });
    expect((await proc.exit).exitStatus).toBe(0);
    const r = await runCommand(p.client, 'cmd', { timeout: 2_000 });
    expect(r.stdout).toBe('started\n');
  });
});

describe('runCommand with a subsystem', () => {
  /** Serves subsystem `upper` (stdin upper-cased) and records every start request. */
  async function subsystemServer(): Promise<{ pair: ConnPair; requests: string[] }> {
    const p = (pair = await connectionPair());
    const requests: string[] = [];
    p.server.onChannelOpen((req) => {
      const ch = req.acceptSession({
        onRequest: (r) => {
          const info = r.info;
          if (info?.type === 'exec') requests.push(`exec ${info.command}`);
          if (info?.type === 'shell') requests.push('shell');
          if (info?.type !== 'subsystem') return false;
          requests.push(`subsystem ${info.name}`);
          if (info.name !== 'upper') return false;
          const parts: Buffer[] = [];
          ch.on('data', (d: Buffer) => parts.push(d));
          ch.once('end', () => {
            ch.write(Buffer.concat(parts).toString().toUpperCase());
            ch.sendExitStatus(0);
            ch.end();
            ch.close();
          });
          return true;
        },
      });
    });
    return { pair: p, requests };
  }

  it("starts the subsystem (command '' or null) and returns its output", async () => {
    const { pair: p, requests } = await subsystemServer();
    const r = await runCommand(p.client, '', { subsystem: 'upper', stdin: 'hello' });
    expect(r).toMatchObject({ stdout: 'HELLO', exitStatus: 0, subsystem: 'upper', command: '' });
    const r2 = await runCommand(p.client, null, { subsystem: 'upper', stdin: 'again' });
    expect(r2.stdout).toBe('AGAIN');
    expect(requests).toEqual(['subsystem upper', 'subsystem upper']);
  });

  it('a refused subsystem rejects with ChannelException; a command with a subsystem too', async () => {
    const { pair: p, requests } = await subsystemServer();
    await expect(runCommand(p.client, '', { subsystem: 'nope' })).rejects.toBeInstanceOf(ChannelException);
    await expect(runCommand(p.client, 'ls', { subsystem: 'upper' })).rejects.toBeInstanceOf(ChannelException);
    expect(requests).toEqual(['subsystem nope']);
  });
});

describe("the peer's channel opens", () => {
  it('know their localId before the decision; it is reserved meanwhile and the accepted channel has it', async () => {
    const p = (pair = await connectionPair());
    const held: IncomingChannelRequest[] = [];
    p.server.onChannelOpen((req) => held.push(req));
    const opening = [p.client.openChannel('one'), p.client.openChannel('two'), p.client.openChannel('three')];
    for (let i = 0; i < 50 && held.length < 3; i++) await sleep(10);
    expect(held).toHaveLength(3);
    const ids = held.map((r) => r.localId);
    expect(new Set(ids).size).toBe(3);
    // Rejecting frees an id; accepting gives the channel the id announced.
    held[1]!.reject();
    const a = held[0]!.accept();
    const c = held[2]!.accept();
    expect(a.localId).toBe(ids[0]);
    expect(c.localId).toBe(ids[2]);
    const [ra, rb, rc] = await Promise.allSettled(opening);
    expect(ra.status).toBe('fulfilled');
    expect(rb.status).toBe('rejected');
    expect(rc.status).toBe('fulfilled');
    // The client's CHANNEL_OPEN_CONFIRMATION named the same ids.
    expect((ra as PromiseFulfilledResult<Channel>).value.remoteId).toBe(ids[0]);
    expect((rc as PromiseFulfilledResult<Channel>).value.remoteId).toBe(ids[2]);
  });
});
