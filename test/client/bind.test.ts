/**
 * connect({ localAddress, localPort, family }) (AsyncSSH's local_addr and
 * family, ssh -b / -4 / -6) and ssh_config BindAddress / AddressFamily: the
 * server sees the connection come from the bound address and port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, listen, NoValidConnectionsError, PrivateKey, type SSHServer } from '../../ts/index.js';
import { freePort } from '../helpers/sshd.js';
import { makeTempDir } from '../keys/helpers.js';

const hostKey = PrivateKey.generate('ed25519');
const key = PrivateKey.generate('ed25519');
let server: SSHServer;
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  tmp = makeTempDir('sshwire-bind-');
  server = await listen({
    hostKeys: [hostKey],
    authorizedClientKeys: [key.publicKey],
    processFactory: (proc) => {
      proc.stdout.write(`${proc.connection.remoteAddress} ${proc.connection.remotePort}\n`);
      proc.exit(0);
    },
  });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

const base = () => ({ host: '127.0.0.1', port: server.address().port, username: 'u', privateKey: key, knownHosts: [hostKey.publicKey], agent: false as const, lookForKeys: false, config: false as const });

describe('binding the client socket', () => {
  it('localAddress and localPort are what the server sees', async () => {
    const localPort = await freePort();
    const conn = await connect({ ...base(), localAddress: '127.0.0.2', localPort });
    try {
      expect((await conn.run('where')).stdout).toBe(`127.0.0.2 ${localPort}\n`);
    } finally {
      await conn.close();
    }
  });

  it('ssh_config BindAddress and AddressFamily apply; an explicit family that excludes the address fails clearly', async () => {
    const cfg = join(tmp.dir, 'config');
    writeFileSync(cfg, `Host bound\n  HostName localhost\n  Port ${server.address().port}\n  BindAddress 127.0.0.3\n  AddressFamily inet\n`);
    const conn = await connect({ ...base(), host: 'bound', port: undefined, config: cfg });
    try {
      expect((await conn.run('where')).stdout).toMatch(/^127\.0\.0\.3 \d+\n$/);
    } finally {
      await conn.close();
    }
    await expect(connect({ ...base(), family: 6 })).rejects.toThrow(NoValidConnectionsError);
  });
});
