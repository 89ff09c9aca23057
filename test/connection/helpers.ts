/**
 * Test helpers for the connection layer: a client and a server Connection
 * over our own transports on 127.0.0.1, and a tiny in-process "sshd" that
 * runs a few fake commands on session channels.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Connection, type Channel, type ConnectionOptions, type SessionChannel } from '../../ts/connection/index.js';
import type { Transport } from '../../ts/transport/index.js';
import { transportPair } from '../helpers/pair.js';
import { within } from '../helpers/within.js';

export interface ConnPair {
  client: Connection;
  server: Connection;
  clientTransport: Transport;
  serverTransport: Transport;
  close(): Promise<void>;
}

/** Client and server Connections, created as soon as the transports are ready. */
export async function connectionPair(opts: { client?: Partial<ConnectionOptions>; server?: Partial<ConnectionOptions> } = {}): Promise<ConnPair> {
  const { client: ct, server: st } = await transportPair();
  await Promise.all([ct.ready, st.ready]);
  return connectionsOver(ct, st, opts);
}

/** Client and server Connections over transports that are already ready. */
export function connectionsOver(ct: Transport, st: Transport, opts: { client?: Partial<ConnectionOptions>; server?: Partial<ConnectionOptions> } = {}): ConnPair {
  const client = new Connection(ct, { role: 'client', ...opts.client });
  const server = new Connection(st, { role: 'server', ...opts.server });
  return {
    client,
    server,
    clientTransport: ct,
    serverTransport: st,
    async close() {
      client.close();
      server.close();
      await Promise.all([client.closed, server.closed]);
    },
  };
}

/**
 * Accepts sessions and runs fake commands:
 * - `echo <text>`: prints text + newline
 * - `stderr <text>`: prints text to stderr
 * - `both <n>`: n lines alternating to stdout and stderr
 * - `cat`: copies stdin to stdout until EOF
 * - `sha256`: prints the sha256 hex of stdin
 * - `gen <bytes>`: writes that many pseudo-random bytes, prints nothing else
 * - `exit <code>`: exits with code
 * - `kill <SIG>`: "dies" by signal
 * - `sleep`: waits for a `signal` request, then exits by that signal
 * Every command ends with exit-status (or exit-signal), EOF, CLOSE.
 */
export function serveFakeCommands(server: Connection): void {
  server.onChannelOpen((req) => {
    if (req.type !== 'session') return req.reject();
    let env: Record<string, string> = {};
    const ch = req.acceptSession({
      onRequest: (r) => {
        const info = r.info;
        if (!info) return false;
        if (info.type === 'env') {
          env = { ...env, [info.name]: info.value };
          return true;
        }
        if (info.type === 'pty-req') return true;
        if (info.type === 'exec') {
          setImmediate(() => run(ch, info.command, env));
          return true;
        }
        return false;
      },
    });
  });
}

function finish(ch: SessionChannel, code: number): void {
  ch.sendExitStatus(code);
  ch.end();
  ch.close();
}

export function gen(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function run(ch: SessionChannel, command: string, env: Record<string, string>): void {
  const [name, ...rest] = command.split(' ');
  const arg = rest.join(' ');
  switch (name) {
    case 'echo':
      ch.write(`${arg}\n`);
      return finish(ch, 0);
    case 'printenv':
      ch.write(`${env[arg] ?? ''}\n`);
      return finish(ch, 0);
    case 'stderr':
      ch.writeStderr(`${arg}\n`);
      return finish(ch, 3);
    case 'both': {
      for (let i = 0; i < Number(arg); i++) {
        if (i % 2) ch.writeStderr(`err ${i}\n`);
        else ch.write(`out ${i}\n`);
      }
      return finish(ch, 0);
    }
    case 'cat':
      ch.on('data', (d: Buffer) => ch.write(d));
      ch.on('end', () => finish(ch, 0));
      return;
    case 'sha256': {
      const h = createHash('sha256');
      ch.on('data', (d: Buffer) => h.update(d));
      ch.on('end', () => {
        ch.write(h.digest('hex'));
        finish(ch, 0);
      });
      return;
    }
    case 'gen': {
      const total = Number(arg);
      const chunk = gen(1024 * 1024, 7);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!ch.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            ch.once('drain', pump);
            return;
          }
        }
        finish(ch, 0);
      };
      ch.resume(); // discard stdin
      pump();
      return;
    }
    case 'exit':
      return finish(ch, Number(arg));
    case 'kill':
      ch.sendExitSignal(arg, false, 'killed');
      ch.end();
      ch.close();
      return;
    case 'sleep':
      ch.onRequest((r) => {
        if (r.info?.type === 'signal') {
          ch.sendExitSignal(r.info.name, false, '');
          ch.end();
          ch.close();
          return true;
        }
        return false;
      });
      return;
    default:
      ch.writeStderr(`unknown command ${name}\n`);
      return finish(ch, 127);
  }
}

/** sha256 hex of everything a stream yields. */
export async function sha256Of(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Polls `cond` until it holds; fails after `ms` (a bound, not a timing assertion). */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes `total` random bytes into `w` honouring backpressure, then EOF; resolves with their sha256. */
export function writeRandom(w: Channel, total: number, chunkSize = 1024 * 1024): Promise<string> {
  const h = createHash('sha256');
  let sent = 0;
  return new Promise((resolve) => {
    const go = (): void => {
      while (sent < total) {
        const chunk = randomBytes(Math.min(chunkSize, total - sent));
        sent += chunk.length;
        h.update(chunk);
        if (!w.write(chunk)) {
          w.once('drain', go);
          return;
        }
      }
      w.end();
      resolve(h.digest('hex'));
    };
    go();
  });
}

/** A client Connection facing a bare server Transport driven by the test. */
export interface RawPeer {
  client: Connection;
  peer: Transport;
  /** Every payload the peer received, in order (copies). */
  received: Buffer[];
  /** The next message of this type the peer received and no `next` took yet (3 s at most). */
  next(type: number): Promise<Buffer>;
}

/**
 * A client Connection (with `opts`) over a transport pair whose server
 * side the test drives by hand; `onCleanup` gets the function that closes
 * both, for the file's afterEach.
 */
export async function rawPeer(opts: Partial<ConnectionOptions>, onCleanup: (f: () => Promise<unknown>) => void): Promise<RawPeer> {
  const { client: ct, server: st } = await transportPair();
  await Promise.all([ct.ready, st.ready]);
  const client = new Connection(ct, { role: 'client', ...opts });
  const received: Buffer[] = [];
  const inbox: Buffer[] = [];
  const waiters: { type: number; resolve(b: Buffer): void }[] = [];
  st.onMessage((type, payload) => {
    const copy = Buffer.from(payload);
    received.push(copy);
    const i = waiters.findIndex((w) => w.type === type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(copy);
    else inbox.push(copy);
  });
  onCleanup(async () => {
    client.close();
    st.disconnect();
    await Promise.all([client.closed, st.closed]);
  });
  return {
    client,
    peer: st,
    received,
    next(type) {
      const i = inbox.findIndex((p) => p[0] === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!);
      return within(new Promise((resolve) => waiters.push({ type, resolve })), 3000, `message ${type} at the peer`);
    },
  };
}
