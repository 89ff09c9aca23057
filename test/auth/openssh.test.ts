/**
 * Every client authentication method against Debian's OpenSSH sshd: keys of
 * each type and file format made by ssh-keygen, password and PAM
 * keyboard-interactive for a test user, ssh-agent, a publickey+password
 * chain (AuthenticationMethods), banners and the failure modes.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ConnectOptions } from '../../ts/client.js';
import { AuthenticationException, PartialAuthentication, PasswordRequiredException } from '../../ts/errors.js';
import { makeTempDir } from '../keys/helpers.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { createUser, makeKey, startAgent } from './system.js';

const PW_USER = 'sshwire-pw';
const KBD_USER = 'sshwire-kbd';
const PASSWORD = 'Corr3ct-horse!';

let tmp: { dir: string; cleanup: () => void };
let pam: Sshd; // UsePAM yes: password and keyboard-interactive
let chain: Sshd; // AuthenticationMethods publickey,password
const cleanups: (() => void)[] = [];
const keys: Record<string, string> = {};

beforeAll(async () => {
  tmp = makeTempDir('sshwire-auth-');
  const d = tmp.dir;
  keys.ed25519 = makeKey(d, 'id_ed25519', 'ed25519');
  keys.ecdsa256 = makeKey(d, 'id_ecdsa256', 'ecdsa', { bits: 256 });
  keys.ecdsa384 = makeKey(d, 'id_ecdsa384', 'ecdsa', { bits: 384 });
  keys.ecdsa521 = makeKey(d, 'id_ecdsa521', 'ecdsa', { bits: 521 });
  keys.rsa = makeKey(d, 'id_rsa', 'rsa', { bits: 2048 });
  keys.rsaPem = makeKey(d, 'id_rsa_pem', 'rsa', { bits: 2048, pem: true });
  keys.ecdsaPem = makeKey(d, 'id_ecdsa_pem', 'ecdsa', { bits: 256, pem: true });
  keys.ed25519Enc = makeKey(d, 'id_ed25519_enc', 'ed25519', { passphrase: 'secret words' });
  keys.rsaEnc = makeKey(d, 'id_rsa_enc', 'rsa', { bits: 2048, passphrase: 'secret words' });
  keys.rsaPemEnc = makeKey(d, 'id_rsa_pem_enc', 'rsa', { bits: 2048, passphrase: 'secret words', pem: true });
  keys.agentRsa = makeKey(d, 'id_agent_rsa', 'rsa', { bits: 2048 });
  keys.agentEd = makeKey(d, 'id_agent_ed', 'ed25519');
  keys.unauthorized = makeKey(d, 'id_unauthorized', 'ed25519');
  const authorizedKeys = Object.entries(keys)
    .filter(([k]) => k !== 'unauthorized')
    .map(([, p]) => readFileSync(`${p}.pub`, 'utf8').trim());
  cleanups.push(createUser(PW_USER, PASSWORD), createUser(KBD_USER, PASSWORD));
  const bannerFile = `${d}/banner.txt`;
  writeFileSync(bannerFile, 'Welcome to the sshwire test server\n');
  [pam, chain] = await Promise.all([
    startSshd({
      overrides: ['UsePAM yes', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication yes', `Banner ${bannerFile}`],
      authorizedKeys,
      config: [`Match User ${KBD_USER}`, '  AuthenticationMethods keyboard-interactive', `Match User ${PW_USER}`, '  AuthenticationMethods password'],
    }),
    startSshd({
      overrides: ['PasswordAuthentication yes', 'AuthenticationMethods publickey,password'],
      authorizedKeys,
    }),
  ]);
  // sshd reads authorized_keys as the user logging in: let the test users read it.
  for (const s of [pam, chain]) {
    chmodSync(s.dir, 0o755);
    chmodSync(join(s.dir, 'authorized_keys'), 0o644);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([pam?.stop(), chain?.stop()]);
  for (const c of cleanups) c();
  tmp?.cleanup();
});

/** Options every test shares: no known_hosts, no agent or key discovery, no ssh_config, unless a test says otherwise. */
function opts(server: Sshd, extra: Partial<ConnectOptions>): ConnectOptions {
  return { host: '127.0.0.1', port: server.port, knownHosts: null, agent: false, lookForKeys: false, config: false, readyTimeout: 20_000, ...extra };
}

async function authMethods(o: ConnectOptions): Promise<readonly string[]> {
  const conn = await connect(o);
  try {
    return conn.authMethods;
  } finally {
    conn.close();
    await conn.closed;
  }
}

describe('publickey against sshd', () => {
  const cases: [string, string, string | undefined][] = [
    ['ed25519 (OpenSSH format)', 'ed25519', undefined],
    ['ecdsa-sha2-nistp256 (OpenSSH format)', 'ecdsa256', undefined],
    ['ecdsa-sha2-nistp384 (OpenSSH format)', 'ecdsa384', undefined],
    ['ecdsa-sha2-nistp521 (OpenSSH format)', 'ecdsa521', undefined],
    ['rsa (OpenSSH format)', 'rsa', undefined],
    ['rsa (PEM)', 'rsaPem', undefined],
    ['ecdsa (PEM)', 'ecdsaPem', undefined],
    ['ed25519 (OpenSSH format, encrypted)', 'ed25519Enc', 'secret words'],
    ['rsa (OpenSSH format, encrypted)', 'rsaEnc', 'secret words'],
    ['rsa (PEM, encrypted)', 'rsaPemEnc', 'secret words'],
  ];
  for (const [label, key, passphrase] of cases) {
    it(label, async () => {
      const methods = await authMethods(opts(pam, { username: 'root', privateKey: keys[key]!, ...(passphrase ? { passphrase } : {}) }));
      expect(methods).toEqual(['publickey']);
    });
  }

  it('RSA signs with rsa-sha2-512 (sshd logs the accepted algorithm)', async () => {
    await authMethods(opts(pam, { username: 'root', privateKey: keys.rsa! }));
    const accepted = pam.log().split('\n').filter((l) => /userauth_pubkey: .*RSA SHA256/.test(l));
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.every((l) => l.includes('rsa-sha2-512'))).toBe(true);
  });

  it('key material (not a path) and an unauthorized key first: the next key is used', async () => {
    const methods = await authMethods(opts(pam, { username: 'root', clientKeys: [keys.unauthorized!, readFileSync(keys.ecdsa256!, 'utf8')] }));
    expect(methods).toEqual(['publickey']);
  });

  it('an explicit encrypted key without a passphrase: PasswordRequiredException', async () => {
    const err = await connect(opts(pam, { username: 'root', privateKey: keys.ed25519Enc! })).catch((e) => e);
    expect(err).toBeInstanceOf(PasswordRequiredException);
  });

  it('an encrypted discovered key (ssh_config IdentityFile) without passphrase is skipped, the next one works', async () => {
    const cfg = `${tmp.dir}/ssh_config`;
    writeFileSync(cfg, `Host testhost\n  HostName 127.0.0.1\n  Port ${pam.port}\n  User root\n  IdentityFile ${keys.ed25519Enc}\n  IdentityFile ${keys.ecdsa384}\n`);
    const conn = await connect({ host: 'testhost', config: cfg, knownHosts: null, agent: false });
    try {
      expect(conn.username).toBe('root');
      expect(conn.authMethods).toEqual(['publickey']);
    } finally {
      conn.close();
    }
  });

  it('no usable key: AuthenticationException naming what the server allows', async () => {
    const err = await connect(opts(pam, { username: 'root', privateKey: keys.unauthorized! })).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(err.allowedTypes).toContain('publickey');
  });
});

describe('ssh-agent', () => {
  it('authenticates with RSA and ed25519 keys held by a real ssh-agent', async () => {
    const agent = await startAgent(tmp.dir);
    try {
      agent.add(keys.agentRsa!);
      expect(await authMethods(opts(pam, { username: 'root', agent: agent.socket }))).toEqual(['publickey']);
      agent.add(keys.agentEd!);
      expect(await authMethods(opts(pam, { username: 'root', agent: agent.socket }))).toEqual(['publickey']);
    } finally {
      await agent.stop();
    }
  });
});

describe('password and keyboard-interactive (PAM)', () => {
  it('password', async () => {
    const banners: string[] = [];
    const methods = await authMethods(opts(pam, { username: PW_USER, password: PASSWORD, onBanner: (m) => banners.push(m) }));
    expect(methods).toEqual(['password']);
    expect(banners).toEqual(['Welcome to the sshwire test server\n']);
  });

  it('wrong password: AuthenticationException', async () => {
    const err = await connect(opts(pam, { username: PW_USER, password: 'wrong' })).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(err.message).not.toContain('wrong');
    expect(err.allowedTypes).toEqual(['password']);
  });

  it('keyboard-interactive answered with the password automatically', async () => {
    expect(await authMethods(opts(pam, { username: KBD_USER, password: PASSWORD }))).toEqual(['keyboard-interactive']);
  });

  it('keyboard-interactive through a handler that sees the PAM prompt', async () => {
    const seen: { prompt: string; echo: boolean }[][] = [];
    const methods = await authMethods(
      opts(pam, {
        username: KBD_USER,
        kbdintHandler: (_name, _instructions, prompts) => {
          seen.push(prompts);
          return prompts.map(() => PASSWORD);
        },
      }),
    );
    expect(methods).toEqual(['keyboard-interactive']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toHaveLength(1);
    expect(seen[0]![0]!.echo).toBe(false);
    expect(seen[0]![0]!.prompt).toMatch(/password/i);
  });
});

describe('AuthenticationMethods publickey,password', () => {
  it('key, then password after partial success', async () => {
    expect(await authMethods(opts(chain, { username: PW_USER, privateKey: keys.ed25519!, password: PASSWORD }))).toEqual(['publickey', 'password']);
  });

  it('key alone: PartialAuthentication listing password', async () => {
    const err = await connect(opts(chain, { username: PW_USER, privateKey: keys.ed25519! })).catch((e) => e);
    expect(err).toBeInstanceOf(PartialAuthentication);
    expect(err.allowedTypes).toEqual(['password']);
  });
});
