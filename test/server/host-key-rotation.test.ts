/**
 * Host key rotation with our server: it announces its host keys after
 * authentication (hostkeys-00@openssh.com) and proves the ones a client
 * asks about (hostkeys-prove-00@openssh.com). Clients: OpenSSH `ssh -o
 * UpdateHostKeys=yes` and ours. Then a hostile server (ours, with its
 * messages replaced) whose announcements or proofs are wrong: our client
 * changes nothing, calls no handler and keeps the connection.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, PrivateKey, PublicKey, type ConnectOptions, type ServerHostKeysUpdate, type SSHServerConnection } from '../../ts/index.js';
import type { GlobalRequestResult } from '../../ts/connection/index.js';
import { encodeStringList, HostKeys, HOSTKEYS_NOTICE, HOSTKEYS_PROVE, hostKeyProofData } from '../../ts/keys/index.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { makeFixture, ssh, startServer, testHostKey, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let ecdsa: PrivateKey;
let rsa: PrivateKey;
const servers: Running[] = [];

beforeAll(() => {
  fx = makeFixture('sshwire-server-hkrot-');
  ecdsa = PrivateKey.generate('ecdsa-sha2-nistp256');
  rsa = PrivateKey.generate('ssh-rsa', 2048);
});

afterAll(async () => {
  for (const r of servers) await r.server.close();
  fx?.cleanup();
});

async function server(opts: Parameters<typeof startServer>[1] = {}): Promise<Running> {
  const r = await startServer(fx, { hostKeys: [testHostKey(), ecdsa, rsa], authorizedClientKeys: fx.authorizedKeys, spawnCommands: { cwd: fx.root }, ...opts });
  servers.push(r);
  return r;
}

/** The keys a known_hosts file records for the server, by type. */
function recorded(r: Running): Map<string, PublicKey> {
  return new HostKeys(r.knownHosts).lookup(`[127.0.0.1]:${r.port}`) ?? new Map();
}

function line(r: Running, k: { keyType: string; publicKeyBlob: Uint8Array }): string {
  return `[127.0.0.1]:${r.port} ${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')}`;
}

describe('OpenSSH ssh -o UpdateHostKeys=yes against our server', () => {
  it('learns our ecdsa and rsa host keys next to the pinned ed25519 one, and can then connect with each', async () => {
    const r = await server();
    const res = await ssh(fx, r, ['true'], { extra: ['-o', 'UpdateHostKeys=yes'] });
    expect(res.code, res.stderr).toBe(0);
    const keys = recorded(r);
    expect([...keys.keys()].sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    expect(keys.get('ecdsa-sha2-nistp256')!.equals(ecdsa)).toBe(true);
    expect(keys.get('ssh-rsa')!.equals(rsa)).toBe(true);
    for (const alg of ['ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256']) {
      const again = await ssh(fx, r, ['true'], { extra: ['-o', `HostKeyAlgorithms=${alg}`] });
      expect(again.code, again.stderr).toBe(0);
    }
  });

  it('learns nothing from a server with sendServerHostKeys: false', async () => {
    const r = await server({ sendServerHostKeys: false });
    const before = readFileSync(r.knownHosts, 'utf8');
    const res = await ssh(fx, r, ['true'], { extra: ['-o', 'UpdateHostKeys=yes'] });
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(r.knownHosts, 'utf8')).toBe(before);
  });
});

/** Our client to `r`, with its known_hosts; resolves the handler's update (or rejects after 10 s). */
async function learn(r: Running, extra: Partial<ConnectOptions> = {}): Promise<ServerHostKeysUpdate> {
  let told!: (u: ServerHostKeysUpdate) => void;
  const got = new Promise<ServerHostKeysUpdate>((resolve) => (told = resolve));
  const conn = await connect(ownServerLogin(r.port, { knownHosts: r.knownHosts, clientKeys: [fx.key], updateHostKeys: true, serverHostKeysHandler: (u) => told(u), ...extra }));
  let timer!: NodeJS.Timeout;
  try {
    return await Promise.race([got, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no host key update within 10 s')), 10_000)))]);
  } finally {
    clearTimeout(timer);
    conn.close();
    await conn.closed;
  }
}

describe('our client against our server', () => {
  it('learns and records the ecdsa and rsa keys', async () => {
    const r = await server();
    const u = await learn(r);
    expect(u.added.map((k) => k.keyType).sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-rsa']);
    expect(u.recorded).toBe(true);
    expect([...recorded(r).keys()].sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
  });

  it('a client offering only rsa-sha2-256 for RSA gets its proof made with rsa-sha2-256', async () => {
    const r = await server();
    const u = await learn(r, { algorithms: { serverHostKey: ['ssh-ed25519', 'rsa-sha2-256'] } });
    expect(u.added.map((k) => k.keyType)).toEqual(['ssh-rsa']);
    expect(recorded(r).get('ssh-rsa')!.equals(rsa)).toBe(true);
  });

  it('a key a @revoked line names is reported as revoked and never added', async () => {
    const r = await server();
    writeFileSync(r.knownHosts, readFileSync(r.knownHosts, 'utf8') + `@revoked ${line(r, ecdsa)}\n`);
    const before = readFileSync(r.knownHosts, 'utf8');
    const u = await learn(r, { algorithms: { serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256'] } });
    expect(u.revoked.map((k) => k.keyType)).toEqual(['ecdsa-sha2-nistp256']);
    expect(u.added).toEqual([]);
    expect(readFileSync(r.knownHosts, 'utf8')).toBe(before);
  });

  it('a handler that throws is logged; the keys are recorded and the connection carries on', async () => {
    const r = await server();
    let logged!: () => void;
    const said = new Promise<void>((resolve) => (logged = resolve));
    const conn = await connect(ownServerLogin(r.port, {
      knownHosts: r.knownHosts, clientKeys: [fx.key], updateHostKeys: true,
      serverHostKeysHandler: () => {
        throw new Error('handler broke');
      },
      debug: (m) => m.includes('serverHostKeysHandler failed: handler broke') && logged(),
    }));
    try {
      let timer!: NodeJS.Timeout;
      await Promise.race([said, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('not logged within 10 s')), 10_000)))]).finally(() => clearTimeout(timer));
      expect((await conn.run('echo alive')).stdout).toBe('alive\n');
      expect([...recorded(r).keys()].sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    } finally {
      conn.close();
      await conn.closed;
    }
  });

  it('the server refuses to prove a key it does not hold, and a malformed request; the connection carries on', async () => {
    const r = await server();
    const conn = await connect(ownServerLogin(r.port, { knownHosts: r.knownHosts, clientKeys: [fx.key] }));
    try {
      const foreign = PrivateKey.generate('ssh-ed25519');
      expect((await conn.connection.globalRequest(HOSTKEYS_PROVE, encodeStringList([foreign.publicKeyBlob]))).ok).toBe(false);
      expect((await conn.connection.globalRequest(HOSTKEYS_PROVE, new Uint8Array([0, 0, 1]))).ok).toBe(false);
      expect((await conn.connection.globalRequest(HOSTKEYS_PROVE, new Uint8Array(0))).ok).toBe(false);
      const mine = await conn.connection.globalRequest(HOSTKEYS_PROVE, encodeStringList([ecdsa.publicKeyBlob]));
      expect(mine.ok).toBe(true);
      const sig = mine.data.subarray(4);
      expect(PublicKey.fromBlob(ecdsa.publicKeyBlob).verifySshSignature(hostKeyProofData(conn.transport.sessionId!, ecdsa.publicKeyBlob), sig)).toBe(true);
      expect((await conn.run('echo alive')).stdout).toBe('alive\n');
    } finally {
      conn.close();
      await conn.closed;
    }
  });
});

/**
 * A server that announces `notice(sessionId)` itself and answers proof
 * requests with `prove` (the built-in answer when absent).
 */
async function hostileServer(notice: (sessionId: Uint8Array) => Uint8Array[], prove?: (data: Uint8Array, sessionId: Uint8Array) => GlobalRequestResult): Promise<Running> {
  const r = await server({ sendServerHostKeys: false });
  r.server.on('connection', (sc: SSHServerConnection) => {
    sc.on('authenticated', () => {
      const c = sc.connection!;
      const sid = sc.transport.sessionId!;
      if (prove) c.onGlobalRequest((name, data) => (name === HOSTKEYS_PROVE ? prove(data, sid) : false));
      for (const payload of notice(sid)) void c.globalRequest(HOSTKEYS_NOTICE, payload, { wantReply: false });
    });
  });
  return r;
}

/**
 * Connects our client with updateHostKeys and a handler, waits for the debug
 * line that says why nothing changed, and checks that nothing did: the
 * handler was not called, known_hosts is as it was, the connection works.
 */
async function expectNoUpdate(r: Running, why: RegExp): Promise<void> {
  const before = readFileSync(r.knownHosts, 'utf8');
  const lines: string[] = [];
  let said!: () => void;
  const saidIt = new Promise<void>((resolve) => (said = resolve));
  let told: ServerHostKeysUpdate | null = null;
  const conn = await connect(ownServerLogin(r.port, {
    knownHosts: r.knownHosts, clientKeys: [fx.key], updateHostKeys: true,
    serverHostKeysHandler: (u) => {
      told = u;
    },
    debug: (m) => {
      lines.push(m);
      if (why.test(m)) said();
    },
  }));
  try {
    let timer!: NodeJS.Timeout;
    await Promise.race([saidIt, new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`no debug line matching ${why}; got:\n${lines.join('\n')}`)), 10_000)))]);
    clearTimeout(timer);
    expect((await conn.run('echo alive')).stdout).toBe('alive\n');
    expect(told).toBeNull();
    expect(readFileSync(r.knownHosts, 'utf8')).toBe(before);
  } finally {
    conn.close();
    await conn.closed;
  }
}

const kexKey = (): Uint8Array => testHostKey().publicKeyBlob;

describe('a hostile server changes nothing', () => {
  it('a proof over another session identifier does not verify', async () => {
    const r = await hostileServer(
      () => [encodeStringList([kexKey(), ecdsa.publicKeyBlob])],
      () => encodeStringList([ecdsa.signSshData(hostKeyProofData(new Uint8Array(32), ecdsa.publicKeyBlob))]),
    );
    await expectNoUpdate(r, /not updated: the server's proof for its ecdsa-sha2-nistp256 host key .* does not verify/);
  });

  it('a key announced without its private half: the proof made with another key does not verify', async () => {
    const impostor = PrivateKey.generate('ecdsa-sha2-nistp256');
    const r = await hostileServer(
      () => [encodeStringList([kexKey(), impostor.publicKeyBlob])],
      (_data, sid) => encodeStringList([ecdsa.signSshData(hostKeyProofData(sid, impostor.publicKeyBlob))]),
    );
    await expectNoUpdate(r, /proof for its ecdsa-sha2-nistp256 host key .* does not verify/);
  });

  it('a SHA-1 ssh-rsa proof is refused from a server the client offered rsa-sha2-* to', async () => {
    const r = await hostileServer(
      () => [encodeStringList([kexKey(), rsa.publicKeyBlob])],
      (_data, sid) => encodeStringList([rsa.signSshData(hostKeyProofData(sid, rsa.publicKeyBlob), 'ssh-rsa')]),
    );
    await expectNoUpdate(r, /proof for its ssh-rsa host key .* does not verify/);
  });

  it('one proof for two keys', async () => {
    const r = await hostileServer(
      () => [encodeStringList([kexKey(), ecdsa.publicKeyBlob, rsa.publicKeyBlob])],
      (_data, sid) => encodeStringList([ecdsa.signSshData(hostKeyProofData(sid, ecdsa.publicKeyBlob))]),
    );
    await expectNoUpdate(r, /the server sent 1 proofs for 2 host keys/);
  });

  it('a refused proof request', async () => {
    const r = await hostileServer(() => [encodeStringList([kexKey(), ecdsa.publicKeyBlob])], () => false);
    await expectNoUpdate(r, /the server refused to prove it holds its new host key/);
  });

  it('an announcement without the key the connection was made with', async () => {
    const r = await hostileServer(() => [encodeStringList([ecdsa.publicKeyBlob, rsa.publicKeyBlob])]);
    await expectNoUpdate(r, /the server did not announce the host key it used/);
  });

  it('the same key announced twice', async () => {
    const r = await hostileServer(() => [encodeStringList([kexKey(), ecdsa.publicKeyBlob, ecdsa.publicKeyBlob])]);
    await expectNoUpdate(r, /the server announced the same host key twice/);
  });

  it('a truncated list, and a list of more than 64 keys', async () => {
    const good = encodeStringList([kexKey(), ecdsa.publicKeyBlob]);
    await expectNoUpdate(await hostileServer(() => [good.subarray(0, good.length - 1)]), /not updated: hostkeys-00@openssh.com: truncated/);
    const many = Array.from({ length: 65 }, () => PrivateKey.generate('ssh-ed25519').publicKeyBlob);
    await expectNoUpdate(await hostileServer(() => [encodeStringList([kexKey(), ...many])]), /not updated: hostkeys-00@openssh.com: more than 64 entries/);
  });
});

describe('what the client skips', () => {
  it('an undecodable key among good ones is skipped; the rest are learned', async () => {
    const r = await hostileServer(() => [encodeStringList([kexKey(), new TextEncoder().encode('not a key'), ecdsa.publicKeyBlob])]);
    const u = await learn(r);
    expect(u.added.map((k) => k.keyType)).toEqual(['ecdsa-sha2-nistp256']);
    expect([...recorded(r).keys()].sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
  });

  it('a second announcement is ignored', async () => {
    const r = await hostileServer(() => [encodeStringList([kexKey(), ecdsa.publicKeyBlob]), encodeStringList([kexKey(), rsa.publicKeyBlob])]);
    const lines: string[] = [];
    const u = await learn(r, { debug: (m) => lines.push(m) });
    expect(u.added.map((k) => k.keyType)).toEqual(['ecdsa-sha2-nistp256']);
    // The connection is closed by now; the second announcement arrived before the first proof's reply.
    expect(lines.join('\n')).toContain(`ignoring another ${HOSTKEYS_NOTICE}`);
    expect(recorded(r).has('ssh-rsa')).toBe(false);
  });
});
