/**
 * Destination constraints on agent keys (`AgentConstraints.destinations`,
 * `ssh-add -h`): what AgentClient.addIdentity sends is byte for byte what
 * OpenSSH's ssh-add sends for the same key, hosts and known_hosts; bad
 * specs and hops are typed errors before anything is sent. (Their effect
 * in a real ssh-agent is tested in test/auth/hostbound.test.ts.)
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, HostKeys, parseAgentDestination, PrivateKey, SSHException } from '../../ts/index.js';
import { makeKey } from '../auth/system.js';
import { recordingAgent, type RecordingAgent } from '../helpers/recordingAgent.js';
import { makeTempDir } from './helpers.js';

const execFileAsync = promisify(execFile);
let tmp: { dir: string; cleanup: () => void };
let userKey: string;
let knownHosts: string;
const fakes: RecordingAgent[] = [];

beforeAll(() => {
  tmp = makeTempDir('sshwire-agent-dest-');
  userKey = makeKey(tmp.dir, 'user', 'ed25519');
  const pub = (name: string, type: string): string => readFileSync(`${makeKey(tmp.dir, name, type)}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  knownHosts = join(tmp.dir, 'known_hosts');
  writeFileSync(knownHosts, [
    `alpha,alpha.example ${pub('alpha-ed', 'ed25519')}`,
    `alpha ${pub('alpha-ec', 'ecdsa')}`,
    `beta ${pub('beta-ed', 'ed25519')}`,
    `gamma ${pub('gamma-ed', 'ed25519')}`,
    `@revoked beta ${pub('beta-old', 'ed25519')}`,
    `@cert-authority beta ${pub('beta-ca', 'ed25519')}`,
  ].join('\n') + '\n');
});

afterAll(async () => {
  for (const f of fakes.splice(0)) await f.close();
  tmp?.cleanup();
});

/** The ADD_ID_CONSTRAINED request a client sends to a recording agent that says SUCCESS to everything. */
async function addRequest(add: (socket: string) => Promise<unknown>): Promise<Uint8Array> {
  const socket = join(tmp.dir, `fake-${fakes.length}.sock`);
  const fake = await recordingAgent(socket, () => [6]);
  fakes.push(fake);
  await add(socket);
  const adds = fake.connections.flat().filter((f) => f[0] === 25);
  expect(adds).toHaveLength(1);
  return adds[0]!;
}

describe('addIdentity with destinations sends what ssh-add -h sends', () => {
  for (const specs of [['alpha'], ['alpha', 'alpha>carol@beta'], ['bob@gamma', 'beta>gamma', 'alpha>beta']]) {
    it(specs.join(' '), async () => {
      const theirs = await addRequest((socket) =>
        execFileAsync('ssh-add', ['-q', '-H', knownHosts, ...specs.flatMap((s) => ['-h', s]), userKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } }),
      );
      const key = PrivateKey.fromFile(userKey);
      const ours = await addRequest((socket) =>
        new AgentClient(socket).addIdentity(key, key.comment, { destinations: specs, knownHosts: new HostKeys(knownHosts) }),
      );
      expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    });
  }

  it('with a lifetime too, and in the object form, the same bytes as ssh-add -t -h', async () => {
    const theirs = await addRequest((socket) =>
      execFileAsync('ssh-add', ['-q', '-t', '300', '-H', knownHosts, '-h', 'gamma', userKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } }),
    );
    const key = PrivateKey.fromFile(userKey);
    const hk = new HostKeys(knownHosts);
    const gamma = [...hk.lookup('gamma')!.values()];
    const ours = await addRequest((socket) =>
      new AgentClient(socket).addIdentity(key, key.comment, { lifetime: 300, destinations: [{ to: { hostname: 'gamma', hostKeys: gamma } }] }),
    );
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
  });
});

describe('bad destinations are ERR_SSH_BAD_ARGUMENT before anything is sent', () => {
  const hk = (): HostKeys => new HostKeys(knownHosts);
  const bad = (f: () => unknown, message: RegExp): void => {
    expect(f).toThrow(SSHException);
    expect(f).toThrow(message);
    expect(f).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_ARGUMENT' }));
  };

  it('a host with no known keys, a user on the first hop, two ">", an empty host', () => {
    bad(() => parseAgentDestination('nowhere', hk()), /no host keys known for "nowhere"/);
    bad(() => parseAgentDestination('me@alpha>beta', hk()), /only the destination may name a user/);
    bad(() => parseAgentDestination('alpha>beta>gamma', hk()), /more than one ">"/);
    bad(() => parseAgentDestination('me@', hk()), /empty user or host/);
  });

  it('resolves hops from known_hosts: every plain key, CAs flagged, revoked keys left out', () => {
    const d = parseAgentDestination('alpha>carol@beta', hk());
    expect(d.from!.hostKeys!.map((k) => k.keyType)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(d.to.user).toBe('carol');
    expect(d.to.hostKeys).toHaveLength(1);
    expect(d.to.certAuthorities).toHaveLength(1);
    const ca = readFileSync(join(tmp.dir, 'beta-ca.pub'), 'utf8').split(' ')[1];
    expect(Buffer.from(d.to.certAuthorities![0]!.publicKeyBlob).toString('base64')).toBe(ca);
    const revoked = readFileSync(join(tmp.dir, 'beta-old.pub'), 'utf8').split(' ')[1];
    expect(d.to.hostKeys!.map((k) => Buffer.from(k.publicKeyBlob).toString('base64'))).not.toContain(revoked);
  });

  it('a hop without keys, or a user on the "from" hop, in the object form; nothing reaches the agent', async () => {
    const socket = join(tmp.dir, 'never.sock');
    const fake = await recordingAgent(socket, () => [6]);
    fakes.push(fake);
    const key = PrivateKey.fromFile(userKey);
    const beta = [...hk().lookup('beta')!.values()];
    const agent = new AgentClient(socket);
    await expect(agent.addIdentity(key, 'x', { destinations: [{ to: { hostname: 'beta' } }] })).rejects.toThrow(/needs at least one host key/);
    await expect(agent.addIdentity(key, 'x', { destinations: [{ from: { hostname: 'beta', user: 'u', hostKeys: beta }, to: { hostname: 'beta', hostKeys: beta } }] })).rejects.toThrow(/may not name a user/);
    await expect(agent.addIdentity(key, 'x', { destinations: [] })).rejects.toThrow(/the list is empty/);
    expect(fake.connections.flat()).toHaveLength(0);
  });
});
