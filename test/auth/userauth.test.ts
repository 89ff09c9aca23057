/**
 * User authentication, both roles, over our own client/server transports:
 * every method, partial success, banners, failure limits, timeouts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  AUTH_PARTIALLY_SUCCESSFUL,
  AUTH_SUCCESSFUL,
  InteractiveQuery,
  UserAuthClient,
  UserAuthServer,
  authenticateClient,
  type AuthServerInterface,
  type PublicKeyInfo,
} from '../../ts/auth/index.js';
import type { Signer } from '../../ts/crypto/types.js';
import { AuthenticationException, BadAuthenticationType, PartialAuthentication, TimeoutError } from '../../ts/errors.js';
import type { Transport } from '../../ts/transport/index.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { closeBoth } from '../helpers/pair.js';
import { asyncSigner, readyPair, sameBlob, userKey } from './helpers.js';

const open: Transport[] = [];
afterEach(async () => {
  await closeBoth(...open.splice(0));
});

async function pair(server: AuthServerInterface, opts: { maxAuthTries?: number; authTimeout?: number; banner?: string; serverSigAlgs?: string[] } = {}) {
  const p = await readyPair({ server: opts.serverSigAlgs ? { serverSigAlgs: opts.serverSigAlgs } : {} });
  open.push(p.client, p.server);
  const auth = new UserAuthServer(p.server, {
    server,
    ...(opts.maxAuthTries !== undefined ? { maxAuthTries: opts.maxAuthTries } : {}),
    ...(opts.authTimeout !== undefined ? { authTimeout: opts.authTimeout } : {}),
    ...(opts.banner !== undefined ? { banner: opts.banner } : {}),
  });
  return { ...p, auth };
}

/** A policy: user "alice" with password "pw" and the given authorized keys. */
function policy(keys: Signer[] = [], extra: Partial<AuthServerInterface> = {}): AuthServerInterface & { seen: PublicKeyInfo[]; passwords: number } {
  const p = {
    seen: [] as PublicKeyInfo[],
    passwords: 0,
    checkAuthPassword(user: string, pw: string) {
      p.passwords++;
      return user === 'alice' && pw === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED;
    },
    checkAuthPublickey(user: string, key: PublicKeyInfo) {
      p.seen.push(key);
      return user === 'alice' && keys.some((k) => sameBlob(k.publicKeyBlob, key.blob)) ? AUTH_SUCCESSFUL : AUTH_FAILED;
    },
    ...extra,
  };
  return p;
}

describe('password', () => {
  it('succeeds with the right password and the server learns the user', async () => {
    const { client, auth } = await pair(policy());
    const r = await authenticateClient(client, { username: 'alice', password: 'pw' });
    expect(r).toEqual({ username: 'alice', methods: ['password'] });
    expect(await auth.result).toEqual({ username: 'alice', methods: ['password'] });
  });

  it('wrong password: AuthenticationException listing the allowed methods', async () => {
    const { client } = await pair(policy());
    const err = await authenticateClient(client, { username: 'alice', password: 'nope' }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(err).not.toBeInstanceOf(BadAuthenticationType);
    expect(err.allowedTypes).toEqual(['publickey', 'password']);
    expect(err.message).toContain('password');
    expect(err.message).not.toContain('nope');
  });

  it('password not allowed by the server: BadAuthenticationType', async () => {
    const { client } = await pair(policy([], { getAllowedAuths: () => 'publickey' }));
    const err = await authenticateClient(client, { username: 'alice', password: 'pw' }).catch((e) => e);
    expect(err).toBeInstanceOf(BadAuthenticationType);
    expect(err.allowedTypes).toEqual(['publickey']);
  });

  it('maxAuthTries: the server disconnects after that many failures', async () => {
    const { client, auth } = await pair(policy(), { maxAuthTries: 2 });
    const ua = new UserAuthClient(client, { username: 'alice' });
    await ua.start();
    expect((await ua.password('a')).outcome).toBe('failure');
    const second = await ua.password('b').catch((e) => e);
    expect(second.message).toMatch(/Too many authentication failures/);
    const serverErr = await auth.result.catch((e) => e);
    expect(serverErr.code).toBe('ERR_SSH_AUTH_TRIES');
    ua.close();
  });

  it('a server that disconnects after too many failures surfaces as AuthenticationException', async () => {
    const keys = [userKey('ssh-ed25519', 7), userKey('ecdsa-sha2-nistp256', 7), userKey('ssh-ed25519', 8)];
    const { client } = await pair(policy(), { maxAuthTries: 2 });
    const err = await authenticateClient(client, { username: 'alice', keys }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(err.message).toMatch(/Too many authentication failures/);
  });
});

describe('publickey', () => {
  for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const) {
    it(`${type}: query, PK_OK, signed request verified by the server`, async () => {
      const key = userKey(type);
      const pol = policy([key]);
      const { client, auth } = await pair(pol);
      const r = await authenticateClient(client, { username: 'alice', keys: [key] });
      expect(r.methods).toEqual(['publickey']);
      expect(await auth.result).toEqual({ username: 'alice', methods: ['publickey'] });
      // First a query without signature, then the signed request.
      expect(pol.seen.map((k) => k.signed)).toEqual([false, true]);
      expect(pol.seen[1]!.keyType).toBe(type);
      expect(pol.seen[1]!.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      if (type === 'ssh-rsa') expect(pol.seen[1]!.algorithm).toBe('rsa-sha2-512');
    });
  }

  it('RSA follows server-sig-algs: rsa-sha2-256 when that is all the server lists', async () => {
    const key = userKey('ssh-rsa');
    const pol = policy([key]);
    const { client } = await pair(pol, { serverSigAlgs: ['ssh-ed25519', 'rsa-sha2-256'] });
    await authenticateClient(client, { username: 'alice', keys: [key] });
    expect(pol.seen.map((k) => k.algorithm)).toEqual(['rsa-sha2-256', 'rsa-sha2-256']);
  });

  it('RSA: a server listing only ssh-rsa gets nothing unless ssh-rsa is accepted', async () => {
    const key = userKey('ssh-rsa');
    const pol = policy([key]);
    const { client } = await pair(pol, { serverSigAlgs: ['ssh-rsa'] });
    const err = await authenticateClient(client, { username: 'alice', keys: [key] }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(pol.seen).toHaveLength(0);
  });

  it('tries keys in order, skipping refused ones, and signs asynchronously (agent-like)', async () => {
    const good = userKey('ssh-ed25519', 1);
    const other = userKey('ecdsa-sha2-nistp256', 1);
    const signed: string[] = [];
    const pol = policy([good]);
    const { client } = await pair(pol);
    const r = await authenticateClient(client, {
      username: 'alice',
      keys: [other, async () => [asyncSigner(other), asyncSigner(good, signed)]],
    });
    expect(r.methods).toEqual(['publickey']);
    // `other` is offered once (duplicates dropped) and never signed with.
    expect(pol.seen.map((k) => [k.keyType, k.signed])).toEqual([
      ['ecdsa-sha2-nistp256', false],
      ['ssh-ed25519', false],
      ['ssh-ed25519', true],
    ]);
    expect(signed).toEqual(['ssh-ed25519']);
  });

  it('a bad signature is refused by the server and never reaches the policy as signed', async () => {
    const key = userKey('ssh-ed25519');
    const liar: Signer = { ...key, keyType: key.keyType, publicKeyBlob: key.publicKeyBlob, signatureAlgorithms: key.signatureAlgorithms, sign: () => new Uint8Array(64) };
    const pol = policy([key]);
    const { client } = await pair(pol);
    const err = await authenticateClient(client, { username: 'alice', keys: [liar] }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(pol.seen.map((k) => k.signed)).toEqual([false]);
  });

  it('a key source that fails (unreachable agent) is skipped; password still works', async () => {
    const { client } = await pair(policy());
    const r = await authenticateClient(client, {
      username: 'alice',
      password: 'pw',
      keys: [
        () => {
          throw Object.assign(new Error('connect ENOENT /nonexistent'), { code: 'ENOENT' });
        },
      ],
    });
    expect(r.methods).toEqual(['password']);
  });
});

describe('keyboard-interactive', () => {
  function kbdPolicy(): AuthServerInterface {
    let round = 0;
    return {
      getAllowedAuths: () => ['keyboard-interactive'],
      checkAuthInteractive: (user, submethods) => {
        expect(submethods).toBe('');
        round = 0;
        return user === 'alice' ? new InteractiveQuery('Login', 'Answer both', ['Name: ', true], ['Secret code: ', false]) : AUTH_FAILED;
      },
      checkAuthInteractiveResponse: (responses) => {
        if (round++ === 0) {
          if (responses[0] !== 'alice' || responses[1] !== '1234') return AUTH_FAILED;
          return new InteractiveQuery('', 'One more', { prompt: 'Color? ', echo: true });
        }
        return responses[0] === 'blue' ? AUTH_SUCCESSFUL : AUTH_FAILED;
      },
    };
  }

  it('several rounds through the handler, with prompts and echo flags', async () => {
    const { client, auth } = await pair(kbdPolicy());
    const seen: unknown[] = [];
    const r = await authenticateClient(client, {
      username: 'alice',
      kbdintHandler: (name, instructions, prompts) => {
        seen.push({ name, instructions, prompts });
        return prompts.length === 2 ? ['alice', '1234'] : ['blue'];
      },
    });
    expect(r.methods).toEqual(['keyboard-interactive']);
    expect(seen).toEqual([
      { name: 'Login', instructions: 'Answer both', prompts: [{ prompt: 'Name: ', echo: true }, { prompt: 'Secret code: ', echo: false }] },
      { name: '', instructions: 'One more', prompts: [{ prompt: 'Color? ', echo: true }] },
    ]);
    expect((await auth.result).methods).toEqual(['keyboard-interactive']);
  });

  it('answers a single hidden "Password:" prompt with the password, no handler needed', async () => {
    const got: string[][] = [];
    const { client } = await pair({
      getAllowedAuths: () => 'keyboard-interactive',
      checkAuthInteractive: () => new InteractiveQuery('', '', ['Password: ', false]),
      checkAuthInteractiveResponse: (r) => {
        got.push(r);
        return r[0] === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED;
      },
    });
    const r = await authenticateClient(client, { username: 'alice', password: 'pw' });
    expect(r.methods).toEqual(['keyboard-interactive']);
    expect(got).toEqual([['pw']]);
  });

  it('a handler returning the wrong number of answers is a typed error', async () => {
    const { client } = await pair(kbdPolicy());
    const err = await authenticateClient(client, { username: 'alice', kbdintHandler: () => ['only one'] }).catch((e) => e);
    expect(err.code).toBe('ERR_SSH_BAD_ARGUMENT');
  });
});

describe('partial success (RFC 4252 5.1)', () => {
  it('publickey then password, as AuthenticationMethods publickey,password', async () => {
    const key = userKey('ssh-ed25519');
    const done = new Set<string>();
    const server: AuthServerInterface = {
      getAllowedAuths: () => (done.has('publickey') ? ['password'] : ['publickey']),
      checkAuthPublickey: (_u, k) => {
        if (!sameBlob(k.blob, key.publicKeyBlob)) return AUTH_FAILED;
        if (k.signed) done.add('publickey');
        return AUTH_PARTIALLY_SUCCESSFUL;
      },
      checkAuthPassword: (_u, pw) => (done.has('publickey') && pw === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED),
    };
    const { client, auth } = await pair(server);
    const r = await authenticateClient(client, { username: 'alice', password: 'pw', keys: [key] });
    expect(r.methods).toEqual(['publickey', 'password']);
    expect((await auth.result).methods).toEqual(['publickey', 'password']);
  });

  it('PartialAuthentication when the second factor is missing', async () => {
    const key = userKey('ssh-ed25519');
    let keyDone = false;
    const { client } = await pair({
      getAllowedAuths: () => (keyDone ? ['password'] : ['publickey']),
      checkAuthPublickey: (_u, k) => {
        if (k.signed) keyDone = true;
        return AUTH_PARTIALLY_SUCCESSFUL;
      },
    });
    const err = await authenticateClient(client, { username: 'alice', keys: [key] }).catch((e) => e);
    expect(err).toBeInstanceOf(PartialAuthentication);
    expect(err.allowedTypes).toEqual(['password']);
  });
});

describe('none, banner, timeouts', () => {
  it('checkAuthNone can let a user in', async () => {
    const { client, auth } = await pair({ checkAuthNone: (u) => (u === 'guest' ? AUTH_SUCCESSFUL : AUTH_FAILED) });
    expect(await authenticateClient(client, { username: 'guest' })).toEqual({ username: 'guest', methods: ['none'] });
    expect((await auth.result).username).toBe('guest');
  });

  it('delivers the banner before the result', async () => {
    const { client } = await pair(policy(), { banner: 'Authorized use only\r\n' });
    const banners: string[] = [];
    await authenticateClient(client, { username: 'alice', password: 'pw', onBanner: (m) => banners.push(m) });
    expect(banners).toEqual(['Authorized use only\r\n']);
  });

  it('server authTimeout disconnects an idle client', async () => {
    const { client, auth } = await pair(policy(), { authTimeout: 200 });
    const err = await auth.result.catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(await client.closed).toBeInstanceOf(Error);
  });

  it('client authTimeout when the server never answers', async () => {
    const p = await readyPair();
    open.push(p.client, p.server);
    p.server.onMessage(() => {}); // swallows every request
    const err = await authenticateClient(p.client, { username: 'alice', password: 'pw', authTimeout: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('an AbortSignal ends the wait', async () => {
    const p = await readyPair();
    open.push(p.client, p.server);
    p.server.onMessage(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await authenticateClient(p.client, { username: 'alice', password: 'pw', signal: ac.signal, authTimeout: 0 }).catch((e) => e);
    expect(err.name).toBe('AbortError');
  });

  it('a change of user name mid-authentication is a protocol error', async () => {
    const { client, auth } = await pair(policy());
    const a = new UserAuthClient(client, { username: 'alice' });
    await a.start();
    await a.none();
    a.close();
    client.send(new SSHWriter().byte(MSG.USERAUTH_REQUEST).string('mallory').string('ssh-connection').string('none').toBytes());
    const err = await auth.result.catch((e) => e);
    expect(err.message).toMatch(/change of user name/);
  });
});

describe('password change (SSH_MSG_USERAUTH_PASSWD_CHANGEREQ)', () => {
  /** A hand-written server side: the password "old" has expired; "new" is accepted as a replacement. */
  async function expiringServer() {
    const p = await readyPair();
    open.push(p.client, p.server);
    const changes: string[] = [];
    p.server.onMessage((type, payload) => {
      if (type !== MSG.USERAUTH_REQUEST) return;
      const r = new SSHReader(payload);
      r.byte();
      r.utf8();
      r.ascii();
      const method = r.ascii();
      if (method !== 'password') {
        p.server.send(new SSHWriter().byte(MSG.USERAUTH_FAILURE).nameList(['password']).boolean(false).toBytes());
        return;
      }
      const change = r.boolean();
      const old = r.utf8();
      if (!change) {
        p.server.send(new SSHWriter().byte(MSG.USERAUTH_PASSWD_CHANGEREQ).string('Password expired').string('').toBytes());
        return;
      }
      const next = r.utf8();
      changes.push(`${old}->${next}`);
      p.server.send(next === 'new' ? Uint8Array.of(MSG.USERAUTH_SUCCESS) : new SSHWriter().byte(MSG.USERAUTH_PASSWD_CHANGEREQ).string('Too weak').string('').toBytes());
    });
    return { client: p.client, changes };
  }

  it('the handler supplies a new password', async () => {
    const { client, changes } = await expiringServer();
    const prompts: string[] = [];
    let n = 0;
    const r = await authenticateClient(client, {
      username: 'alice',
      password: 'old',
      passwordChangeHandler: (prompt) => {
        prompts.push(prompt);
        return n++ === 0 ? 'weak' : 'new';
      },
    });
    expect(r.methods).toEqual(['password']);
    expect(prompts).toEqual(['Password expired', 'Too weak']);
    expect(changes).toEqual(['old->weak', 'old->new']);
  });

  it('without a handler: typed error', async () => {
    const { client } = await expiringServer();
    const err = await authenticateClient(client, { username: 'alice', password: 'old' }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationException);
    expect(err.code).toBe('ERR_SSH_PASSWORD_CHANGE');
  });
});
