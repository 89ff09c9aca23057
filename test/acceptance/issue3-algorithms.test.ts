/**
 * Issue 3 acceptance, part 3: the algorithm lists. Every name the issue
 * lists is implemented and servable here; every one OpenSSH 9.2 knows
 * (`ssh -Q`) is therefore among the cases the interop tests force alone
 * (test/transport/openssh-client.test.ts and openssh-server.test.ts build
 * their cases from `ssh -Q` filtered by these same canServe checks). The
 * KEXINIT both roles put on the wire by default is OpenSSH 10's order with
 * no legacy algorithm in it; `algorithms` and `disabledAlgorithms` shape it.
 */
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canServeCipher, canServeMac, canServeSignature } from '../../ts/crypto/index.js';
import { canServeKex } from '../../ts/transport/algorithms.js';
import { zlibAvailable } from '../../ts/transport/compression.js';
import { Transport, type TransportOptions } from '../../ts/transport/index.js';
import { KEX_METHODS } from '../../ts/transport/kex/methods.js';
import { decodeKexInit, type KexInit } from '../../ts/transport/kexinit.js';
import { allHostKeys, closeBoth, transportPair } from '../helpers/pair.js';
import { PlainPacketReader, rawConnect, waitFor } from '../helpers/raw.js';

/** The issue's lists, names exactly as on the wire. */
const ISSUE = {
  kex: [
    'mlkem768x25519-sha256',
    'sntrup761x25519-sha512@openssh.com',
    'sntrup761x25519-sha512',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  legacyKex: ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1'],
  hostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'],
  legacyHostKey: ['ssh-rsa'],
  cipher: ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'],
  legacyCipher: ['aes128-cbc', 'aes192-cbc', 'aes256-cbc'],
  mac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'],
  compression: ['none', 'zlib@openssh.com', 'zlib'],
};

const PLAIN_HOST_KEY = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

/** OpenSSH 10.0's defaults (myproposal.h), minus what sshwire does not implement (sk-*). */
const OPENSSH10 = {
  kex: ['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256'],
  // Certificate algorithms first, as OpenSSH's client offers them.
  hostKey: [...PLAIN_HOST_KEY.map((a) => `${a}-cert-v01@openssh.com`), ...PLAIN_HOST_KEY],
  cipher: ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'],
  mac: ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'],
};

const sshQ = (what: string) => new Set(execFileSync('ssh', ['-Q', what], { encoding: 'utf8' }).trim().split('\n'));

describe('every algorithm of the issue is implemented and servable here', () => {
  it('kex (ML-KEM, sntrup761, curve25519, ECDH, DH groups, group exchange; legacy too)', () => {
    for (const n of [...ISSUE.kex, ...ISSUE.legacyKex]) {
      expect(KEX_METHODS[n], n).toBeDefined();
      expect(canServeKex(n), n).toBe(true);
    }
  });
  it('host keys, ciphers, MACs, compression', () => {
    for (const n of [...ISSUE.hostKey, ...ISSUE.legacyHostKey]) expect(canServeSignature(n), n).toBe(true);
    for (const n of [...ISSUE.cipher, ...ISSUE.legacyCipher]) expect(canServeCipher(n), n).toBe(true);
    for (const n of ISSUE.mac) expect(canServeMac(n), n).toBe(true);
    expect(zlibAvailable()).toBe(true);
  });
  it('so every one OpenSSH 9.2 supports is among the interop cases forced alone (ssh -Q ∩ servable)', () => {
    const categories: [string, string[], (n: string) => boolean][] = [
      ['kex', [...ISSUE.kex, ...ISSUE.legacyKex], canServeKex],
      ['cipher', [...ISSUE.cipher, ...ISSUE.legacyCipher], canServeCipher],
      ['mac', ISSUE.mac, canServeMac],
    ];
    const covered: string[] = [];
    for (const [q, names, servable] of categories) {
      const openssh = sshQ(q);
      const interopCases = [...openssh].filter(servable);
      for (const n of names.filter((x) => openssh.has(x))) {
        expect(interopCases, `${q} ${n}`).toContain(n);
        covered.push(n);
      }
    }
    // OpenSSH 9.2 lacks only ML-KEM of the issue's kex list (tested between our own client and server instead).
    expect(covered).not.toContain('mlkem768x25519-sha256');
    expect(covered.length).toBe(ISSUE.kex.length - 1 + ISSUE.legacyKex.length + ISSUE.cipher.length + ISSUE.legacyCipher.length + ISSUE.mac.length);
    // Host keys: the interop tests list them explicitly; all are in `ssh -Q key` or are RSA signature variants of ssh-rsa.
    const keys = sshQ('key');
    for (const n of [...ISSUE.hostKey, ...ISSUE.legacyHostKey]) expect(keys.has(n) || n.startsWith('rsa-sha2-'), n).toBe(true);
  });
});

// --- what goes on the wire ----------------------------------------------------

let listener: net.Server;
let port = 0;
let serverOptions: Partial<TransportOptions> = {};
const servers: Transport[] = [];
beforeAll(async () => {
  listener = net.createServer((s) => servers.push(new Transport(s, { role: 'server', hostKeys: allHostKeys(), ...serverOptions })));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

/** The KEXINIT our server sends (with `opts`). */
async function serverKexInit(opts: Partial<TransportOptions> = {}): Promise<KexInit> {
  serverOptions = opts;
  const before = servers.length;
  const { socket, reader } = await rawConnect(port);
  socket.write('SSH-2.0-probe_1\r\n');
  await waitFor(() => reader.packets.length > 0);
  socket.destroy();
  await waitFor(() => servers.length > before);
  await servers[servers.length - 1]!.closed;
  return decodeKexInit(reader.packets[0]!);
}

/** The KEXINIT our client sends (with `opts`). */
async function clientKexInit(opts: Partial<TransportOptions> = {}): Promise<KexInit> {
  const reader = new PlainPacketReader();
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => reader.push(d));
    s.write('SSH-2.0-probe_1\r\n');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = new Transport(net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1'), { role: 'client', verifyHostKey: () => true, ...opts });
  await waitFor(() => reader.packets.length > 0);
  client.disconnect();
  await client.closed;
  srv.close();
  return decodeKexInit(reader.packets[0]!);
}

const LEGACY = [...ISSUE.legacyKex, ...ISSUE.legacyHostKey, ...ISSUE.legacyCipher, '3des-cbc', 'hmac-md5'];

describe('default KEXINIT: OpenSSH 10 order, no legacy algorithm', () => {
  it('client role', async () => {
    const k = await clientKexInit();
    expect(k.kex).toEqual([...OPENSSH10.kex, 'ext-info-c', 'kex-strict-c-v00@openssh.com']);
    expect(k.serverHostKey).toEqual(OPENSSH10.hostKey);
    expect(k.cipherCS).toEqual(OPENSSH10.cipher);
    expect(k.cipherSC).toEqual(OPENSSH10.cipher);
    expect(k.macCS).toEqual(OPENSSH10.mac);
    expect(k.compressionCS[0]).toBe('none');
    expect(k.firstKexPacketFollows).toBe(false);
    const all = [k.kex, k.serverHostKey, k.cipherCS, k.cipherSC, k.macCS, k.macSC].flat();
    expect(all.filter((n) => LEGACY.includes(n))).toEqual([]);
  });

  it('server role (host key algorithms: what its keys can sign; no certificates here)', async () => {
    const k = await serverKexInit();
    expect(k.kex.filter((n) => !n.startsWith('ext-info') && !n.startsWith('kex-strict'))).toEqual(OPENSSH10.kex);
    expect(k.kex).toContain('kex-strict-s-v00@openssh.com');
    expect(k.serverHostKey).toEqual(PLAIN_HOST_KEY);
    expect(k.cipherSC).toEqual(OPENSSH10.cipher);
    expect(k.macSC).toEqual(OPENSSH10.mac);
    const all = [k.kex, k.serverHostKey, k.cipherCS, k.cipherSC, k.macCS, k.macSC].flat();
    expect(all.filter((n) => LEGACY.includes(n))).toEqual([]);
  });

  it('a server with only an ed25519 key offers only ssh-ed25519', async () => {
    const k = await serverKexInit({ hostKeys: [allHostKeys()[0]!] });
    expect(k.serverHostKey).toEqual(['ssh-ed25519']);
  });
});

describe('algorithms / disabledAlgorithms', () => {
  it('legacy algorithms appear only when listed explicitly, in the order given', async () => {
    const k = await clientKexInit({ algorithms: { kex: ['diffie-hellman-group1-sha1', 'curve25519-sha256'], serverHostKey: ['ssh-rsa', 'ssh-ed25519'], cipher: ['aes128-cbc', 'aes128-ctr'] } });
    expect(k.kex.slice(0, 2)).toEqual(['diffie-hellman-group1-sha1', 'curve25519-sha256']);
    expect(k.serverHostKey).toEqual(['ssh-rsa', 'ssh-ed25519']);
    expect(k.cipherCS).toEqual(['aes128-cbc', 'aes128-ctr']);
  });

  it('each legacy algorithm, enabled on both sides, is negotiated and works', async () => {
    const cases: [string, object][] = [
      ...ISSUE.legacyKex.map((n): [string, object] => [n, { kex: [n] }]),
      ['ssh-rsa', { serverHostKey: ['ssh-rsa'] }],
      ...ISSUE.legacyCipher.map((n): [string, object] => [n, { cipher: [n] }]),
    ];
    for (const [name, algorithms] of cases) {
      const { client, server } = await transportPair({ client: { algorithms, gexRequest: { min: 2048, n: 2048, max: 2048 } }, server: { algorithms } });
      await Promise.all([client.ready, server.ready]);
      const n = client.negotiated!;
      expect([n.kex, n.hostKey, n.cipherCS, n.cipherSC], name).toContain(name);
      await client.requestService('ssh-userauth');
      await closeBoth(client, server);
    }
  });

  it('disabledAlgorithms removes names from the defaults; negotiation moves to the next one', async () => {
    const disabledAlgorithms = { kex: ['mlkem768x25519-sha256'], cipher: ['chacha20-poly1305@openssh.com'], mac: ['umac-64-etm@openssh.com'], serverHostKey: ['ssh-ed25519'] };
    const k = await clientKexInit({ disabledAlgorithms });
    expect(k.kex[0]).toBe('sntrup761x25519-sha512');
    expect(k.cipherCS).toEqual(OPENSSH10.cipher.slice(1));
    expect(k.macCS).toEqual(OPENSSH10.mac.slice(1));
    expect(k.serverHostKey).toEqual(OPENSSH10.hostKey.filter((a) => a !== 'ssh-ed25519'));
    const { client, server } = await transportPair({ client: { disabledAlgorithms } });
    await Promise.all([client.ready, server.ready]);
    expect(client.negotiated).toMatchObject({ kex: 'sntrup761x25519-sha512', hostKey: 'ecdsa-sha2-nistp256', cipherCS: 'aes128-gcm@openssh.com' });
    await closeBoth(client, server);
  });
});
