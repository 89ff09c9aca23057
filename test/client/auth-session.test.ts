/**
 * startClient(): authentication step by step (Paramiko's Transport.auth_*),
 * against sshd (none → the allowed list, then a key) and against our
 * server (a publickey-then-password chain driven by the caller, wrong
 * answers, methods the server does not allow).
 */
import { describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  AUTH_PARTIALLY_SUCCESSFUL,
  AUTH_SUCCESSFUL,
  AuthenticationException,
  BadAuthenticationType,
  listen,
  PrivateKey,
  SSHException,
  startClient,
} from '../../ts/index.js';
import { rootLogin } from '../helpers/sshd.js';
import { useSshdTrusting } from '../helpers/sshdFixture.js';

const fx = useSshdTrusting('sshwire-auth-session-');

describe('startClient against sshd', () => {
  it('authNone tells the allowed methods; a wrong key fails with allowedTypes; the right key gets the connection', async () => {
    const session = await startClient(rootLogin(fx.sshd, fx.key));
    try {
      expect(session.authenticated).toBe(false);
      expect(() => session.connection()).toThrow(SSHException);
      const none = await session.authNone().catch((e: unknown) => e);
      expect(none).toBeInstanceOf(BadAuthenticationType);
      expect((none as BadAuthenticationType).allowedTypes).toContain('publickey');
      const wrong = await session.authPublickey(PrivateKey.generate('ed25519')).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(AuthenticationException);
      expect((wrong as AuthenticationException).allowedTypes).toContain('publickey');
      // sshd has password authentication off: not allowed, refused before anything is sent.
      await expect(session.authPassword('x')).rejects.toThrow(BadAuthenticationType);
      expect(await session.authPublickey(fx.key)).toEqual([]);
      expect(session.authenticated).toBe(true);
      expect((await session.connection().run('echo stepwise', { timeout: 20_000 })).stdout).toBe('stepwise\n');
    } finally {
      session.close();
    }
  });
});

describe('startClient against our server', () => {
  it('drives a publickey-then-password chain: the partial success returns what is left', async () => {
    const clientKey = PrivateKey.generate('ecdsa', 256);
    const done = new Set<string>();
    const server = await listen({
      hostKeys: ['ed25519'],
      server: {
        getAllowedAuths: () => (done.has('publickey') ? ['password', 'keyboard-interactive'] : ['publickey']),
        checkAuthPublickey: (_u, k) => {
          if (!Buffer.from(k.blob).equals(Buffer.from(clientKey.publicKeyBlob))) return AUTH_FAILED;
          if (k.signed) done.add('publickey');
          return AUTH_PARTIALLY_SUCCESSFUL;
        },
        checkAuthPassword: (_u, p) => (done.has('publickey') && p === 'second factor' ? AUTH_SUCCESSFUL : AUTH_FAILED),
      },
      processFactory: (proc) => {
        proc.stdout.write(`in as ${proc.connection.username}\n`);
        proc.exit(0);
      },
    });
    try {
      await using session = await startClient({ host: '127.0.0.1', port: server.address().port, username: 'mfa', knownHosts: null, config: false });
      expect(await session.authPublickey(clientKey)).toEqual(['password', 'keyboard-interactive']);
      await expect(session.authPassword('wrong')).rejects.toMatchObject({ allowedTypes: ['password', 'keyboard-interactive'] });
      expect(await session.authPassword('second factor')).toEqual([]);
      const conn = session.connection();
      expect(conn.authMethods).toEqual(['publickey', 'password']);
      expect((await conn.run('x')).stdout).toBe('in as mfa\n');
    } finally {
      await server.close();
    }
  });
});
