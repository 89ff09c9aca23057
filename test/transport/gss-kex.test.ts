/**
 * GSS-API key exchange in the transport, without Kerberos: method names,
 * negotiation of the "null" host key algorithm, and a client and server of
 * ours running every gss-* base over a stand-in mechanism whose "MIC" is an
 * HMAC under a shared key (real Kerberos is in test/auth/gssapi.test.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { negotiate, type KexInitLists } from '../../ts/transport/algorithms.js';
import { gssKexNames, gssKexSpec, gssMechanismSuffix, type GssKexOptions } from '../../ts/transport/kex/gss.js';
import type { Transport } from '../../ts/transport/index.js';
import { closeBoth, transportPair } from '../helpers/pair.js';

const KRB5_OID = Buffer.from('06092a864886f712010202', 'hex');

function lists(kex: string[], serverHostKey: string[]): KexInitLists {
  const one = ['x'];
  return { kex, serverHostKey, cipherCS: one, cipherSC: one, macCS: one, macSC: one, compressionCS: one, compressionSC: one, languageCS: [], languageSC: [] };
}

describe('GSS-API kex names and negotiation', () => {
  it('names end in base64(MD5(OID)): the Kerberos 5 suffix every implementation uses', () => {
    expect(gssMechanismSuffix(KRB5_OID)).toBe('toWM5Slw5Ew8Mqkay+al2g==');
    expect(gssKexNames(KRB5_OID)[0]).toBe('gss-curve25519-sha256-toWM5Slw5Ew8Mqkay+al2g==');
    expect(gssKexSpec('gss-group16-sha512-anything')).toMatchObject({ kind: 'gss', hash: 'sha512', base: { kind: 'dh', group: 'group16' } });
    expect(gssKexSpec('gss-group16-sha512-')).toBeUndefined();
    expect(gssKexSpec('gss-gex-sha1-toWM5Slw5Ew8Mqkay+al2g==')).toBeUndefined();
    // SHA-1 ones are known (for a user who lists them) but not offered by default.
    expect(gssKexSpec('gss-group14-sha1-toWM5Slw5Ew8Mqkay+al2g==')).toMatchObject({ hash: 'sha1', base: { group: 'group14' } });
    expect(gssKexNames(KRB5_OID).some((n) => n.includes('sha1'))).toBe(false);
  });

  it('listen() refuses gssKex without gssapi', async () => {
    const { listen } = await import('../../ts/index.js');
    await expect(listen({ hostKeys: ['generate'], gssKex: true })).rejects.toThrow(/gssKex needs gssapi/);
  });

  it('"null" is chosen as the host key algorithm only for a gss-* kex', () => {
    const gss = gssKexNames(KRB5_OID)[0]!;
    expect(negotiate(lists([gss], ['null']), lists([gss], ['ssh-ed25519', 'null']), () => false).hostKey).toBe('null');
    expect(negotiate(lists([gss], ['ssh-ed25519', 'null']), lists([gss], ['ssh-ed25519', 'null']), () => false).hostKey).toBe('ssh-ed25519');
    expect(() => negotiate(lists(['curve25519-sha256'], ['null']), lists(['curve25519-sha256'], ['null']), () => false)).toThrow(/no matching host key/);
  });
});

/** A stand-in mechanism: one token each way, and MICs that are HMACs under a key both sides know. */
function fakeMechanism(sharedKey: string, opts: { badMic?: boolean } = {}): { client: GssKexOptions; server: GssKexOptions; created: { initiators: number; acceptors: number } } {
  const mic = (who: string, m: Uint8Array): Buffer => createHmac('sha256', sharedKey).update(who).update(m).digest();
  const check = (who: string, m: Uint8Array, t: Uint8Array): boolean => {
    const want = mic(who, m);
    return t.length === want.length && timingSafeEqual(Buffer.from(t), want);
  };
  const created = { initiators: 0, acceptors: 0 };
  return {
    created,
    client: {
      oid: KRB5_OID,
      initiator: () => {
        created.initiators++;
        let established = false;
        return {
          initialToken: Buffer.from('hello acceptor'),
          get established() {
            return established;
          },
          acceptReply(token) {
            if (Buffer.from(token).toString() !== 'hello initiator') throw new Error('bad reply token');
            established = true;
          },
          verifyMic: (m, t) => check('acceptor', m, t),
          getMic: (m) => mic('initiator', m),
        };
      },
    },
    server: {
      oid: KRB5_OID,
      acceptor: async () => {
        created.acceptors++;
        return {
          accept(token) {
            if (Buffer.from(token).toString() !== 'hello acceptor') throw new Error('bad initial token');
            return { token: Buffer.from('hello initiator'), established: true };
          },
          getMic: (m) => (opts.badMic ? mic('someone else', m) : mic('acceptor', m)),
          verifyMic: (m, t) => check('initiator', m, t),
          principal: 'alice@TEST',
          ccFile: null,
        };
      },
    },
  };
}

const open: Transport[] = [];
afterEach(async () => {
  await closeBoth(...open.splice(0));
});

describe('GSS-API key exchange between our client and server', () => {
  for (const name of gssKexNames(KRB5_OID)) {
    it(`${name}: both sides agree, the server's host key is not needed, a rekey makes new contexts`, async () => {
      const mech = fakeMechanism('k');
      const others = gssKexNames(KRB5_OID).filter((n) => n !== name);
      const lines: string[] = [];
      const { client, server } = await transportPair({
        // A host key policy that refuses everything: only the GSS-API context can authenticate this server.
        client: { gssKex: mech.client, disabledAlgorithms: { kex: others }, verifyHostKey: () => false, debug: (m) => lines.push(m) },
        server: { gssKex: mech.server },
      });
      open.push(client, server);
      await Promise.all([client.ready, server.ready]);
      expect(lines.find((l) => l.includes('negotiated: kex'))).toContain(`kex ${name},`);
      expect(client.sessionId).toEqual(server.sessionId);
      expect(client.gssKexContext).not.toBeNull();
      expect(server.gssKexContext).toMatchObject({ principal: 'alice@TEST' });
      const first = client.gssKexContext;
      await client.renegotiateKeys();
      expect(mech.created).toEqual({ initiators: 2, acceptors: 2 });
      // gssapi-keyex signs with the context bound to the session identifier: the first one.
      expect(client.gssKexContext).toBe(first);
    });
  }

  it('gss-group14-sha1 runs when both sides list it by name (for servers that offer nothing newer)', async () => {
    const mech = fakeMechanism('k');
    const legacy = 'gss-group14-sha1-toWM5Slw5Ew8Mqkay+al2g==';
    const lines: string[] = [];
    const { client, server } = await transportPair({
      client: { gssKex: mech.client, algorithms: { kex: [legacy, 'curve25519-sha256'] }, disabledAlgorithms: { kex: gssKexNames(KRB5_OID) }, debug: (m) => lines.push(m) },
      server: { gssKex: mech.server, algorithms: { kex: [legacy, 'curve25519-sha256'] } },
    });
    open.push(client, server);
    await Promise.all([client.ready, server.ready]);
    expect(lines.find((l) => l.includes('negotiated: kex'))).toContain(`kex ${legacy},`);
    expect(client.gssKexContext).not.toBeNull();
  });

  it('a server MIC that does not verify ends the exchange with a typed error', async () => {
    const mech = fakeMechanism('k', { badMic: true });
    const { client, server } = await transportPair({ client: { gssKex: mech.client }, server: { gssKex: mech.server } });
    open.push(client, server);
    const err = await client.ready.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_SSH_GSS_KEX', message: expect.stringMatching(/MIC over the exchange hash does not verify/) });
  });

  it('a refused context: the server sends KEXGSS_ERROR and both sides fail cleanly', async () => {
    const mech = fakeMechanism('k');
    const bad: GssKexOptions = { oid: KRB5_OID, initiator: () => ({ ...mech.client.initiator!(), initialToken: Buffer.from('garbage') }) };
    const { client, server } = await transportPair({ client: { gssKex: bad }, server: { gssKex: mech.server } });
    open.push(client, server);
    const [c, s] = await Promise.all([client.ready.catch((e: unknown) => e), server.ready.catch((e: unknown) => e)]);
    expect(s).toMatchObject({ code: 'ERR_SSH_GSS_KEX', message: expect.stringMatching(/refused: bad initial token/) });
    expect(c).toBeInstanceOf(Error);
  });
});
