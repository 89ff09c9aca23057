/**
 * Issue 3 acceptance, part 1: the wire rules, checked at their boundaries
 * with raw, hand-driven peers and the transport's own packet path.
 * Version lines at 255/256 bytes and a banner drip against `bannerTimeout`;
 * a 256 KiB packet accepted (plaintext on a live server, and every cipher
 * through the transport's receive path); padding per block size; sequence
 * numbers across 2^32; first_kex_packet_follows judged as RFC 4253 7.1 and
 * OpenSSH do; a tampered host key signature; DEBUG; TCP_NODELAY and one
 * socket write per batch; the rekey volume defaults.
 */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { cipherInfo, createKeyAgreement, createOpener, createSealer, macInfo } from '../../ts/crypto/index.js';
import type { DirectionKeys, PacketSealer } from '../../ts/crypto/types.js';
import { IntegrityError, ProtocolError, SSHException, TimeoutError } from '../../ts/errors.js';
import { ReceiveBuffer, openPackets, type OpenedPacket } from '../../ts/transport/inbound.js';
import { MAX_PACKET_LENGTH, Transport, type TransportOptions } from '../../ts/transport/index.js';
import { resolveOptions } from '../../ts/transport/options.js';
import { PacketWriter } from '../../ts/transport/outbound.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { allHostKeys, closeBoth, socketPair, transportPair } from '../helpers/pair.js';
import { kexInitPayload, plainPacket, waitFor } from '../helpers/raw.js';
import { rawServerTransports } from '../helpers/rawServer.js';

const VERSION = 'SSH-2.0-acceptance_1.0\r\n';

/** A raw client connected to a fresh server Transport made with `opts`. */
const rawToServer = rawServerTransports(3000);

/** A raw server that writes `script(socket)`; returns a client Transport connected to it. */
async function clientAgainst(script: (s: net.Socket) => void, opts: Partial<TransportOptions> = {}) {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    script(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const client = new Transport(sock, { role: 'client', verifyHostKey: () => true, bannerTimeout: 3000, kexTimeout: 3000, ...opts });
  client.closed.finally(() => srv.close());
  return client;
}

function keysFor(cipher: string, mac = 'none', salt = 1): DirectionKeys {
  const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
  const ci = cipherInfo(cipher)!;
  return { cipher, mac, encKey: fill(ci.keyLength, salt), iv: fill(ci.ivLength, salt + 1), macKey: fill(macInfo(mac)?.keyLength ?? 0, salt + 2) };
}

/** Every cipher/MAC layout the issue lists: AEADs, CTR with ETM and with encrypt-and-MAC, and the legacy CBC. */
const LAYOUTS: [string, string][] = [
  ['chacha20-poly1305@openssh.com', 'none'],
  ['aes128-gcm@openssh.com', 'none'],
  ['aes256-gcm@openssh.com', 'none'],
  ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
  ['aes192-ctr', 'hmac-sha2-512-etm@openssh.com'],
  ['aes256-ctr', 'hmac-sha1-etm@openssh.com'],
  ['aes128-ctr', 'hmac-sha2-256'],
  ['aes256-ctr', 'hmac-sha2-512'],
  ['aes192-ctr', 'hmac-sha1'],
  ['aes256-cbc', 'hmac-sha2-256'],
  ['none', 'none'],
];

describe('version exchange', () => {
  it('a version line of exactly 255 bytes (CR LF included) is accepted, 256 bytes is refused', async () => {
    const line255 = 'SSH-2.0-' + 'a'.repeat(255 - 2 - 8);
    const a = await rawToServer();
    a.socket.write(line255 + '\r\n');
    await waitFor(() => a.server.peerVersion !== null);
    expect(a.server.peerVersion).toBe(line255);
    expect(a.server.isClosed).toBe(false);
    a.socket.destroy();
    await a.server.closed;

    const b = await rawToServer();
    b.socket.write(line255 + 'a\r\n');
    const err = await b.server.closed;
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as SSHException).code).toBe('ERR_SSH_VERSION');
    await b.closed;
  });

  it('client: banner lines (up to 255 bytes each) before the version are skipped and reported', async () => {
    const lines: string[] = [];
    const banner = 'B'.repeat(253);
    const client = await clientAgainst((s) => s.write(`${banner}\r\nsecond line\r\n${VERSION}`), { kexTimeout: 200, debug: (m) => lines.push(m) });
    // It got past the version (then waits for a KEXINIT that never comes).
    expect(await client.closed).toBeInstanceOf(TimeoutError);
    expect(client.peerVersion).toBe(VERSION.trim());
    expect(lines.join('\n')).toContain(`banner: ${banner}`);
  });

  it('bannerTimeout bounds the whole exchange: a peer dripping banner lines forever is cut off', async () => {
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const client = await clientAgainst(
      (s) => {
        timer = setInterval(() => s.writable && s.write('still loading...\r\n'), 25);
        s.on('close', () => clearInterval(timer));
      },
      { bannerTimeout: 300 },
    );
    const err = await client.closed;
    clearInterval(timer);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(client.peerVersion).toBeNull();
    // A per-line timer would never fire while lines keep coming; the drip would run into the line limit instead.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('our own version string is configurable and is what the peer sees', async () => {
    const { client, server } = await transportPair({ client: { version: 'SSH-2.0-acceptance_2 with comments' }, server: { version: 'SSH-2.0-srv_7' } });
    await Promise.all([client.ready, server.ready]);
    expect(server.peerVersion).toBe('SSH-2.0-acceptance_2 with comments');
    expect(client.peerVersion).toBe('SSH-2.0-srv_7');
    await closeBoth(client, server);
  });
});

describe('packet length bounds', () => {
  it('a live server accepts a 256 KiB plaintext packet during kex and carries on', async () => {
    const a = await rawToServer();
    // Without strict kex an IGNORE inside the initial kex is legal.
    const kexinit = kexInitPayload({ kex: ['curve25519-sha256'] });
    // Block size 8 counting the length field: the smallest valid packet_length >= 256 KiB is 262148 (payload + 4 padding + 1).
    const big = new Uint8Array(256 * 1024 + 4 - 1 - 4);
    big[0] = MSG.IGNORE;
    new DataView(big.buffer).setUint32(1, big.length - 5);
    const packet = plainPacket(big);
    expect(packet.readUInt32BE(0)).toBe(256 * 1024 + 4);
    const ecdh = new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(createKeyAgreement('x25519').publicKey).toBytes();
    a.socket.write(Buffer.concat([Buffer.from(VERSION), plainPacket(kexinit), packet, plainPacket(ecdh)]));
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEX_ECDH_REPLY));
    expect(a.server.isClosed).toBe(false);
    a.socket.destroy();
    await a.server.closed;
  });

  it('an absurd length is refused from its 4 length bytes alone, before the body arrives', async () => {
    for (const len of [MAX_PACKET_LENGTH + 8, 0x40000000, 0xfffffff8]) {
      const a = await rawToServer();
      const head = Buffer.alloc(5);
      head.writeUInt32BE(len >>> 0, 0);
      head[4] = 4;
      a.socket.write(Buffer.concat([Buffer.from(VERSION), head]));
      const err = await a.server.closed;
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err!.message).toMatch(/exceeds/);
      await a.closed;
    }
  });

  for (const [cipher, mac] of LAYOUTS) {
    it(`${cipher}${mac !== 'none' ? ` + ${mac}` : ''}: the receive path opens a packet of at least 256 KiB, and refuses one over its limit`, () => {
      const sealer = createSealer(keysFor(cipher, mac));
      const bs = sealer.blockSize;
      // The smallest valid packet_length >= 256 KiB for this layout.
      let len = 256 * 1024;
      while (((sealer.padsLengthField ? 4 : 0) + len) % bs !== 0) len++;
      const build = (plen: number, seq: number) => {
        const buf = new Uint8Array(4 + plen + sealer.macLength);
        new DataView(buf.buffer).setUint32(0, plen);
        buf[4] = 4; // valid padding; plen is already aligned
        buf[5] = MSG.IGNORE;
        for (let i = 6; i < 4 + plen - 4; i++) buf[i] = i & 0xff;
        sealer.sealPackets(buf, 0, 1, seq);
        return buf;
      };
      const rx = new ReceiveBuffer();
      rx.append(build(len, 7));
      const out: OpenedPacket[] = [];
      const n = openPackets(rx, createOpener(keysFor(cipher, mac)), 7, MAX_PACKET_LENGTH, new Uint32Array(8), 4, out, []);
      expect(n).toBe(1);
      expect(out[0]!.payload.length).toBe(len - 1 - 4);
      expect(out[0]!.payload[0]).toBe(MSG.IGNORE);
      expect(MAX_PACKET_LENGTH).toBeGreaterThanOrEqual(256 * 1024);

      let over = MAX_PACKET_LENGTH + 1;
      while (((sealer.padsLengthField ? 4 : 0) + over) % bs !== 0) over++;
      const rx2 = new ReceiveBuffer();
      rx2.append(build(over, 0).subarray(0, 64));
      expect(() => openPackets(rx2, createOpener(keysFor(cipher, mac)), 0, MAX_PACKET_LENGTH, new Uint32Array(8), 4, [], [])).toThrow(ProtocolError);
    });
  }
});

describe('padding (RFC 4253 section 6) as the transport lays packets out', () => {
  for (const [cipher, mac] of LAYOUTS) {
    it(`${cipher}${mac !== 'none' ? ` + ${mac}` : ''}: 4 to 255 random padding bytes, total a multiple of the block size`, () => {
      const real = createSealer(keysFor(cipher, mac));
      const seen: { len: number; pad: number; payload: number }[] = [];
      const spy: PacketSealer = {
        ...real,
        blockSize: real.blockSize,
        macLength: real.macLength,
        padsLengthField: real.padsLengthField,
        sealPackets(buf, offset, count, seq) {
          let off = offset;
          for (let i = 0; i < count; i++) {
            const len = new DataView(buf.buffer, buf.byteOffset).getUint32(off);
            seen.push({ len, pad: buf[off + 4]!, payload: 0 });
            off += 4 + len + real.macLength;
          }
          real.sealPackets(buf, offset, count, seq);
        },
      };
      const writer = new PacketWriter(spy);
      const sizes: number[] = [];
      for (let s = 1; s <= 300; s++) sizes.push(s);
      for (const s of [1000, 4095, 4096, 32768, 100_000]) sizes.push(s);
      for (const s of sizes) writer.enqueue(new Uint8Array(s).fill(200));
      writer.build();
      expect(seen.length).toBe(sizes.length);
      const bs = real.blockSize;
      const minBlock = Math.max(bs, 8);
      seen.forEach((p, i) => {
        expect(p.pad, `payload ${sizes[i]}`).toBeGreaterThanOrEqual(4);
        expect(p.pad).toBeLessThanOrEqual(255);
        expect(p.len).toBe(1 + sizes[i]! + p.pad);
        expect(((real.padsLengthField ? 4 : 0) + p.len) % minBlock, `payload ${sizes[i]}`).toBe(0);
        // Minimal padding: never a whole extra block beyond the 4-byte minimum.
        expect(p.pad).toBeLessThan(4 + minBlock);
      });
    });
  }
});

describe('sequence numbers wrap at 2^32 on the transport packet path', () => {
  for (const [cipher, mac] of LAYOUTS.filter(([c, m]) => c !== 'none' || m !== 'none')) {
    it(`${cipher}${mac !== 'none' ? ` + ${mac}` : ''}: packets sealed from 2^32 - 3 on open across the wrap; a wrong start fails`, () => {
      const writer = new PacketWriter(createSealer(keysFor(cipher, mac)));
      writer.seq = 2 ** 32 - 3;
      const payloads = Array.from({ length: 7 }, (_, i) => Uint8Array.from({ length: 50 + i * 333 }, (_, j) => (j === 0 ? 200 : (i + j) & 0xff)));
      for (const p of payloads) writer.enqueue(p);
      const wire = writer.build()!;
      expect(writer.seq).toBe(4);
      const rx = new ReceiveBuffer();
      rx.append(wire);
      const out: OpenedPacket[] = [];
      const n = openPackets(rx, createOpener(keysFor(cipher, mac)), 2 ** 32 - 3, MAX_PACKET_LENGTH, new Uint32Array(32), 16, out, []);
      expect(n).toBe(7);
      expect(out.map((p) => p.seq)).toEqual([2 ** 32 - 3, 2 ** 32 - 2, 2 ** 32 - 1, 0, 1, 2, 3]);
      out.forEach((p, i) => expect(Buffer.from(p.payload).equals(Buffer.from(payloads[i]!))).toBe(true));
      // Opened at another sequence number, the MAC (or chacha20-poly1305's length key and tag) fails.
      // AES-GCM is the exception by design: RFC 5647 uses its own invocation counter, not the sequence number.
      if (!cipher.includes('gcm')) {
        const rx2 = new ReceiveBuffer();
        rx2.append(wire);
        expect(() => openPackets(rx2, createOpener(keysFor(cipher, mac)), 2 ** 32 - 4, MAX_PACKET_LENGTH, new Uint32Array(32), 16, [], [])).toThrow(ProtocolError);
      }
    });
  }
});

describe('first_kex_packet_follows (RFC 4253 section 7.1, as OpenSSH judges it)', () => {
  const guess = (pub: Uint8Array) => plainPacket(new SSHWriter().byte(MSG.KEX_ECDH_INIT).string(pub).toBytes());
  const client = (follows: boolean) => plainPacket(kexInitPayload({ kex: ['curve25519-sha256', 'kex-strict-c-v00@openssh.com'], serverHostKey: ['ssh-ed25519'] }, follows));

  it('a right guess (both sides prefer the same kex and host key) is processed as the first kex message', async () => {
    const a = await rawToServer({ algorithms: { kex: ['curve25519-sha256'], serverHostKey: ['ssh-ed25519'] } });
    a.socket.write(Buffer.concat([Buffer.from(VERSION), client(true), guess(createKeyAgreement('x25519').publicKey)]));
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEX_ECDH_REPLY));
    expect(a.reader.packets.filter((p) => p[0] === MSG.KEX_ECDH_REPLY)).toHaveLength(1);
    expect(a.server.isClosed).toBe(false);
    a.socket.destroy();
    await a.server.closed;
  });

  it('the server prefers another kex: the guess is wrong even though the server also supports it, so it is dropped', async () => {
    // The server's first kex is mlkem768x25519-sha256 (the default), the client's curve25519-sha256.
    // A client that follows RFC 4253 sees its guess was wrong and sends its real init again.
    const a = await rawToServer();
    const invalid = new Uint8Array(32); // an all-zero X25519 share: fatal if it were processed
    a.socket.write(Buffer.concat([Buffer.from(VERSION), client(true), guess(invalid)]));
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEXINIT));
    a.socket.write(guess(createKeyAgreement('x25519').publicKey));
    await waitFor(() => a.reader.packets.some((p) => p[0] === MSG.KEX_ECDH_REPLY) || a.server.isClosed);
    expect(a.server.isClosed).toBe(false);
    expect(a.reader.packets.filter((p) => p[0] === MSG.KEX_ECDH_REPLY)).toHaveLength(1);
    a.socket.destroy();
    await a.server.closed;
  });
});

describe('host key signature', () => {
  it('client: a server whose exchange-hash signature does not verify is refused before the host key policy is asked', async () => {
    // A proxy that corrupts the last byte of the signature in the server's KEX_ECDH_REPLY.
    const [c1, c2] = await socketPair();
    const [s1, s2] = await socketPair();
    let pending = Buffer.alloc(0);
    let versionSeen = false;
    let tampered = false;
    s1.on('data', (d: Buffer) => {
      if (tampered) return void c2.write(d);
      pending = Buffer.concat([pending, d]);
      if (!versionSeen) {
        const nl = pending.indexOf(0x0a);
        if (nl < 0) return;
        c2.write(pending.subarray(0, nl + 1));
        pending = pending.subarray(nl + 1);
        versionSeen = true;
      }
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const len = pending.readUInt32BE(0);
        const packet = Buffer.from(pending.subarray(0, 4 + len));
        pending = pending.subarray(4 + len);
        if (packet[5] === MSG.KEX_ECDH_REPLY) {
          const r = new SSHReader(packet.subarray(5, 4 + len - packet[4]!));
          r.byte();
          r.string();
          r.string();
          const sigEnd = 5 + (packet.length - 5 - packet[4]!) - r.remaining;
          packet[sigEnd - 1]! ^= 0x01;
          tampered = true;
          c2.write(packet);
          c2.write(pending);
          pending = Buffer.alloc(0);
          return;
        }
        c2.write(packet);
      }
    });
    c2.on('data', (d: Buffer) => s1.write(d));
    for (const s of [c1, c2, s1, s2]) s.on('error', () => {});
    c2.on('close', () => s1.destroy());
    s1.on('close', () => c2.destroy());
    let asked = 0;
    const algorithms = { kex: ['curve25519-sha256'], serverHostKey: ['ssh-ed25519'] };
    const server = new Transport(s2, { role: 'server', hostKeys: allHostKeys(), algorithms });
    const client = new Transport(c1, { role: 'client', algorithms, verifyHostKey: () => (asked++, true) });
    const err = await client.closed;
    expect(tampered).toBe(true);
    expect(err).toBeInstanceOf(SSHException);
    expect(err!.message).toMatch(/signature/i);
    expect(asked).toBe(0);
    await client.ready.catch(() => {});
    await server.closed;
  });
});

describe('DEBUG, UNIMPLEMENTED, IGNORE', () => {
  it('a DEBUG message is logged (sanitized) and the session goes on; an UNIMPLEMENTED reply is reported with its sequence number', async () => {
    const lines: string[] = [];
    const { client, server } = await transportPair({ client: { debug: (m) => lines.push(m) } });
    await Promise.all([client.ready, server.ready]);
    server.sendDebug('hello\x1b[31m from the server', true);
    server.sendIgnore(new Uint8Array(1000));
    const echoed = new Promise<Buffer>((r) => client.onMessage((t, p) => t === 201 && r(p)));
    const off = server.onMessage((t, p) => t === 200 && server.send(Uint8Array.from([201, ...p.subarray(1)])));
    client.send(Uint8Array.of(200, 42));
    expect([...(await echoed)]).toEqual([201, 42]);
    off(); // with no handler the transport itself answers unknown messages
    const text = lines.join('\n');
    expect(text).toMatch(/peer debug message: hello\?\[31m from the server/);
    // A message type nobody handles: the peer answers UNIMPLEMENTED with our packet's sequence number,
    // which is 1: strict kex reset the numbers at NEWKEYS, and the echo request above was packet 0.
    const seq = new Promise<number>((r) => client.once('unimplemented', r));
    client.send(Uint8Array.of(199));
    expect(client.negotiated!.strictKex).toBe(true);
    expect(await seq).toBe(1);
    expect(client.isClosed).toBe(false);
    await closeBoth(client, server);
  });
});

describe('hostile input to the client role', () => {
  const serverKexInit = () => plainPacket(kexInitPayload({ kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'] }));
  const cases: [string, () => Buffer, (e: Error) => void][] = [
    ['garbage instead of a version line', () => Buffer.from('x'.repeat(300)), (e) => expect((e as SSHException).code).toBe('ERR_SSH_VERSION')],
    ['an oversized packet length', () => Buffer.concat([Buffer.from(VERSION), Buffer.from([0x10, 0, 0, 0, 4])]), (e) => expect(e.message).toMatch(/exceeds/)],
    ['bad padding', () => Buffer.concat([Buffer.from(VERSION), plainPacket(kexInitPayload(), 3)]), (e) => expect(e).toBeInstanceOf(ProtocolError)],
    ['NEWKEYS before any KEXINIT', () => Buffer.concat([Buffer.from(VERSION), plainPacket(Uint8Array.of(MSG.NEWKEYS))]), (e) => expect(e).toBeInstanceOf(ProtocolError)],
    ['a KEX_ECDH_REPLY with no exchange running', () => Buffer.concat([Buffer.from(VERSION), serverKexInit(), plainPacket(Uint8Array.of(MSG.KEX_ECDH_REPLY, 0, 0, 0, 0))]), (e) => expect(e).toBeInstanceOf(ProtocolError)],
    ['a server that stops mid-kex (after its KEXINIT)', () => Buffer.concat([Buffer.from(VERSION), serverKexInit()]), (e) => expect(e).toBeInstanceOf(TimeoutError)],
  ];
  for (const [name, bytes, check] of cases) {
    it(`${name}: a typed error and a closed transport`, async () => {
      const client = await clientAgainst((s) => s.write(bytes()), { kexTimeout: 300 });
      const err = await client.closed;
      expect(err).toBeInstanceOf(SSHException);
      check(err!);
      expect(client.isClosed).toBe(true);
      await expect(client.ready).rejects.toBeInstanceOf(SSHException);
    });
  }
});

describe('socket use', () => {
  it('TCP_NODELAY is set and a burst of messages in one tick goes out as one socket write', async () => {
    const [a, b] = await socketPair();
    const noDelay: unknown[] = [];
    const origNoDelay = a.setNoDelay.bind(a);
    a.setNoDelay = ((v?: boolean) => (noDelay.push(v), origNoDelay(v))) as typeof a.setNoDelay;
    const client = new Transport(a, { role: 'client', verifyHostKey: () => true });
    const server = new Transport(b, { role: 'server', hostKeys: allHostKeys() });
    await Promise.all([client.ready, server.ready]);
    expect(noDelay).toContain(true);
    let writes = 0;
    const origWrite = a.write.bind(a);
    a.write = ((...args: Parameters<typeof a.write>) => (writes++, origWrite(...args))) as typeof a.write;
    let got = 0;
    const all = new Promise<void>((r) => server.onMessage((t) => t === 200 && ++got === 100 && r()));
    for (let i = 0; i < 100; i++) client.send(new Uint8Array(500).fill(200));
    await all;
    expect(writes).toBe(1);
    await closeBoth(client, server);
  });
});

describe('rekey defaults', () => {
  it('1 GiB and 3600 s by default; the cipher can only lower the volume (3DES: 64 MiB)', () => {
    const o = resolveOptions({ role: 'client', verifyHostKey: () => true });
    expect(o.rekeyBytes).toBe(2 ** 30);
    expect(o.rekeySeconds).toBe(3600);
    for (const c of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr']) expect(cipherInfo(c)!.rekeyBytes, c).toBeGreaterThanOrEqual(2 ** 30);
    expect(cipherInfo('3des-cbc')!.rekeyBytes).toBe(64 * 1024 * 1024);
  });
});
