/**
 * createServer() + handleConnection(stream) (Paramiko's Transport(sock) +
 * start_server): a server fed streams from elsewhere, here a Unix-domain
 * socket, with our client and Paramiko (sock=) as clients; the peer named
 * by the caller reaches the policy; limits still apply.
 */
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, PrivateKey, SSHException, type SSHServer } from '../../ts/index.js';
import { makeFixture, python, type Fixture } from './helpers.js';

let fx: Fixture;
const hostKey = PrivateKey.generate('ed25519');

beforeAll(() => {
  fx = makeFixture('sshwire-handle-');
});
afterAll(() => fx?.cleanup());

/** A Unix socket whose every accepted connection goes to `server.handleConnection`. */
async function unixFront(server: SSHServer, path: string): Promise<net.Server> {
  const front = net.createServer((sock) => server.handleConnection(sock, { remoteAddress: 'unix-peer', remotePort: 7 }));
  await new Promise<void>((r) => front.listen(path, r));
  return front;
}

describe('createServer + handleConnection', () => {
  it('serves clients over a Unix socket: our client and Paramiko; the policy sees the peer the caller named', async () => {
    const seen: string[] = [];
    const server = createServer({
      hostKeys: [hostKey],
      authorizedClientKeys: fx.authorizedKeys,
      server: (conn) => ({
        getAllowedAuths: () => {
          seen.push(`${conn.remoteAddress}:${conn.remotePort}`);
          return ['publickey'];
        },
      }),
      processFactory: (proc) => {
        proc.stdout.write(`over unix: ${proc.command}\n`);
        proc.exit(0);
      },
    });
    expect(() => server.address()).toThrow(SSHException);
    const path = join(fx.dir, 'ssh.sock');
    const front = await unixFront(server, path);
    try {
      const conn = await connect({ host: 'unix', sock: net.connect(path), username: 'u', privateKey: fx.key, knownHosts: [hostKey.publicKey], agent: false, lookForKeys: false, config: false });
      expect((await conn.run('ours')).stdout).toBe('over unix: ours\n');
      await conn.close();
      const script = `
import sys, socket, paramiko
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect('unix', username='u', key_filename=sys.argv[2], sock=s, allow_agent=False, look_for_keys=False)
i, o, e = c.exec_command('paramiko')
print(o.read().decode().strip())
c.close()
`;
      const r = await python(script, [path, fx.key]);
      expect(r.stdout.trim(), r.stderr).toBe('over unix: paramiko');
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(new Set(seen)).toEqual(new Set(['unix-peer:7']));
    } finally {
      front.close();
      await server.close();
    }
  });

  it('maxConnections and a closing server refuse with null and end the stream', async () => {
    const server = createServer({ hostKeys: [hostKey], maxConnections: 1 });
    const [a1, a2] = [new net.Socket(), new net.Socket()];
    const path = join(fx.dir, 'limit.sock');
    const accepted: net.Socket[] = [];
    const front = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => front.listen(path, r));
    try {
      a1.connect(path);
      a2.connect(path);
      for (let i = 0; i < 100 && accepted.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.handleConnection(accepted[0]!)).not.toBeNull();
      expect(server.handleConnection(accepted[1]!)).toBeNull();
      await server.close();
      const late = new net.Socket();
      late.connect(path);
      for (let i = 0; i < 100 && accepted.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.handleConnection(accepted[2]!)).toBeNull();
      late.destroy();
    } finally {
      a1.destroy();
      a2.destroy();
      front.close();
    }
  });
});
