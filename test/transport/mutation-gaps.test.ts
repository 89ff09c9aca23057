/**
 * Gaps a mutation audit of ts/transport/ and ts/crypto/packet/ found: rules
 * whose removal or off-by-one left every other test passing. Each test here
 * fails under the bug named in its title (checked by re-running it against
 * the mutated source) and passes on the real code:
 * - the receive pump's sequence number wrapping at 2^32 across batches, and
 *   opening one packet at a time during key exchange;
 * - padding_length below 4, padding past the packet, unaligned lengths;
 * - the AES-GCM invocation counter's carry (against node:crypto directly);
 * - rekeys by received volume, by packet count (2^31), not before
 *   authentication, a time limit that fell due before authentication, and
 *   counters that restart with each exchange;
 * - EXT_INFO only for a client that sent ext-info-c, and only once;
 * - an empty softwareversion, the 64 KiB banner byte limit;
 * - first_kex_packet_follows judged on the host key algorithm too;
 * - messages refused during a non-strict kex, KEXINIT twice;
 * - keepalive probes counted as answered once their reply came;
 * - the DISCONNECT reason codes for a MAC failure and a negotiation failure.
 * Everything is bounded: raw peers use short kex/banner timeouts and waits go
 * through `within`/`waitFor`.
 */
import { createCipheriv } from 'node:crypto';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { cipherInfo, createKeyAgreement, createOpener, createSealer, macInfo } from '../../ts/crypto/index.js';
import type { DirectionKeys } from '../../ts/crypto/types.js';
import { DisconnectError, ProtocolError, SSHException } from '../../ts/errors.js';
import { Transport, type TransportOptions } from '../../ts/transport/index.js';
import { PacketWriter } from '../../ts/transport/outbound.js';
import { ReceivePump } from '../../ts/transport/receive-pump.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { closeBoth, tappedPair, transportPair } from '../helpers/pair.js';
import { kexInitPayload, plainPacket, waitFor } from '../helpers/raw.js';
import { rawServerTransports } from '../helpers/rawServer.js';
import { within } from '../helpers/within.js';

/** Every PacketWriter the transports of this file make, in order (the server's first in transportPair). */
const writers = vi.hoisted(() => [] as unknown[]);
vi.mock('../../ts/transport/outbound.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../ts/transport/outbound.js')>();
  class RecordedWriter extends mod.PacketWriter {
    constructor(...args: ConstructorParameters<typeof mod.PacketWriter>) {
      super(...args);
      writers.push(this);
    }
  }
  return { ...mod, PacketWriter: RecordedWriter };
});

const VERSION = 'SSH-2.0-mutation_gaps_1.0\r\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keysFor(cipher: string, mac = 'none'): DirectionKeys {
  const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
  const ci = cipherInfo(cipher)!;
  return { cipher, mac, encKey: fill(ci.keyLength, 5), iv: fill(ci.ivLength, 6), macKey: fill(macInfo(mac)?.keyLength ?? 0, 7) };
}

/** A raw client connected to a fresh server Transport made with `opts`. */
const rawToServer = rawServerTransports(1500);

/** Writes `bytes` from a raw client and returns the server transport's close reason. */
async function attack(bytes: Buffer, opts: Partial<TransportOptions> = {}): Promise<Error | null> {
  const a = await rawToServer(opts);
  a.socket.write(bytes);
  const err = await within(a.server.closed, 5000, 'the server to close');
  await within(a.closed, 5000, 'the raw socket to close');
  return err;
}

/** Offset just past the server's (plaintext) NEWKEYS packet in the raw bytes it sent, or -1. */
function afterNewKeys(raw: Buffer): number {
  let pos = raw.indexOf(0x0a) + 1;
  if (pos === 0) return -1;
  while (raw.length - pos >= 5) {
    const len = raw.readUInt32BE(pos);
    if (len > 300000 || raw.length - pos < 4 + len) return -1;
    const type = raw[pos + 5];
    pos += 4 + len;
    if (type === MSG.NEWKEYS) return pos;
  }
  return -1;
}

const ecdhInit = () => plainPacket(new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(createKeyAgreement('x25519').publicKey).toBytes());

describe('sequence numbers in the receive pump', () => {
  it('wrap at 2^32: the batch after the wrap opens under the right numbers (MAC covers them)', () => {
    const keys = keysFor('aes128-ctr', 'hmac-sha2-256-etm@openssh.com');
    const writer = new PacketWriter(createSealer(keys));
    writer.seq = 2 ** 32 - 2;
    const seqs: number[] = [];
    let failure: Error | null = null;
    const pump = new ReceivePump(new PassThrough(), createOpener(keys), false, {
      closing: () => failure !== null,
      fail: (e) => (failure = e),
      inKex: () => false,
      version: () => {},
      received: () => {},
      dispatch: (p) => void seqs.push(p.seq),
      afterPump: () => {},
    });
    pump.seq = 2 ** 32 - 2;
    pump.onData(Buffer.from(VERSION));
    for (const batch of [0, 1]) {
      for (let i = 0; i < 4; i++) writer.enqueue(Uint8Array.of(200, batch, i));
      pump.onData(Buffer.from(writer.build()!));
    }
    expect(failure).toBeNull();
    expect(seqs).toEqual([2 ** 32 - 2, 2 ** 32 - 1, 0, 1, 2, 3, 4, 5]);
    expect(pump.seq).toBe(6);
  });
});

describe('the receive pump during key exchange', () => {
  it('opens one packet at a time, so a packet right behind NEWKEYS (same chunk) opens under the new keys', () => {
    const none: DirectionKeys = { cipher: 'none', mac: 'none', encKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
    const keys = keysFor('aes128-ctr', 'hmac-sha2-256');
    const plain = new PacketWriter(createSealer(none));
    plain.enqueue(Uint8Array.of(MSG.NEWKEYS));
    const sealed = new PacketWriter(createSealer(keys));
    sealed.seq = 1; // no strict kex here: numbering goes on across NEWKEYS
    sealed.enqueue(Uint8Array.of(200, 7));
    const chunk = Buffer.concat([plain.build()!, sealed.build()!]);
    let inKex = true;
    let failure: Error | null = null;
    const got: number[] = [];
    const pump: ReceivePump = new ReceivePump(new PassThrough(), createOpener(none), false, {
      closing: () => failure !== null,
      fail: (e) => (failure = e),
      inKex: () => inKex,
      version: () => {},
      received: () => {},
      dispatch: (p) => {
        got.push(p.payload[0]!);
        if (p.payload[0] === MSG.NEWKEYS) {
          // What KexDriver.onNewKeys does: the incoming keys switch, the exchange is over.
          pump.opener = createOpener(keys);
          inKex = false;
        }
      },
      afterPump: () => {},
    });
    pump.onData(Buffer.from(VERSION));
    pump.onData(chunk);
    expect(failure).toBeNull();
    expect(got).toEqual([MSG.NEWKEYS, 200]);
  });
});

describe('received padding and length rules (RFC 4253 section 6)', () => {
  /** One packet of `len` (block-aligned) with padding_length byte `pad`, sealed with `cipher`/`mac`. */
  function sealedWithPad(cipher: string, mac: string, len: number, pad: number): Uint8Array {
    const sealer = createSealer(keysFor(cipher, mac));
    const buf = new Uint8Array(4 + len + sealer.macLength);
    new DataView(buf.buffer).setUint32(0, len);
    buf[4] = pad;
    buf[5] = MSG.IGNORE;
    sealer.sealPackets(buf, 0, 1, 9);
    return buf;
  }
  const layouts: [string, string, number][] = [
    // [cipher, mac, an aligned packet_length]
    ['none', 'none', 28],
    ['aes128-ctr', 'hmac-sha2-256', 28],
    ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com', 32],
    ['aes128-gcm@openssh.com', 'none', 32],
    ['chacha20-poly1305@openssh.com', 'none', 32],
  ];
  for (const [cipher, mac, len] of layouts) {
    it(`${cipher}${mac !== 'none' ? ` + ${mac}` : ''}: padding_length 3 (length aligned) and padding past the packet are ProtocolErrors`, () => {
      for (const pad of [3, 0, len, 255]) {
        const wire = sealedWithPad(cipher, mac, len, pad);
        const opener = createOpener(keysFor(cipher, mac));
        expect(() => opener.openPackets(wire, 0, wire.length, 9, 64 * 1024, new Uint32Array(2)), `padding_length ${pad}`).toThrow(ProtocolError);
      }
      // The control: the same packet with padding_length 4 opens.
      const ok = sealedWithPad(cipher, mac, len, 4);
      expect(createOpener(keysFor(cipher, mac)).openPackets(ok, 0, ok.length, 9, 64 * 1024, new Uint32Array(2))).toBe(1);
    });
  }

  it('a live server refuses an aligned packet with padding_length 3', async () => {
    // 4 + 1 + 8 + 3 = 16: block-aligned, so only the padding rule can refuse it.
    const err = await attack(Buffer.concat([Buffer.from(VERSION), plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 3, 1, 2, 3), 3)]));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/padding/);
  });

  it('a live server refuses a padding_length larger than the packet with a ProtocolError (not an internal error)', async () => {
    const packet = Buffer.alloc(16);
    packet.writeUInt32BE(12, 0);
    packet[4] = 200;
    packet[5] = MSG.IGNORE;
    const err = await attack(Buffer.concat([Buffer.from(VERSION), packet]));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/padding/);
  });

  it('a live server refuses a packet whose length is not a multiple of the block size, even with valid padding', async () => {
    // 4 + 1 + 8 + 5 = 18, padding 5 >= 4.
    const err = await attack(Buffer.concat([Buffer.from(VERSION), plainPacket(Uint8Array.of(MSG.IGNORE, 0, 0, 0, 3, 1, 2, 3), 5)]));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/multiple of the cipher block size/);
  });
});

describe('AES-GCM invocation counter (RFC 5647 section 7.1)', () => {
  /** What OpenSSH puts on the wire for one packet: clear length (AAD), AES-GCM body, tag. */
  function reference(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Buffer {
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(plain.subarray(0, 4));
    const body = Buffer.concat([c.update(plain.subarray(4)), c.final()]);
    return Buffer.concat([plain.subarray(0, 4), body, c.getAuthTag()]);
  }
  const nonceAt = (iv: Uint8Array, k: number): Uint8Array => {
    const n = Uint8Array.from(iv);
    let v = new DataView(n.buffer).getBigUint64(4) + BigInt(k);
    v &= (1n << 64n) - 1n;
    new DataView(n.buffer).setBigUint64(4, v);
    return n;
  };
  for (const counter of ['00000000000000ff', '00000000ffffffff', 'ffffffffffffffff']) {
    it(`the 64-bit counter carries across bytes (starting at ${counter}), byte-identical to node:crypto, and opens`, () => {
      const iv = Uint8Array.from(Buffer.from('a1b2c3d4' + counter, 'hex'));
      const key = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
      const keys: DirectionKeys = { cipher: 'aes128-gcm@openssh.com', mac: 'none', encKey: key, iv, macKey: new Uint8Array(0) };
      const count = 3;
      const size = 4 + 32 + 16;
      const buf = new Uint8Array(size * count);
      for (let i = 0; i < count; i++) {
        new DataView(buf.buffer).setUint32(i * size, 32);
        buf[i * size + 4] = 4;
        buf.fill(200 + i, i * size + 5, i * size + 4 + 32 - 4);
      }
      const plain = buf.slice();
      createSealer(keys).sealPackets(buf, 0, count, 0);
      for (let i = 0; i < count; i++) {
        const want = reference(key, nonceAt(iv, i), plain.subarray(i * size, i * size + 4 + 32));
        expect(Buffer.from(buf.subarray(i * size, (i + 1) * size)).equals(want), `packet ${i}`).toBe(true);
      }
      // The opener follows the same counter: packets sealed by node:crypto open.
      const ref = Buffer.concat(Array.from({ length: count }, (_, i) => reference(key, nonceAt(iv, i), plain.subarray(i * size, i * size + 4 + 32))));
      expect(createOpener(keys).openPackets(ref, 0, ref.length, 0, 64 * 1024, new Uint32Array(2 * count))).toBe(count);
    });
  }
});

describe('rekey triggers', () => {
  // 160 KiB client → server against a 64 KiB limit on one side. The server sends nothing, so with the
  // limit on the receiving side only its received volume can trigger.
  for (const [limited, what] of [['server', 'received'], ['client', 'sent']] as const) {
    it(`a volume limit on the ${limited === 'server' ? 'receiving side alone' : 'sending side'} starts only as many rekeys as the volume needs`, async () => {
      const { client, server } = await transportPair({ [limited]: { rekeyBytes: 64 * 1024 } });
      try {
        await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
        client.authenticated();
        server.authenticated();
        server.onMessage(() => {});
        const watched = limited === 'server' ? server : client;
        let rekeys = 0;
        watched.on('rekey', () => rekeys++);
        const first = new Promise((r) => watched.once('rekey', r));
        for (let i = 0; i < 10; i++) client.send(new Uint8Array(16 * 1024).fill(200));
        await within(first, 3000, `a rekey started by ${what} volume`);
        await sleep(300);
        expect(rekeys).toBeGreaterThanOrEqual(1);
        expect(rekeys).toBeLessThanOrEqual(3);
      } finally {
        await closeBoth(client, server);
      }
    });
  }

  it('no volume rekey before authentication, on either side', async () => {
    const { client, server } = await transportPair({ client: { rekeyBytes: 16 * 1024 }, server: { rekeyBytes: 16 * 1024 } });
    try {
      await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
      let rekeys = 0;
      client.on('rekey', () => rekeys++);
      server.on('rekey', () => rekeys++);
      let got = 0;
      const all = new Promise<void>((r) => server.onMessage((t) => t === 200 && ++got === 16 && r()));
      for (let i = 0; i < 16; i++) client.send(new Uint8Array(16 * 1024).fill(200));
      await within(all, 3000, '256 KiB to arrive');
      await sleep(100);
      expect(rekeys).toBe(0);
    } finally {
      await closeBoth(client, server);
    }
  });

  it('a time limit that falls due before authentication rekeys once authentication is done', async () => {
    const { client, server } = await transportPair({ client: { rekeySeconds: 0.1 } });
    try {
      await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
      let rekeys = 0;
      client.on('rekey', () => rekeys++);
      await sleep(300);
      expect(rekeys).toBe(0);
      const rekeyed = new Promise((r) => client.once('rekey', r));
      client.authenticated();
      await within(rekeyed, 2000, 'the deferred time rekey');
    } finally {
      await closeBoth(client, server);
    }
  });

  it('2^31 packets under one set of keys start a rekey (RFC 4344 section 3.1)', async () => {
    const before = writers.length;
    const { client, server } = await transportPair();
    try {
      // transportPair makes the server first, then the client.
      const clientWriter = writers[before + 1] as PacketWriter;
      expect(writers.length).toBe(before + 2);
      await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
      client.authenticated();
      server.authenticated();
      server.onMessage(() => {});
      const rekeyed = new Promise((r) => client.once('rekey', r));
      clientWriter.packetsSinceKex = 2 ** 31 - 1;
      client.send(Uint8Array.of(200));
      client.send(Uint8Array.of(200));
      await within(rekeyed, 2000, 'a rekey at 2^31 packets');
      expect(clientWriter.packetsSinceKex).toBeLessThan(10);
    } finally {
      await closeBoth(client, server);
    }
  });
});

describe('EXT_INFO (RFC 8308)', () => {
  for (const asks of [false, true]) {
    it(`the server sends EXT_INFO after NEWKEYS ${asks ? 'to a client that sent ext-info-c' : 'only when the client sent ext-info-c'}`, async () => {
      const a = await rawToServer({ algorithms: { kex: ['curve25519-sha256'] } });
      const kex = asks ? ['curve25519-sha256', 'ext-info-c', 'kex-strict-c-v00@openssh.com'] : ['curve25519-sha256', 'kex-strict-c-v00@openssh.com'];
      a.socket.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload({ kex })), ecdhInit()]));
      await waitFor(() => afterNewKeys(a.bytes()) > 0 || a.server.isClosed, 3000);
      expect(a.server.isClosed).toBe(false);
      // EXT_INFO is the only thing the server would send after its NEWKEYS (we never send ours).
      const after = () => a.bytes().length - afterNewKeys(a.bytes());
      if (asks) {
        await waitFor(() => after() > 0, 3000);
      } else {
        await sleep(300);
        expect(after()).toBe(0);
      }
      a.socket.destroy();
      await within(a.server.closed, 3000, 'close');
    });
  }

  it('is sent once, after the first NEWKEYS only, not after each rekey', async () => {
    const { client, server } = await transportPair();
    try {
      let extInfos = 0;
      client.on('extInfo', () => extInfos++);
      await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
      await waitFor(() => extInfos > 0, 2000);
      await within(client.renegotiateKeys(), 3000, 'rekey 1');
      await within(server.renegotiateKeys(), 3000, 'rekey 2');
      // A round trip after the rekeys, so anything sent with them has arrived.
      server.onMessage((t) => t === 200 && server.send(Uint8Array.of(201)));
      const echoed = new Promise((r) => client.onMessage((t) => t === 201 && r(t)));
      client.send(Uint8Array.of(200));
      await within(echoed, 2000, 'echo');
      expect(extInfos).toBe(1);
    } finally {
      await closeBoth(client, server);
    }
  });
});

describe('version exchange', () => {
  for (const line of ['SSH-2.0-', 'SSH-2.0']) {
    it(`a server refuses ${JSON.stringify(line)} (no softwareversion)`, async () => {
      const err = await attack(Buffer.from(`${line}\r\n`), { kexTimeout: 800 });
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
    });
  }

  it('a client refuses more than 64 KiB of banner lines, however few lines that is', async () => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      // 300 lines of 250 bytes: far fewer than the 1024-line limit, but 75 KB.
      s.write(`${'b'.repeat(248)}\r\n`.repeat(300));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
      const client = new Transport(sock, { role: 'client', verifyHostKey: () => true, bannerTimeout: 1000 });
      const err = await within(client.closed, 5000, 'the client to close');
      expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
    } finally {
      srv.close();
    }
  });
});

describe('key exchange order', () => {
  it('first_kex_packet_follows: a guess is wrong when the preferred host key algorithms differ, even with the same kex', async () => {
    // Both prefer curve25519-sha256, but the client's first host key algorithm is ECDSA and the server's Ed25519.
    const a = await rawToServer({ algorithms: { kex: ['curve25519-sha256'], serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256'] } });
    const kexinit = kexInitPayload({ kex: ['curve25519-sha256', 'kex-strict-c-v00@openssh.com'], serverHostKey: ['ecdsa-sha2-nistp256', 'ssh-ed25519'] }, true);
    // The guessed packet carries an all-zero X25519 share: fatal if it were processed.
    const guess = plainPacket(new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(new Uint8Array(32)).toBytes());
    a.socket.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexinit), guess]));
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEXINIT) || a.server.isClosed, 3000);
    a.socket.write(ecdhInit());
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEX_ECDH_REPLY) || a.server.isClosed, 3000);
    expect(a.server.isClosed).toBe(false);
    expect(a.reader.packets.filter((p) => p[0] === MSG.KEX_ECDH_REPLY)).toHaveLength(1);
    a.socket.destroy();
    await within(a.server.closed, 3000, 'close');
  });

  it('without strict kex, a non-kex message (SERVICE_REQUEST) after the peer’s KEXINIT is still refused', async () => {
    const err = await attack(
      Buffer.concat([
        Buffer.from(VERSION),
        plainPacket(kexInitPayload({ kex: ['curve25519-sha256'] })),
        plainPacket(new SSHWriter().byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBytes()),
      ]),
      { kexTimeout: 800 },
    );
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/during key exchange/);
  });

  it('a second KEXINIT within one exchange is refused', async () => {
    // Without strict kex, so that only the "twice" rule (not strict kex's first-packet rule) can refuse it.
    const kexinit = plainPacket(kexInitPayload({ kex: ['curve25519-sha256'] }));
    const err = await attack(Buffer.concat([Buffer.from(VERSION), kexinit, kexinit]), { kexTimeout: 800 });
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as SSHException).code).toBe('ERR_SSH_KEX_SEQUENCE');
    expect(err!.message).toMatch(/KEXINIT received twice/);
  });
});

describe('keepalive', () => {
  it('keepaliveCountMax 1: an idle peer that answers every probe stays connected', async () => {
    const { client, server } = await transportPair({ client: { keepaliveInterval: 250, keepaliveCountMax: 1 } });
    try {
      await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
      // A probe at every other tick, each answered at once: a probe must count as answered
      // once its reply came, or the third tick declares the peer dead.
      await sleep(1100);
      expect(client.isClosed).toBe(false);
    } finally {
      await closeBoth(client, server);
    }
  });
});

describe('DISCONNECT reason codes (RFC 4253 section 11.1)', () => {
  it('a MAC failure is reported to the peer as MAC_ERROR', async () => {
    const tap = { fn: (c: Buffer) => c };
    const { client, server } = await tappedPair(tap);
    await within(Promise.all([client.ready, server.ready]), 5000, 'kex');
    tap.fn = (c) => {
      const d = Buffer.from(c);
      d[d.length - 1]! ^= 1;
      return d;
    };
    client.send(Uint8Array.of(200, 1, 2, 3));
    await within(server.closed, 3000, 'server close');
    const err = await within(client.closed, 3000, 'client close');
    expect(err).toBeInstanceOf(DisconnectError);
    expect((err as DisconnectError).reason).toBe(DISCONNECT_REASON.MAC_ERROR);
  });

  it('a negotiation failure is reported to the peer as KEY_EXCHANGE_FAILED', async () => {
    const a = await rawToServer();
    a.socket.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload({ cipherCS: ['rot13-ctr'] }))]));
    await within(a.closed, 3000, 'the server to close the connection');
    const disconnect = a.reader.packets.find((p) => p[0] === MSG.DISCONNECT);
    expect(disconnect).toBeDefined();
    const r = new SSHReader(disconnect!);
    r.byte();
    expect(r.uint32()).toBe(DISCONNECT_REASON.KEY_EXCHANGE_FAILED);
  });
});
