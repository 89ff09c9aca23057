/**
 * Our client and our server over loopback, both rekeying every 256 KiB:
 * eight channels at once each send 3 MiB in writes of random sizes and
 * read the same bytes echoed back. Data held during key exchanges, window
 * adjusts, gathered packets and the round-robin across channels all meet
 * here; every byte must come back in order on its own channel.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUTH_SUCCESSFUL, connect, listen } from '../../ts/index.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { xorshift32 } from '../helpers/prng.js';

const MiB = 1024 * 1024;

describe.each(['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'])('echo across rekeys with %s', (cipher) => {
  it('8 channels x 3 MiB each way, random write sizes, byte-exact per channel', async () => {
    const server = await listen({
      hostKeys: ['ed25519'],
      server: { checkAuthNone: () => AUTH_SUCCESSFUL },
      rekeyBytes: 256 * 1024,
      processFactory: (proc) => {
        proc.stdin.pipe(proc.stdout, { end: false });
        proc.stdin.on('end', () => proc.exit(0));
      },
    });
    try {
      await using c = await connect(ownServerLogin(server.address().port, { rekeyBytes: 256 * 1024, window: 512 * 1024, algorithms: { cipher: [cipher] } }));
      let rekeys = 0;
      c.transport.on('rekey', () => rekeys++);
      const one = async (n: number): Promise<void> => {
        const rand = xorshift32(1000 + n);
        const data = Buffer.alloc(3 * MiB);
        for (let i = 0; i < data.length; i++) data[i] = rand() & 0xff;
        const proc = await c.exec(`echo ${n}`);
        const got: Buffer[] = [];
        proc.stdout.on('data', (d: Buffer) => got.push(d));
        const ended = new Promise<void>((resolve) => proc.stdout.once('end', resolve));
        let off = 0;
        while (off < data.length) {
          const len = Math.min(data.length - off, 1 + (rand() % (96 * 1024)));
          if (!proc.stdin.write(data.subarray(off, off + len))) await new Promise((r) => proc.stdin.once('drain', r));
          off += len;
        }
        proc.stdin.end();
        await ended;
        const back = Buffer.concat(got);
        expect(back.length).toBe(data.length);
        expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      };
      await Promise.all(Array.from({ length: 8 }, (_, n) => one(n)));
      expect(rekeys).toBeGreaterThanOrEqual(8);
    } finally {
      await server.close();
    }
  }, 60_000);
});
