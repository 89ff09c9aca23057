import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSHException, TimeoutError } from '../../ts/errors.js';
import { Agent, AgentClient, PrivateKey, PublicKey } from '../../ts/keys/index.js';
import { generateWithSshKeygen, makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const path = (name: string) => join(tmp.dir, name);
let agentProc: ChildProcess;
let sock: string;

function sshAdd(args: string[]): string {
  return execFileSync('ssh-add', args, { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: sock }, timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  tmp = makeTempDir('sshwire-agent-');
  sock = path('agent.sock');
  agentProc = spawn('ssh-agent', ['-a', sock, '-D'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(sock)) throw new Error('ssh-agent did not create its socket');
  generateWithSshKeygen(path('ed'), 'ed25519', undefined, '', [], 'ed key');
  generateWithSshKeygen(path('ec'), 'ecdsa', 384, '', [], 'ec key');
  generateWithSshKeygen(path('rsa'), 'rsa', 2048, '', [], 'rsa key');
});
afterAll(() => {
  agentProc?.kill('SIGTERM');
  tmp.cleanup();
});

describe('AgentClient against OpenSSH ssh-agent', () => {
  it('lists keys loaded by ssh-add, and signs with each (RSA with both SHA-2 flags)', async () => {
    sshAdd([path('ed'), path('ec'), path('rsa')]);
    const agent = new AgentClient(sock, { timeout: 10_000 });
    try {
      const keys = await agent.listIdentities();
      expect(keys.map((k) => k.comment)).toEqual(['ed key', 'ec key', 'rsa key']);
      const data = new TextEncoder().encode('sign me');
      for (const [i, f] of ['ed', 'ec', 'rsa'].entries()) {
        const pub = PublicKey.fromFile(path(`${f}.pub`));
        const k = keys[i]!;
        expect(k.publicKey.equals(pub)).toBe(true);
        expect(k.fingerprint).toBe(pub.fingerprint);
        for (const alg of k.signatureAlgorithms) {
          const sig = await k.sign(alg, data);
          expect(pub.verify(alg, data, sig)).toBe(true);
          expect(pub.verify(alg, new Uint8Array(1), sig)).toBe(false);
        }
      }
      expect(keys[2]!.signatureAlgorithms).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    } finally {
      agent.close();
    }
  });

  it('addIdentity is seen by ssh-add -l; removeIdentity and removeAll empty the agent', async () => {
    const agent = new Agent(sock);
    try {
      await agent.removeAll();
      expect(await agent.getKeys()).toEqual([]);
      const mine = PrivateKey.generate('ecdsa', 256);
      await agent.addIdentity(mine, 'added by sshwire');
      const rsa = PrivateKey.fromFile(path('rsa'));
      await agent.addIdentity(rsa, 'rsa via sshwire', { lifetime: 600 });
      const listed = sshAdd(['-l']);
      expect(listed).toContain(`${mine.fingerprint} added by sshwire (ECDSA)`);
      expect(listed).toContain(`${rsa.fingerprint} rsa via sshwire (RSA)`);
      const keys = await agent.listIdentities();
      expect(keys.map((k) => k.fingerprint)).toEqual([mine.fingerprint, rsa.fingerprint]);
      const data = new TextEncoder().encode('x');
      expect(mine.verify('ecdsa-sha2-nistp256', data, await keys[0]!.sign('ecdsa-sha2-nistp256', data))).toBe(true);
      await agent.removeIdentity(mine.publicKeyBlob);
      expect((await agent.listIdentities()).map((k) => k.fingerprint)).toEqual([rsa.fingerprint]);
      await agent.removeAll();
      expect(await agent.listIdentities()).toEqual([]);
    } finally {
      agent.close();
    }
  });

  it('agent refusals are typed errors and the connection stays usable', async () => {
    const agent = new AgentClient(sock);
    try {
      const stranger = PrivateKey.generate('ed25519');
      const err = await agent.sign(stranger.publicKeyBlob, new Uint8Array(1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect((err as SSHException).code).toBe('ERR_SSH_AGENT');
      await expect(agent.removeIdentity(stranger.publicKeyBlob)).rejects.toThrow(/refused/);
      await agent.lock('pw');
      await expect(agent.addIdentity(stranger)).rejects.toThrow(/refused/);
      await agent.unlock('pw');
      expect(await agent.listIdentities()).toEqual([]);
    } finally {
      agent.close();
    }
  });
});

describe('AgentClient failure modes', () => {
  /** A unix-socket server that answers every request with `reply(request)` (or never, if it returns null). */
  async function fakeAgent(name: string, reply: (req: Buffer) => Buffer | null): Promise<{ server: Server; path: string }> {
    const p = path(name);
    const server = createServer((c) => {
      c.on('data', (d) => {
        const r = reply(d);
        if (r) c.write(r);
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(p, resolve));
    return { server, path: p };
  }

  it('no socket: typed error', async () => {
    const agent = new AgentClient(path('missing.sock'));
    await expect(agent.listIdentities()).rejects.toMatchObject({ code: 'ERR_SSH_AGENT' });
    expect(() => new AgentClient('')).toThrow(SSHException);
  });

  it('an agent that never answers times out', async () => {
    const { server, path: p } = await fakeAgent('silent.sock', () => null);
    const agent = new AgentClient(p, { timeout: 200 });
    try {
      await expect(agent.listIdentities()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      agent.close();
      server.close();
    }
  });

  it('an oversized reply is refused', async () => {
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1024 * 1024, 0);
    big[4] = 12;
    const { server, path: p } = await fakeAgent('big.sock', () => big);
    const agent = new AgentClient(p, { timeout: 2000 });
    try {
      await expect(agent.listIdentities()).rejects.toThrow(/exceeds/);
    } finally {
      agent.close();
      server.close();
    }
  });

  it('a lying key count or a wrong reply type is a typed error', async () => {
    const lie = Buffer.from([0, 0, 0, 5, 12, 0xff, 0xff, 0xff, 0xff]);
    const s1 = await fakeAgent('lie.sock', () => lie);
    const a1 = new AgentClient(s1.path, { timeout: 2000 });
    await expect(a1.listIdentities()).rejects.toMatchObject({ code: 'ERR_SSH_AGENT', message: /malformed/ });
    a1.close();
    s1.server.close();
    const s2 = await fakeAgent('odd.sock', () => Buffer.from([0, 0, 0, 1, 99]));
    const a2 = new AgentClient(s2.path, { timeout: 2000 });
    await expect(a2.listIdentities()).rejects.toThrow(/message type 99/);
    a2.close();
    s2.server.close();
  });
});
