/**
 * Talking to a Kerberos KDC (RFC 4120 section 7.2): TCP first (a 4-byte
 * big-endian length, then the message), UDP (one datagram each way) when no
 * KDC of the realm accepts a TCP connection. Every KDC listed for the realm
 * is tried in order; the whole exchange shares one deadline and an
 * AbortSignal. A reply is bounded before it is read.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { abortError, SSHException, TimeoutError } from '../../errors.js';
import { checkDuration } from '../../transport/index.js';

/** Largest KDC reply we read (tickets with large PACs stay well below). */
export const KDC_REPLY_MAX = 1 << 20;
/** A UDP reply has to fit in one datagram. */
const UDP_REPLY_MAX = 65_535;
const DEFAULT_TIMEOUT = 10_000;

export interface KdcAddress {
  host: string;
  port: number;
}

export interface KdcSendOptions {
  /** Milliseconds for the whole exchange, all KDCs together, 0 to 2^31-1. Default 10 000; 0 = no limit. */
  timeout?: number;
  signal?: AbortSignal;
}

function unreachable(realm: string, kdcs: readonly KdcAddress[], reasons: string[]): SSHException {
  const list = kdcs.map((k) => `${k.host}:${k.port}`).join(', ') || '(none configured)';
  return new SSHException(`no KDC of realm ${realm} answered (${list})${reasons.length ? `: ${reasons.join('; ')}` : ''}`, {
    code: 'ERR_KRB5_KDC_UNREACHABLE',
  });
}

/** Resolves with the reply, or rejects when the deadline passes or `signal` aborts. */
function withDeadline<T>(run: (settle: { done: (v: T) => void; fail: (e: Error) => void; onEnd: (f: () => void) => void }) => void, deadline: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    let settled = false;
    const end = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const f of cleanups) f();
    };
    const onAbort = (): void => {
      if (settled) return;
      end();
      reject(abortError(signal!, `${what}: aborted`));
    };
    // An infinite deadline (timeout 0) sets no timer.
    const timer = Number.isFinite(deadline)
      ? setTimeout(() => {
          if (settled) return;
          end();
          reject(new TimeoutError(`${what}: no reply in time`));
        }, Math.max(0, deadline - Date.now()))
      : undefined;
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    run({
      done: (v) => {
        if (settled) return;
        end();
        resolve(v);
      },
      fail: (e) => {
        if (settled) return;
        end();
        reject(e);
      },
      onEnd: (f) => cleanups.push(f),
    });
  });
}

function sendTcp(message: Uint8Array, kdc: KdcAddress, deadline: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const what = `KDC ${kdc.host}:${kdc.port} (tcp)`;
  return withDeadline<Buffer>(
    ({ done, fail, onEnd }) => {
      const sock = net.connect({ host: kdc.host, port: kdc.port });
      onEnd(() => sock.destroy());
      const chunks: Buffer[] = [];
      let have = 0;
      let want = -1;
      sock.on('connect', () => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(message.length, 0);
        sock.write(head);
        sock.write(message);
      });
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        have += d.length;
        if (want < 0 && have >= 4) {
          const len = Buffer.concat(chunks).readUInt32BE(0);
          // The top bit is reserved for a length extension no KDC uses.
          if (len > KDC_REPLY_MAX) return fail(new SSHException(`${what}: reply of ${len} bytes is over the ${KDC_REPLY_MAX}-byte limit`, { code: 'ERR_KRB5_PROTOCOL' }));
          want = len;
        }
        if (want >= 0 && have >= 4 + want) done(Buffer.concat(chunks).subarray(4, 4 + want));
      });
      sock.on('error', (e) => fail(e));
      sock.on('close', () => fail(new SSHException(`${what}: connection closed before a complete reply`, { code: 'ERR_KRB5_PROTOCOL' })));
    },
    deadline,
    signal,
    what,
  );
}

function sendUdp(message: Uint8Array, kdc: KdcAddress, deadline: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const what = `KDC ${kdc.host}:${kdc.port} (udp)`;
  return withDeadline<Buffer>(
    ({ done, fail, onEnd }) => {
      const type = net.isIPv6(kdc.host) ? 'udp6' : 'udp4';
      const sock = dgram.createSocket(type);
      onEnd(() => sock.close());
      sock.on('message', (msg) => {
        if (msg.length > UDP_REPLY_MAX) return;
        done(msg);
      });
      sock.on('error', (e) => fail(e));
      // A connected socket hears ICMP "port unreachable" as ECONNREFUSED instead of waiting out the deadline.
      sock.connect(kdc.port, kdc.host, () => {
        sock.send(message, (err) => {
          if (err) fail(err);
        });
      });
    },
    deadline,
    signal,
    what,
  );
}

/**
 * Sends one request to the realm's KDCs and returns the first reply.
 * Throws SSHException 'ERR_SSH_BAD_OPTION' for a bad `timeout`,
 * 'ERR_KRB5_KDC_UNREACHABLE' when none answers,
 * TimeoutError when the deadline passes, the signal's reason on abort.
 */
export async function sendToKdc(realm: string, message: Uint8Array, kdcs: readonly KdcAddress[], options: KdcSendOptions = {}): Promise<Buffer> {
  const timeout = checkDuration('timeout', options.timeout, { zero: 'no limit' }) ?? DEFAULT_TIMEOUT;
  if (kdcs.length === 0) throw unreachable(realm, kdcs, ['no kdc is configured for the realm in krb5.conf']);
  const deadline = timeout === 0 ? Number.POSITIVE_INFINITY : Date.now() + timeout;
  const reasons: string[] = [];
  for (const transport of [sendTcp, sendUdp]) {
    for (const kdc of kdcs) {
      try {
        return await transport(message, kdc, transport === sendUdp ? Math.min(deadline, Date.now() + 3000) : deadline, options.signal);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        if (err instanceof TimeoutError && Date.now() >= deadline) throw err;
        reasons.push((err as Error).message);
      }
    }
  }
  throw unreachable(realm, kdcs, reasons);
}
