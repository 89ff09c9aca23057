/**
 * Destination-restricted agent keys (`ssh-add -h`, OpenSSH 8.9+): the
 * client binds the agent connection to the session (session-bind@openssh.com)
 * and sends host-bound publickey requests (publickey-hostbound-v00@openssh.com)
 * when the server announces them; the server accepts them for its own host
 * key only. Through agent forwarding, a key restricted to "sshd>ours" (by
 * ssh-add or by our AgentClient) works for ssh running at sshd. Peers:
 * OpenSSH's ssh-agent, ssh-add, sshd 9.2 and ssh.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, connect, HostKeys, PrivateKey, type ConnectOptions, type SSHServer } from '../../ts/index.js';
import { AuthenticationException } from '../../ts/errors.js';
import { encodePublickeyRequest, publickeySignedData } from '../../ts/auth/messages.js';
import { Transport } from '../../ts/transport/index.js';
import { MSG } from '../../ts/wire/index.js';
import { useSshdTrusting } from '../helpers/sshdFixture.js';
import { makeFixture, run, startServer, type Fixture, type Running } from '../server/helpers.js';
import { startAgent, type Agent } from './system.js';

const sshd = useSshdTrusting('sshwire-hostbound-');
let fx: Fixture;
const agents: Agent[] = [];
const servers: Running[] = [];

beforeAll(() => {
  fx = makeFixture('sshwire-hostbound-fx-');
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

afterAll(async () => {
  for (const r of servers.splice(0)) await r.server.close();
  fx?.cleanup();
});

/** known_hosts lines naming `name` for each of the public key lines. */
function knownHostsFile(file: string, name: string, publicKeyLines: string[]): string {
  writeFileSync(file, publicKeyLines.map((l) => `${name} ${l.split(/\s+/).slice(0, 2).join(' ')}`).join('\n') + '\n');
  return file;
}

/** An ssh-agent holding `keys` restricted to `destinations`, whose host keys `hostKeysFile` lists (ssh-add -H / -h). */
async function restrictedAgent(keys: string | string[], hostKeysFile: string, ...destinations: string[]): Promise<Agent> {
  const agent = await startAgent(mkdtempSync(join(fx.dir, 'agent-')));
  agents.push(agent);
  const restrictions = destinations.flatMap((d) => ['-h', d]);
  execFileSync('ssh-add', ['-q', '-H', hostKeysFile, ...restrictions, ...[keys].flat()], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, stdio: 'pipe' });
  return agent;
}

/** The same, the keys added by our AgentClient with `destinations` instead of ssh-add. */
async function restrictedByUs(keys: string[], hostKeysFile: string, ...destinations: string[]): Promise<Agent> {
  const agent = await startAgent(mkdtempSync(join(fx.dir, 'agent-')));
  agents.push(agent);
  const client = new AgentClient(agent.socket);
  try {
    for (const k of keys.map((f) => PrivateKey.fromFile(f))) await client.addIdentity(k, k.comment, { destinations, knownHosts: new HostKeys(hostKeysFile) });
  } finally {
    client.close();
  }
  return agent;
}

describe('our client with a destination-restricted agent key, against sshd', () => {
  const sshdName = (): string => `[127.0.0.1]:${sshd.sshd.port}`;
  const opts = (agent: Agent, knownHosts: string, debug?: (m: string) => void): ConnectOptions => ({
    host: '127.0.0.1', port: sshd.sshd.port, username: 'root', agent: agent.socket, lookForKeys: false, config: false, knownHosts,
    ...(debug ? { debug } : {}),
  });

  it('binds the agent to the session and signs a host-bound request: the login succeeds', async () => {
    const kh = knownHostsFile(join(fx.dir, 'kh-sshd'), sshdName(), Object.values(sshd.sshd.hostPublicKeys));
    const agent = await restrictedAgent(sshd.key, kh, sshdName());
    const lines: string[] = [];
    const conn = await connect(opts(agent, kh, (m) => lines.push(m)));
    try {
      expect((await conn.run('echo bound')).stdout).toBe('bound\n');
      expect(lines.some((l) => /offering public key ssh-ed25519 .*, host-bound/.test(l))).toBe(true);
    } finally {
      conn.close();
      await conn.closed;
    }
  });

  it('a key restricted to another host is not offered: the agent hides it from the bound connection and the login fails', async () => {
    const elsewhere = PrivateKey.generate('ssh-ed25519');
    const other = knownHostsFile(join(fx.dir, 'kh-other'), 'otherhost', [`${elsewhere.keyType} ${Buffer.from(elsewhere.publicKeyBlob).toString('base64')}`]);
    const agent = await restrictedAgent(sshd.key, other, 'otherhost');
    const kh = knownHostsFile(join(fx.dir, 'kh-sshd2'), sshdName(), Object.values(sshd.sshd.hostPublicKeys));
    const lines: string[] = [];
    const err = await connect(opts(agent, kh, (m) => lines.push(m))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    // A bound connection is not even shown keys restricted to other hosts.
    expect(lines.join('\n')).toContain('agent offers 0 key(s)');
  });
});

describe('forwarding a destination-restricted agent: our client, then sshd, then ssh from there to our server', () => {
  /**
   * The keys may be used at sshd and, through an agent forwarded to sshd,
   * at our server: "sshd>ours". The agent allows the second hop only if
   * our client bound the forwarded connection to sshd's host key.
   */
  async function hops(add: typeof restrictedByUs = restrictedAgent): Promise<{ agent: Agent; ours: Running; kh: string; log: string[] }> {
    const log: string[] = [];
    const ours = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, spawnCommands: { cwd: fx.root }, debug: (m) => log.push(m) });
    servers.push(ours);
    const first = `[127.0.0.1]:${sshd.sshd.port}`;
    const second = `[127.0.0.1]:${ours.port}`;
    const kh = knownHostsFile(join(fx.dir, `kh-hops-${ours.port}`), first, Object.values(sshd.sshd.hostPublicKeys));
    writeFileSync(kh, readFileSync(ours.knownHosts, 'utf8'), { flag: 'a' });
    const agent = await add([sshd.key, fx.key], kh, first, `${first}>${second}`);
    return { agent, ours, kh, log };
  }
  const onward = (ours: Running, kh: string): string =>
    `ssh -F /dev/null -o UserKnownHostsFile=${kh} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentityFile=/nonexistent -p ${ours.port} tester@127.0.0.1 echo second-hop-ok`;

  for (const [how, add] of [['ssh-add -h', restrictedAgent], ['AgentClient.addIdentity({ destinations })', restrictedByUs]] as const) {
    it(`the forwarded agent connection is bound for forwarding, so ssh at sshd may use the keys for our server (keys restricted by ${how})`, async () => {
      const { agent, ours, kh, log } = await hops(add);
      const conn = await connect({ host: '127.0.0.1', port: sshd.sshd.port, username: 'root', agent: agent.socket, lookForKeys: false, config: false, knownHosts: kh });
      try {
        const res = await conn.run(onward(ours, kh), { agentForwarding: true, timeout: 30_000 });
        expect(res.exitStatus, String(res.stderr)).toBe(0);
        expect(res.stdout).toBe('second-hop-ok\n');
        expect(log.some((l) => l.includes('method publickey-hostbound-v00@openssh.com'))).toBe(true);
      } finally {
        conn.close();
        await conn.closed;
      }
    });
  }

  it('a key restricted to sshd alone is refused at the second hop, bound forwarded agent or not', async () => {
    const { ours, kh } = await hops();
    const first = `[127.0.0.1]:${sshd.sshd.port}`;
    const onlyFirst = await restrictedByUs([sshd.key, fx.key], kh, first);
    const conn = await connect({ host: '127.0.0.1', port: sshd.sshd.port, username: 'root', agent: onlyFirst.socket, lookForKeys: false, config: false, knownHosts: kh });
    try {
      const res = await conn.run(onward(ours, kh), { agentForwarding: true, timeout: 30_000 });
      expect(res.exitStatus).not.toBe(0);
      expect(res.stderr).toMatch(/Permission denied/);
    } finally {
      conn.close();
      await conn.closed;
    }
  });
});

describe('our server accepts host-bound publickey requests', () => {
  async function ourServer(log: string[] = []): Promise<Running> {
    const r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, spawnCommands: { cwd: fx.root }, debug: (m) => log.push(m) });
    servers.push(r);
    return r;
  }

  it('OpenSSH ssh logs in with a key restricted to our server, sending host-bound requests since we announce them', async () => {
    const log: string[] = [];
    const r = await ourServer(log);
    const agent = await restrictedAgent(fx.key, r.knownHosts, `[127.0.0.1]:${r.port}`);
    const res = await run('ssh', [
      '-F', '/dev/null', '-o', `UserKnownHostsFile=${r.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-p', String(r.port), 'tester@127.0.0.1', 'echo restricted-ok',
    ], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('restricted-ok\n');
    expect(log.some((l) => l.includes('method publickey-hostbound-v00@openssh.com'))).toBe(true);
  });

  it('our client logs in with a key restricted to our server', async () => {
    const r = await ourServer();
    const agent = await restrictedAgent(fx.key, r.knownHosts, `[127.0.0.1]:${r.port}`);
    const conn = await connect({ host: '127.0.0.1', port: r.port, username: 'tester', agent: agent.socket, lookForKeys: false, config: false, knownHosts: r.knownHosts });
    try {
      expect((await conn.run('echo ok')).stdout).toBe('ok\n');
    } finally {
      conn.close();
      await conn.closed;
    }
  });

  it('a host-bound request naming a host key other than the connection\'s fails, even correctly signed; the right one succeeds', async () => {
    const r = await ourServer();
    const user = PrivateKey.fromFile(fx.key);
    const stranger = PrivateKey.generate('ssh-ed25519').publicKeyBlob;
    const t = await rawClient(r.server);
    try {
      await t.requestService('ssh-userauth');
      const ourHostKey = t.sessionBinding!.hostKey;
      expect(await hostBoundAttempt(t, user, stranger)).toBe(MSG.USERAUTH_FAILURE);
      expect(await hostBoundAttempt(t, user, ourHostKey)).toBe(MSG.USERAUTH_SUCCESS);
    } finally {
      t.disconnect();
    }
  });
});

/** A bare client Transport to `server`, its key exchange done (the host key is not checked here). */
async function rawClient(server: SSHServer): Promise<Transport> {
  const sock = net.connect(server.address().port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const t = new Transport(sock, { role: 'client', verifyHostKey: () => true });
  await t.ready;
  return t;
}

/** Sends one signed host-bound publickey request naming `hostKey`; resolves the reply's message number. */
async function hostBoundAttempt(t: Transport, key: PrivateKey, hostKey: Uint8Array): Promise<number> {
  const alg = key.signatureAlgorithms[0]!;
  const sig = key.signSshData(publickeySignedData(t.sessionId!, 'tester', alg, key.publicKeyBlob, hostKey), alg);
  const reply = new Promise<number>((resolve) => {
    const off = t.onMessage((type) => {
      if (type === MSG.USERAUTH_FAILURE || type === MSG.USERAUTH_SUCCESS) {
        off();
        resolve(type);
      }
    });
  });
  t.send(encodePublickeyRequest('tester', alg, key.publicKeyBlob, sig, hostKey));
  return reply;
}
