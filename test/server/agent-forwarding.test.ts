/**
 * Agent forwarding, server side: when checkChannelForwardAgentRequest
 * grants a session's auth-agent-req, programs in that session reach the
 * client's ssh-agent through a private socket (SSH_AUTH_SOCK for spawned
 * commands, proc.agentPath for a processFactory). Clients: OpenSSH `ssh -A`,
 * Paramiko's AgentRequestHandler, AsyncSSH's agent_forwarding, and ours (connect() and the Paramiko-shaped
 * AgentRequestHandler, the latter also against sshd).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentClient,
  AgentRequestHandler,
  AgentServerProxy,
  AUTH_SUCCESSFUL,
  connect,
  SSHClient,
  AutoAddPolicy,
  type SSHServerConnection,
  type SSHServerProcess,
} from '../../ts/index.js';
import { makeKey, startAgent, type Agent } from '../auth/system.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { makeFixture, run, ssh, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let agent: Agent;
let agentKey: string;
let agentFingerprint: string;

beforeAll(async () => {
  fx = makeFixture('sshwire-server-agent-');
  agentKey = makeKey(fx.dir, 'in-agent', 'ecdsa');
  agent = await startAgent(fx.dir);
  agent.add(agentKey);
  agentFingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${agentKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  fx?.cleanup();
});

/** A server running commands locally that grants agent forwarding when `grant` says so. */
async function spawningServer(grant: boolean): Promise<Running> {
  return startServer(fx, {
    authorizedClientKeys: fx.authorizedKeys,
    spawnCommands: { cwd: fx.root },
    server: { checkChannelForwardAgentRequest: () => grant },
  });
}

const withAgent = (): NodeJS.ProcessEnv => ({ ...process.env, SSH_AUTH_SOCK: agent.socket });

describe('OpenSSH ssh -A against our server', () => {
  it('a spawned command lists and signs with the client\'s agent; the socket is private and goes away with the connection', async () => {
    const r = await spawningServer(true);
    try {
      const list = await ssh(fx, r, ['-A', 'ssh-add -l; echo "sock=$SSH_AUTH_SOCK"; stat -c %a "$(dirname "$SSH_AUTH_SOCK")"'], { env: withAgent() });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(agentFingerprint);
      const sock = /sock=(\S+)/.exec(list.stdout)![1]!;
      expect(list.stdout).toMatch(/\n700\n$/);
      // The connection is over: its socket and directory are removed.
      await expect.poll(() => existsSync(dirname(sock)), { timeout: 5000 }).toBe(false);

      const data = join(fx.dir, 'to-sign');
      const sign = await ssh(fx, r, ['-A', `printf hello > ${data} && ssh-keygen -Y sign -f ${agentKey}.pub -n file ${data}`], { env: withAgent() });
      expect(sign.code, sign.stderr).toBe(0);
      const pub = readFileSync(`${agentKey}.pub`, 'utf8').trim().split(' ');
      const signers = join(fx.dir, 'allowed');
      execFileSync('sh', ['-c', `echo "me ${pub[0]} ${pub[1]}" > ${signers} && ssh-keygen -Y verify -f ${signers} -I me -n file -s ${data}.sig < ${data}`]);
    } finally {
      await r.server.close();
    }
  });

  it('no agent without -A, and none when the policy refuses', async () => {
    const granting = await spawningServer(true);
    try {
      const without = await ssh(fx, granting, ['echo "[$SSH_AUTH_SOCK]"; ssh-add -l'], { env: withAgent() });
      expect(without.stdout).toContain('[]');
      expect(without.code).toBe(2);
    } finally {
      await granting.server.close();
    }
    const refusing = await spawningServer(false);
    try {
      const refused = await ssh(fx, refusing, ['-A', 'echo "[$SSH_AUTH_SOCK]"; ssh-add -l'], { env: withAgent() });
      expect(refused.stdout).toContain('[]');
      expect(refused.code).toBe(2);
    } finally {
      await refusing.server.close();
    }
  });
});

describe('Python clients against our server', () => {
  it('the session sees the agent of the Python client', async () => {
    const r = await spawningServer(true);
    try {
      const code = `
import sys, paramiko
from paramiko.agent import AgentRequestHandler
c = paramiko.SSHClient()
c.load_host_keys(sys.argv[3])
c.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', key_filename=sys.argv[2], allow_agent=False, look_for_keys=False)
s = c.get_transport().open_session()
h = AgentRequestHandler(s)
s.exec_command('ssh-add -l')
out = b''
while True:
    d = s.recv(65536)
    if not d: break
    out += d
print(out.decode(), 'status', s.recv_exit_status())
h.close()
c.close()
`;
      const withSock = await run('/usr/bin/python3', ['-c', code, String(r.port), fx.key, r.knownHosts], { env: withAgent() });
      expect(withSock.code, withSock.stderr).toBe(0);
      expect(withSock.stdout).toContain(agentFingerprint);
      expect(withSock.stdout).toContain('status 0');
    } finally {
      await r.server.close();
    }
  });

  it('AsyncSSH with agent_forwarding=True', async () => {
    const r = await spawningServer(true);
    try {
      const code = `
import sys, asyncio, asyncssh
async def main():
    async with asyncssh.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', client_keys=[sys.argv[2]], known_hosts=sys.argv[3], agent_forwarding=True) as conn:
        r = await conn.run('ssh-add -l')
        print(r.stdout, 'status', r.exit_status)
asyncio.run(main())
`;
      const res = await run('/usr/bin/python3', ['-W', 'ignore', '-c', code, String(r.port), fx.key, r.knownHosts], { env: withAgent() });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(agentFingerprint);
      expect(res.stdout).toContain('status 0');
    } finally {
      await r.server.close();
    }
  });
});

describe('our client against our server', () => {
  it('a processFactory gets proc.agentPath and can use the client\'s agent there', async () => {
    const seen: Array<string | null> = [];
    const listed: string[] = [];
    const server = await startServer(fx, {
      server: { checkAuthNone: () => AUTH_SUCCESSFUL, checkChannelForwardAgentRequest: () => true },
      processFactory: async (proc: SSHServerProcess) => {
        seen.push(proc.agentPath);
        if (proc.agentPath) {
          const keys = await new AgentClient(proc.agentPath).listIdentities();
          for (const k of keys) listed.push(k.comment);
        }
        proc.exit(0);
      },
    });
    try {
      await using c = await connect(ownServerLogin(server.port, { agent: agent.socket }));
      await c.run('one');
      await c.run('two', { agentForwarding: true });
      expect(seen[0]).toBeNull();
      expect(seen[1]).toMatch(/sshwire-agent-/);
      expect(statSync(dirname(seen[1]!)).mode & 0o777).toBe(0o700);
      expect(statSync(seen[1]!).mode & 0o777).toBe(0o600);
      expect(listed).toEqual(['in-agent']);
    } finally {
      await server.server.close();
    }
  });

  it('AgentServerProxy on its own: getEnv, an agent channel per connection, close removes the socket', async () => {
    let proxy: AgentServerProxy | null = null;
    let conn: SSHServerConnection | null = null;
    const server = await startServer(fx, {
      server: { checkAuthNone: () => AUTH_SUCCESSFUL, checkChannelForwardAgentRequest: () => true },
      processFactory: (proc) => {
        conn = proc.connection;
        proc.exit(0);
      },
    });
    try {
      await using c = await connect(ownServerLogin(server.port, { agent: agent.socket }));
      await c.run('x', { agentForwarding: true });
      proxy = new AgentServerProxy(conn!);
      await proxy.connect();
      const env = proxy.getEnv();
      expect(env.SSH_AUTH_SOCK).toBe(proxy.path);
      // Not execFileSync: the socket is served by this very process.
      const out = await run('ssh-add', ['-l'], { env: { ...process.env, ...env }, timeout: 20_000 });
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(agentFingerprint);
      proxy.close();
      expect(existsSync(proxy.path)).toBe(false);
      await expect(proxy.connect()).rejects.toMatchObject({ code: 'ERR_SSH_NOT_CONNECTED' });
    } finally {
      proxy?.close();
      await server.server.close();
    }
  });
});

describe('AgentRequestHandler (Paramiko shape) on our client', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshdTrusting(fx.key);
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('forwards the local agent to one session of an SSHClient', async () => {
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    await client.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: fx.key, allowAgent: false, lookForKeys: false });
    try {
      // Before any handler: no agent in the session.
      const plain = await client.getConnection()!.openSession();
      await plain.exec('ssh-add -l');
      plain.resume();
      expect(await plain.recvExitStatus()).toBe(2);

      const session = await client.getConnection()!.openSession();
      const handler = new AgentRequestHandler(session, { agentPath: agent.socket });
      expect(handler.socketPath).toBe(agent.socket);
      await session.exec('ssh-add -l');
      let out = '';
      session.on('data', (d: Buffer) => (out += d.toString()));
      expect(await handler.granted).toBe(true);
      expect(await session.recvExitStatus()).toBe(0);
      expect(out).toContain(agentFingerprint);
    } finally {
      client.close();
    }
  });

  it('without a local agent it throws ERR_SSH_BAD_OPTION', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    try {
      await client.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: fx.key, allowAgent: false, lookForKeys: false });
      const session = await client.getConnection()!.openSession();
      expect(() => new AgentRequestHandler(session)).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_OPTION' }));
      session.close();
    } finally {
      client.close();
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });
});
