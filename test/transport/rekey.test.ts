import { describe, expect, it } from 'vitest';
import { closeBoth, transportPair } from '../helpers/pair.js';

/** Sends `total` bytes as numbered type-200 messages from `from` to `to`; resolves with what arrived. */
function stream(from: import('../../ts/transport/index.js').Transport, to: import('../../ts/transport/index.js').Transport, total: number, size: number) {
  const count = Math.ceil(total / size);
  const received = new Promise<number>((resolve, reject) => {
    let next = 0;
    to.onMessage((type, p) => {
      if (type !== 200) return;
      const n = p.readUInt32BE(1);
      if (n !== next) reject(new Error(`message ${n} arrived, expected ${next}`));
      // content check: every byte after the counter is derived from it
      for (let i = 5; i < p.length; i += 997) if (p[i] !== ((n + i) & 0xff)) reject(new Error(`message ${n} corrupted at ${i}`));
      if (p.length !== size) reject(new Error(`message ${n} has ${p.length} bytes`));
      next++;
      if (next === count) resolve(next);
    });
    to.closed.then((e) => reject(e ?? new Error('closed')));
  });
  let sent = 0;
  const pump = () => {
    while (sent < count) {
      const m = Buffer.alloc(size);
      m[0] = 200;
      m.writeUInt32BE(sent, 1);
      for (let i = 5; i < size; i += 997) m[i] = (sent + i) & 0xff;
      from.send(m);
      sent++;
      if (from.needsDrain) {
        from.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return received;
}

describe('rekeying', () => {
  it('rekeys by volume in both directions while 8 MiB flow each way, byte-exact and in order', async () => {
    // Each side logs what it sent under the keys a volume rekey retires.
    const sentPerEpoch: number[] = [];
    const debug = (m: string): void => {
      const sent = /rekey: (\d+) bytes sent/.exec(m);
      if (sent) sentPerEpoch.push(Number(sent[1]));
    };
    const limit = 256 * 1024;
    const { client, server } = await transportPair({ client: { rekeyBytes: limit, debug }, server: { rekeyBytes: limit, debug } });
    try {
      await Promise.all([client.ready, server.ready]);
      // Automatic rekeys wait for authentication, as OpenSSH does.
      client.authenticated();
      server.authenticated();
      let clientRekeys = 0;
      let serverRekeys = 0;
      client.on('rekey', () => clientRekeys++);
      server.on('rekey', () => serverRekeys++);
      const [a, b] = await Promise.all([stream(client, server, 8 * 1024 * 1024, 32 * 1024), stream(server, client, 8 * 1024 * 1024, 16 * 1024 + 3)]);
      expect(a).toBe(256);
      expect(b).toBeGreaterThan(500);
      expect(clientRekeys).toBeGreaterThanOrEqual(4);
      expect(serverRekeys).toBe(clientRekeys);
      // No epoch overruns the limit by more than one flushed batch (256 KiB
      // of payload plus one message and packet overhead), also when held
      // traffic is released before the peer's NEWKEYS has come.
      expect(sentPerEpoch.length).toBeGreaterThanOrEqual(4);
      for (const sent of sentPerEpoch) expect(sent).toBeLessThanOrEqual(limit + 320 * 1024);
    } finally {
      await closeBoth(client, server);
    }
  });

  it('renegotiateKeys() from either side, repeatedly, keeps the session id', async () => {
    const { client, server } = await transportPair();
    try {
      await Promise.all([client.ready, server.ready]);
      const sid = client.sessionId;
      for (let i = 0; i < 3; i++) {
        await client.renegotiateKeys();
        await server.renegotiateKeys();
      }
      // Both started at once: one exchange serves both.
      await Promise.all([client.renegotiateKeys(), server.renegotiateKeys()]);
      expect(client.sessionId).toEqual(sid);
      expect(server.sessionId).toEqual(sid);
      await client.requestService('ssh-userauth');
    } finally {
      await closeBoth(client, server);
    }
  });

  it('holds ordinary messages during a rekey and releases them in order', async () => {
    const { client, server } = await transportPair();
    try {
      await Promise.all([client.ready, server.ready]);
      const got: number[] = [];
      server.onMessage((type, p) => type === 200 && got.push(p[1]!));
      client.send(Uint8Array.of(200, 1));
      const rk = client.renegotiateKeys();
      client.send(Uint8Array.of(200, 2));
      client.sendIgnore();
      client.send(Uint8Array.of(200, 3));
      await rk;
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual([1, 2, 3]);
    } finally {
      await closeBoth(client, server);
    }
  });

  it('keeps order when copied-callbacks send more while held traffic is released (a channel refilling its window)', async () => {
    const { client, server } = await transportPair({ client: { rekeyBytes: 256 * 1024 } });
    try {
      await Promise.all([client.ready, server.ready]);
      client.authenticated();
      server.authenticated();
      let rekeys = 0;
      client.on('rekey', () => rekeys++);
      const size = 16 * 1024;
      const count = 1024;
      const received = new Promise<void>((resolve, reject) => {
        let next = 0;
        server.onMessage((type, p) => {
          if (type !== 200) return;
          const n = p.readUInt32BE(1);
          if (n !== next) reject(new Error(`message ${n} arrived, expected ${next}`));
          if (p[size - 1] !== (n & 0xff)) reject(new Error(`message ${n} corrupted`));
          if (++next === count) resolve();
        });
        server.closed.then((e) => reject(e ?? new Error('closed')));
      });
      // 64 messages in flight, like a channel's window: each one's copy
      // callback sends the next at once, as a Writable's callback does when
      // it releases buffered writes into the channel.
      let sent = 0;
      const sendNext = (): void => {
        if (sent >= count) return;
        const m = Buffer.alloc(size);
        m[0] = 200;
        m.writeUInt32BE(sent, 1);
        m[size - 1] = sent & 0xff;
        sent++;
        client.sendGathered([m.subarray(0, 5), m.subarray(5)], sendNext);
      };
      for (let i = 0; i < 64; i++) sendNext();
      await received;
      expect(rekeys).toBeGreaterThanOrEqual(8);
    } finally {
      await closeBoth(client, server);
    }
  });

  it('rekeys on a timer (rekeySeconds) once authenticated', async () => {
    const { client, server } = await transportPair({ client: { rekeySeconds: 0.1 } });
    try {
      await Promise.all([client.ready, server.ready]);
      const rekeyed = new Promise((r) => server.once('rekey', r));
      client.authenticated();
      await rekeyed;
    } finally {
      await closeBoth(client, server);
    }
  });
});
