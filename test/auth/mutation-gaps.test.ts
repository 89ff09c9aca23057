/**
 * User authentication checks that no other test could fail on, each found by
 * a mutation audit (the mutation it kills is named above each test): the
 * server verifies every key type's signature, binds it to this session and
 * to the algorithm named in the request, refuses algorithms it does not
 * accept, keeps methods outside getAllowedAuths shut, refuses password
 * changes, counts keyboard-interactive failures and checks the number of
 * answers; the client refuses a PK_OK for another key. Raw requests are
 * sent over our own transport pair, so each test takes milliseconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  AUTH_SUCCESSFUL,
  InteractiveQuery,
  UserAuthClient,
  UserAuthServer,
  authenticateClient,
  type AuthServerInterface,
  type PublicKeyInfo,
} from '../../ts/auth/index.js';
import { AuthInbox } from '../../ts/auth/inbox.js';
import type { Signer } from '../../ts/crypto/types.js';
import { AuthenticationException, ProtocolError } from '../../ts/errors.js';
import type { Transport } from '../../ts/transport/index.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { closeBoth } from '../helpers/pair.js';
import { readyPair, sameBlob, userKey, type UserKeyType } from './helpers.js';

const open: Transport[] = [];
afterEach(async () => {
  await closeBoth(...open.splice(0));
});

const USER = 'alice';

/** A policy for alice: password "pw", the given keys, and a log of what it was asked. */
function policy(keys: Signer[] = [], extra: Partial<AuthServerInterface> = {}) {
  const seen: PublicKeyInfo[] = [];
  const passwords: string[] = [];
  const p: AuthServerInterface = {
    checkAuthPassword(user, pw) {
      passwords.push(pw);
      return user === USER && pw === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED;
    },
    checkAuthPublickey(user, key) {
      seen.push(key);
      return user === USER && keys.some((k) => sameBlob(k.publicKeyBlob, key.blob)) ? AUTH_SUCCESSFUL : AUTH_FAILED;
    },
    ...extra,
  };
  return { policy: p, seen, passwords };
}

/**
 * Our server on one end; on the other, the ssh-userauth service accepted and
 * nothing else, so a test can send hand-made requests and read the replies.
 */
async function rawClient(server: AuthServerInterface, opts: { maxAuthTries?: number } = {}) {
  const p = await readyPair();
  open.push(p.client, p.server);
  const auth = new UserAuthServer(p.server, { server, authTimeout: 10_000, ...opts });
  await p.client.requestService('ssh-userauth');
  const inbox = new AuthInbox(p.client);
  return {
    ...p,
    auth,
    send: (m: Uint8Array) => p.client.send(m),
    reply: () => inbox.next(5000),
    sessionId: p.client.sessionId!,
  };
}

function head(method: string, user = USER): SSHWriter {
  return new SSHWriter().byte(MSG.USERAUTH_REQUEST).string(user).string('ssh-connection').string(method);
}

/** RFC 4252 section 7, written out here rather than taken from the code under test. */
function signedData(sessionId: Uint8Array, algorithm: string, blob: Uint8Array, user = USER): Uint8Array {
  return new SSHWriter().string(sessionId).byte(MSG.USERAUTH_REQUEST).string(user).string('ssh-connection').string('publickey').boolean(true).string(algorithm).string(blob).toBytes();
}

function signedRequest(algorithm: string, blob: Uint8Array, sigAlgorithm: string, sig: Uint8Array): Uint8Array {
  const sigBlob = new SSHWriter().string(sigAlgorithm).string(sig).toBytes();
  return head('publickey').boolean(true).string(algorithm).string(blob).string(sigBlob).toBytes();
}

function queryRequest(algorithm: string, blob: Uint8Array): Uint8Array {
  return head('publickey').boolean(false).string(algorithm).string(blob).toBytes();
}

describe('publickey signatures on the server', () => {
  // Mutation: the server skipped signature verification for ECDSA keys (only ed25519 had a bad-signature test).
  for (const type of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as UserKeyType[]) {
    it(`${type}: a well-formed signature over other data is refused and never reaches the policy as signed`, async () => {
      const key = userKey(type);
      const forger: Signer = {
        keyType: key.keyType,
        publicKeyBlob: key.publicKeyBlob,
        signatureAlgorithms: key.signatureAlgorithms,
        sign: (alg) => key.sign(alg, new TextEncoder().encode('something else')),
      };
      const { policy: pol, seen } = policy([key]);
      const p = await readyPair();
      open.push(p.client, p.server);
      const auth = new UserAuthServer(p.server, { server: pol });
      const err = await authenticateClient(p.client, { username: USER, keys: [forger], authTimeout: 5000 }).catch((e) => e);
      expect(err).toBeInstanceOf(AuthenticationException);
      expect(seen.map((k) => k.signed)).toEqual([false]);
      p.client.disconnect();
      await expect(auth.result).rejects.toBeInstanceOf(Error);
    });
  }

  // Mutation: publickeySignedData left out the session identifier (RFC 4252 section 7), so a signature could be replayed.
  it('the signature covers this session id: the RFC layout verifies, the same request signed for another session does not', async () => {
    const key = userKey('ssh-ed25519', 3);
    const { policy: pol, seen } = policy([key]);
    const c = await rawClient(pol);
    const other = Uint8Array.from(c.sessionId, (b) => b ^ 0x5a);
    c.send(signedRequest('ssh-ed25519', key.publicKeyBlob, 'ssh-ed25519', key.sign('ssh-ed25519', signedData(other, 'ssh-ed25519', key.publicKeyBlob)) as Uint8Array));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    expect(seen).toHaveLength(0);
    c.send(signedRequest('ssh-ed25519', key.publicKeyBlob, 'ssh-ed25519', key.sign('ssh-ed25519', signedData(c.sessionId, 'ssh-ed25519', key.publicKeyBlob)) as Uint8Array));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_SUCCESS);
    expect(await c.auth.result).toEqual({ username: USER, methods: ['publickey'] });
  });

  // Mutation: the algorithm inside the signature blob was not compared with the one the request names (RFC 8332 section 3).
  it('a signature labelled ssh-rsa inside an rsa-sha2-512 request is refused, though its bytes verify', async () => {
    const key = userKey('ssh-rsa');
    const { policy: pol, seen } = policy([key]);
    const c = await rawClient(pol);
    const sig = key.sign('rsa-sha2-512', signedData(c.sessionId, 'rsa-sha2-512', key.publicKeyBlob)) as Uint8Array;
    c.send(signedRequest('rsa-sha2-512', key.publicKeyBlob, 'ssh-rsa', sig));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    c.send(signedRequest('rsa-sha2-512', key.publicKeyBlob, 'rsa-sha2-256', sig));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    expect(seen).toHaveLength(0);
    // The same signature, labelled as what it is, gets in.
    c.send(signedRequest('rsa-sha2-512', key.publicKeyBlob, 'rsa-sha2-512', sig));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_SUCCESS);
  });

  // Mutation: the server took any algorithm it can verify, ignoring publicKeyAlgorithms (SHA-1 ssh-rsa is not in the default).
  it('SHA-1 ssh-rsa, outside the default publicKeyAlgorithms, is refused for queries and signed requests', async () => {
    const key = userKey('ssh-rsa');
    const { policy: pol, seen } = policy([key]);
    const c = await rawClient(pol);
    c.send(queryRequest('ssh-rsa', key.publicKeyBlob));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    const sig = key.sign('ssh-rsa', signedData(c.sessionId, 'ssh-rsa', key.publicKeyBlob)) as Uint8Array;
    c.send(signedRequest('ssh-rsa', key.publicKeyBlob, 'ssh-rsa', sig));
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    expect(seen).toHaveLength(0);
  });
});

describe('methods, password changes, keyboard-interactive on the server', () => {
  // Mutation: a known method missing from getAllowedAuths was still run (an AuthenticationMethods bypass).
  it('a method getAllowedAuths leaves out fails without asking the policy', async () => {
    const { policy: pol, passwords } = policy([], { getAllowedAuths: () => ['publickey'] });
    const c = await rawClient(pol);
    c.send(head('password').boolean(false).string('pw').toBytes());
    const m = await c.reply();
    expect(m.type).toBe(MSG.USERAUTH_FAILURE);
    const r = new SSHReader(m.payload);
    r.byte();
    expect(r.nameList()).toEqual(['publickey']);
    expect(passwords).toEqual([]);
  });

  // Mutation: a password-change request (RFC 4252 section 8) was handled as a login with the old password.
  it('a password-change request fails even with the right old password', async () => {
    const { policy: pol, passwords } = policy();
    const c = await rawClient(pol);
    c.send(head('password').boolean(true).string('pw').string('new-pw').toBytes());
    expect((await c.reply()).type).toBe(MSG.USERAUTH_FAILURE);
    expect(passwords).toEqual([]);
    c.send(head('password').boolean(false).string('pw').toBytes());
    expect((await c.reply()).type).toBe(MSG.USERAUTH_SUCCESS);
  });

  // Mutation: keyboard-interactive failures were not counted toward maxAuthTries.
  it('keyboard-interactive failures count toward maxAuthTries', async () => {
    const p = await readyPair();
    open.push(p.client, p.server);
    const auth = new UserAuthServer(p.server, {
      server: {
        checkAuthInteractive: () => new InteractiveQuery('', '', ['Code: ', false]),
        checkAuthInteractiveResponse: () => AUTH_FAILED,
      },
      maxAuthTries: 2,
    });
    const ua = new UserAuthClient(p.client, { username: USER, authTimeout: 5000 });
    await ua.start();
    expect((await ua.keyboardInteractive(() => ['1'])).outcome).toBe('failure');
    const second = await ua.keyboardInteractive(() => ['2']).catch((e) => e);
    expect(second).toBeInstanceOf(Error);
    expect(second.message).toMatch(/Too many authentication failures/);
    await expect(auth.result).rejects.toMatchObject({ code: 'ERR_SSH_AUTH_TRIES' });
    ua.close();
  });

  // Mutation: a signed publickey attempt that verified but that the policy refused was not counted toward maxAuthTries.
  it('signed publickey attempts the policy refuses count toward maxAuthTries', async () => {
    const p = await readyPair();
    open.push(p.client, p.server);
    const auth = new UserAuthServer(p.server, {
      server: { checkAuthPublickey: (_u, k) => (k.signed ? AUTH_FAILED : AUTH_SUCCESSFUL) },
      maxAuthTries: 2,
    });
    const ua = new UserAuthClient(p.client, { username: USER, authTimeout: 5000 });
    await ua.start();
    expect((await ua.publickey(userKey('ssh-ed25519', 6))).outcome).toBe('failure');
    const second = await ua.publickey(userKey('ssh-ed25519', 7)).catch((e) => e);
    expect(second).toBeInstanceOf(Error);
    expect(second.message).toMatch(/Too many authentication failures/);
    await expect(auth.result).rejects.toMatchObject({ code: 'ERR_SSH_AUTH_TRIES' });
    ua.close();
  });

  // Mutation: the number of answers in INFO_RESPONSE was not compared with the number of prompts (RFC 4256 section 3.4).
  it('an INFO_RESPONSE with fewer answers than prompts is a protocol error; the policy never sees it', async () => {
    const responses: string[][] = [];
    const c = await rawClient({
      checkAuthInteractive: () => new InteractiveQuery('', '', ['One: ', true], ['Two: ', false]),
      checkAuthInteractiveResponse: (r) => {
        responses.push(r);
        return AUTH_SUCCESSFUL;
      },
    });
    c.send(head('keyboard-interactive').string('').string('').toBytes());
    expect((await c.reply()).type).toBe(MSG.USERAUTH_INFO_REQUEST);
    c.send(new SSHWriter().byte(MSG.USERAUTH_INFO_RESPONSE).uint32(1).string('only one').toBytes());
    const err = await c.auth.result.catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/1 answers for 2 prompts/);
    expect(responses).toEqual([]);
  });
});

describe('the client and PK_OK', () => {
  // Mutation: the client did not check that PK_OK names the key and algorithm it offered.
  it('a PK_OK for another key is a protocol error, and nothing is signed', async () => {
    const p = await readyPair();
    open.push(p.client, p.server);
    const key = userKey('ssh-ed25519', 4);
    const otherKey = userKey('ssh-ed25519', 5);
    p.server.onMessage((type) => {
      if (type !== MSG.USERAUTH_REQUEST) return;
      p.server.send(new SSHWriter().byte(MSG.USERAUTH_PK_OK).string('ssh-ed25519').string(otherKey.publicKeyBlob).toBytes());
    });
    const signed: string[] = [];
    const signer: Signer = { ...key, keyType: key.keyType, publicKeyBlob: key.publicKeyBlob, signatureAlgorithms: key.signatureAlgorithms, sign: (a, d) => (signed.push(a), key.sign(a, d)) };
    const ua = new UserAuthClient(p.client, { username: USER, authTimeout: 5000 });
    await ua.start();
    const err = await ua.publickey(signer).catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/PK_OK names a different key/);
    expect(signed).toEqual([]);
    ua.close();
  });
});
