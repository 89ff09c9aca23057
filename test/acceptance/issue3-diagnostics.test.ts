/**
 * Issue 3 acceptance, part 2: diagnostics and liveness through the public
 * API. `NODE_DEBUG=sshwire` in a child process doing a password login
 * (with hexdump on) against our own server: versions, both sides' lists,
 * what was negotiated, the rekey and the disconnect reason are there; the
 * password is not, in any encoding. `conn.negotiated`. Keepalive through
 * a TCP proxy that stops forwarding: a TimeoutError within about
 * interval × count, never a hang.
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED, AUTH_SUCCESSFUL, connect, listen, PrivateKey, TimeoutError } from '../../ts/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PASSWORD = 'Tr0ub4dor&3-zq8Kx!vP@w';

const CHILD = `
import { listen, connect, AUTH_SUCCESSFUL, AUTH_FAILED, PrivateKey } from './ts/index.ts';
const PASSWORD = ${JSON.stringify(PASSWORD)};
const server = await listen({
  host: '127.0.0.1', port: 0, hostKeys: [PrivateKey.generate('ed25519')],
  server: { checkAuthPassword: (u, p) => (u === 'alice' && p === PASSWORD ? AUTH_SUCCESSFUL : AUTH_FAILED) },
});
const conn = await connect({
  host: '127.0.0.1', port: server.address().port, username: 'alice', password: PASSWORD,
  knownHosts: null, agent: false, lookForKeys: false, clientKeys: null, config: false, hexdump: true,
});
await conn.transport.renegotiateKeys();
console.log(JSON.stringify({ negotiated: conn.negotiated, authMethods: conn.authMethods }));
conn.close();
await conn.closed;
await server.close();
`;

/** The password whole and in pieces: text, hex, base64; every 6-byte window as text and as spaced hexdump bytes. */
function secretPieces(): string[] {
  const pw = Buffer.from(PASSWORD);
  const out = [PASSWORD, pw.toString('hex'), pw.toString('base64')];
  for (let i = 0; i + 6 <= pw.length; i++) {
    const w = pw.subarray(i, i + 6);
    out.push(w.toString('latin1'), [...w].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return out;
}

function runChild(): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD],
      { cwd: ROOT, timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_DEBUG: 'sshwire', SSHWIRE_BACKEND: '' } },
      (err, stdout, stderr) => (err ? reject(new Error(`child failed: ${err.message}\n${stderr.slice(-3000)}`)) : resolve({ stdout, stderr })),
    );
  });
}

describe('NODE_DEBUG=sshwire', () => {
  it('a password login shows versions, both lists, the negotiation, a rekey and the disconnect reason, and never the password', async () => {
    const { stdout, stderr } = await runChild();
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.authMethods).toEqual(['password']);
    const log = stderr;
    // util.debuglog's own prefix, from both the client and the server transport.
    expect(log).toMatch(/^SSHWIRE \d+: /m);
    expect(log).toMatch(/local version: SSH-2\.0-sshwire/);
    expect(log).toMatch(/remote version: SSH-2\.0-sshwire/);
    expect(log).toMatch(/local kex: mlkem768x25519-sha256,/);
    expect(log).toMatch(/peer kex: mlkem768x25519-sha256,/);
    expect(log).toMatch(/local ciphers: chacha20-poly1305@openssh\.com,/);
    expect(log).toMatch(/peer ciphers: /);
    expect(log).toMatch(/local MACs: /);
    expect(log).toMatch(/negotiated: kex mlkem768x25519-sha256, host key ssh-ed25519, cipher chacha20-poly1305@openssh\.com .*strict kex on/);
    expect(log).toMatch(/key re-exchange complete/);
    expect(log).toMatch(/disconnect(ing|ed): reason 11/);
    // hexdump is on: packets are dumped, but the user-auth request (which carries the password) is withheld.
    expect(log).toMatch(/send packet seq \d+ type 5 \(/);
    expect(log).toMatch(/send packet seq \d+ type 50 \(\d+ bytes\) \[payload withheld/);
    expect(result.negotiated.kex).toBe('mlkem768x25519-sha256');
    expect(result.negotiated.strictKex).toBe(true);

    // The secret, in every form it could leak in: text, hex, base64, and any 6-byte piece of it
    // as text or as hexdump bytes (a dump splits it across lines).
    expect(secretPieces().filter((needle) => log.includes(needle))).toEqual([]);
    // No key material: nothing that looks like a dumped key or IV (long unbroken hex).
    expect(log).not.toMatch(/[0-9a-f]{32,}/i);
  }, 90_000);
});

describe('conn.negotiated and keepalive through the public API', () => {
  /** A TCP proxy to `port` that can stop forwarding (the sockets stay open: a dead peer, not a closed one). */
  async function stallingProxy(port: number) {
    let forwarding = true;
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect(port, '127.0.0.1');
      sockets.push(inbound, outbound);
      for (const s of [inbound, outbound]) s.on('error', () => {});
      inbound.on('data', (d) => forwarding && outbound.write(d));
      outbound.on('data', (d) => forwarding && inbound.write(d));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    return {
      port: (proxy.address() as net.AddressInfo).port,
      stop: () => void (forwarding = false),
      close: () => {
        for (const s of sockets) s.destroy();
        proxy.close();
      },
    };
  }

  it('a peer that goes silent is a TimeoutError within about keepaliveInterval × keepaliveCountMax', async () => {
    const server = await listen({
      host: '127.0.0.1',
      port: 0,
      hostKeys: [PrivateKey.generate('ed25519')],
      server: { checkAuthPassword: (_u, p) => (p === PASSWORD ? AUTH_SUCCESSFUL : AUTH_FAILED) },
    });
    const proxy = await stallingProxy(server.address().port);
    const interval = 150;
    const count = 3;
    try {
      const conn = await connect({
        host: '127.0.0.1',
        port: proxy.port,
        username: 'bob',
        password: PASSWORD,
        knownHosts: null,
        agent: false,
        lookForKeys: false,
        clientKeys: null,
        config: false,
        keepaliveInterval: interval,
        keepaliveCountMax: count,
        algorithms: { cipher: ['aes256-gcm@openssh.com'] },
      });
      // conn.negotiated: what is in use, and whether strict kex is on.
      expect(conn.negotiated).toMatchObject({ kex: 'mlkem768x25519-sha256', hostKey: 'ssh-ed25519', cipherCS: 'aes256-gcm@openssh.com', cipherSC: 'aes256-gcm@openssh.com', compressionCS: 'none', compressionSC: 'none', strictKex: true });
      expect(typeof conn.negotiated!.macCS).toBe('string');
      // Answered keepalives keep it alive well past interval × count.
      await new Promise((r) => setTimeout(r, interval * (count + 2)));
      expect(conn.isClosed).toBe(false);
      proxy.stop();
      const stoppedAt = Date.now();
      const err = await conn.closed;
      const elapsed = Date.now() - stoppedAt;
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err!.message).toMatch(/keepalive/);
      expect(elapsed).toBeGreaterThanOrEqual(interval * (count - 1));
      expect(elapsed).toBeLessThan(interval * (count + 1) + 1000);
    } finally {
      proxy.close();
      await server.close();
    }
  });
});
