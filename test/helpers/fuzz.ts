/**
 * Throws random bytes at a server Transport after a valid version line and
 * checks it always ends in a typed error with its socket closed, never a
 * hang or an uncaught exception. Shared by the quick test and scripts/fuzz.
 */
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { SSHException } from '../../ts/errors.js';
import { Transport } from '../../ts/transport/index.js';
import { allHostKeys } from './pair.js';
import { xorshift32 } from './prng.js';
import { kexInitPayload, plainPacket } from './raw.js';

/** A deterministic PRNG in [0, 1) (xorshift32) so failures can be replayed by seed. */
export function prng(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}

/** Builds one hostile input: sometimes a valid KEXINIT first, then random or mutated packets. */
export function hostileInput(rand: () => number): Buffer {
  const parts: Buffer[] = [Buffer.from('SSH-2.0-fuzz\r\n')];
  if (rand() < 0.5) parts.push(plainPacket(kexInitPayload()));
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const kind = rand();
    const len = Math.floor(rand() * 600);
    const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
    if (kind < 0.4) parts.push(body);
    else if (kind < 0.8) {
      if (body.length > 0) body[0] = Math.floor(rand() * 60);
      parts.push(plainPacket(body.length ? body : Buffer.of(1)));
    } else {
      const p = plainPacket(kexInitPayload());
      p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
      parts.push(p);
    }
  }
  return Buffer.concat(parts);
}

/** Runs `count` fuzz cases starting at `seed`; returns a histogram of error codes. Throws on any hang or untyped error. */
export async function fuzzServer(seed: number, count: number): Promise<Map<string, number>> {
  const codes = new Map<string, number>();
  const transports: Transport[] = [];
  const srv = net.createServer((s) => transports.push(new Transport(s, { role: 'server', hostKeys: allHostKeys(), bannerTimeout: 1000, kexTimeout: 1000 })));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    for (let i = 0; i < count; i++) {
      const rand = prng(seed + i);
      const before = transports.length;
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      sock.on('data', () => {});
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(hostileInput(rand));
      // If the server is still waiting for more, hanging up must end it too.
      const hangup = setTimeout(() => sock.end(), 100);
      while (transports.length === before) await new Promise((r) => setTimeout(r, 1));
      const t = transports[transports.length - 1]!;
      const err = await Promise.race([t.closed, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 3000))]);
      clearTimeout(hangup);
      sock.destroy();
      if (err === 'hang') throw new Error(`fuzz case seed ${seed + i}: transport did not close`);
      if (!(err instanceof SSHException)) throw new Error(`fuzz case seed ${seed + i}: closed with ${String(err)}`);
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
  } finally {
    srv.close();
  }
  return codes;
}
