/**
 * Agent forwarding (`agentForwarding`, like `ssh -A`): through a private
 * sshd, programs in the session see the local ssh-agent (list and sign);
 * without the option, or overridden per call, they do not. Against our own
 * server: an agent channel the client did not ask for is refused, and one
 * it asked for reaches the local agent byte for byte, after a session-bind
 * with is_forwarding set (or unbound, when the agent refuses the binding).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_SUCCESSFUL, type Channel, ChannelException, connect, listen, OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, type SSHServer, type SSHServerConnection } from '../../ts/index.js';
import { makeKey, startAgent, type Agent } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { SSHReader } from '../../ts/wire/index.js';
import { recordingAgent } from '../helpers/recordingAgent.js';

let tmp: { dir: string; cleanup: () => void };
let dir: string;
let key: string;
let agentKey: string;
let agent: Agent;
let sshd: Sshd;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-agent-');
  dir = tmp.dir;
  key = makeKey(dir, 'login', 'ed25519');
  agentKey = makeKey(dir, 'in-agent', 'ecdsa');
  agent = await startAgent(dir);
  agent.add(agentKey);
  sshd = await startSshdTrusting(key);
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await agent?.stop();
  tmp?.cleanup();
});

const fingerprint = (pub: string): string => execFileSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' }).split(' ')[1]!;

describe('agent forwarding through sshd', () => {
  it('the session lists the local agent\'s keys and signs with them', async () => {
    await using c = await connect(rootLogin(sshd, key, { agent: agent.socket, agentForwarding: true }));
    const list = await c.run('ssh-add -l');
    expect(list.exitStatus, list.stderr as string).toBe(0);
    expect(list.stdout).toContain(fingerprint(`${agentKey}.pub`));
    const data = join(dir, 'to-sign');
    const sign = await c.run(`printf hello > ${data} && ssh-keygen -Y sign -f ${agentKey}.pub -n file ${data} && test -s ${data}.sig`);
    expect(sign.exitStatus, sign.stderr as string).toBe(0);
    const signers = join(dir, 'allowed');
    const pub = readFileSync(`${agentKey}.pub`, 'utf8').trim().split(' ');
    execFileSync('sh', ['-c', `echo "me ${pub[0]} ${pub[1]}" > ${signers}`]);
    execFileSync('sh', ['-c', `ssh-keygen -Y verify -f ${signers} -I me -n file -s ${data}.sig < ${data}`]);
  });

  it('without it (or turned off for one call) the session has no agent; a call can turn it on', async () => {
    {
      await using c = await connect(rootLogin(sshd, key, { agent: agent.socket }));
      expect((await c.run('ssh-add -l')).exitStatus).toBe(2);
      const on = await c.run('ssh-add -l', { agentForwarding: true });
      expect(on.exitStatus).toBe(0);
      expect(on.stdout).toContain(fingerprint(`${agentKey}.pub`));
    }
    await using c = await connect(rootLogin(sshd, key, { agent: agent.socket, agentForwarding: true }));
    expect((await c.run('ssh-add -l', { agentForwarding: false })).exitStatus).toBe(2);
    const sh = await c.shell({ pty: false });
    sh.end('ssh-add -l; exit $?\n');
    let out = '';
    sh.on('data', (d: Buffer) => (out += d.toString()));
    expect(await sh.recvExitStatus()).toBe(0);
    expect(out).toContain(fingerprint(`${agentKey}.pub`));
  });

  it('ssh_config ForwardAgent: yes forwards the default agent, a path forwards that socket', async () => {
    const yes = join(dir, 'config-yes');
    writeFileSync(yes, 'Host *\n  ForwardAgent yes\n');
    {
      await using c = await connect(rootLogin(sshd, key, { agent: agent.socket, config: yes }));
      expect((await c.run('ssh-add -l')).exitStatus).toBe(0);
    }
    const path = join(dir, 'config-path');
    writeFileSync(path, `Host *\n  ForwardAgent ${agent.socket}\n`);
    await using c = await connect(rootLogin(sshd, key, { agent: false, config: path }));
    const r = await c.run('ssh-add -l');
    expect(r.exitStatus).toBe(0);
    expect(r.stdout).toContain(fingerprint(`${agentKey}.pub`));
  });

  it('asking for it with no local agent is ERR_SSH_BAD_OPTION, not a silent no-op', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      await using c = await connect(rootLogin(sshd, key, { agent: false }));
      await expect(c.run('true', { agentForwarding: true })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
      expect((await c.run('echo still fine')).stdout).toBe('still fine\n');
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });
});

/** Sends SSH_AGENTC_REQUEST_IDENTITIES down an agent channel; resolves the whole reply frame. */
function listIdentitiesThrough(ch: Channel): Promise<Buffer> {
  ch.write(Buffer.from([0, 0, 0, 1, 11]));
  return new Promise<Buffer>((resolve) => {
    let got = Buffer.alloc(0);
    ch.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) resolve(got);
    });
  });
}

/** Our server, granting agent forwarding to anyone; `conns` fills as clients connect. */
async function agentGrantingServer(): Promise<{ server: SSHServer; conns: SSHServerConnection[] }> {
  const conns: SSHServerConnection[] = [];
  const server = await listen({
    hostKeys: ['ed25519'],
    server: { checkAuthNone: () => AUTH_SUCCESSFUL, checkChannelForwardAgentRequest: () => true },
    processFactory: (proc) => proc.exit(0),
  });
  server.on('connection', (conn: SSHServerConnection) => conns.push(conn));
  return { server, conns };
}

describe('agent channels from our own server', () => {
  it('are refused until a session asked, then relayed to the local agent', async () => {
    const { server, conns } = await agentGrantingServer();
    try {
      await using c = await connect(ownServerLogin(server.address().port, { agent: agent.socket }));
      const layer = conns[0]!.connection!;
      const refused = await layer.openChannel('auth-agent@openssh.com').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ChannelException);
      expect((refused as ChannelException).reasonCode).toBe(OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED);

      await c.run('x', { agentForwarding: true });
      const ch = await layer.openChannel('auth-agent@openssh.com');
      // The answer is SSH_AGENT_IDENTITIES_ANSWER with one key.
      const answer = await listIdentitiesThrough(ch);
      expect(answer[4]).toBe(12);
      expect(answer.readUInt32BE(5)).toBe(1);
      ch.close();
    } finally {
      await server.close();
    }
  });
});

describe('a forwarded agent connection is bound to the session for forwarding first (session-bind@openssh.com, is_forwarding set)', () => {
  async function forwardOnce(takesBinding: boolean) {
    const agentPath = join(dir, `fake-agent-${takesBinding}`);
    // SUCCESS or FAILURE for session-bind, no keys for REQUEST_IDENTITIES.
    const fake = await recordingAgent(agentPath, (req) => (req[0] === 27 ? [takesBinding ? 6 : 5] : [12, 0, 0, 0, 0]));
    const { server, conns } = await agentGrantingServer();
    const debug: string[] = [];
    try {
      await using c = await connect({ ...ownServerLogin(server.address().port, { agent: agentPath }), debug: (m) => debug.push(m) });
      await c.run('x', { agentForwarding: true });
      const ch = await conns[0]!.connection!.openChannel('auth-agent@openssh.com');
      const answer = await listIdentitiesThrough(ch);
      ch.close();
      return { answer, connections: fake.connections, binding: c.transport.sessionBinding!, sessionId: c.transport.sessionId!, debug };
    } finally {
      await server.close();
      await fake.close();
    }
  }

  it('the agent gets the server\'s host key, the session id and the kex signature, then the relayed bytes on the same connection', async () => {
    const { answer, connections, binding, sessionId } = await forwardOnce(true);
    expect([...answer.subarray(4)]).toEqual([12, 0, 0, 0, 0]);
    expect(connections).toHaveLength(1);
    const [bind, relayed] = connections[0]!;
    const r = new SSHReader(bind!);
    expect(r.byte()).toBe(27);
    expect(r.utf8()).toBe('session-bind@openssh.com');
    expect([...r.string()]).toEqual([...binding.hostKey]);
    expect([...r.string()]).toEqual([...sessionId]);
    expect([...r.string()]).toEqual([...binding.signature]);
    expect(r.boolean()).toBe(true);
    r.end();
    expect([...relayed!]).toEqual([11]);
  });

  it('an agent that refuses the binding is relayed unbound on a fresh connection, and the refusal is logged', async () => {
    const { answer, connections, debug } = await forwardOnce(false);
    expect([...answer.subarray(4)]).toEqual([12, 0, 0, 0, 0]);
    expect(connections.map((frames) => frames.map((f) => f[0]))).toEqual([[27], [11]]);
    expect(debug.some((l) => l.includes('did not take the session binding'))).toBe(true);
  });
});
