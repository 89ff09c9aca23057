/**
 * listen() and createServer() check the options each connection hands to
 * its Transport, Connection and user authentication up front, with those layers' own validation:
 * a bad value throws at once, the same typed error a connection would have
 * failed with, instead of a server that fails every client.
 */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { UserAuthServer } from '../../ts/auth/index.js';
import { Connection } from '../../ts/connection/index.js';
import { createServer, listen, NegotiationError, PrivateKey, SSHException, type ListenOptions } from '../../ts/index.js';
import { Transport } from '../../ts/transport/index.js';

const hostKey = PrivateKey.generate('ed25519');

/** What the layer itself throws for these options (a connection's failure before the fix). */
function layerError(extra: Partial<ListenOptions>): unknown {
  const sock = new net.Socket();
  try {
    if ('maxAuthTries' in extra || 'authTimeout' in extra) {
      // Only options are looked at before the transport is used.
      new UserAuthServer({} as never, { server: {}, ...(extra as object) });
    } else if ('window' in extra || 'maxPacketSize' in extra) {
      // Only options are looked at before the transport is used.
      new Connection({} as never, { role: 'server', ...(extra as object) });
    } else {
      new Transport(sock, { role: 'server', hostKeys: [hostKey], ...(extra as object) }).disconnect();
    }
  } catch (e) {
    return e;
  } finally {
    sock.destroy();
  }
  return null;
}

const BAD: [string, Partial<ListenOptions>, typeof SSHException][] = [
  ['rekeyBytes below 16 KiB', { rekeyBytes: 1000 }, SSHException],
  ['negative rekeySeconds', { rekeySeconds: -1 }, SSHException],
  ['negative keepaliveInterval', { keepaliveInterval: -5 }, SSHException],
  ['NaN bannerTimeout', { bannerTimeout: Number.NaN }, SSHException],
  ['a malformed version', { version: 'not-ssh' }, SSHException],
  ['a zero window', { window: 0 }, SSHException],
  ['a fractional window', { window: 1000.5 }, SSHException],
  ['a zero maxPacketSize', { maxPacketSize: 0 }, SSHException],
  ['a huge maxPacketSize', { maxPacketSize: 2 ** 40 }, SSHException],
  ['maxAuthTries 0', { maxAuthTries: 0 }, SSHException],
  ['a fractional maxAuthTries', { maxAuthTries: 2.5 }, SSHException],
  ['a negative authTimeout', { authTimeout: -1 }, SSHException],
  ['an infinite authTimeout', { authTimeout: Number.POSITIVE_INFINITY }, SSHException],
  // Past what a timer holds (2^31-1 ms), a duration would fire at once.
  ['an authTimeout of 2^31 ms', { authTimeout: 2 ** 31 }, SSHException],
  ['rekeySeconds past 2^31-1 ms', { rekeySeconds: 1e7 }, SSHException],
  ['an infinite keepaliveInterval', { keepaliveInterval: Number.POSITIVE_INFINITY }, SSHException],
  ['a bannerTimeout of 2^31 ms', { bannerTimeout: 2 ** 31 }, SSHException],
  ['an empty cipher list', { algorithms: { cipher: [] } }, NegotiationError],
  ['every MAC disabled', { algorithms: { mac: ['hmac-sha2-256'] }, disabledAlgorithms: { mac: ['hmac-sha2-256'] } }, NegotiationError],
];

describe('listen() / createServer() option checks', () => {
  for (const [what, extra, type] of BAD) {
    it(`${what}: listen() and createServer() throw what a connection would have`, async () => {
      const expected = layerError(extra);
      expect(expected).toBeInstanceOf(type);
      const code = (expected as SSHException).code;
      const message = (expected as Error).message;

      let listened: Awaited<ReturnType<typeof listen>> | null = null;
      const err = await listen({ hostKeys: [hostKey], ...extra }).then(
        (s) => {
          listened = s;
          return null;
        },
        (e: unknown) => e,
      );
      if (listened) await (listened as { close(): Promise<void> }).close();
      expect(err).toBeInstanceOf(type);
      expect(err).toMatchObject({ code, message });

      expect(() => createServer({ hostKeys: [hostKey], ...extra })).toThrow(message);
      try {
        createServer({ hostKeys: [hostKey], ...extra });
      } catch (e) {
        expect(e).toBeInstanceOf(type);
        expect((e as SSHException).code).toBe(code);
      }
    });
  }

  it('accepts the edge values those layers accept', async () => {
    const s = await listen({
      hostKeys: [hostKey],
      rekeyBytes: 16 * 1024,
      rekeySeconds: 0,
      keepaliveInterval: 0,
      bannerTimeout: 0,
      version: 'SSH-2.0-edge_1.0 a comment',
      window: 1,
      maxPacketSize: 1,
      maxChannelsPerConnection: 1,
      maxAuthTries: 1,
      authTimeout: 0,
    });
    await s.close();
  });

  it('accepts the largest durations a timer holds', async () => {
    const max = 2 ** 31 - 1;
    const s = await listen({ hostKeys: [hostKey], authTimeout: max, bannerTimeout: max, keepaliveInterval: max, rekeySeconds: 2147483 });
    await s.close();
    createServer({ hostKeys: [hostKey], authTimeout: max, bannerTimeout: max, keepaliveInterval: max, rekeySeconds: 2147483 });
  });
});
