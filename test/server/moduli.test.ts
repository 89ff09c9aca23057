/**
 * listen({ moduliFile }) (Paramiko's load_server_moduli): group exchange
 * draws its groups from the file. A file holding one 4096-bit group makes
 * OpenSSH's request for 3072 bits get 4096 (the built-in RFC 3526 groups
 * would answer 3072); an unusable file fails listen() at once.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, listen, SSHException } from '../../ts/index.js';
import { makeFixture, type Fixture } from './helpers.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture('sshwire-moduli-');
});
afterAll(() => fx?.cleanup());

/** OpenSSH's -vv lines about the group it was sent, for a gex-only handshake (authentication is refused afterwards). */
function sshGexLog(port: number): Promise<string> {
  const args = ['-vv', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'KexAlgorithms=diffie-hellman-group-exchange-sha256', '-c', 'aes128-gcm@openssh.com', '-p', String(port), 'nobody@127.0.0.1', 'true'];
  return new Promise((resolve) => execFile('ssh', args, { encoding: 'utf8', timeout: 30_000 }, (_e, _o, stderr) => resolve(stderr)));
}

describe('listen({ moduliFile })', () => {
  it('answers group exchange from the file', async () => {
    const line = readFileSync('/etc/ssh/moduli', 'utf8').split('\n').find((l) => l.split(' ')[4] === '4095');
    expect(line).toBeDefined();
    const file = join(fx.dir, 'moduli');
    writeFileSync(file, `# one group\n${line}\n`);
    for (const [moduliFile, bits] of [[file, 4096], [undefined, 3072]] as const) {
      const server = await listen({ hostKeys: ['ed25519'], ...(moduliFile ? { moduliFile } : {}), server: { checkAuthNone: () => AUTH_FAILED } });
      try {
        const log = await sshGexLog(server.address().port);
        expect(log).toMatch(/SSH2_MSG_KEX_DH_GEX_REQUEST\(2048<3072<8192\)/);
        expect(log).toMatch(new RegExp(`bits set: \\d+/${bits}\\b`));
      } finally {
        await server.close();
      }
    }
  });

  it('a missing or empty moduli file is ERR_SSH_BAD_OPTION from listen()', async () => {
    const empty = join(fx.dir, 'empty');
    writeFileSync(empty, '# nothing\n');
    for (const moduliFile of [join(fx.dir, 'missing'), empty]) {
      const err = await listen({ hostKeys: ['ed25519'], moduliFile }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect((err as SSHException).code).toBe('ERR_SSH_BAD_OPTION');
    }
  });
});
