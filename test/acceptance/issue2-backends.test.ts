/**
 * Issue 2 acceptance, part 2: backends chosen at load time. Each case runs
 * in a child process, because the choice is made once when the module
 * loads: SSHWIRE_BACKEND=js|wasm|native, and rust-core made unavailable
 * (SSHWIRE_WASM_PATH pointing nowhere). The child reports getBackendInfo(),
 * the KEXINIT our client really puts on the wire, and whether an ML-KEM
 * hybrid key exchange still completes. Then: many connections on one wasm
 * instance at once, one of them failing, the others undisturbed.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** What the child prints. */
interface Report {
  forced: string | null;
  wasm: { available: boolean; detail: string };
  primitives: Record<string, { backend: string; reason: string } | undefined>;
  offeredKex: string[];
  offeredCiphers: string[];
  kemBackend: Record<string, string | null>;
  mlkemHandshake: string;
  sntrupForced: string;
}

const CHILD = `
import * as net from 'node:net';
import { getBackendInfo } from './ts/index.ts';
import { createKem } from './ts/crypto/index.ts';
import { Transport } from './ts/transport/index.ts';
import { decodeKexInit } from './ts/transport/kexinit.ts';
import { PlainPacketReader } from './test/helpers/raw.ts';
import { transportPair, closeBoth } from './test/helpers/pair.ts';

// The KEXINIT our client sends by default, read off the wire by a raw peer.
const kexinit = await new Promise((resolve, reject) => {
  const srv = net.createServer((s) => {
    const r = new PlainPacketReader();
    s.on('data', (c) => { r.push(c); if (r.packets.length) { resolve(decodeKexInit(r.packets[0])); s.destroy(); srv.close(); } });
    s.write('SSH-2.0-probe\\r\\n');
  });
  srv.listen(0, '127.0.0.1', () => {
    const t = new Transport(net.connect(srv.address().port, '127.0.0.1'), { role: 'client', verifyHostKey: () => true });
    t.closed.then(() => {});
  });
  setTimeout(() => reject(new Error('no KEXINIT')), 10000).unref();
});

async function handshake(kex) {
  const { client, server } = await transportPair({ client: { algorithms: { kex: [kex] } }, server: { algorithms: { kex: [kex] } } });
  try {
    await Promise.all([client.ready, server.ready]);
    return client.negotiated.kex;
  } catch (e) {
    return e.name + ': ' + e.message;
  } finally {
    await closeBoth(client, server);
  }
}

let sntrupForced;
try {
  sntrupForced = await handshake('sntrup761x25519-sha512@openssh.com');
} catch (e) {
  sntrupForced = e.name + ': ' + e.message;
}
const info = getBackendInfo();
const kemBackend = {};
for (const k of ['mlkem768', 'sntrup761']) kemBackend[k] = createKem(k)?.backend ?? null;
console.log(JSON.stringify({
  forced: info.forced,
  wasm: info.available.wasm,
  primitives: info.primitives,
  offeredKex: kexinit.kex,
  offeredCiphers: kexinit.cipherCS,
  kemBackend,
  mlkemHandshake: await handshake('mlkem768x25519-sha256'),
  sntrupForced,
}));
// A Transport whose constructor threw (nothing to offer) leaves its sockets with the caller: do not wait for them.
process.exit(0);
`;

function runChild(env: Record<string, string>): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD],
      { cwd: ROOT, timeout: 60_000, env: { ...process.env, SSHWIRE_BACKEND: '', SSHWIRE_WASM_PATH: '', NODE_DEBUG: '', ...env } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`child failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!));
      },
    );
  });
}

const CHACHA = 'chacha20-poly1305@openssh.com';
const SNTRUP = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'];
const MLKEM = 'mlkem768x25519-sha256';

describe('issue 2.5: SSHWIRE_BACKEND and getBackendInfo() in a fresh process', () => {
  const reports: Record<string, Report> = {};
  beforeAll(async () => {
    const cases: [string, Record<string, string>][] = [
      ['default', {}],
      ['js', { SSHWIRE_BACKEND: 'js' }],
      ['wasm', { SSHWIRE_BACKEND: 'wasm' }],
      ['native', { SSHWIRE_BACKEND: 'native' }],
      ['nowasm', { SSHWIRE_WASM_PATH: '/nonexistent/sshwire_core.wasm' }],
      ['nowasm-forced-wasm', { SSHWIRE_WASM_PATH: '/nonexistent/sshwire_core.wasm', SSHWIRE_BACKEND: 'wasm' }],
    ];
    // Two at a time: the machine has two cores.
    for (let i = 0; i < cases.length; i += 2) {
      const batch = cases.slice(i, i + 2);
      const out = await Promise.all(batch.map(([, env]) => runChild(env)));
      batch.forEach(([name], j) => (reports[name] = out[j]!));
    }
  }, 120_000);

  it('default: nothing forced, every primitive has a backend and a reason; wasm serves the KEMs; everything of the issue is offered', () => {
    const r = reports.default!;
    expect(r.forced).toBeNull();
    expect(r.wasm.available).toBe(true);
    for (const [name, choice] of Object.entries(r.primitives)) {
      expect(['wasm', 'native', 'js'], name).toContain(choice!.backend);
      expect(choice!.reason.length, name).toBeGreaterThan(10);
    }
    expect(r.primitives.mlkem768!.backend).toBe('wasm');
    expect(r.primitives.sntrup761!.backend).toBe('wasm');
    expect(r.kemBackend).toEqual({ mlkem768: 'wasm', sntrup761: 'wasm' });
    expect(r.offeredKex.slice(0, 3)).toEqual([MLKEM, ...SNTRUP]);
    expect(r.mlkemHandshake).toBe(MLKEM);
    expect(r.sntrupForced).toBe('sntrup761x25519-sha512@openssh.com');
  });

  it('SSHWIRE_BACKEND=js: js serves everything it can (ML-KEM included) and says so; what it cannot serve falls back with a reason', () => {
    const r = reports.js!;
    expect(r.forced).toBe('js');
    for (const name of [CHACHA, 'aes128-gcm@openssh.com', 'aes256-ctr', 'hmac-sha2-256-etm@openssh.com', 'sha256', 'x25519', 'nistp256', 'ssh-ed25519', 'rsa-sha2-512', 'mlkem768']) {
      expect(r.primitives[name]!.backend, name).toBe('js');
      expect(r.primitives[name]!.reason, name).toMatch(/^SSHWIRE_BACKEND=js/);
    }
    expect(r.kemBackend.mlkem768).toBe('js');
    // sntrup761 has no JS implementation: "forces one where it can serve", so wasm keeps serving it, and says why.
    expect(r.primitives.sntrup761!.backend).toBe('wasm');
    expect(r.primitives.sntrup761!.reason).toMatch(/SSHWIRE_BACKEND=js cannot serve sntrup761/);
    expect(r.mlkemHandshake).toBe(MLKEM);
  });

  it('SSHWIRE_BACKEND=wasm: rust-core serves chacha20-poly1305 and the KEMs; AES falls back to native with a reason', () => {
    const r = reports.wasm!;
    expect(r.forced).toBe('wasm');
    expect(r.primitives[CHACHA]!.backend).toBe('wasm');
    expect(r.primitives.mlkem768!.backend).toBe('wasm');
    expect(r.primitives['aes128-gcm@openssh.com']!.backend).toBe('native');
    expect(r.primitives['aes128-gcm@openssh.com']!.reason).toMatch(/SSHWIRE_BACKEND=wasm cannot serve aes128-gcm@openssh.com/);
    expect(r.offeredCiphers[0]).toBe(CHACHA);
  });

  it('SSHWIRE_BACKEND=native: node:crypto serves what it can; the KEMs fall back (Node 20 has none)', () => {
    const r = reports.native!;
    expect(r.forced).toBe('native');
    for (const name of ['aes128-gcm@openssh.com', 'aes128-ctr', 'hmac-sha2-512', 'x25519', 'nistp384', 'ssh-ed25519', 'sha512']) expect(r.primitives[name]!.backend, name).toBe('native');
    expect(r.primitives.mlkem768!.reason).toMatch(/SSHWIRE_BACKEND=native cannot serve mlkem768/);
  });

  it('wasm unavailable: reported with the reason; ML-KEM falls back to js, sntrup761 is not offered at all, chacha20-poly1305 still is', () => {
    const r = reports.nowasm!;
    expect(r.wasm.available).toBe(false);
    expect(r.wasm.detail).toMatch(/not found/);
    expect(r.primitives.mlkem768!.backend).toBe('js');
    expect(r.primitives.mlkem768!.reason).toMatch(/wasm unavailable/);
    expect(r.primitives.sntrup761).toBeUndefined();
    expect(r.kemBackend).toEqual({ mlkem768: 'js', sntrup761: null });
    // The KEXINIT on the wire: sntrup761 gone, the rest in order.
    expect(r.offeredKex[0]).toBe(MLKEM);
    for (const n of SNTRUP) expect(r.offeredKex).not.toContain(n);
    expect(r.offeredKex).toContain('curve25519-sha256');
    expect(r.offeredCiphers[0]).toBe(CHACHA);
    expect(r.primitives[CHACHA]!.backend).not.toBe('wasm');
    expect(r.mlkemHandshake).toBe(MLKEM);
    // Asking for sntrup761 alone leaves nothing to offer: a typed error naming the category, not a broken exchange.
    expect(r.sntrupForced).toMatch(/^NegotiationError: .*kex/);
  });

  it('wasm unavailable and SSHWIRE_BACKEND=wasm: every primitive falls back and says why', () => {
    const r = reports['nowasm-forced-wasm']!;
    expect(r.forced).toBe('wasm');
    expect(r.primitives[CHACHA]!.backend).not.toBe('wasm');
    expect(r.primitives[CHACHA]!.reason).toMatch(/SSHWIRE_BACKEND=wasm cannot serve/);
    expect(Object.values(r.primitives).every((c) => c!.backend !== 'wasm')).toBe(true);
    expect(r.mlkemHandshake).toBe(MLKEM);
  });
});

describe('issue 2.8: many connections on one wasm instance, one failing', () => {
  type PairMod = typeof import('../helpers/pair.js');
  let pair: PairMod;
  let errors: typeof import('../../ts/errors.js');
  let info: import('../../ts/crypto/types.js').BackendInfo;

  beforeAll(async () => {
    // A fresh module graph with the wasm backend forced for chacha20-poly1305.
    vi.resetModules();
    vi.stubEnv('SSHWIRE_BACKEND', 'wasm');
    pair = await import('../helpers/pair.js');
    errors = await import('../../ts/errors.js');
    info = (await import('../../ts/crypto/index.js')).getBackendInfo();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  /** Streams `count` numbered, content-checked messages; resolves with how many arrived intact and in order. */
  function stream(from: import('../../ts/transport/index.js').Transport, to: import('../../ts/transport/index.js').Transport, count: number, size: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let next = 0;
      to.onMessage((type, p) => {
        if (type !== 200) return;
        const n = p.readUInt32BE(1);
        if (n !== next || p.length !== size) return reject(new Error(`message ${n} (${p.length} bytes) arrived, expected ${next}`));
        for (let i = 5; i < size; i += 101) if (p[i] !== ((n * 31 + i) & 0xff)) return reject(new Error(`message ${n} corrupted at ${i}`));
        if (++next === count) resolve(next);
      });
      to.closed.then((e) => next < count && reject(e ?? new Error('closed early')));
      let sent = 0;
      const pump = () => {
        while (sent < count) {
          const m = Buffer.alloc(size);
          m[0] = 200;
          m.writeUInt32BE(sent, 1);
          for (let i = 5; i < size; i += 101) m[i] = (sent * 31 + i) & 0xff;
          from.send(m);
          sent++;
          if (from.needsDrain) return void from.once('drain', pump);
        }
      };
      pump();
    });
  }

  it('three transports seal and open on the shared wasm core at once; a tampered packet kills only its own connection', async () => {
    expect(info.primitives[CHACHA]!.backend).toBe('wasm');
    const algorithms = { cipher: [CHACHA] };
    const taps = [0, 1, 2].map(() => ({ fn: (c: Buffer) => c }));
    const pairs = await Promise.all(taps.map((tap) => pair.tappedPair(tap, { client: { algorithms }, server: { algorithms } })));
    await Promise.all(pairs.flatMap((p) => [p.client.ready, p.server.ready]));
    for (const p of pairs) expect(p.client.negotiated!.cipherCS).toBe(CHACHA);
    const [victim, ...healthy] = pairs as [(typeof pairs)[0], ...typeof pairs];

    // The healthy ones stream both ways while the victim's bytes get corrupted mid-stream.
    const flows = healthy.flatMap((p) => [stream(p.client, p.server, 400, 8 * 1024 + 7), stream(p.server, p.client, 300, 16 * 1024)]);
    let chunks = 0;
    taps[0]!.fn = (c) => {
      if (++chunks !== 3) return c;
      const d = Buffer.from(c);
      d[d.length >> 1]! ^= 0x20;
      return d;
    };
    const victimFlow = stream(victim.client, victim.server, 400, 8 * 1024 + 7).catch((e: Error) => e);
    const victimErr = await victim.server.closed;
    expect(victimErr).toBeInstanceOf(errors.IntegrityError);
    expect(await victimFlow).toBeInstanceOf(Error);
    expect(await Promise.all(flows)).toEqual([400, 300, 400, 300]);

    // After the failure: the survivors rekey (new wasm contexts) and keep going, byte-exact.
    for (const p of healthy) await p.client.renegotiateKeys();
    expect(await Promise.all(healthy.map((p) => stream(p.client, p.server, 50, 32 * 1024)))).toEqual([50, 50]);
    // And a brand-new connection on the same instance works too.
    const fresh = await pair.transportPair({ client: { algorithms }, server: { algorithms } });
    await Promise.all([fresh.client.ready, fresh.server.ready]);
    expect(await stream(fresh.server, fresh.client, 20, 1000)).toBe(20);
    await pair.closeBoth(fresh.client, fresh.server, ...healthy.flatMap((p) => [p.client, p.server]));
    await victim.client.closed;
  });
});
