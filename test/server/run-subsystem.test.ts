/**
 * conn.run() with `subsystem` (AsyncSSH's run(subsystem=...)), as
 * `run({ subsystem })` or `run('', { subsystem })`, reaches a server
 * subsystem handler instead of running a command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, ChannelException, connect, PrivateKey, type ConnectOptions, type SessionChannel } from '../../ts/index.js';
import { makeFixture, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
const clientKey = PrivateKey.generate('ed25519');

beforeAll(() => {
  fx = makeFixture('sshwire-server-runsub-');
});
afterAll(() => fx?.cleanup());

function opts(r: Running): ConnectOptions {
  return { host: '127.0.0.1', port: r.port, username: 'tester', knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false, privateKey: clientKey };
}

describe('conn.run with a subsystem', () => {
  it('runs the subsystem handler: its output and exit status come back; a command with a subsystem is refused', async () => {
    const commands: string[] = [];
    const r = await startServer(fx, {
      server: {
        checkAuthPublickey: (_u, k) => (Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob)) ? AUTH_SUCCESSFUL : AUTH_FAILED),
      },
      // Would run any exec: a run that ignored `subsystem` would end up here.
      processFactory: (proc) => {
        commands.push(proc.command ?? `<${proc.subsystem}>`);
        proc.stdout.write('a command ran');
        proc.exit(0);
      },
      subsystems: {
        upper: async (channel: SessionChannel, info) => {
          const parts: Buffer[] = [];
          for await (const d of channel) parts.push(d as Buffer);
          channel.write(`${info.name}: ${Buffer.concat(parts).toString().toUpperCase()}`);
          channel.sendExitStatus(7);
        },
      },
    });
    try {
      const conn = await connect(opts(r));
      const res = await conn.run('', { subsystem: 'upper', stdin: 'hello', timeout: 10_000 });
      expect(res.stdout).toBe('upper: HELLO');
      expect(res.exitStatus).toBe(7);
      expect(res.subsystem).toBe('upper');
      // AsyncSSH's shape: no command at all.
      const bare = await conn.run({ subsystem: 'upper', stdin: 'again', timeout: 10_000 });
      expect([bare.stdout, bare.exitStatus, bare.subsystem]).toEqual(['upper: AGAIN', 7, 'upper']);
      await expect(conn.run('ls', { subsystem: 'upper' })).rejects.toBeInstanceOf(ChannelException);
      expect(commands).toEqual([]);
      conn.close();
    } finally {
      await r.server.close();
    }
  });
});
