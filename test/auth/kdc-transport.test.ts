/**
 * sendToKdc: TCP framing, the UDP fallback, the reply bound, deadlines and
 * abort, against small local stand-ins for a KDC.
 */
import { createSocket } from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KDC_REPLY_MAX, sendToKdc } from '../../ts/auth/gssapi/kdcTransport.js';
import { TimeoutError } from '../../ts/errors.js';
import { freePort } from '../helpers/sshd.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A TCP "KDC" that answers each framed request with `reply(request)` (raw bytes, framing included). */
async function tcpKdc(reply: (req: Buffer) => Buffer | null): Promise<number> {
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const out = reply(buf.subarray(4, 4 + buf.readUInt32BE(0)));
        if (out) sock.write(out);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

function framed(b: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(b.length, 0);
  return Buffer.concat([head, b]);
}

describe('sendToKdc', () => {
  it('TCP: frames the request and returns the whole reply, even when it arrives in pieces', async () => {
    const port = await tcpKdc((req) => framed(Buffer.concat([Buffer.from('re:'), req, Buffer.alloc(100_000, 7)])));
    const out = await sendToKdc('R', Buffer.from('hello'), [{ host: '127.0.0.1', port }]);
    expect(out.subarray(0, 8).toString()).toBe('re:hello');
    expect(out.length).toBe(8 + 100_000);
  });

  it('falls back to UDP when no KDC takes a TCP connection, trying each KDC in order', async () => {
    const port = await freePort(); // nothing listens on TCP here
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
    closers.push(() => udp.close());
    udp.on('message', (msg, from) => udp.send(Buffer.concat([Buffer.from('udp:'), msg]), from.port, from.address));
    const dead = await freePort();
    const out = await sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port }]);
    expect(out.toString()).toBe('udp:x');
  });

  it(`refuses a reply length over ${KDC_REPLY_MAX} bytes without waiting for it`, async () => {
    const port = await tcpKdc(() => Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await expect(sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port }])).rejects.toThrow(/over the .* limit/);
  });

  it('a silent KDC hits the deadline; an abort wins at once', async () => {
    const port = await tcpKdc(() => null);
    await expect(sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port }], { timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const p = sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port }], { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('no KDC configured, or none reachable: ERR_KRB5_KDC_UNREACHABLE naming them', async () => {
    await expect(sendToKdc('EMPTY.REALM', Buffer.from('x'), [])).rejects.toMatchObject({ code: 'ERR_KRB5_KDC_UNREACHABLE' });
    const dead = await freePort();
    const started = Date.now();
    const err = await sendToKdc('R', Buffer.from('x'), [{ host: '127.0.0.1', port: dead }], { timeout: 5000 }).catch((e: unknown) => e);
    // TCP is refused, and so is UDP (a connected socket hears the ICMP error), so this ends without waiting.
    expect(err).toMatchObject({ code: 'ERR_KRB5_KDC_UNREACHABLE', message: expect.stringContaining(`127.0.0.1:${dead}`) });
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
