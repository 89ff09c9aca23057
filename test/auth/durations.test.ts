/**
 * The auth layer's durations follow the shared rule (checkDuration): the
 * client's and the server's authTimeout and the Kerberos KDC `timeout`
 * refuse Infinity, NaN, negatives and values past 2^31-1 ms with
 * SSHException ERR_SSH_BAD_OPTION; 0 (no limit) and 2^31-1 are accepted.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_SUCCESSFUL, authenticateClient, serverAuthLimits, UserAuthClient, UserAuthServer } from '../../ts/auth/index.js';
import { sendToKdc } from '../../ts/auth/gssapi/kdcTransport.js';
import { krb5ClientMechanism, krb5KexOptions, krb5KexOptionsIfAvailable } from '../../ts/auth/gssapi/index.js';
import { SSHException } from '../../ts/errors.js';
import type { Transport } from '../../ts/transport/index.js';
import { closeBoth } from '../helpers/pair.js';
import { readyPair } from './helpers.js';
import { BAD_DURATIONS, MAX_MS, thrown, expectDurationRefusal } from '../helpers/durations.js';

function expectRefusal(e: unknown, name: string, v: number): void {
  expectDurationRefusal(e, name, v, { noLimitAtZero: true });
}

const open: Transport[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await closeBoth(...open.splice(0));
});

describe('client authTimeout', () => {
  for (const [what, v] of BAD_DURATIONS) {
    it(`${what}: the UserAuthClient constructor throws, authenticateClient rejects`, async () => {
      const { client, server } = await readyPair();
      open.push(client, server);
      expectRefusal(
        thrown(() => new UserAuthClient(client, { username: 'alice', authTimeout: v })),
        'authTimeout',
        v,
      );
      let p: Promise<unknown> | undefined;
      expect(() => (p = authenticateClient(client, { username: 'alice', authTimeout: v }))).not.toThrow();
      expectRefusal(await p!.catch((e: unknown) => e), 'authTimeout', v);
    });
  }

  for (const v of [0, MAX_MS]) {
    it(`${v} is accepted and authentication works`, async () => {
      const { client, server } = await readyPair();
      open.push(client, server);
      const auth = new UserAuthServer(server, { server: { checkAuthNone: () => AUTH_SUCCESSFUL }, authTimeout: v });
      const r = await authenticateClient(client, { username: 'alice', authTimeout: v });
      expect(r.methods).toEqual(['none']);
      expect((await auth.result).username).toBe('alice');
    });
  }
});

describe('server authTimeout (serverAuthLimits, UserAuthServer)', () => {
  for (const [what, v] of BAD_DURATIONS) {
    it(`${what} is refused`, () => {
      expectRefusal(
        thrown(() => serverAuthLimits({ authTimeout: v })),
        'authTimeout',
        v,
      );
      expectRefusal(
        thrown(() => new UserAuthServer({} as never, { server: {}, authTimeout: v })),
        'authTimeout',
        v,
      );
    });
  }
  it('0 and 2^31-1 are accepted', () => {
    expect(serverAuthLimits({ authTimeout: 0 }).timeout).toBe(0);
    expect(serverAuthLimits({ authTimeout: MAX_MS }).timeout).toBe(MAX_MS);
    expect(serverAuthLimits({}).timeout).toBe(120_000);
  });
});

describe('Kerberos KDC timeout', () => {
  /** Env pointing at files that do not exist: no tickets. */
  const env = { KRB5CCNAME: 'FILE:/nonexistent/sshwire-ccache', KRB5_CONFIG: '/nonexistent/sshwire-krb5.conf' };

  for (const [what, v] of BAD_DURATIONS) {
    it(`${what}: krb5ClientMechanism throws; krb5KexOptions and krb5KexOptionsIfAvailable reject (not "no tickets")`, async () => {
      expectRefusal(
        thrown(() => krb5ClientMechanism({ host: 'h', env, timeout: v })),
        'timeout',
        v,
      );
      expectRefusal(await krb5KexOptions({ host: 'h', env, timeout: v }).catch((e: unknown) => e), 'timeout', v);
      expectRefusal(await krb5KexOptionsIfAvailable({ host: 'h', env, timeout: v }).catch((e: unknown) => e), 'timeout', v);
      expectRefusal(await sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port: 1 }], { timeout: v }).catch((e: unknown) => e), 'timeout', v);
    });
  }

  it('0 and 2^31-1 are accepted: without tickets krb5KexOptionsIfAvailable just offers nothing', async () => {
    for (const v of [0, MAX_MS]) {
      expect(krb5ClientMechanism({ host: 'h', env, timeout: v }).oid.length).toBeGreaterThan(0);
      expect(await krb5KexOptionsIfAvailable({ host: 'h', env, timeout: v })).toBeUndefined();
    }
  });

  it('sendToKdc timeout 0 means no limit: a KDC answering late is still heard', async () => {
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => {
        setTimeout(() => {
          const body = Buffer.from('late');
          const head = Buffer.alloc(4);
          head.writeUInt32BE(body.length, 0);
          sock.write(Buffer.concat([head, body]));
        }, 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const out = await sendToKdc('R', Buffer.from('hello'), [{ host: '127.0.0.1', port }], { timeout: 0 });
    expect(out.toString()).toBe('late');
    const max = await sendToKdc('R', Buffer.from('hello'), [{ host: '127.0.0.1', port }], { timeout: MAX_MS });
    expect(max.toString()).toBe('late');
  });
});
