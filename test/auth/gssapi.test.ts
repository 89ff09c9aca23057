/**
 * gssapi-with-mic against MIT Kerberos 1.20 and OpenSSH 9.2, all on
 * 127.0.0.1: a private KDC (test/helpers/kdc.ts), a user principal whose
 * tickets `kinit` puts in a private credential cache, and a host/localhost
 * service key in a private keytab.
 *
 *  - our client (connect and SSHClient) against sshd with GSSAPIAuthentication;
 *  - OpenSSH's ssh (MIT's GSS library as initiator) against our server;
 *  - our client against our server;
 *  - delegation both ways: the session sees a forwarded TGT through klist.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, AuthenticationException, connect, listen, SSHClient, AutoAddPolicy, type SSHServer } from '../../ts/index.js';
import { kdcAvailable, startKdc, type TestKdc } from '../helpers/kdc.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { readText } from '../helpers/streams.js';

const run = promisify(execFile);
const REALM = 'SSHWIRE.TEST';

describe.skipIf(!kdcAvailable())('gssapi-with-mic (Kerberos 5)', () => {
  let kdc: TestKdc;
  let dir: string;
  let keytab: string;
  let ccache: string;
  let env: Record<string, string>;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    kdc = await startKdc({ realm: REALM });
    dir = mkdtempSync(join(tmpdir(), 'sshwire-gss-'));
    keytab = join(dir, 'krb5.keytab');
    ccache = join(dir, 'ccache');
    kdc.addPrincipal('root', 'root-password');
    kdc.addPrincipal('mallory', 'mallory-password');
    kdc.addPrincipal('host/localhost');
    kdc.exportKeytab(['host/localhost'], keytab);
    kdc.kinit('root', 'root-password', ccache, { forwardable: true });
    env = { ...kdc.env, KRB5CCNAME: `FILE:${ccache}`, KRB5_KTNAME: `FILE:${keytab}` };
    // Our client reads KRB5CCNAME / KRB5_CONFIG from the process environment, as MIT's library does.
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await kdc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('our client against OpenSSH sshd', () => {
    let sshd: Sshd;
    beforeAll(async () => {
      sshd = await startSshd({
        overrides: ['LogLevel ERROR'],
        config: ['GSSAPIAuthentication yes', 'GSSAPIKeyExchange yes', 'GSSAPIStrictAcceptorCheck no', 'PubkeyAuthentication no'],
        env,
      });
    });
    afterAll(async () => {
      await sshd?.stop();
    });

    const login = { host: '127.0.0.1', username: 'root', gssAuth: true, gssHost: 'localhost', clientKeys: null, agent: false as const, knownHosts: null, config: false as const };

    it('logs in with the ticket from kinit and runs a command', async () => {
      await using conn = await connect({ ...login, port: sshd.port });
      const r = await conn.run('echo gss-ok; echo "${KRB5CCNAME:-none}"', { check: true });
      expect(String(r.stdout)).toBe('gss-ok\nnone\n');
    });

    it('delegates the TGT with gssDelegateCreds: klist on the server shows a forwarded krbtgt', async () => {
      await using conn = await connect({ ...login, port: sshd.port, gssDelegateCreds: true });
      const r = await conn.run('klist -f', { check: true });
      const out = String(r.stdout);
      expect(out).toContain(`Default principal: root@${REALM}`);
      expect(out).toMatch(new RegExp(`krbtgt/${REALM}@${REALM}`));
      expect(out).toMatch(/Flags: F[A-Za-z]*F|Flags: [A-Za-z]*F/);
    });

    it('GSS-API key exchange: Kerberos authenticates sshd (no known_hosts entry needed), gssapi-keyex logs in, rekeys work', async () => {
      const empty = join(dir, 'empty_known_hosts');
      writeFileSync(empty, '');
      const lines: string[] = [];
      await using conn = await connect({ ...login, port: sshd.port, gssAuth: false, gssKex: true, knownHosts: empty, debug: (m) => lines.push(m) });
      expect(lines.some((l) => /negotiated: kex gss-curve25519-sha256-toWM5Slw5Ew8Mqkay\+al2g==/.test(l))).toBe(true);
      expect(lines.some((l) => /server authenticated by GSS-API key exchange/.test(l))).toBe(true);
      expect(lines.some((l) => /gssapi-keyex: success/.test(l))).toBe(true);
      expect(String((await conn.run('echo kex-ok', { check: true })).stdout)).toBe('kex-ok\n');
      // A re-exchange makes a new context from the same ticket.
      await conn.transport.renegotiateKeys();
      expect(String((await conn.run('echo after-rekey', { check: true })).stdout)).toBe('after-rekey\n');
    });

    it('GSS-API key exchange with each base method sshd offers', async () => {
      for (const base of ['gss-nistp256-sha256-', 'gss-group16-sha512-', 'gss-group14-sha256-']) {
        const lines: string[] = [];
        // Our gss-* names go first; disabling the others leaves `base` as the first common one.
        const others = ['gss-curve25519-sha256-', 'gss-nistp256-sha256-', 'gss-group16-sha512-', 'gss-group14-sha256-'].filter((b) => b !== base).map((b) => `${b}toWM5Slw5Ew8Mqkay+al2g==`);
        await using conn = await connect({ ...login, port: sshd.port, gssKex: true, disabledAlgorithms: { kex: others }, debug: (m) => lines.push(m) });
        expect(lines.find((l) => l.includes("negotiated: kex"))).toContain(`kex ${base}toWM5Slw5Ew8Mqkay+al2g==`);
        expect(String((await conn.run('echo ok', { check: true })).stdout)).toBe('ok\n');
      }
    });

    it('SSHClient with gssAuth', async () => {
      const client = new SSHClient();
      client.setMissingHostKeyPolicy(new AutoAddPolicy());
      try {
        await client.connect('127.0.0.1', { port: sshd.port, username: 'root', gssAuth: true, gssHost: 'localhost', allowAgent: false, lookForKeys: false });
        const { stdout } = await client.execCommand('echo paramiko-shaped');
        expect(await readText(stdout)).toBe('paramiko-shaped\n');
      } finally {
        client.close();
      }
    });

    it('ssh_config GSSAPIAuthentication and GSSAPIServerIdentity turn it on', async () => {
      const cfg = join(dir, 'ssh_config');
      writeFileSync(cfg, `Host kerberized\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  GSSAPIAuthentication yes\n  GSSAPIServerIdentity localhost\n`);
      await using conn = await connect({ host: 'kerberized', username: 'root', config: cfg, clientKeys: null, agent: false, knownHosts: null });
      expect(String((await conn.run('echo via-config', { check: true })).stdout)).toBe('via-config\n');
      // Without the config line, and no other credentials, there is no way in.
      writeFileSync(cfg, `Host kerberized\n  HostName 127.0.0.1\n  Port ${sshd.port}\n`);
      await expect(connect({ host: 'kerberized', username: 'root', config: cfg, clientKeys: null, agent: false, knownHosts: null })).rejects.toThrow(AuthenticationException);
    });

    it('the sshwire command: ssh_config GSSAPIKeyExchange reaches a host with no known_hosts entry', async () => {
      const cfg = join(dir, 'cli_ssh_config');
      const empty = join(dir, 'cli_known_hosts');
      writeFileSync(empty, '');
      writeFileSync(cfg, `Host kerberized\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  UserKnownHostsFile ${empty}\n  GSSAPIAuthentication yes\n  GSSAPIKeyExchange yes\n  GSSAPIServerIdentity localhost\n  IdentityFile /nonexistent\n`);
      const bin = join(process.cwd(), 'bin/sshwire.mjs');
      const { stdout } = await run(process.execPath, [bin, 'exec', '-F', cfg, 'kerberized', 'echo', 'via-cli'], { env: { ...process.env, ...env, SSH_AUTH_SOCK: '' }, timeout: 60_000 });
      expect(stdout).toBe('via-cli\n');
      // The default policy rejects unknown host keys and records nothing: only the GSS-API key exchange let this in.
      expect(readFileSync(empty, 'utf8')).toBe('');
    });

    it('a principal the KDC does not know is a clear failure, not a hang', async () => {
      const err = await connect({ ...login, port: sshd.port, gssHost: 'nosuchhost' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationException);
      expect((err as Error).message).toMatch(/gssapi-with-mic: .*KDC_ERR_S_PRINCIPAL_UNKNOWN/);
    });

    it('a DIR: credential cache collection (its primary cache) works too', async () => {
      const collection = join(dir, 'collection');
      mkdirSync(collection, { mode: 0o700 });
      execFileSync('kinit', ['-c', `DIR:${collection}`, 'root'], { env: { ...process.env, ...kdc.env }, input: 'root-password\n', stdio: ['pipe', 'ignore', 'pipe'] });
      const before = process.env.KRB5CCNAME;
      process.env.KRB5CCNAME = `DIR:${collection}`;
      try {
        await using conn = await connect({ ...login, port: sshd.port });
        expect(String((await conn.run('echo from-dir-cache', { check: true })).stdout)).toBe('from-dir-cache\n');
      } finally {
        process.env.KRB5CCNAME = before;
      }
    });

    it('no credential cache: the method is skipped with the reason', async () => {
      const before = process.env.KRB5CCNAME;
      process.env.KRB5CCNAME = `FILE:${join(dir, 'missing')}`;
      try {
        const err = await connect({ ...login, port: sshd.port }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AuthenticationException);
        expect((err as Error).message).toMatch(/gssapi-with-mic: .*(kinit|credential)/i);
      } finally {
        process.env.KRB5CCNAME = before;
      }
    });
  });

  describe('our server', () => {
    let server: SSHServer;
    const seen: { username: string; principal: string; ccFile: string | null }[] = [];
    beforeAll(async () => {
      server = await listen({
        port: 0,
        host: '127.0.0.1',
        hostKeys: ['generate'],
        gssapi: { keytab },
        gssKex: true,
        spawnCommands: true,
        server: {
          checkAuthGssapiWithMic(username, gssAuthenticated, ccFile, principal) {
            seen.push({ username, principal, ccFile });
            // A .k5login-style rule: root@REALM may log in as root, nobody else.
            return gssAuthenticated === AUTH_SUCCESSFUL && principal === `${username}@${REALM}` ? AUTH_SUCCESSFUL : AUTH_FAILED;
          },
        },
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    // Options before the defaults win: ssh takes the first value of each.
    const sshArgs = (port: number, ...extra: string[]): string[] => [
      '-F', '/dev/null', '-p', String(port), ...extra,
      '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'GSSAPIAuthentication=yes', '-o', 'PreferredAuthentications=gssapi-with-mic', '-o', 'GSSAPIServerIdentity=localhost',
    ];

    it('OpenSSH ssh (MIT GSS initiator) logs in; the policy sees the principal', async () => {
      seen.length = 0;
      const { stdout } = await run('ssh', [...sshArgs(server.address().port), 'root@127.0.0.1', 'echo from-ssh'], { env: { ...process.env, ...env }, timeout: 30_000 });
      expect(stdout).toBe('from-ssh\n');
      expect(seen).toEqual([{ username: 'root', principal: `root@${REALM}`, ccFile: null }]);
    });

    it('OpenSSH ssh -K delegates: the session has KRB5CCNAME with a forwarded TGT', async () => {
      const { stdout } = await run('ssh', [...sshArgs(server.address().port, '-o', 'GSSAPIDelegateCredentials=yes'), 'root@127.0.0.1', 'klist -f; echo "cc=$KRB5CCNAME"'], {
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
      expect(stdout).toContain(`Default principal: root@${REALM}`);
      expect(stdout).toContain(`krbtgt/${REALM}@${REALM}`);
      expect(stdout).toMatch(/cc=FILE:\/.*sshwire-krb5-/);
    });

    const PY_PARAMIKO = `
import sys, paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect('127.0.0.1', port=int(sys.argv[1]), username='root', gss_auth=True, gss_host='localhost', gss_deleg_creds=False,
          look_for_keys=False, allow_agent=False, timeout=20)
_, out, _ = c.exec_command('echo paramiko-gss')
sys.stdout.write(out.read().decode())
c.close()
`;
    const PY_ASYNCSSH = `
import sys, asyncio, asyncssh
async def main():
    async with asyncssh.connect('127.0.0.1', int(sys.argv[1]), username='root', gss_host='localhost', known_hosts=None,
                                client_keys=None, agent_path=None, preferred_auth='gssapi-with-mic') as conn:
        r = await conn.run('echo asyncssh-gss', check=True)
        sys.stdout.write(r.stdout)
asyncio.run(main())
`;

    it('Paramiko (python-gssapi over MIT) logs in with gss_auth', async () => {
      seen.length = 0;
      const { stdout } = await run('/usr/bin/python3', ['-c', PY_PARAMIKO, String(server.address().port)], { env: { ...process.env, ...env }, timeout: 30_000 });
      expect(stdout).toBe('paramiko-gss\n');
      expect(seen).toEqual([{ username: 'root', principal: `root@${REALM}`, ccFile: null }]);
    });

    it('AsyncSSH logs in with gssapi-with-mic', async () => {
      seen.length = 0;
      const { stdout } = await run('/usr/bin/python3', ['-W', 'ignore', '-c', PY_ASYNCSSH, String(server.address().port)], { env: { ...process.env, ...env }, timeout: 30_000 });
      expect(stdout).toBe('asyncssh-gss\n');
      expect(seen[0]).toMatchObject({ username: 'root', principal: `root@${REALM}` });
    });

    it('OpenSSH ssh with GSSAPIKeyExchange: gss-* kex and gssapi-keyex against our server', async () => {
      seen.length = 0;
      const { stdout, stderr } = await run(
        'ssh',
        [...sshArgs(server.address().port, '-o', 'GSSAPIKeyExchange=yes', '-o', 'PreferredAuthentications=gssapi-keyex', '-v'), 'root@127.0.0.1', 'echo kex-from-ssh'],
        { env: { ...process.env, ...env }, timeout: 30_000 },
      );
      expect(stdout).toBe('kex-from-ssh\n');
      expect(stderr).toMatch(/kex: algorithm: gss-(curve25519|nistp256|group16|group14)-sha(256|512)-toWM5Slw5Ew8Mqkay\+al2g==/);
      expect(stderr).toMatch(/Authenticated to .* using "gssapi-keyex"/);
      expect(seen).toEqual([{ username: 'root', principal: `root@${REALM}`, ccFile: null }]);
    });

    it('our client against our server with GSS-API key exchange', async () => {
      const lines: string[] = [];
      await using conn = await connect({
        host: '127.0.0.1', port: server.address().port, username: 'root', gssKex: true, gssHost: 'localhost',
        clientKeys: null, agent: false, knownHosts: join(dir, 'empty_known_hosts'), config: false, debug: (m) => lines.push(m),
      });
      expect(lines.some((l) => /gssapi-keyex: success/.test(l))).toBe(true);
      expect(String((await conn.run('echo both-ours', { check: true })).stdout)).toBe('both-ours\n');
      await conn.transport.renegotiateKeys();
      expect(String((await conn.run('echo rekeyed', { check: true })).stdout)).toBe('rekeyed\n');
    });

    it('AsyncSSH with gss_kex against our server', async () => {
      const code = PY_ASYNCSSH.replace("preferred_auth='gssapi-with-mic'", "gss_kex=True, preferred_auth='gssapi-keyex'").replace('asyncssh-gss', 'asyncssh-kex');
      const { stdout } = await run('/usr/bin/python3', ['-W', 'ignore', '-c', code, String(server.address().port)], { env: { ...process.env, ...env }, timeout: 30_000 });
      expect(stdout).toBe('asyncssh-kex\n');
    });

    it('the policy refuses a principal that may not log in as the user', async () => {
      const err = await run('ssh', [...sshArgs(server.address().port), 'nobody@127.0.0.1', 'true'], { env: { ...process.env, ...env }, timeout: 30_000 }).catch((e: unknown) => e);
      expect((err as { code?: number }).code).toBe(255);
      expect(String((err as { stderr?: string }).stderr)).toMatch(/Permission denied/);
    });

    it('our client against our server, with delegation', async () => {
      seen.length = 0;
      await using conn = await connect({
        host: '127.0.0.1', port: server.address().port, username: 'root', gssAuth: true, gssHost: 'localhost', gssDelegateCreds: true,
        clientKeys: null, agent: false, knownHosts: null, config: false,
      });
      const r = await conn.run('klist', { check: true });
      expect(String(r.stdout)).toContain(`krbtgt/${REALM}@${REALM}`);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.ccFile).toMatch(/sshwire-krb5-/);
    });

    it("a user without Kerberos tickets gets OpenSSH's ordinary refusal", async () => {
      const other = join(dir, 'mallory-cc');
      kdc.kinit('mallory', 'mallory-password', other);
      const err = await run('ssh', [...sshArgs(server.address().port), 'root@127.0.0.1', 'true'], { env: { ...process.env, ...env, KRB5CCNAME: `FILE:${other}` }, timeout: 30_000 }).catch((e: unknown) => e);
      expect((err as { code?: number }).code).toBe(255);
      expect(seen.at(-1)).toMatchObject({ username: 'root', principal: `mallory@${REALM}` });
    });
  });
  it('a server whose keytab is missing fails the method and keeps the connection for the next one', async () => {
    const key = join(dir, 'id_fallback');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const lines: string[] = [];
    const server = await listen({
      hostKeys: ['generate'],
      gssapi: { keytab: join(dir, 'missing.keytab') },
      authorizedClientKeys: `${key}.pub`,
      processFactory: (proc) => proc.exit(0),
      debug: (m) => lines.push(m),
      server: { checkAuthGssapiWithMic: () => AUTH_SUCCESSFUL },
    });
    try {
      await using conn = await connect({
        host: '127.0.0.1', port: server.address().port, username: 'root', privateKey: key, agent: false, knownHosts: null, config: false,
        gssAuth: true, gssHost: 'localhost',
      });
      expect((await conn.run('true')).exitStatus).toBe(0);
      expect(lines.some((l) => /gssapi-with-mic unavailable: .*keytab/i.test(l))).toBe(true);
      expect(lines.some((l) => /authenticated \(publickey\)/.test(l))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
