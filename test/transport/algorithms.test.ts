import { describe, expect, it } from 'vitest';
import { canServeCipher, canServeMac } from '../../ts/crypto/index.js';
import { canServeKex } from '../../ts/transport/algorithms.js';
import { KEX_METHODS } from '../../ts/transport/kex/methods.js';
import type { AlgorithmOptions } from '../../ts/transport/index.js';
import { MSG } from '../../ts/wire/index.js';
import { closeBoth, transportPair } from '../helpers/pair.js';

/** Runs a kex with `algorithms` on both sides, then a service request and an echoed message in each direction. */
async function roundTrip(algorithms: AlgorithmOptions, extra: { gexRequest?: { min: number; n: number; max: number } } = {}) {
  const { client, server } = await transportPair({ client: { algorithms, ...extra }, server: { algorithms } });
  try {
    await Promise.all([client.ready, server.ready]);
    server.onMessage((type, payload) => {
      if (type === 200) server.send(Uint8Array.from([201, ...payload.subarray(1)]));
    });
    const got = new Promise<Buffer>((resolve) => client.onMessage((type, p) => type === 201 && resolve(p)));
    await client.requestService('ssh-userauth');
    const body = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    client.send(Uint8Array.from([200, ...body]));
    const echoed = await got;
    expect(Buffer.from(echoed.subarray(1)).equals(Buffer.from(body))).toBe(true);
    expect(client.negotiated).toEqual(server.negotiated);
    expect(client.sessionId).toEqual(server.sessionId);
    return client.negotiated!;
  } finally {
    await closeBoth(client, server);
  }
}

describe('our client against our server, each algorithm forced alone', () => {
  const kexNames = Object.keys(KEX_METHODS).filter(canServeKex);
  it('serves the classic kex methods at least', () => {
    for (const n of ['curve25519-sha256', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group-exchange-sha256']) expect(kexNames).toContain(n);
  });
  for (const kex of kexNames) {
    it(`kex ${kex}`, async () => {
      const n = await roundTrip({ kex: [kex] }, { gexRequest: { min: 2048, n: 2048, max: 4096 } });
      expect(n.kex).toBe(kex);
      expect(n.strictKex).toBe(true);
    });
  }

  const ciphers = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'].filter(canServeCipher);
  for (const cipher of ciphers) {
    it(`cipher ${cipher}`, async () => {
      const n = await roundTrip({ cipher: [cipher] });
      expect([n.cipherCS, n.cipherSC]).toEqual([cipher, cipher]);
    });
  }

  const macs = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'].filter(canServeMac);
  for (const mac of macs) {
    it(`mac ${mac} (with aes128-ctr)`, async () => {
      const n = await roundTrip({ cipher: ['aes128-ctr'], mac: [mac] });
      expect([n.macCS, n.macSC]).toEqual([mac, mac]);
    });
  }

  for (const hostKey of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
    it(`host key ${hostKey}`, async () => {
      const n = await roundTrip({ serverHostKey: [hostKey] });
      expect(n.hostKey).toBe(hostKey);
    });
  }

  for (const compression of ['none', 'zlib', 'zlib@openssh.com']) {
    it(`compression ${compression}`, async () => {
      const n = await roundTrip({ compression: [compression] });
      expect([n.compressionCS, n.compressionSC]).toEqual([compression, compression]);
    });
  }

  it('zlib@openssh.com starts after USERAUTH_SUCCESS and survives a rekey', async () => {
    const { client, server } = await transportPair({ client: { algorithms: { compression: ['zlib@openssh.com'] } }, server: { algorithms: { compression: ['zlib@openssh.com'] } } });
    try {
      await Promise.all([client.ready, server.ready]);
      const serverGot: number[] = [];
      server.onMessage((type, p) => {
        if (type === MSG.USERAUTH_REQUEST) server.send(Uint8Array.of(MSG.USERAUTH_SUCCESS));
        if (type === 200) {
          serverGot.push(p.length);
          server.send(p);
        }
      });
      const clientGot: Buffer[] = [];
      const authed = new Promise<void>((resolve) =>
        client.onMessage((type, p) => {
          if (type === MSG.USERAUTH_SUCCESS) resolve();
          if (type === 200) clientGot.push(p);
        }),
      );
      await client.requestService('ssh-userauth');
      client.send(Uint8Array.of(MSG.USERAUTH_REQUEST, 0, 0, 0, 0));
      await authed;
      const big = new Uint8Array(100_000).fill(65);
      big[0] = 200;
      for (let i = 0; i < 5; i++) client.send(big);
      await client.renegotiateKeys();
      for (let i = 0; i < 5; i++) client.send(big);
      await new Promise<void>((resolve) => {
        const check = setInterval(() => clientGot.length === 10 && (clearInterval(check), resolve()), 5);
      });
      expect(clientGot.every((p) => p.length === big.length && p[5] === 65)).toBe(true);
      // Compression really happened: far fewer wire bytes than payload bytes.
      expect(client.bytesSent).toBeLessThan(200_000);
    } finally {
      await closeBoth(client, server);
    }
  });
});
