/**
 * Issue 4 acceptance: the order in which the client tries credentials, as the
 * Paramiko connect page describes it (explicit key / key files, then agent
 * keys, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then password), and the
 * switches that turn parts off (allowAgent, lookForKeys, clientKeys: null,
 * agent: false). A fake HOME holds the discoverable keys, a real ssh-agent
 * holds one more, and our own server records every attempt in order.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  AUTH_SUCCESSFUL,
  AuthenticationException,
  AutoAddPolicy,
  connect,
  MissingHostKeyPolicy,
  type HostKeyPolicyClient,
  type PublicKey,
  listen,
  PrivateKey,
  SSHClient,
  SSHException,
  type ConnectOptions,
  type SSHServer,
} from '../../ts/index.js';
import { makeKey, startAgent, type Agent } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';

const PASSWORD = 'pa55-w0rd';
let tmp: { dir: string; cleanup: () => void };
let server: SSHServer;
let port: number;
let agent: Agent;
let attempts: string[] = [];
const fp: Record<string, string> = {};
const paths: Record<string, string> = {};
const hostKey = PrivateKey.generate('ecdsa', 256);
const saved = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };

function fingerprintOf(path: string): string {
  return PrivateKey.fromFile(path).fingerprint;
}

beforeAll(async () => {
  tmp = makeTempDir('sshwire-acc-order-');
  const home = join(tmp.dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  paths.ed25519 = makeKey(join(home, '.ssh'), 'id_ed25519', 'ed25519');
  paths.ecdsa = makeKey(join(home, '.ssh'), 'id_ecdsa', 'ecdsa', { bits: 256 });
  paths.rsa = makeKey(join(home, '.ssh'), 'id_rsa', 'rsa', { bits: 2048 });
  paths.explicit = makeKey(tmp.dir, 'explicit', 'ed25519');
  paths.keyfile = makeKey(tmp.dir, 'keyfile', 'ecdsa', { bits: 384 });
  paths.agent = makeKey(tmp.dir, 'agentkey', 'ed25519');
  for (const [k, p] of Object.entries(paths)) fp[fingerprintOf(p)] = k;
  agent = await startAgent(tmp.dir);
  agent.add(paths.agent);
  process.env.HOME = home;
  process.env.SSH_AUTH_SOCK = agent.socket;

  server = await listen({
    hostKeys: [hostKey],
    maxAuthTries: 50,
    banner: 'acceptance banner\r\n',
    server: {
      getAllowedAuths: () => ['publickey', 'password'],
      // Every key is refused at the query stage, so each one is asked about exactly once.
      checkAuthPublickey: (_user, key) => {
        attempts.push(fp[key.fingerprint] ?? `unknown ${key.fingerprint}`);
        return AUTH_FAILED;
      },
      checkAuthPassword: (_user, password) => {
        attempts.push('password');
        return password === PASSWORD ? AUTH_SUCCESSFUL : AUTH_FAILED;
      },
    },
  });
  port = server.address().port;
}, 60_000);

afterAll(async () => {
  process.env.HOME = saved.HOME;
  if (saved.SSH_AUTH_SOCK === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = saved.SSH_AUTH_SOCK;
  await server?.close();
  await agent?.stop();
  tmp?.cleanup();
});

/** Consecutive duplicates removed (an RSA key may be asked about once per signature algorithm). */
function order(): string[] {
  return attempts.filter((a, i) => a !== attempts[i - 1]);
}

async function paramiko(opts: Parameters<SSHClient['connect']>[1]): Promise<string[]> {
  attempts = [];
  const c = new SSHClient();
  c.setMissingHostKeyPolicy(new AutoAddPolicy());
  await c.connect('127.0.0.1', { port, username: 'alice', ...opts });
  expect(c.getTransport()).not.toBeNull();
  await c[Symbol.asyncDispose]();
  return order();
}

async function asyncssh(opts: Partial<ConnectOptions>): Promise<{ order: string[]; methods: readonly string[]; banners: string[] }> {
  attempts = [];
  const banners: string[] = [];
  const conn = await connect({ host: '127.0.0.1', port, username: 'alice', knownHosts: null, config: false, onBanner: (b) => banners.push(b), ...opts });
  const methods = conn.authMethods;
  conn.close();
  await conn.closed;
  return { order: order(), methods, banners };
}

describe('SSHClient.connect: Paramiko order', () => {
  it('pkey, keyFilename, agent keys, ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then password', async () => {
    expect(await paramiko({ pkey: paths.explicit!, keyFilename: paths.keyfile!, password: PASSWORD })).toEqual([
      'explicit',
      'keyfile',
      'agent',
      'ed25519',
      'ecdsa',
      'rsa',
      'password',
    ]);
  });

  it('allowAgent: false skips the agent; lookForKeys: false skips ~/.ssh', async () => {
    expect(await paramiko({ pkey: paths.explicit!, allowAgent: false, password: PASSWORD })).toEqual(['explicit', 'ed25519', 'ecdsa', 'rsa', 'password']);
    expect(await paramiko({ pkey: paths.explicit!, lookForKeys: false, password: PASSWORD })).toEqual(['explicit', 'agent', 'password']);
    expect(await paramiko({ allowAgent: false, lookForKeys: false, password: PASSWORD })).toEqual(['password']);
  });

  it('all keys refused and no password: AuthenticationException after trying each once', async () => {
    attempts = [];
    const c = new SSHClient();
    c.setMissingHostKeyPolicy(new AutoAddPolicy());
    const err = await c.connect('127.0.0.1', { port, username: 'alice' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(order()).toEqual(['agent', 'ed25519', 'ecdsa', 'rsa']);
  });
});

describe('connect(): same order, AsyncSSH switches', () => {
  it('privateKey, agent, discovered keys (lookForKeys: true), password; the banner reaches onBanner', async () => {
    const r = await asyncssh({ privateKey: paths.explicit!, lookForKeys: true, password: PASSWORD });
    expect(r.order).toEqual(['explicit', 'agent', 'ed25519', 'ecdsa', 'rsa', 'password']);
    expect(r.methods).toEqual(['password']);
    expect(r.banners).toEqual(['acceptance banner\r\n']);
  });

  it('no keys given: agent, then the default key files, then password', async () => {
    expect((await asyncssh({ password: PASSWORD })).order).toEqual(['agent', 'ed25519', 'ecdsa', 'rsa', 'password']);
  });

  it('clientKeys listed in order; agent: false leaves the agent out', async () => {
    const r = await asyncssh({ clientKeys: [paths.keyfile!, readFileSync(paths.explicit!, 'utf8')], agent: false, password: PASSWORD });
    expect(r.order).toEqual(['keyfile', 'explicit', 'password']);
  });

  it('clientKeys: null disables publickey entirely (no agent, no key files)', async () => {
    expect((await asyncssh({ clientKeys: null, password: PASSWORD })).order).toEqual(['password']);
  });

  it('agent given as a socket path is used even when SSH_AUTH_SOCK is unset', async () => {
    delete process.env.SSH_AUTH_SOCK;
    try {
      expect((await asyncssh({ agent: agent.socket, lookForKeys: false, password: PASSWORD })).order).toEqual(['agent', 'password']);
      expect((await asyncssh({ lookForKeys: false, password: PASSWORD })).order).toEqual(['password']);
    } finally {
      process.env.SSH_AUTH_SOCK = agent.socket;
    }
  });
});

describe('host key policies and the system known_hosts', () => {
  it('a custom MissingHostKeyPolicy (async) sees [host]:port and the key; throwing refuses with its error', async () => {
    const seen: string[] = [];
    class Recording extends MissingHostKeyPolicy {
      override async missingHostKey(_c: HostKeyPolicyClient, hostname: string, key: PublicKey): Promise<void> {
        await new Promise((r) => setTimeout(r, 5));
        seen.push(`${hostname} ${key.keyType} ${key.fingerprint}`);
      }
    }
    await using conn = await connect({ host: '127.0.0.1', port, username: 'alice', password: PASSWORD, clientKeys: null, config: false, knownHosts: join(tmp.dir, 'none'), hostKeyPolicy: new Recording() });
    expect(seen).toEqual([`[127.0.0.1]:${port} ecdsa-sha2-nistp256 ${hostKey.fingerprint}`]);
    class Refuse extends MissingHostKeyPolicy {
      override missingHostKey(): void {
        throw new SSHException('not today', { code: 'ERR_TEST_REFUSED' });
      }
    }
    const c = new SSHClient();
    c.setMissingHostKeyPolicy(new Refuse());
    await expect(c.connect('127.0.0.1', { port, username: 'alice', password: PASSWORD, allowAgent: false, lookForKeys: false })).rejects.toMatchObject({ code: 'ERR_TEST_REFUSED' });
  });

  it('loadSystemHostKeys() reads ~/.ssh/known_hosts: a recorded host connects under the default RejectPolicy', async () => {
    const kh = join(process.env.HOME!, '.ssh', 'known_hosts');
    writeFileSync(kh, `# kept comment\n[127.0.0.1]:${port} ${hostKey.publicKey.toString()}\n`);
    try {
      const strict = new SSHClient();
      await expect(strict.connect('127.0.0.1', { port, username: 'alice', password: PASSWORD, allowAgent: false, lookForKeys: false })).rejects.toMatchObject({
        code: 'ERR_SSH_UNKNOWN_HOST_KEY',
      });
      const c = new SSHClient();
      c.loadSystemHostKeys();
      await c.connect('127.0.0.1', { port, username: 'alice', password: PASSWORD, allowAgent: false, lookForKeys: false });
      expect(c.getTransport()?.negotiated?.hostKey).toBe('ecdsa-sha2-nistp256');
      await c[Symbol.asyncDispose]();
    } finally {
      rmSync(kh, { force: true });
    }
  });
});
