/**
 * The Kerberos 5 GSS-API mechanism without a KDC: tickets are made here the
 * way a KDC makes them (EncTicketPart under the service's keytab key), so
 * every acceptor check can be driven: expiry, clock skew, replays, wrong
 * principal, missing or wrong-version keys, tampered tokens and MICs.
 * Interop with MIT's own initiator and acceptor is in gssapi.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { krb5Enctype } from '../../ts/crypto/krb5/index.js';
import { Krb5Acceptor, Krb5Initiator } from '../../ts/auth/gssapi/krb5Mech.js';
import { encodeEncTicketPart, encodeTicket } from '../../ts/auth/gssapi/krb5ApMessages.js';
import { KRB_ERR } from '../../ts/auth/gssapi/krb5Errors.js';
import { NT, type EncryptionKey, type KeytabEntry, type Krb5Credential } from '../../ts/auth/gssapi/krb5Types.js';
import { ReplayCache } from '../../ts/auth/gssapi/replayCache.js';

const REALM = 'TEST.REALM';
const service = { realm: REALM, name: { nameType: NT.SRV_HST, nameString: ['host', 'server.test'] } };
const alice = { realm: REALM, name: { nameType: NT.PRINCIPAL, nameString: ['alice'] } };

function keytabFor(etype: number, kvno = 3): { entry: KeytabEntry; key: EncryptionKey } {
  const e = krb5Enctype(etype)!;
  const key = { keytype: etype, keyvalue: e.randomKey() };
  return { key, entry: { principal: service, kvno, key, timestamp: new Date() } };
}

/** A service ticket as the KDC would issue it, valid from `start` for `hours`. */
function issue(serviceKey: EncryptionKey, opts: { sessionEtype?: number; start?: Date; hours?: number; kvno?: number } = {}): Krb5Credential {
  const se = krb5Enctype(opts.sessionEtype ?? 18)!;
  const session = { keytype: se.etype, keyvalue: se.randomKey() };
  const start = opts.start ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const end = new Date(start.getTime() + (opts.hours ?? 10) * 3_600_000);
  const part = encodeEncTicketPart({ flags: 0, key: session, crealm: alice.realm, cname: alice.name, transited: { trType: 1, contents: Buffer.alloc(0) }, authtime: start, endtime: end });
  const ke = krb5Enctype(serviceKey.keytype)!;
  const ticket = encodeTicket({
    realm: service.realm,
    sname: service.name,
    encPart: { etype: ke.etype, kvno: opts.kvno ?? 3, cipher: ke.encrypt(serviceKey.keyvalue, 2, part) },
    raw: Buffer.alloc(0),
  });
  return { client: alice, server: service, key: session, authtime: start, endtime: end, flags: 0, ticket };
}

const message = Buffer.from('session id and request head');

describe('Krb5Initiator + Krb5Acceptor', () => {
  for (const [serviceEtype, sessionEtype] of [
    [18, 18],
    [17, 17],
    [20, 19],
    [19, 20],
  ] as const) {
    it(`establish, mutual authentication and MIC (service key ${serviceEtype}, session key ${sessionEtype})`, () => {
      const { key, entry } = keytabFor(serviceEtype);
      const init = new Krb5Initiator(issue(key, { sessionEtype }));
      const acc = new Krb5Acceptor([entry], { replayCache: new ReplayCache() });
      const ctx = acc.accept(init.initialToken);
      expect(ctx.client).toEqual(alice);
      expect(ctx.flags & 2).toBe(2); // mutual
      expect(ctx.delegation).toBeNull();
      expect(init.established).toBe(false);
      init.acceptReply(ctx.replyToken!);
      expect(init.established).toBe(true);
      const mic = init.getMic(message);
      expect(acc.verifyMic(message, mic)).toBe(true);
      // A second MIC has the next sequence number and verifies as well.
      expect(acc.verifyMic(message, init.getMic(message))).toBe(true);
      expect(acc.verifyMic(Buffer.from('another message'), mic)).toBe(false);
      for (const i of [0, 2, 5, 15, 16, mic.length - 1]) {
        const bad = Buffer.from(mic);
        bad[i]! ^= 1;
        expect(acc.verifyMic(message, bad)).toBe(false);
      }
      expect(acc.verifyMic(message, mic.subarray(0, 20))).toBe(false);
    });
  }

  it('acceptor MICs (GSS key exchange signs H with them): the initiator verifies them, not its own', () => {
    const { key, entry } = keytabFor(18);
    const init = new Krb5Initiator(issue(key));
    const acc = new Krb5Acceptor([entry], { replayCache: new ReplayCache() });
    init.acceptReply(acc.accept(init.initialToken).replyToken!);
    const H = Buffer.from('exchange hash');
    const mic = acc.getMic(H);
    expect(mic[2]! & 1).toBe(1); // SentByAcceptor
    expect(init.verifyMic(H, mic)).toBe(true);
    expect(init.verifyMic(Buffer.from('other hash'), mic)).toBe(false);
    // A token the initiator made itself is not the acceptor's, and vice versa.
    expect(init.verifyMic(H, init.getMic(H))).toBe(false);
    expect(acc.verifyMic(H, acc.getMic(H))).toBe(false);
    const flipped = Buffer.from(mic);
    flipped[flipped.length - 1]! ^= 1;
    expect(init.verifyMic(H, flipped)).toBe(false);
  });

  it('a replayed AP-REQ is refused', () => {
    const { key, entry } = keytabFor(18);
    const cache = new ReplayCache();
    const token = new Krb5Initiator(issue(key)).initialToken;
    new Krb5Acceptor([entry], { replayCache: cache }).accept(token);
    expect(() => new Krb5Acceptor([entry], { replayCache: cache }).accept(token)).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_REPEAT }));
  });

  it('expired and not-yet-valid tickets, and clock skew', () => {
    const { key, entry } = keytabFor(18);
    const now = Date.now();
    const old = issue(key, { start: new Date(now - 3 * 3_600_000), hours: 1 });
    expect(() => new Krb5Acceptor([entry], { replayCache: new ReplayCache() }).accept(new Krb5Initiator(old).initialToken)).toThrow(
      expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_TKT_EXPIRED }),
    );
    const future = issue(key, { start: new Date(now + 3_600_000) });
    expect(() => new Krb5Acceptor([entry], { replayCache: new ReplayCache() }).accept(new Krb5Initiator(future).initialToken)).toThrow(
      expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_TKT_NYV }),
    );
    // The initiator's clock is 10 minutes behind the acceptor's.
    const token = new Krb5Initiator(issue(key, { start: new Date(now - 3_600_000) }), { now: () => new Date(now - 600_000) }).initialToken;
    expect(() => new Krb5Acceptor([entry], { replayCache: new ReplayCache() }).accept(token)).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_SKEW }));
  });

  it('keys: none for the principal, wrong version, wrong key, and a principal restriction', () => {
    const { key, entry } = keytabFor(18);
    const token = (): Buffer => new Krb5Initiator(issue(key)).initialToken;
    const other = { ...entry, principal: { realm: REALM, name: { nameType: NT.SRV_HST, nameString: ['host', 'other.test'] } } };
    expect(() => new Krb5Acceptor([other]).accept(token())).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_NOKEY }));
    expect(() => new Krb5Acceptor([{ ...entry, kvno: 4 }]).accept(token())).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_BADKEYVER }));
    expect(() => new Krb5Acceptor([{ ...entry, key: keytabFor(18).key }]).accept(token())).toThrow(expect.objectContaining({ code: 'ERR_KRB5_INTEGRITY' }));
    expect(() => new Krb5Acceptor([entry], { principal: other.principal }).accept(token())).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_NOT_US }));
    // The newest of several versions is used when the ticket names none... and the named one when it does.
    const acc = new Krb5Acceptor([{ ...entry, kvno: 2, key: keytabFor(18).key }, entry], { replayCache: new ReplayCache() });
    expect(acc.accept(token()).client).toEqual(alice);
  });

  it('a tampered token is an integrity failure or a decoding error, never an acceptance', () => {
    const { key, entry } = keytabFor(18);
    const token = new Krb5Initiator(issue(key)).initialToken;
    // Kerberos leaves two AP-REQ fields outside any encryption, by design:
    // the ap-options (only USE_SESSION_KEY matters, and it is refused) and
    // the ticket's name type (principals compare by realm and components).
    const apOptions = token.indexOf(Buffer.from('a20703050020', 'hex')) + 5;
    const nameType = token.indexOf(Buffer.from('a0030201' + '03', 'hex'), apOptions) + 4;
    expect(apOptions).toBeGreaterThan(5);
    expect(nameType).toBeGreaterThan(apOptions);
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      if ((i >= apOptions && i < apOptions + 4) || i === nameType) continue;
      const bad = Buffer.from(token);
      bad[i]! ^= 0x40;
      try {
        new Krb5Acceptor([entry], { replayCache: new ReplayCache() }).accept(bad);
      } catch (err) {
        expect((err as { code?: string }).code).toMatch(/^ERR_(KRB5|SSH_PROTOCOL)/);
        refused++;
        continue;
      }
      throw new Error(`a token with byte ${i} changed was accepted`);
    }
    expect(refused).toBe(token.length - 5);
  });

  it('the initiator refuses an AP-REP that does not echo its authenticator, and a MIC before establishment', () => {
    const { key, entry } = keytabFor(18);
    const cred = issue(key);
    const first = new Krb5Initiator(cred);
    const second = new Krb5Initiator(cred);
    expect(() => second.getMic(message)).toThrow(/established/);
    const reply = new Krb5Acceptor([entry], { replayCache: new ReplayCache() }).accept(first.initialToken).replyToken!;
    // Same session key, but the reply answers the other authenticator.
    expect(() => second.acceptReply(reply)).toThrow(expect.objectContaining({ krbErrorCode: KRB_ERR.KRB_AP_ERR_MODIFIED }));
    first.acceptReply(reply);
    expect(() => first.acceptReply(reply)).toThrow(/second/);
  });

  it('delegated credentials travel in the checksum', () => {
    const { key, entry } = keytabFor(18);
    const krbCred = Buffer.from('76 03 02 01 05'.replace(/ /g, ''), 'hex');
    const acc = new Krb5Acceptor([entry], { replayCache: new ReplayCache() });
    const ctx = acc.accept(new Krb5Initiator(issue(key), { delegation: krbCred }).initialToken);
    expect(ctx.flags & 1).toBe(1);
    expect(ctx.delegation).toEqual(krbCred);
  });
});

describe('ReplayCache', () => {
  it('remembers until expiry and stays bounded', () => {
    const c = new ReplayCache(3);
    expect(c.add('a', 100, 0)).toBe(true);
    expect(c.add('a', 100, 50)).toBe(false);
    expect(c.add('a', 200, 150)).toBe(true); // expired, so a new entry
    c.add('b', 1000, 150);
    c.add('c', 1000, 150);
    c.add('d', 1000, 150);
    expect(c.size).toBeLessThanOrEqual(3);
  });
});
