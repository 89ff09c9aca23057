import { describe, expect, it } from 'vitest';
import { BadHostKeyException, DisconnectError, NegotiationError, SSHException, TimeoutError } from '../../ts/errors.js';
import { Transport } from '../../ts/transport/index.js';
import { DISCONNECT_REASON, MSG, SSHWriter } from '../../ts/wire/index.js';
import { allHostKeys, closeBoth, socketPair, transportPair } from '../helpers/pair.js';

describe('transport features', () => {
  it('ping@openssh.com round trip (server announces it in EXT_INFO)', async () => {
    const { client, server } = await transportPair();
    await Promise.all([client.ready, server.ready]);
    await new Promise((r) => setImmediate(r));
    expect(client.peerSupportsPing).toBe(true);
    expect(client.serverSigAlgs).toContain('ssh-ed25519');
    await client.ping();
    await client.ping();
    // The server got no EXT_INFO from the client, so it cannot ping.
    await expect(server.ping()).rejects.toMatchObject({ code: 'ERR_SSH_UNSUPPORTED' });
    await closeBoth(client, server);
  });

  it('keepalive: an answering peer stays connected', async () => {
    const { client, server } = await transportPair({ client: { keepaliveInterval: 40, keepaliveCountMax: 2 } });
    await Promise.all([client.ready, server.ready]);
    await new Promise((r) => setTimeout(r, 400));
    expect(client.isClosed).toBe(false);
    await closeBoth(client, server);
  });

  it('keepalive: a dead peer is a TimeoutError and a closed transport', async () => {
    const { client, server, sockets } = await transportPair({ client: { keepaliveInterval: 50, keepaliveCountMax: 2 } });
    await Promise.all([client.ready, server.ready]);
    sockets[1].pause(); // the server stops reading: no replies ever come
    const err = await client.closed;
    expect(err).toBeInstanceOf(TimeoutError);
    sockets[1].destroy();
    await server.closed;
  });

  it('keepalive replies are consumed; the upper layer still gets its own global request replies in order', async () => {
    const { client, server } = await transportPair({ client: { keepaliveInterval: 20 } });
    await Promise.all([client.ready, server.ready]);
    server.onMessage((type, p) => {
      if (type === MSG.GLOBAL_REQUEST) server.send(Uint8Array.of(p.includes(0x78) ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE));
    });
    const replies: number[] = [];
    client.onMessage((type) => (type === MSG.REQUEST_SUCCESS || type === MSG.REQUEST_FAILURE) && replies.push(type));
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 30));
      client.send(new SSHWriter().byte(MSG.GLOBAL_REQUEST).string(i % 2 ? 'xx@test' : 'yy@test').boolean(true).toBytes());
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(replies).toEqual([MSG.REQUEST_FAILURE, MSG.REQUEST_SUCCESS, MSG.REQUEST_FAILURE, MSG.REQUEST_SUCCESS, MSG.REQUEST_FAILURE]);
    await closeBoth(client, server);
  });

  it('DISCONNECT with a reason reaches the peer as DisconnectError(reason)', async () => {
    const { client, server } = await transportPair();
    await Promise.all([client.ready, server.ready]);
    server.disconnect(DISCONNECT_REASON.TOO_MANY_CONNECTIONS, 'full');
    const err = await client.closed;
    expect(err).toBeInstanceOf(DisconnectError);
    expect((err as DisconnectError).reason).toBe(DISCONNECT_REASON.TOO_MANY_CONNECTIONS);
    expect(err!.message).toMatch(/full/);
    expect(await server.closed).toBeNull();
  });

  it('an unknown message gets UNIMPLEMENTED with its sequence number', async () => {
    const { client, server } = await transportPair();
    await Promise.all([client.ready, server.ready]);
    const seq = new Promise<number>((r) => client.once('unimplemented', r));
    client.send(Uint8Array.of(150, 1));
    expect(typeof (await seq)).toBe('number');
    await closeBoth(client, server);
  });

  it('an unknown service is refused with SERVICE_NOT_AVAILABLE', async () => {
    const { client, server } = await transportPair();
    await Promise.all([client.ready, server.ready]);
    await expect(client.requestService('bogus')).rejects.toMatchObject({ reason: DISCONNECT_REASON.SERVICE_NOT_AVAILABLE });
    await Promise.all([client.closed, server.closed]);
  });

  it('negotiation failure names the category and both lists', async () => {
    const { client, server } = await transportPair({ client: { algorithms: { cipher: ['aes128-ctr'] } }, server: { algorithms: { cipher: ['aes256-ctr'] } } });
    const [ce, se] = await Promise.all([client.closed, server.closed]);
    for (const e of [ce, se]) expect(e).toBeInstanceOf(SSHException);
    const err = [ce, se].find((e) => e instanceof NegotiationError)!;
    expect(err.message).toMatch(/cipher \(client to server\).*aes128-ctr.*aes256-ctr/);
    await expect(client.ready).rejects.toBeDefined();
  });

  it('a rejected host key is BadHostKeyException (sync and async policy)', async () => {
    for (const verifyHostKey of [() => false, async () => false]) {
      const { client, server } = await transportPair({ client: { verifyHostKey } });
      const err = await client.closed;
      expect(err).toBeInstanceOf(BadHostKeyException);
      expect((err as BadHostKeyException).fingerprint).toMatch(/^SHA256:/);
      const serr = await server.closed;
      expect((serr as DisconnectError).reason).toBe(DISCONNECT_REASON.HOST_KEY_NOT_VERIFIABLE);
    }
  });

  it('an async host key policy that accepts, with the key type and blob', async () => {
    const seen: string[] = [];
    const { client, server } = await transportPair({
      client: {
        algorithms: { serverHostKey: ['ecdsa-sha2-nistp384'] },
        verifyHostKey: async (type, blob) => {
          seen.push(type);
          await new Promise((r) => setTimeout(r, 20));
          return blob.length > 50;
        },
      },
    });
    await client.ready;
    expect(seen).toEqual(['ecdsa-sha2-nistp384']);
    await closeBoth(client, server);
  });

  it('backpressure: needsDrain turns on when the peer stops reading and drain follows', async () => {
    const { client, server, sockets } = await transportPair();
    await Promise.all([client.ready, server.ready]);
    sockets[1].pause();
    const msg = new Uint8Array(32 * 1024).fill(200);
    let n = 0;
    while (!client.needsDrain && n < 10_000) {
      client.send(msg);
      n++;
    }
    expect(client.needsDrain).toBe(true);
    const drained = new Promise((r) => client.once('drain', r));
    sockets[1].resume();
    await drained;
    expect(client.needsDrain).toBe(false);
    await closeBoth(client, server);
  });

  it('debug output names versions and algorithms; hexdump withholds user-auth requests', async () => {
    const lines: string[] = [];
    const { client, server } = await transportPair({ client: { debug: (m) => lines.push(m), hexdump: true } });
    await Promise.all([client.ready, server.ready]);
    client.send(new SSHWriter().byte(MSG.USERAUTH_REQUEST).string('bob').string('ssh-connection').string('password').boolean(false).string('hunter2').toBytes());
    await new Promise((r) => setTimeout(r, 20));
    const text = lines.join('\n');
    expect(text).toMatch(/remote version: SSH-2.0-sshwire_0.1/);
    expect(text).toMatch(/negotiated: kex /);
    expect(text).toMatch(/strict kex on/);
    expect(text).toMatch(/payload withheld/);
    expect(text).not.toMatch(/hunter2|68 75 6e 74 65 72 32/);
    await closeBoth(client, server);
  });

  it('options are validated', async () => {
    const [a] = await socketPair();
    expect(() => new Transport(a, { role: 'client' })).toThrow(/verifyHostKey/);
    expect(() => new Transport(a, { role: 'server' })).toThrow(/host key/);
    expect(() => new Transport(a, { role: 'client', verifyHostKey: () => true, version: 'SSH-2.0-bad version-\r' })).toThrow(SSHException);
    expect(() => new Transport(a, { role: 'server', hostKeys: allHostKeys(), algorithms: { kex: ['nope'] } })).toThrow(NegotiationError);
    a.destroy();
  });

  it('a custom version string and legacy kex only when listed', async () => {
    const { client, server } = await transportPair({ client: { version: 'SSH-2.0-custom_9 hello', algorithms: { kex: ['diffie-hellman-group14-sha1'] } }, server: { algorithms: { kex: ['diffie-hellman-group14-sha1'] } } });
    await Promise.all([client.ready, server.ready]);
    expect(server.peerVersion).toBe('SSH-2.0-custom_9 hello');
    expect(client.negotiated!.kex).toBe('diffie-hellman-group14-sha1');
    await closeBoth(client, server);
    const d = await transportPair();
    await d.client.ready;
    expect(d.client.negotiated!.kex).not.toMatch(/sha1$/);
    await closeBoth(d.client, d.server);
  });

  it('send() after close is ignored and nothing rejects unhandled', async () => {
    const { client, server } = await transportPair();
    await client.ready;
    client.disconnect();
    client.send(Uint8Array.of(200));
    client.renegotiateKeys();
    client.ping();
    await client.closed;
    await server.closed;
  });

  it('group exchange from a moduli file', async () => {
    const { client, server } = await transportPair({
      client: { algorithms: { kex: ['diffie-hellman-group-exchange-sha256'] }, gexRequest: { min: 2048, n: 2048, max: 2048 } },
      server: { moduliFile: '/etc/ssh/moduli' },
    });
    await Promise.all([client.ready, server.ready]);
    expect(client.negotiated!.kex).toBe('diffie-hellman-group-exchange-sha256');
    await closeBoth(client, server);
  });
});
