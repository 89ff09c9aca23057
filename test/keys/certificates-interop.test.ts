/**
 * OpenSSH certificates in use, both roles, against OpenSSH: user
 * certificates for publickey authentication (sshd's TrustedUserCAKeys; our
 * server's authorized_keys `cert-authority` lines) and host certificates
 * (sshd's HostCertificate; our `hostCertificates` / `<key>-cert.pub`),
 * checked through known_hosts `@cert-authority` lines. Certificates come
 * from `ssh-keygen -s`.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationException, SSHException } from '../../ts/errors.js';
import { Agent, connect, listen, PrivateKey, SSHClient } from '../../ts/index.js';
import { startAgent } from '../auth/system.js';
import { rootLogin, startSshd, type Sshd } from '../helpers/sshd.js';
import { makeFixture, python, run, type Fixture } from '../server/helpers.js';
import { generateWithSshKeygen, sshKeygen } from './helpers.js';
import { readText } from '../helpers/streams.js';

let fx: Fixture;
let sshd: Sshd;
const p = (name: string): string => join(fx.dir, name);
const pub = (name: string): string => readFileSync(p(`${name}.pub`), 'utf8').trim();

/** `ssh-keygen -s ca`: a certificate for `name`.pub with these principals and validity. */
function certify(name: string, principals: string, opts: { host?: boolean; validity?: string; ca?: string; options?: string[] } = {}): void {
  const extra = (opts.options ?? []).flatMap((o) => ['-O', o]);
  sshKeygen(['-q', '-s', p(opts.ca ?? 'ca'), '-I', `${name} id`, ...(opts.host ? ['-h'] : []), '-n', principals, '-V', opts.validity ?? '-5m:+1h', ...extra, p(`${name}.pub`)]);
}

beforeAll(async () => {
  fx = makeFixture('sshwire-certs-');
  generateWithSshKeygen(p('ca'), 'ed25519', undefined, '', [], 'the CA');
  generateWithSshKeygen(p('other_ca'), 'ed25519', undefined, '', [], 'another CA');
  generateWithSshKeygen(p('enc'), 'ed25519', undefined, 'unlock me please', [], 'encrypted');
  certify('enc', 'root');
  for (const [name, type, bits] of [['user', 'ed25519'], ['user_rsa', 'rsa', 2048], ['expired', 'ed25519'], ['plain', 'ed25519'], ['host', 'ed25519'], ['forced', 'ed25519']] as [string, string, number?][]) {
    generateWithSshKeygen(p(name), type, bits, '', [], name);
  }
  certify('user', 'root,tester');
  certify('user_rsa', 'root');
  certify('expired', 'root', { validity: '20200101:20200102' });
  certify('host', '127.0.0.1', { host: true });
  certify('forced', 'tester', { options: ['force-command=forced-cmd', 'no-pty'] });
  sshd = await startSshd({
    overrides: ['LogLevel ERROR'],
    config: [`TrustedUserCAKeys ${p('ca.pub')}`, `HostKey ${p('host')}`, `HostCertificate ${p('host-cert.pub')}`],
  });
  writeFileSync(p('kh_ca'), `@cert-authority [127.0.0.1]:${sshd.port} ${pub('ca')}\n`);
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  fx?.cleanup();
});

describe('sshwire client → sshd with TrustedUserCAKeys and a HostCertificate', () => {
  it('logs in with a user certificate found beside the key, and accepts the host certificate through @cert-authority', async () => {
    const conn = await connect(rootLogin(sshd, p('user'), { knownHosts: p('kh_ca') }));
    try {
      expect(conn.transport.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
      expect((await conn.run('echo certified', { timeout: 20_000 })).stdout).toBe('certified\n');
    } finally {
      await conn.close();
    }
  });

  it('an RSA certificate signs as rsa-sha2-512-cert-v01@openssh.com', async () => {
    const lines: string[] = [];
    const conn = await connect(rootLogin(sshd, p('user_rsa'), { knownHosts: p('kh_ca'), debug: (m) => lines.push(m) }));
    try {
      expect((await conn.run('echo rsa', { timeout: 20_000 })).stdout).toBe('rsa\n');
      expect(lines.join('\n')).toMatch(/offering public key ssh-rsa-cert-v01@openssh\.com .*\(rsa-sha2-512-cert-v01@openssh\.com\)/);
    } finally {
      await conn.close();
    }
  });

  it('clientCerts: key material and certificate text given separately', async () => {
    const key = PrivateKey.fromString(readFileSync(p('user'), 'utf8'));
    const conn = await connect(rootLogin(sshd, p('user'), { privateKey: key, knownHosts: p('kh_ca'), clientCerts: [readFileSync(p('user-cert.pub'), 'utf8')] }));
    await conn.close();
  });

  it('ssh_config IdentityFile + CertificateFile: the certificate named in the config is presented', async () => {
    copyFileSync(p('user'), p('cfgkey'));
    writeFileSync(p('ssh_config'), `Host certhost\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${p('cfgkey')}\n  CertificateFile ${p('user-cert.pub')}\n  UserKnownHostsFile ${p('kh_ca')}\n`);
    const conn = await connect({ host: 'certhost', config: p('ssh_config'), agent: false });
    try {
      expect((await conn.run('echo via config', { timeout: 20_000 })).stdout).toBe('via config\n');
    } finally {
      await conn.close();
    }
  });

  it('SSHClient (Paramiko rules): keyFilename may name just the -cert.pub; the password unlocks an encrypted key', async () => {
    for (const opts of [{ keyFilename: p('user-cert.pub') }, { keyFilename: p('enc'), password: 'unlock me please' }]) {
      const client = new SSHClient();
      client.loadHostKeys(p('kh_ca'));
      try {
        await client.connect('127.0.0.1', { port: sshd.port, username: 'root', allowAgent: false, lookForKeys: false, ...opts });
        const { stdout } = await client.execCommand('echo ok');
        expect(await readText(stdout)).toBe('ok\n');
      } finally {
        client.close();
      }
    }
  });

  it('the same key without its certificate, or with an expired one, is refused', async () => {
    copyFileSync(p('user'), p('nocert'));
    await expect(connect(rootLogin(sshd, p('nocert'), { knownHosts: p('kh_ca') }))).rejects.toThrow(AuthenticationException);
    await expect(connect(rootLogin(sshd, p('expired'), { knownHosts: p('kh_ca') }))).rejects.toThrow(AuthenticationException);
  });

  it('a host certificate from a CA nobody trusts is judged as its plain key: unknown, so rejected', async () => {
    writeFileSync(p('kh_other'), `@cert-authority [127.0.0.1]:${sshd.port} ${pub('other_ca')}\n`);
    const err = await connect(rootLogin(sshd, p('user'), { knownHosts: p('kh_other') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SSHException);
    expect(String((err as Error).message)).toMatch(/SHA256:/);
    // With the certified key itself on record, the plain-key fallback accepts the certificate.
    // (sshd's other ed25519 host key is a different key, so the certificate algorithm is asked for.)
    writeFileSync(p('kh_plain'), `[127.0.0.1]:${sshd.port} ${pub('host').split(' ').slice(0, 2).join(' ')}\n`);
    const conn = await connect(rootLogin(sshd, p('user'), { knownHosts: p('kh_plain'), algorithms: { serverHostKey: ['ssh-ed25519-cert-v01@openssh.com'] } }));
    expect(conn.transport.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
    await conn.close();
  });

  it('signs through ssh-agent holding the key and its certificate, added by ssh-add or by our Agent.addIdentity', async () => {
    const agent = await startAgent(fx.dir);
    const env = { ...process.env, SSH_AUTH_SOCK: agent.socket };
    try {
      const add = await run('ssh-add', [p('user')], { env });
      expect(add.stderr).toMatch(/Certificate added/);
      const conn = await connect({ ...rootLogin(sshd, p('user'), { knownHosts: p('kh_ca') }), privateKey: undefined, agent: agent.socket });
      await conn.close();
      // Our agent client adds each key with its certificate; ssh-add lists both forms, and the certificate logs in.
      for (const [name, label] of [['user', 'ED25519'], ['user_rsa', 'RSA']] as const) {
        expect((await run('ssh-add', ['-D'], { env })).code).toBe(0);
        const key = PrivateKey.fromFile(p(name));
        key.loadCertificate(readFileSync(p(`${name}-cert.pub`), 'utf8'));
        const client = new Agent(agent.socket);
        try {
          await client.addIdentity(key, `${name} with cert`);
        } finally {
          client.close();
        }
        const listed = await run('ssh-add', ['-l'], { env });
        expect(listed.stdout).toContain(`(${label})`);
        expect(listed.stdout).toContain(`(${label}-CERT)`);
        const c = await connect({ ...rootLogin(sshd, p(name), { knownHosts: p('kh_ca') }), privateKey: undefined, agent: agent.socket });
        await c.close();
      }
    } finally {
      await agent.stop();
    }
  });
});

describe('OpenSSH ssh → sshwire server with a host certificate and cert-authority in authorized_keys', () => {
  it('ssh accepts our host certificate and logs in with its user certificate; principals and CA are enforced', async () => {
    writeFileSync(p('authorized'), `cert-authority,principals="tester" ${pub('ca')}\n`);
    const server = await listen({
      hostKeys: [p('host')], // host-cert.pub beside it is picked up
      authorizedClientKeys: p('authorized'),
      processFactory: (proc) => {
        proc.stdout.write(`hello ${proc.command}\n`);
        proc.exit(0);
      },
    });
    try {
      const port = server.address().port;
      writeFileSync(p('kh_ours'), `@cert-authority [127.0.0.1]:${port} ${pub('ca')}\n`);
      const ssh = (key: string, user = 'tester') =>
        run('ssh', ['-F', '/dev/null', '-i', p(key), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${p('kh_ours')}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(port), `${user}@127.0.0.1`, 'there']);
      const ok = await ssh('user');
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toBe('hello there\n');
      // Principal "root" only: not allowed by principals="tester".
      const wrongPrincipal = await ssh('user_rsa');
      expect(wrongPrincipal.code).toBe(255);
      expect(wrongPrincipal.stderr).toMatch(/Permission denied/);
      // A plain key, not listed: refused.
      expect((await ssh('plain')).code).toBe(255);
      // Expired certificate: refused.
      expect((await ssh('expired', 'root')).code).toBe(255);
      // The certificate's force-command replaces the command, and its missing permit-pty refuses a terminal.
      const forced = await ssh('forced');
      expect(forced.stdout).toBe('hello forced-cmd\n');
      const tty = await run('ssh', ['-tt', '-F', '/dev/null', '-i', p('forced'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${p('kh_ours')}`, '-p', String(port), 'tester@127.0.0.1', 'x']);
      expect(tty.stderr).toMatch(/PTY allocation request failed/);
      // Our client against our server: the same certificate and host certificate.
      const conn = await connect({ host: '127.0.0.1', port, username: 'tester', privateKey: p('user'), knownHosts: p('kh_ours'), agent: false, lookForKeys: false, config: false });
      expect(conn.transport.negotiated?.hostKey).toBe('ssh-ed25519-cert-v01@openssh.com');
      expect((await conn.run('x')).stdout).toBe('hello x\n');
      await conn.close();
    } finally {
      await server.close();
    }
  });

  it('Paramiko (load_certificate) and AsyncSSH (key with -cert.pub) log in with the user certificate; AsyncSSH accepts the host certificate', async () => {
    writeFileSync(p('authorized2'), `cert-authority,principals="tester" ${pub('ca')}\n`);
    const server = await listen({ hostKeys: [p('host')], authorizedClientKeys: p('authorized2'), processFactory: (proc) => { proc.stdout.write(`py ${proc.command}\n`); proc.exit(0); } });
    try {
      const port = server.address().port;
      writeFileSync(p('kh_py'), `@cert-authority [127.0.0.1]:${port} ${pub('ca')}\n`);
      const paramiko = `
import sys, paramiko
k = paramiko.Ed25519Key.from_private_key_file(sys.argv[2])
k.load_certificate(sys.argv[2] + '-cert.pub')
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', pkey=k, allow_agent=False, look_for_keys=False)
i, o, e = c.exec_command('paramiko')
print(o.read().decode().strip())
c.close()
`;
      const pm = await python(paramiko, [String(port), p('user')]);
      expect(pm.stdout.trim(), pm.stderr).toBe('py paramiko');
      const asyncssh = `
import sys, asyncio, asyncssh
async def main():
    async with asyncssh.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', client_keys=[sys.argv[2]], known_hosts=sys.argv[3], agent_path=None) as conn:
        print(conn.get_server_host_key().get_algorithm())
        print((await conn.run('asyncssh')).stdout.strip())
asyncio.run(main())
`;
      const as = await python(asyncssh, [String(port), p('user'), p('kh_py')]);
      // Only the @cert-authority line is on record, so AsyncSSH accepted the host through its certificate
      // (get_server_host_key() reports the certified key).
      expect(as.stdout.trim().split('\n'), as.stderr).toEqual(['ssh-ed25519', 'py asyncssh']);
    } finally {
      await server.close();
    }
  });

  it('hostCertificates that certify none of the host keys, or a user certificate, are refused', async () => {
    await expect(listen({ hostKeys: ['ed25519'], hostCertificates: [p('host-cert.pub')] })).rejects.toThrow(/certifies none of the host keys/);
    await expect(listen({ hostKeys: [p('user')], hostCertificates: [p('user-cert.pub')] })).rejects.toThrow(/not a host certificate/);
  });
});
