/**
 * ssh_config's host key keywords in connect(): HostKeyAlias (the name
 * known_hosts uses, without a port) and StrictHostKeyChecking (accept-new /
 * no record new keys; a changed key is refused anyway; the default rejects).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadHostKeyException, connect, listen, PrivateKey, SSHException, type SSHServer } from '../../ts/index.js';
import { makeTempDir } from '../keys/helpers.js';

const hostKey = PrivateKey.generate('ed25519');
const userKey = PrivateKey.generate('ed25519');
let server: SSHServer;
let tmp: { dir: string; cleanup: () => void };
const p = (n: string) => join(tmp.dir, n);

beforeAll(async () => {
  tmp = makeTempDir('sshwire-hk-config-');
  server = await listen({ hostKeys: [hostKey], authorizedClientKeys: [userKey.publicKey], processFactory: (proc) => proc.exit(0) });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

/** An ssh_config with a Host block for this server plus `extra` lines, and connect() through it. */
function viaConfig(name: string, extra: string[]) {
  const cfg = p(`config-${name}`);
  writeFileSync(cfg, [`Host ${name}`, '  HostName 127.0.0.1', `  Port ${server.address().port}`, ...extra.map((l) => `  ${l}`)].join('\n') + '\n');
  return connect({ host: name, config: cfg, username: 'u', privateKey: userKey, agent: false, lookForKeys: false });
}

describe('ssh_config host key keywords', () => {
  it('HostKeyAlias: the key is looked up under the alias, not [host]:port', async () => {
    const line = `${hostKey.keyType} ${hostKey.publicKey.toString().split(' ')[1]}`;
    writeFileSync(p('kh-alias'), `gateway-key ${line}\n`);
    await (await viaConfig('aliased', ['HostKeyAlias gateway-key', `UserKnownHostsFile ${p('kh-alias')}`])).close();
    writeFileSync(p('kh-port'), `[127.0.0.1]:${server.address().port} ${line}\n`);
    await expect(viaConfig('aliased2', ['HostKeyAlias gateway-key', `UserKnownHostsFile ${p('kh-port')}`])).rejects.toThrow(/SHA256:/);
  });

  it('StrictHostKeyChecking accept-new records a new key and then uses it; a changed key is still refused; unset rejects', async () => {
    const kh = p('kh-new');
    await expect(viaConfig('strict-default', [`UserKnownHostsFile ${kh}`])).rejects.toThrow(SSHException);
    expect(existsSync(kh)).toBe(false);
    await (await viaConfig('accept', ['StrictHostKeyChecking accept-new', `UserKnownHostsFile ${kh}`])).close();
    expect(readFileSync(kh, 'utf8')).toContain(`[127.0.0.1]:${server.address().port} ssh-ed25519 `);
    await (await viaConfig('again', [`UserKnownHostsFile ${kh}`])).close();
    const other = PrivateKey.generate('ed25519');
    writeFileSync(kh, `[127.0.0.1]:${server.address().port} ${other.publicKey.toString()}\n`);
    await expect(viaConfig('changed', ['StrictHostKeyChecking no', `UserKnownHostsFile ${kh}`])).rejects.toThrow(BadHostKeyException);
  });
});
