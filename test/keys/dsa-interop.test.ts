/**
 * ssh-dss against real peers, in both roles: our client with a DSA user key
 * and a DSA host key against OpenSSH's sshd (directly and through
 * ssh-agent), OpenSSH's ssh and Paramiko's DSSKey against our server. DSA is
 * off by default everywhere (as in OpenSSH since 7.0), so each peer names
 * it, and the defaults are shown to refuse it with a clear message.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from '../../ts/auth/index.js';
import { AuthenticationException, SSHException } from '../../ts/errors.js';
import { Agent, connect, listen, PrivateKey, SSHClient } from '../../ts/index.js';
import { DEFAULT_HOST_KEY } from '../../ts/transport/algorithms.js';
import { startAgent } from '../auth/system.js';
import { rootLogin, startSshd, type Sshd } from '../helpers/sshd.js';
import { makeFixture, python, run, startServer, type Fixture, type Running } from '../server/helpers.js';
import { generateWithSshKeygen } from './helpers.js';
import { readText } from '../helpers/streams.js';

let fx: Fixture;
let sshd: Sshd;
let dsaUser: string;
let dsaHost: string;
let sshdKnownHosts: string;

beforeAll(async () => {
  fx = makeFixture('sshwire-dsa-interop-');
  dsaUser = join(fx.dir, 'id_dsa');
  dsaHost = join(fx.dir, 'host_dsa');
  generateWithSshKeygen(dsaUser, 'dsa', undefined, '', [], 'dsa user');
  generateWithSshKeygen(dsaHost, 'dsa', undefined, '', [], 'dsa host');
  sshd = await startSshd({
    // sshd keeps the first value of a keyword: these go before the helper's defaults.
    overrides: ['LogLevel ERROR', 'HostKeyAlgorithms +ssh-rsa,ssh-dss', 'PubkeyAcceptedAlgorithms +ssh-dss'],
    authorizedKeys: [readFileSync(`${dsaUser}.pub`, 'utf8').trim()],
    config: [`HostKey ${dsaHost}`],
  });
  sshdKnownHosts = join(fx.dir, 'known_hosts_sshd');
  const [type, b64] = readFileSync(`${dsaHost}.pub`, 'utf8').split(' ');
  writeFileSync(sshdKnownHosts, `[127.0.0.1]:${sshd.port} ${type} ${b64}\n`);
});
afterAll(async () => {
  await sshd?.stop();
  fx?.cleanup();
});

const withDss = { serverHostKey: ['ssh-dss'], publicKey: [...DEFAULT_PUBLICKEY_ALGORITHMS, 'ssh-dss'] };

describe('sshwire client → OpenSSH sshd with ssh-dss enabled', () => {
  it('authenticates with a DSA key and verifies the DSA host key from known_hosts', async () => {
    const conn = await connect(rootLogin(sshd, dsaUser, { knownHosts: sshdKnownHosts, algorithms: withDss }));
    try {
      expect(conn.transport.negotiated?.hostKey).toBe('ssh-dss');
      const r = await conn.run('echo dsa ok', { timeout: 20_000 });
      expect(r.stdout).toBe('dsa ok\n');
    } finally {
      await conn.close();
    }
  });

  it('by default does not offer the DSA key, and says why', async () => {
    const err = await connect(rootLogin(sshd, dsaUser)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect((err as Error).message).toMatch(/ssh-dss is not among the accepted algorithms/);
  });

  it('SSHClient takes a DSA pkey and host key once enabledAlgorithms names ssh-dss (Paramiko enables it unasked)', async () => {
    const base = { port: sshd.port, username: 'root', pkey: PrivateKey.fromFile(dsaUser), allowAgent: false, lookForKeys: false };
    const refused = new SSHClient();
    refused.loadHostKeys(sshdKnownHosts);
    // Only a DSA host key is on record: without ssh-dss no host key type can match.
    await expect(refused.connect('127.0.0.1', base)).rejects.toThrow(SSHException);
    refused.close();
    const client = new SSHClient();
    client.loadHostKeys(sshdKnownHosts);
    try {
      await client.connect('127.0.0.1', { ...base, enabledAlgorithms: { keys: ['ssh-dss'], pubkeys: ['ssh-dss'] } });
      expect(client.getTransport()?.negotiated?.hostKey).toBe('ssh-dss');
      const { stdout } = await client.execCommand('echo paramiko-shaped');
      expect(await readText(stdout)).toBe('paramiko-shaped\n');
    } finally {
      client.close();
    }
  });

  it('signs through OpenSSH ssh-agent holding the DSA key', async () => {
    const agent = await startAgent(fx.dir);
    try {
      agent.add(dsaUser);
      // And a DSA key added through our agent client is one ssh-add lists and the agent signs with.
      const mine = PrivateKey.generate('dsa');
      const client = new Agent(agent.socket);
      try {
        await client.addIdentity(mine, 'dsa via sshwire');
        const listed = await run('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } });
        expect(listed.stdout).toContain(`${mine.fingerprint} dsa via sshwire (DSA)`);
        const held = (await client.listIdentities()).find((k) => k.fingerprint === mine.fingerprint)!;
        const msg = new TextEncoder().encode('agent signs');
        expect(mine.verify('ssh-dss', msg, await held.sign('ssh-dss', msg))).toBe(true);
        await client.removeIdentity(mine.publicKeyBlob);
      } finally {
        client.close();
      }
      const conn = await connect({ ...rootLogin(sshd, dsaUser, { knownHosts: sshdKnownHosts, algorithms: withDss }), privateKey: undefined, agent: agent.socket });
      try {
        expect((await conn.run('echo via agent', { timeout: 20_000 })).stdout).toBe('via agent\n');
      } finally {
        await conn.close();
      }
    } finally {
      await agent.stop();
    }
  });
});

describe('peers → sshwire server with a DSA host key', () => {
  let r: Running;
  let knownHosts: string;
  beforeAll(async () => {
    writeFileSync(fx.authorizedKeys, readFileSync(`${fx.key}.pub`, 'utf8') + readFileSync(`${dsaUser}.pub`, 'utf8'));
    r = await startServer(fx, {
      hostKeys: [PrivateKey.fromFile(dsaHost), 'ed25519'],
      authorizedClientKeys: fx.authorizedKeys,
      algorithms: { serverHostKey: [...DEFAULT_HOST_KEY, 'ssh-dss'], publicKey: [...DEFAULT_PUBLICKEY_ALGORITHMS, 'ssh-dss'] },
      processFactory: (proc) => {
        proc.stdout.write(`ran ${proc.command}\n`);
        proc.exit(0);
      },
    });
    knownHosts = join(fx.dir, 'known_hosts_ours');
    const [type, b64] = readFileSync(`${dsaHost}.pub`, 'utf8').split(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${r.port} ${type} ${b64}\n`);
  });
  afterAll(async () => {
    await r?.server.close();
  });

  const sshArgs = (extra: string[]): string[] => [
    '-F', '/dev/null', '-i', dsaUser, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlgorithms=ssh-dss', ...extra, '-p', String(r.port), 'tester@127.0.0.1', 'hello',
  ];

  it('OpenSSH ssh verifies our DSA host key signature and logs in with its DSA key', async () => {
    const res = await run('ssh', sshArgs(['-o', 'PubkeyAcceptedAlgorithms=+ssh-dss']));
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('ran hello\n');
    expect(res.code).toBe(0);
  });

  it('Paramiko logs in with DSSKey', async () => {
    const script = `
import sys, paramiko
c = paramiko.SSHClient()
c.load_host_keys(sys.argv[3])
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', pkey=paramiko.DSSKey.from_private_key_file(sys.argv[2]), allow_agent=False, look_for_keys=False)
print(c.get_transport().get_remote_server_key().get_name())
i, o, e = c.exec_command('from-paramiko')
print(o.read().decode().strip(), o.channel.recv_exit_status())
c.close()
`;
    const res = await python(script, [String(r.port), dsaUser, knownHosts]);
    expect(res.stdout.trim().split('\n')).toEqual(['ssh-dss', 'ran from-paramiko 0']);
    expect(res.code).toBe(0);
  });

  it('a server with default algorithms refuses DSA user keys; one with only a DSA host key and defaults does not start', async () => {
    const plain = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, processFactory: (p) => p.exit(0) });
    try {
      const res = await run('ssh', [
        '-F', '/dev/null', '-i', dsaUser, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${plain.knownHosts}`,
        '-o', 'PubkeyAcceptedAlgorithms=+ssh-dss', '-p', String(plain.port), 'tester@127.0.0.1', 'true',
      ]);
      expect(res.code).toBe(255);
      expect(res.stderr).toMatch(/Permission denied \(publickey\)/);
    } finally {
      await plain.server.close();
    }
    await expect(listen({ hostKeys: [PrivateKey.fromFile(dsaHost)] })).rejects.toThrow(SSHException);
    await expect(listen({ hostKeys: [PrivateKey.fromFile(dsaHost)] })).rejects.toThrow(/ssh-dss/);
  });
});
