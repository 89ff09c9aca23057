/**
 * A raw, hand-driven SSH peer for hostile-input tests: writes the version
 * line and plaintext (`none` cipher) packets exactly as told, and parses the
 * plaintext packets the other side sends before NEWKEYS.
 */
import * as net from 'node:net';
import { encodeKexInit } from '../../ts/transport/kexinit.js';
import type { KexInitLists } from '../../ts/transport/algorithms.js';

/** Frames a payload as a plaintext packet (block size 8, minimal padding unless `padding` is given). */
export function plainPacket(payload: Uint8Array, padding?: number): Buffer {
  let pad = 8 - ((4 + 1 + payload.length) % 8);
  if (pad < 4) pad += 8;
  if (padding !== undefined) pad = padding;
  const len = 1 + payload.length + pad;
  const buf = Buffer.alloc(4 + len);
  buf.writeUInt32BE(len, 0);
  buf[4] = pad;
  buf.set(payload, 5);
  return buf;
}

/** A KEXINIT payload with sensible lists, overridable. */
export function kexInitPayload(over: Partial<KexInitLists> = {}, firstKexPacketFollows = false): Uint8Array {
  const lists: KexInitLists = {
    kex: ['curve25519-sha256', 'kex-strict-c-v00@openssh.com'],
    serverHostKey: ['ssh-ed25519'],
    cipherCS: ['aes128-ctr'],
    cipherSC: ['aes128-ctr'],
    macCS: ['hmac-sha2-256'],
    macSC: ['hmac-sha2-256'],
    compressionCS: ['none'],
    compressionSC: ['none'],
    languageCS: [],
    languageSC: [],
    ...over,
  };
  return encodeKexInit(new Uint8Array(16), lists, firstKexPacketFollows);
}

/** Parses plaintext packets from a byte stream (after the version line). */
export class PlainPacketReader {
  #buf = Buffer.alloc(0);
  #versionSeen = false;
  readonly packets: Buffer[] = [];
  version = '';

  push(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    if (!this.#versionSeen) {
      const nl = this.#buf.indexOf(0x0a);
      if (nl < 0) return;
      this.version = this.#buf.subarray(0, nl).toString('latin1').trim();
      this.#buf = this.#buf.subarray(nl + 1);
      this.#versionSeen = true;
    }
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0);
      if (len > 300000 || this.#buf.length < 4 + len) return;
      const pad = this.#buf[4]!;
      this.packets.push(Buffer.from(this.#buf.subarray(5, 4 + len - pad)));
      this.#buf = this.#buf.subarray(4 + len);
    }
  }
}

/** A raw TCP connection to a port, collecting plaintext packets. */
export async function rawConnect(port: number): Promise<{ socket: net.Socket; reader: PlainPacketReader; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const reader = new PlainPacketReader();
  socket.on('data', (c: Buffer) => reader.push(c));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, reader, closed };
}

/** Waits until `pred` holds, polling; rejects after `ms`. */
export async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
