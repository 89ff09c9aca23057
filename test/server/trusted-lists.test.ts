/**
 * Trust given as objects instead of files (AsyncSSH's lists of keys):
 * `listen({ authorizedClientKeys: [PublicKey | line] })` and
 * `connect({ knownHosts: [PublicKey] | HostKeys })`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationException, BadHostKeyException, connect, HostKeys, knownHostsName, listen, PrivateKey, type SSHServer, SSHException } from '../../ts/index.js';

const hostKey = PrivateKey.generate('ed25519');
const alice = PrivateKey.generate('ed25519');
const bob = PrivateKey.generate('ecdsa', 256);
const carol = PrivateKey.generate('ed25519');
let server: SSHServer;
let port: number;

beforeAll(async () => {
  server = await listen({
    hostKeys: [hostKey],
    // A PublicKey, and an authorized_keys line with an option.
    authorizedClientKeys: [alice.publicKey, `no-pty ${bob.publicKey.toString()}`],
    processFactory: (proc) => {
      proc.stdout.write(`${proc.command} pty=${proc.pty ? 'yes' : 'no'}\n`);
      proc.exit(0);
    },
  });
  port = server.address().port;
});
afterAll(async () => {
  await server?.close();
});

const base = { host: '127.0.0.1', agent: false as const, lookForKeys: false, config: false as const, username: 'u' };

describe('trusted keys as objects', () => {
  it('authorizedClientKeys: listed keys log in (with their options), others do not', async () => {
    const a = await connect({ ...base, port, privateKey: alice, knownHosts: [hostKey.publicKey] });
    expect((await a.run('hi', { pty: true })).stdout).toMatch(/^hi pty=yes/);
    await a.close();
    const b = await connect({ ...base, port, privateKey: bob, knownHosts: [hostKey.publicKey] });
    await expect(b.run('hi', { pty: true })).rejects.toThrow();
    expect((await b.run('plain')).stdout).toBe('plain pty=no\n');
    await b.close();
    await expect(connect({ ...base, port, privateKey: carol, knownHosts: [hostKey.publicKey] })).rejects.toThrow(AuthenticationException);
  });

  it('knownHosts: a PublicKey list or a HostKeys object; another key of the same type is a changed host key', async () => {
    const hk = new HostKeys();
    hk.add(knownHostsName('127.0.0.1', port), hostKey.keyType, hostKey.publicKey);
    const c = await connect({ ...base, port, privateKey: alice, knownHosts: hk });
    await c.close();
    await expect(connect({ ...base, port, privateKey: alice, knownHosts: [carol.publicKey] })).rejects.toThrow(BadHostKeyException);
    // Nothing on record (an empty list): unknown, rejected by default.
    await expect(connect({ ...base, port, privateKey: alice, knownHosts: [] })).rejects.toThrow(/SHA256:/);
  });

  it('a malformed authorized key line fails listen() with ERR_SSH_BAD_OPTION', async () => {
    const err = await listen({ hostKeys: ['ed25519'], authorizedClientKeys: ['ssh-ed25519 not-base64!'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SSHException);
    expect((err as SSHException).code).toBe('ERR_SSH_BAD_OPTION');
  });
});
