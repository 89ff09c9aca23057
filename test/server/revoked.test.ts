/**
 * listen({ revokedClientKeys }) (sshd's RevokedKeys): a listed key is
 * refused although authorized, a file's edits take effect at the next
 * attempt, a certificate is refused when its CA is listed, an OpenSSH KRL
 * revokes by key ID and key, and a broken or unreadable list stops listen().
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationException, connect, listen, PrivateKey, SSHException } from '../../ts/index.js';
import { generateWithSshKeygen, makeTempDir } from '../keys/helpers.js';

let tmp: { dir: string; cleanup: () => void };
const p = (n: string) => join(tmp.dir, n);
const hostKey = PrivateKey.generate('ed25519');
const alice = PrivateKey.generate('ed25519');
const bob = PrivateKey.generate('ed25519');

beforeAll(() => {
  tmp = makeTempDir('sshwire-revoked-');
  generateWithSshKeygen(p('ca'), 'ed25519', undefined, '');
  generateWithSshKeygen(p('carol'), 'ed25519', undefined, '');
  execFileSync('ssh-keygen', ['-q', '-s', p('ca'), '-I', 'carol', '-n', 'u', '-V', '-5m:+1h', p('carol.pub')]);
});
afterAll(() => tmp?.cleanup());

const login = (port: number, key: PrivateKey | string) =>
  connect({ host: '127.0.0.1', port, username: 'u', privateKey: key, knownHosts: [hostKey.publicKey], agent: false, lookForKeys: false, config: false });

/** A server authorizing alice, bob and the CA's certificates, with this revocation file; `fn` gets its port. */
async function withRevoking(revokedClientKeys: string, fn: (port: number) => Promise<void>): Promise<void> {
  const ca = readFileSync(p('ca.pub'), 'utf8').trim();
  const server = await listen({
    hostKeys: [hostKey],
    authorizedClientKeys: [alice.publicKey, bob.publicKey, `cert-authority ${ca}`],
    revokedClientKeys,
    processFactory: (proc) => proc.exit(0),
  });
  try {
    await fn(server.address().port);
  } finally {
    await server.close();
  }
}

describe('revokedClientKeys', () => {
  it('refuses listed keys and certificates whose CA is listed; a file is re-read at each attempt', async () => {
    writeFileSync(p('revoked'), `# revoked keys\n${bob.publicKey.toString()}\n`);
    await withRevoking(p('revoked'), async (port) => {
      await (await login(port, alice)).close();
      await expect(login(port, bob)).rejects.toThrow(AuthenticationException);
      await (await login(port, p('carol'))).close(); // the certificate, through cert-authority
      writeFileSync(p('revoked'), `${alice.publicKey.toString()}\n${readFileSync(p('ca.pub'), 'utf8')}`);
      await expect(login(port, alice)).rejects.toThrow(AuthenticationException);
      await expect(login(port, p('carol'))).rejects.toThrow(AuthenticationException);
      await (await login(port, bob)).close();
    });
  });

  it('reads an OpenSSH KRL: the certificate whose key ID it revokes is refused, the plain key it lists too', async () => {
    writeFileSync(p('krl-spec'), `id: carol\nkey: ${bob.publicKey.toString()}\n`);
    execFileSync('ssh-keygen', ['-q', '-k', '-f', p('krl'), '-s', p('ca.pub'), p('krl-spec')]);
    await withRevoking(p('krl'), async (port) => {
      await (await login(port, alice)).close();
      await expect(login(port, bob)).rejects.toThrow(AuthenticationException);
      await expect(login(port, p('carol'))).rejects.toThrow(AuthenticationException);
    });
  });

  it('a missing file, a broken KRL or a bad line stops listen() with ERR_SSH_BAD_OPTION', async () => {
    writeFileSync(p('broken-krl'), Buffer.concat([Buffer.from('SSHKRL\n\0'), Buffer.from([0, 0, 0, 1, 0])]));
    for (const revokedClientKeys of [p('broken-krl'), p('missing'), ['ssh-ed25519 !!!']]) {
      const err = await listen({ hostKeys: ['ed25519'], revokedClientKeys }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect((err as SSHException).code).toBe('ERR_SSH_BAD_OPTION');
    }
  });
});
