/**
 * gssapi-with-mic on our own transport pair, with a client that misbehaves
 * inside the GSS-API exchange: garbage and truncated tokens, a MIC that does
 * not verify, messages out of order. A bad token fails the method (FAILURE,
 * counted) and the connection goes on; a message out of order is a protocol
 * error that ends it. No KDC is needed: the service key is made here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, UserAuthClient, UserAuthServer, type GssClientContext, type GssClientMechanism } from '../../ts/auth/index.js';
import { krb5ServerMechanism } from '../../ts/auth/gssapi/index.js';
import { encodeKeytab } from '../../ts/auth/gssapi/keytab.js';
import { encodeMechOid } from '../../ts/auth/gssapi/gssToken.js';
import { NT } from '../../ts/auth/gssapi/krb5Types.js';
import { krb5Enctype } from '../../ts/crypto/krb5/index.js';
import type { Transport } from '../../ts/transport/index.js';
import { MSG, SSHWriter } from '../../ts/wire/index.js';
import { closeBoth } from '../helpers/pair.js';
import { readyPair } from './helpers.js';

let dir: string;
let keytab: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sshwire-gss-hostile-'));
  keytab = join(dir, 'keytab');
  const key = { keytype: 18, keyvalue: krb5Enctype(18)!.randomKey() };
  writeFileSync(keytab, encodeKeytab([{ principal: { realm: 'R', name: { nameType: NT.SRV_HST, nameString: ['host', 'h'] } }, kvno: 1, key, timestamp: new Date() }]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: Transport[] = [];
afterEach(async () => {
  await closeBoth(...open.splice(0));
});

async function pair() {
  const p = await readyPair();
  open.push(p.client, p.server);
  const debug: string[] = [];
  const auth = new UserAuthServer(p.server, {
    server: {
      checkAuthGssapiWithMic: () => AUTH_SUCCESSFUL,
      checkAuthPassword: (u, pw) => (pw === 'pw' ? AUTH_SUCCESSFUL : AUTH_FAILED),
    },
    gssapi: krb5ServerMechanism({ keytab }),
    debug: (m) => debug.push(m),
  });
  return { ...p, auth, debug };
}

/** A mechanism whose context sends `token` and is "established" at once (so a MIC follows the server's reply or failure). */
function fake(token: Uint8Array, mic: Uint8Array = Buffer.alloc(28)): GssClientMechanism {
  return {
    oid: encodeMechOid(),
    async createContext(): Promise<GssClientContext> {
      let done = false;
      return {
        initialToken: token,
        get established() {
          return done;
        },
        acceptReply() {
          done = true;
        },
        getMic: () => mic,
      };
    },
  };
}

describe('gssapi-with-mic against a hostile client', () => {
  for (const [name, token] of [
    ['random bytes', Buffer.from('5f3c9a0011223344556677889900aabbccddeeff', 'hex')],
    ['an empty token', Buffer.alloc(0)],
    ['a truncated GSS header', Buffer.from('6082ffff06092a864886f712010202', 'hex')],
    ['another mechanism', Buffer.from('600d06092b0601040182370202' + '0100', 'hex')],
  ] as const) {
    it(`${name}: the method fails, the connection stays for the next method`, async () => {
      const { client, auth, debug } = await pair();
      const ua = new UserAuthClient(client, { username: 'alice' });
      await ua.start();
      const r = await ua.gssapiWithMic(fake(token));
      expect(r.outcome).toBe('failure');
      expect(r.allowed).toContain('gssapi-with-mic');
      expect(debug.some((l) => /gssapi-with-mic: context rejected/.test(l))).toBe(true);
      expect((await ua.password('pw')).outcome).toBe('success');
      expect((await auth.result).methods).toEqual(['password']);
      ua.close();
    });
  }

  it('a MIC before any context token is a protocol error that ends the connection', async () => {
    const { client, auth } = await pair();
    const ua = new UserAuthClient(client, { username: 'alice' });
    await ua.start();
    client.send(new SSHWriter(128).byte(MSG.USERAUTH_REQUEST).string('alice').string('ssh-connection').string('gssapi-with-mic').uint32(1).string(encodeMechOid()).toBytes());
    await new Promise((r) => setTimeout(r, 50));
    client.send(new SSHWriter(64).byte(MSG.USERAUTH_GSSAPI_MIC).string(Buffer.alloc(28)).toBytes());
    const err = await auth.result.catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/MIC before the GSS-API context was established/);
    ua.close();
  });

  it('GSS messages with no gssapi-with-mic request are a protocol error', async () => {
    const { client, auth } = await pair();
    const ua = new UserAuthClient(client, { username: 'alice' });
    await ua.start();
    client.send(new SSHWriter(64).byte(MSG.USERAUTH_GSSAPI_MIC).string(Buffer.alloc(28)).toBytes());
    const err = await auth.result.catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/GSS-API message 66 without a gssapi-with-mic exchange/);
    ua.close();
  });

  it('an offer of other mechanisms only is a plain failure', async () => {
    const { client } = await pair();
    const ua = new UserAuthClient(client, { username: 'alice' });
    await ua.start();
    const other = { ...fake(Buffer.alloc(4)), oid: Buffer.from('06052b0601050502', 'hex') }; // SPNEGO
    expect((await ua.gssapiWithMic(other)).outcome).toBe('failure');
    expect((await ua.password('pw')).outcome).toBe('success');
    ua.close();
  });
});
