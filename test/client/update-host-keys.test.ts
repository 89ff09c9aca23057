/**
 * Host key rotation against a real sshd (OpenSSH 9.2, five host keys): the
 * client learns the keys it announces after authentication, proved first,
 * into the known_hosts that vouched for the connection (updateHostKeys,
 * ssh_config UpdateHostKeys), drops the host's stale lines, keeps hashing
 * and every other line, and tells serverHostKeysHandler. Also: nothing is
 * written where the connection's key is not recorded, and AutoAddPolicy
 * with two known_hosts files writes only the first file's own lines.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoAddPolicy, connect, SSHClient, type ConnectOptions, type ServerHostKeysUpdate } from '../../ts/client.js';
import { HostKeys, PrivateKey, PublicKey } from '../../ts/keys/index.js';
import { useSshdTrusting } from '../helpers/sshdFixture.js';
import { makeTempDir } from '../keys/helpers.js';

const fx = useSshdTrusting('sshwire-update-hk-');
let tmp: { dir: string; cleanup: () => void };
let n = 0;

beforeAll(() => {
  tmp = makeTempDir('sshwire-update-hk-files-');
});

afterAll(() => tmp?.cleanup());

const SERVER_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

function fresh(name: string): string {
  return join(tmp.dir, `${name}-${++n}`);
}

function knownName(): string {
  return `[127.0.0.1]:${fx.sshd.port}`;
}

/** The server's real key of `type` as a known_hosts line. */
function realLine(type: string, name = knownName()): string {
  const [t, b64] = fx.sshd.hostPublicKeys[type]!.split(/\s+/);
  return `${name} ${t} ${b64}`;
}

function realKey(type: string): PublicKey {
  return PublicKey.fromString(fx.sshd.hostPublicKeys[type]!);
}

/** A key the server does not have, as a known_hosts line. */
function staleLine(type: 'ed25519' | 'ecdsa', name = knownName()): string {
  const k = PrivateKey.generate(type === 'ecdsa' ? 'ecdsa-sha2-nistp256' : 'ssh-ed25519');
  return `${name} ${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')}`;
}

/** Options for the sshd; with ed25519 on record (first in the default order too), key exchange uses it and the other four types are the ones to learn. */
function opts(extra: Partial<ConnectOptions>): ConnectOptions {
  return { host: '127.0.0.1', port: fx.sshd.port, username: 'root', privateKey: fx.key, agent: false, lookForKeys: false, config: false, ...extra };
}

/** Connects, waits for the handler's one call, closes; returns what it was told. */
async function update(o: Partial<ConnectOptions>): Promise<ServerHostKeysUpdate> {
  let told!: (u: ServerHostKeysUpdate) => void;
  const got = new Promise<ServerHostKeysUpdate>((resolve) => (told = resolve));
  const conn = await connect(opts({ ...o, serverHostKeysHandler: (u) => told(u) }));
  try {
    return await within(got, 10_000, 'the server host keys handler');
  } finally {
    conn.close();
    await conn.closed;
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} was not called within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

const types = (keys: PublicKey[]): string[] => keys.map((k) => k.keyType).sort();

describe('connect({ updateHostKeys })', () => {
  it('learns the four keys it did not know, drops the stale line for the host, and keeps every other line as it was', async () => {
    const file = fresh('known_hosts');
    const stale = staleLine('ecdsa');
    const other = realLine('ssh-rsa', 'otherhost');
    const multi = `${knownName()},127.0.0.9 ${staleLine('ecdsa').split(' ').slice(1).join(' ')}`;
    const before = ['# my hosts', realLine('ssh-ed25519') + ' kept comment', stale, other, multi];
    writeFileSync(file, before.join('\n') + '\n');

    const u = await update({ knownHosts: file, updateHostKeys: true });
    expect(u.host).toBe(knownName());
    expect(types(u.added)).toEqual(SERVER_TYPES.filter((t) => t !== 'ssh-ed25519').sort());
    for (const k of u.added) expect(k.equals(realKey(k.keyType))).toBe(true);
    expect(types(u.retained)).toEqual(['ssh-ed25519']);
    // Both stale ecdsa keys are reported; only the line naming this host alone goes.
    expect(u.removed).toHaveLength(2);
    expect(u.revoked).toEqual([]);
    expect(u.recorded).toBe(true);

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.slice(0, 4)).toEqual(['# my hosts', before[1], other, multi]);
    expect(lines).not.toContain(stale);
    expect(lines.slice(4).sort()).toEqual(SERVER_TYPES.filter((t) => t !== 'ssh-ed25519').map((t) => realLine(t)).sort());
    // ssh-keygen reads the result and finds every key under the host's name.
    const found = execFileSync('ssh-keygen', ['-F', knownName(), '-f', file], { encoding: 'utf8' });
    for (const t of SERVER_TYPES) expect(found).toContain(fx.sshd.hostPublicKeys[t]!.split(' ')[1]);
  });

  it('each learned key then passes host key checking on its own (default RejectPolicy)', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ssh-ed25519') + '\n');
    await update({ knownHosts: file, updateHostKeys: true });
    for (const alg of ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512']) {
      const conn = await connect(opts({ knownHosts: file, algorithms: { serverHostKey: [alg] } }));
      expect(conn.transport.negotiated?.hostKey).toBe(alg);
      conn.close();
      await conn.closed;
    }
  });

  it('learns only keys its host key algorithms can use; RSA proofs come with the SHA-2 algorithm it offered', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ssh-ed25519') + '\n');
    const lines: string[] = [];
    const u = await update({ knownHosts: file, updateHostKeys: true, algorithms: { serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp384', 'rsa-sha2-256'] }, debug: (m) => lines.push(m) });
    expect(types(u.added)).toEqual(['ecdsa-sha2-nistp384', 'ssh-rsa']);
    expect(lines.join('\n')).toContain('skipping the announced ecdsa-sha2-nistp521 host key: not in our host key algorithms');
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').sort()).toEqual([realLine('ssh-ed25519'), realLine('ecdsa-sha2-nistp384'), realLine('ssh-rsa')].sort());
  });

  it('a second connection has nothing to add: the handler is told every key is retained, and the file is not rewritten', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, SERVER_TYPES.map((t) => realLine(t)).join('\n') + '\n');
    const before = readFileSync(file, 'utf8');
    const u = await update({ knownHosts: file, updateHostKeys: true });
    expect(u.added).toEqual([]);
    expect(u.removed).toEqual([]);
    expect(types(u.retained)).toEqual([...SERVER_TYPES].sort());
    expect(u.recorded).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('hashed names stay hashed: new lines for a host recorded hashed are hashed too', async () => {
    const file = fresh('known_hosts');
    const hk = new HostKeys();
    hk.add(knownName(), 'ssh-ed25519', realKey('ssh-ed25519'), { hash: true });
    hk.save(file);
    await update({ knownHosts: file, updateHostKeys: true });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.startsWith('|1|')).toBe(true);
    const found = execFileSync('ssh-keygen', ['-F', knownName(), '-f', file], { encoding: 'utf8' });
    for (const t of SERVER_TYPES) expect(found).toContain(fx.sshd.hostPublicKeys[t]!.split(' ')[1]);
  });

  it('without updateHostKeys the handler is told the same and nothing is written', async () => {
    const file = fresh('known_hosts');
    const content = [realLine('ssh-ed25519'), staleLine('ecdsa')].join('\n') + '\n';
    writeFileSync(file, content);
    const u = await update({ knownHosts: file });
    expect(u.added).toHaveLength(4);
    expect(u.removed).toHaveLength(1);
    expect(u.recorded).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it("ssh_config's UpdateHostKeys yes turns it on; an explicit false wins over it", async () => {
    const cfg = fresh('ssh_config');
    writeFileSync(cfg, 'Host *\n  UpdateHostKeys yes\n');
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ssh-ed25519') + '\n');
    expect((await update({ config: cfg, knownHosts: file, updateHostKeys: false })).recorded).toBe(false);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(1);
    expect((await update({ config: cfg, knownHosts: file })).recorded).toBe(true);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(5);
  });

  it('nothing is written to the first file when only the second one records the key the connection used', async () => {
    const first = fresh('known_hosts');
    const second = fresh('known_hosts2');
    writeFileSync(first, 'otherhost ' + realLine('ssh-rsa').split(' ').slice(1).join(' ') + '\n');
    writeFileSync(second, realLine('ssh-ed25519') + '\n');
    const before = [readFileSync(first, 'utf8'), readFileSync(second, 'utf8')];
    const lines: string[] = [];
    const u = await update({ knownHosts: [first, second], updateHostKeys: true, debug: (m) => lines.push(m) });
    expect(u.added).toHaveLength(4);
    expect(u.recorded).toBe(false);
    expect(lines.join('\n')).toContain('does not record the key this connection used');
    expect([readFileSync(first, 'utf8'), readFileSync(second, 'utf8')]).toEqual(before);
  });

  it('a HostKeys object given as knownHosts is updated in memory', async () => {
    const hk = new HostKeys();
    hk.add(knownName(), 'ssh-ed25519', realKey('ssh-ed25519'));
    const u = await update({ knownHosts: hk, updateHostKeys: true });
    expect(u.recorded).toBe(true);
    expect([...hk.lookup(knownName())!.keys()].sort()).toEqual([...SERVER_TYPES].sort());
  });
});

describe('AutoAddPolicy with two known_hosts files', () => {
  it("records the new key in the first file without copying the second file's lines into it", async () => {
    const first = fresh('known_hosts');
    const second = fresh('known_hosts2');
    writeFileSync(first, '');
    writeFileSync(second, 'otherhost ' + realLine('ssh-rsa').split(' ').slice(1).join(' ') + '\n');
    const conn = await connect(opts({ knownHosts: [first, second], hostKeyPolicy: new AutoAddPolicy() }));
    conn.close();
    await conn.closed;
    expect(readFileSync(first, 'utf8')).toBe(realLine('ssh-ed25519') + '\n');
  });
});

/** SSHClient.connect with updateHostKeys; resolves the handler's update, then closes. */
async function sshClientUpdate(client: SSHClient): Promise<ServerHostKeysUpdate> {
  let told!: (u: ServerHostKeysUpdate) => void;
  const got = new Promise<ServerHostKeysUpdate>((resolve) => (told = resolve));
  await client.connect('127.0.0.1', {
    port: fx.sshd.port, username: 'root', keyFilename: fx.key, allowAgent: false, lookForKeys: false,
    updateHostKeys: true, serverHostKeysHandler: (u) => told(u),
  });
  try {
    return await within(got, 10_000, 'the server host keys handler');
  } finally {
    client.close();
  }
}

describe('SSHClient.connect({ updateHostKeys })', () => {
  it('updates getHostKeys() and saves the file loadHostKeys read', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ssh-ed25519') + '\n');
    const client = new SSHClient();
    client.loadHostKeys(file);
    expect((await sshClientUpdate(client)).recorded).toBe(true);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(5);
    expect([...client.getHostKeys().lookup(knownName())!.keys()].sort()).toEqual([...SERVER_TYPES].sort());
  });

  it('leaves the system host keys alone: a key recorded only there is not a reason to write', async () => {
    const system = fresh('known_hosts');
    writeFileSync(system, realLine('ssh-ed25519') + '\n');
    const client = new SSHClient();
    client.loadSystemHostKeys(system);
    const u = await sshClientUpdate(client);
    expect(u.added).toHaveLength(4);
    expect(u.recorded).toBe(false);
    expect(readFileSync(system, 'utf8')).toBe(realLine('ssh-ed25519') + '\n');
    expect(client.getHostKeys().entries).toHaveLength(0);
  });
});
