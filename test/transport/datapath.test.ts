/**
 * The packet data path below the Transport: PacketWriter batches sealed by a
 * real sealer, fed in arbitrary chunk sizes through ReceiveBuffer and
 * openPackets. The receive side hands large payloads out as views into its
 * slab, so these tests keep every payload and check, at the end, that none
 * was overwritten by later input.
 */
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../ts/errors.js';
import { cipherInfo, createOpener, createSealer, macInfo } from '../../ts/crypto/index.js';
import type { DirectionKeys } from '../../ts/crypto/types.js';
import { ReceiveBuffer, openPackets, type OpenedPacket } from '../../ts/transport/inbound.js';
import { PacketWriter } from '../../ts/transport/outbound.js';
import { MAX_PACKET_LENGTH } from '../../ts/transport/index.js';
import { xorshift32 } from '../helpers/prng.js';

function keysFor(cipher: string, mac = 'none'): DirectionKeys {
  const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
  const ci = cipherInfo(cipher);
  return { cipher, mac, encKey: fill(ci?.keyLength ?? 0, 1), iv: fill(ci?.ivLength ?? 0, 2), macKey: fill(macInfo(mac)?.keyLength ?? 0, 3) };
}

/** Payload i: type byte 200, then bytes derived from i, `len` long. */
function payloadOf(i: number, len: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 200;
  for (let j = 1; j < len; j++) p[j] = (i * 31 + j * 7) & 0xff;
  return p;
}

const CASES: [string, string?][] = [['chacha20-poly1305@openssh.com'], ['aes128-gcm@openssh.com'], ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'], ['aes128-ctr', 'hmac-sha2-256'], ['none']];

describe('packet data path (writer -> chunks -> receive buffer)', () => {
  for (const [cipher, mac] of CASES) {
    it(`${cipher}${mac ? ` + ${mac}` : ''}: every kept payload survives later input, sizes from 1 byte to 200 KiB`, () => {
      const rand = xorshift32(0x5eed + cipher.length);
      const writer = new PacketWriter(createSealer(keysFor(cipher, mac)));
      const opener = createOpener(keysFor(cipher, mac));
      const sizes: number[] = [];
      const wire: Uint8Array[] = [];
      for (let batch = 0; batch < 40; batch++) {
        const n = 1 + (rand() % 12);
        for (let k = 0; k < n; k++) {
          const r = rand() % 100;
          // Mostly small and 32 KiB-ish messages, some large ones that outgrow a slab's remaining room.
          const len = r < 40 ? 1 + (rand() % 200) : r < 90 ? 16 * 1024 + (rand() % (24 * 1024)) : 100 * 1024 + (rand() % (100 * 1024));
          writer.enqueue(payloadOf(sizes.length, len));
          sizes.push(len);
        }
        wire.push(writer.build()!);
      }
      const stream = Buffer.concat(wire);

      const rx = new ReceiveBuffer();
      const spans = new Uint32Array(64);
      const kept: OpenedPacket[] = [];
      let seq = 0;
      let off = 0;
      while (off < stream.length) {
        const chunk = Math.min(stream.length - off, 1 + (rand() % (96 * 1024)));
        rx.append(stream.subarray(off, off + chunk));
        off += chunk;
        for (;;) {
          const n = openPackets(rx, opener, seq, MAX_PACKET_LENGTH, spans, 32, kept, []);
          if (n === 0) break;
          seq += n;
        }
      }
      expect(rx.available).toBe(0);
      expect(kept.length).toBe(sizes.length);
      let wireTotal = 0;
      kept.forEach((p, i) => {
        expect(p.seq).toBe(i);
        expect(p.payload.length).toBe(sizes[i]);
        expect(Buffer.compare(p.payload, Buffer.from(payloadOf(i, sizes[i]!)))).toBe(0);
        wireTotal += p.wireLength;
      });
      expect(wireTotal).toBe(stream.length);
    });
  }

  for (const [cipher, mac] of [['aes128-gcm@openssh.com'], ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com']] as [string, string?][]) {
    it(`${cipher}: a payload the receiver modifies does not disturb its neighbours`, () => {
      const writer = new PacketWriter(createSealer(keysFor(cipher, mac)));
      const opener = createOpener(keysFor(cipher, mac));
      for (let i = 0; i < 6; i++) writer.enqueue(payloadOf(i, 20 * 1024));
      const rx = new ReceiveBuffer();
      rx.append(writer.build()!);
      const out: OpenedPacket[] = [];
      expect(openPackets(rx, opener, 0, MAX_PACKET_LENGTH, new Uint32Array(64), 32, out, [])).toBe(6);
      out[2]!.payload.fill(0);
      for (const i of [0, 1, 3, 4, 5]) expect(Buffer.compare(out[i]!.payload, Buffer.from(payloadOf(i, 20 * 1024)))).toBe(0);
    });
  }

  for (const cipher of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
    it(`${cipher}: a tampered packet is an IntegrityError, the packets before it are delivered intact`, () => {
      const writer = new PacketWriter(createSealer(keysFor(cipher)));
      const opener = createOpener(keysFor(cipher));
      for (let i = 0; i < 3; i++) writer.enqueue(payloadOf(i, 20 * 1024));
      const wire = Buffer.from(writer.build()!);
      const second = wire.length / 3;
      wire[second + 100]! ^= 1;
      const rx = new ReceiveBuffer();
      rx.append(wire);
      const out: OpenedPacket[] = [];
      expect(() => openPackets(rx, opener, 0, MAX_PACKET_LENGTH, new Uint32Array(64), 32, out, [])).toThrow(IntegrityError);
      const first = createOpener(keysFor(cipher));
      const rx2 = new ReceiveBuffer();
      rx2.append(wire.subarray(0, second));
      expect(openPackets(rx2, first, 0, MAX_PACKET_LENGTH, new Uint32Array(64), 32, out, [])).toBe(1);
      expect(Buffer.compare(out[0]!.payload, Buffer.from(payloadOf(0, 20 * 1024)))).toBe(0);
    });
  }

  it('padding comes from the CSPRNG pool: no two packets of a batch carry the same padding', () => {
    const writer = new PacketWriter(createSealer(keysFor('none')));
    for (let i = 0; i < 200; i++) writer.enqueue(Uint8Array.of(200, i & 0xff, 0, 0));
    const buf = Buffer.from(writer.build()!);
    const pads = new Set<string>();
    let off = 0;
    while (off < buf.length) {
      const len = buf.readUInt32BE(off);
      const pad = buf[off + 4]!;
      expect(pad).toBeGreaterThanOrEqual(4);
      expect((4 + len) % 8).toBe(0);
      pads.add(Buffer.from(buf.subarray(off + 4 + len - pad, off + 4 + len)).toString('hex'));
      off += 4 + len;
    }
    // 200 paddings of >= 4 random bytes: a repeat would mean the pool was reused.
    expect(pads.size).toBe(200);
  });
});
