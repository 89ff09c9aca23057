import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisconnectError, IntegrityError, ProtocolError, SSHException, TimeoutError } from '../../ts/errors.js';
import { Transport, type TransportOptions } from '../../ts/transport/index.js';
import { MSG, SSHWriter } from '../../ts/wire/index.js';
import { allHostKeys, closeBoth, tappedPair } from '../helpers/pair.js';
import { kexInitPayload, plainPacket, rawConnect, waitFor } from '../helpers/raw.js';

/** A listening port whose connections get a server Transport; `last()` is the newest one. */
let listener: net.Server;
let port = 0;
const servers: Transport[] = [];
let serverOptions: Partial<TransportOptions> = {};

beforeAll(async () => {
  listener = net.createServer((s) => servers.push(new Transport(s, { role: 'server', hostKeys: allHostKeys(), bannerTimeout: 2000, kexTimeout: 2000, ...serverOptions })));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

/** Connects raw, sends `bytes`, and returns the server transport's close reason. */
async function attack(write: (s: net.Socket) => void | Promise<void>, opts: Partial<TransportOptions> = {}): Promise<Error | null> {
  serverOptions = opts;
  const before = servers.length;
  const { socket, closed } = await rawConnect(port);
  await waitFor(() => servers.length > before);
  const server = servers[servers.length - 1]!;
  await write(socket);
  const err = await server.closed;
  await closed; // the server destroyed its socket
  socket.destroy();
  return err;
}

const VERSION = 'SSH-2.0-attacker_1.0\r\n';

describe('hostile input to the server', () => {
  it('garbage version line', async () => {
    const err = await attack((s) => void s.write('HELLO THERE\r\n'));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
  });

  it('SSH-1 version', async () => {
    const err = await attack((s) => void s.write('SSH-1.5-old\r\n'));
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
  });

  it('too-long version line', async () => {
    const err = await attack((s) => void s.write('SSH-2.0-' + 'x'.repeat(400)));
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
  });

  it('silence: banner timeout', async () => {
    const err = await attack(() => {}, { bannerTimeout: 100 });
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('oversized packet length is refused before it arrives', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), Buffer.from([0x7f, 0xff, 0xff, 0xf8, 4])])));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/exceeds/);
  });

  it('bad padding length', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload(), 2)])));
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it('NEWKEYS out of order', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload()), plainPacket(Uint8Array.of(MSG.NEWKEYS))])));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/NEWKEYS/);
  });

  it('a reply-direction kex message (31) sent to the server', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload()), plainPacket(Uint8Array.of(31, 0, 0, 0, 0))])));
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it('a service request before key exchange', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(new SSHWriter().byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBytes())])));
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it('strict kex: IGNORE before KEXINIT (KEXINIT not the first packet)', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 0)), plainPacket(kexInitPayload())])));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/strict kex/);
  });

  it('strict kex: a message injected after KEXINIT, before NEWKEYS', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload()), plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 0))])));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/strict kex/);
  });

  it('without strict kex the same IGNORE is tolerated', async () => {
    serverOptions = {};
    const before = servers.length;
    const { socket, reader } = await rawConnect(port);
    await waitFor(() => servers.length > before);
    const server = servers[servers.length - 1]!;
    socket.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload({ kex: ['curve25519-sha256'] })), plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 0))]));
    await waitFor(() => reader.packets.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.isClosed).toBe(false);
    socket.destroy();
    expect(await server.closed).toBeInstanceOf(DisconnectError);
  });

  it('first_kex_packet_follows with a wrong guess: the guessed packet is ignored', async () => {
    serverOptions = {};
    const before = servers.length;
    const { socket, reader } = await rawConnect(port);
    await waitFor(() => servers.length > before);
    const server = servers[servers.length - 1]!;
    // The client guesses "bogus-kex" (which the server lacks), so curve25519 is
    // negotiated and its guessed packet (an all-zero X25519 value, fatal if
    // processed) must be dropped; the real init that follows gets a reply.
    const guess = new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(new Uint8Array(32)).toBytes();
    const { createKeyAgreement } = await import('../../ts/crypto/index.js');
    const real = new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(createKeyAgreement('x25519').publicKey).toBytes();
    socket.write(
      Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload({ kex: ['bogus-kex', 'curve25519-sha256', 'kex-strict-c-v00@openssh.com'] }, true)), plainPacket(guess), plainPacket(real)]),
    );
    await waitFor(() => reader.packets.some((p) => p[0] === MSG.KEX_ECDH_REPLY));
    expect(reader.packets.some((p) => p[0] === MSG.NEWKEYS)).toBe(true);
    expect(server.isClosed).toBe(false);
    socket.destroy();
    await server.closed;
  });

  it('a peer that stops mid-kex: kex timeout', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload())])), { kexTimeout: 150 });
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('a truncated KEXINIT', async () => {
    const err = await attack((s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload().subarray(0, 40))])));
    expect(err).toBeInstanceOf(ProtocolError);
  });

  it('peer disconnect carries its reason code', async () => {
    const err = await attack(
      (s) => void s.write(Buffer.concat([Buffer.from(VERSION), plainPacket(new SSHWriter().byte(MSG.DISCONNECT).uint32(11).string('bye').string('').toBytes())])),
    );
    expect(err).toBeInstanceOf(DisconnectError);
    expect((err as DisconnectError).reason).toBe(11);
  });
});

describe('hostile input to the client', () => {
  async function clientAgainst(serverBytes: Buffer, opts: Partial<TransportOptions> = {}): Promise<Error | null> {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.write(serverBytes);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    const t = new Transport(sock, { role: 'client', verifyHostKey: () => true, bannerTimeout: 2000, kexTimeout: 2000, ...opts });
    const err = await t.closed;
    srv.close();
    return err;
  }

  it('skips banner lines before the version', async () => {
    const err = await clientAgainst(Buffer.from('Welcome\r\nto the server\r\nSSH-2.0-x\r\n'), { kexTimeout: 100 });
    // It got past the version (banner accepted) and then timed out waiting for KEXINIT.
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('too many banner lines', async () => {
    const err = await clientAgainst(Buffer.from('x\r\n'.repeat(2000)));
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
  });

  it('a NUL in the version', async () => {
    const err = await clientAgainst(Buffer.from('SSH-2.0-a\0b\r\n'));
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
  });
});

describe('tampering between our client and server', () => {
  it('a flipped bit after key exchange is an IntegrityError on the receiver', async () => {
    const tap = { fn: (c: Buffer) => c };
    const { client, server } = await tappedPair(tap);
    await Promise.all([client.ready, server.ready]);
    tap.fn = (c) => {
      const d = Buffer.from(c);
      d[d.length - 1]! ^= 1;
      return d;
    };
    client.send(Uint8Array.of(200, 1, 2, 3));
    const err = await server.closed;
    expect(err).toBeInstanceOf(IntegrityError);
    expect(await client.closed).toBeInstanceOf(DisconnectError);
  });

  it('a bad MAC with an encrypt-and-MAC construction', async () => {
    const tap = { fn: (c: Buffer) => c };
    const algorithms = { cipher: ['aes128-ctr'], mac: ['hmac-sha2-256'] };
    const { client, server } = await tappedPair(tap, { client: { algorithms }, server: { algorithms } });
    await Promise.all([client.ready, server.ready]);
    tap.fn = (c) => {
      const d = Buffer.from(c);
      d[10]! ^= 0x40;
      return d;
    };
    client.send(new Uint8Array(100).fill(200));
    const err = await server.closed;
    expect(err).toBeInstanceOf(ProtocolError);
    await closeBoth(client);
  });
});
