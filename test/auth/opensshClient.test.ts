/**
 * The server side of user authentication against OpenSSH's own `ssh`
 * client: publickey with each key type (RSA must arrive as rsa-sha2-512,
 * verified by our server), refused keys, and an async policy.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, UserAuthServer, type PublicKeyInfo, type ServerAuthResult } from '../../ts/auth/index.js';
import { Transport } from '../../ts/transport/index.js';
import { allHostKeys } from '../helpers/pair.js';
import { makeTempDir } from '../keys/helpers.js';
import { makeKey } from './system.js';

let tmp: { dir: string; cleanup: () => void };
const keys: Record<string, string> = {};

beforeAll(() => {
  tmp = makeTempDir('sshwire-auth-server-');
  keys.ed25519 = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
  keys.ecdsa = makeKey(tmp.dir, 'id_ecdsa', 'ecdsa', { bits: 384 });
  keys.rsa = makeKey(tmp.dir, 'id_rsa', 'rsa', { bits: 2048 });
  keys.stranger = makeKey(tmp.dir, 'id_stranger', 'ed25519');
});

afterAll(() => tmp?.cleanup());

function blobOf(pubPath: string): Buffer {
  return Buffer.from(readFileSync(pubPath, 'utf8').split(/\s+/)[1]!, 'base64');
}

/**
 * Runs `ssh` with `identity` against a one-connection server of ours whose
 * policy authorizes `authorized`; resolves what UserAuthServer concluded
 * and every key the policy saw.
 */
async function sshAgainstUs(identity: string, authorized: string[]): Promise<{ result: ServerAuthResult | Error; seen: PublicKeyInfo[] }> {
  const allowed = authorized.map((p) => blobOf(`${p}.pub`));
  const seen: PublicKeyInfo[] = [];
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const outcome = new Promise<ServerAuthResult | Error>((resolve) => {
    srv.once('connection', (sock) => {
      const t = new Transport(sock, { role: 'server', hostKeys: allHostKeys() });
      const auth = new UserAuthServer(t, {
        server: {
          getAllowedAuths: () => ['publickey'],
          // Async on purpose: policies may look keys up elsewhere.
          checkAuthPublickey: async (user, key) => {
            seen.push(key);
            await new Promise((r) => setTimeout(r, 2));
            return user === 'alice' && allowed.some((b) => b.equals(key.blob)) ? AUTH_SUCCESSFUL : AUTH_FAILED;
          },
        },
      });
      auth.result.then(resolve, resolve).finally(() => t.disconnect());
    });
  });
  const ssh = spawn(
    'ssh',
    [
      '-F', '/dev/null', '-p', String(port), '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=publickey',
      '-o', 'ConnectTimeout=10', 'alice@127.0.0.1', 'true',
    ],
    { stdio: 'ignore', env: { ...process.env, SSH_AUTH_SOCK: '' } },
  );
  const exited = new Promise<void>((r) => ssh.once('exit', () => r()));
  const result = await outcome;
  await exited;
  srv.close();
  return { result, seen };
}

describe('UserAuthServer with the OpenSSH client', () => {
  for (const k of ['ed25519', 'ecdsa', 'rsa']) {
    it(`accepts an authorized ${k} key after verifying its signature`, async () => {
      const { result, seen } = await sshAgainstUs(keys[k]!, [keys[k]!]);
      expect(result).toEqual({ username: 'alice', methods: ['publickey'] });
      const signed = seen.filter((s) => s.signed);
      expect(signed).toHaveLength(1);
      if (k === 'rsa') expect(signed[0]!.algorithm).toBe('rsa-sha2-512');
    });
  }

  it('refuses a key that is not authorized', async () => {
    const { result, seen } = await sshAgainstUs(keys.stranger!, [keys.ed25519!]);
    expect(result).toBeInstanceOf(Error);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => !s.signed)).toBe(true);
  });
});
