/**
 * Host key checking against a real sshd: unknown keys refused by default
 * (with the SHA256 fingerprint), AutoAddPolicy writing a file ssh-keygen can
 * search, changed and revoked keys, hashed entries, key-type preference, and
 * connection failures (nothing listening, silent server, abort).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoAddPolicy, connect, RejectPolicy, SSHClient, WarningPolicy, type ConnectOptions } from '../../ts/client.js';
import { BadHostKeyException, NoValidConnectionsError, SSHException, TimeoutError } from '../../ts/errors.js';
import { freePort, startSshd, type Sshd } from '../helpers/sshd.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';

let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
let key: string;
let n = 0;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-hk-');
  key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
  sshd = await startSshd({ authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()] });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  tmp?.cleanup();
});

function fresh(name: string): string {
  return join(tmp.dir, `${name}-${++n}`);
}

function opts(extra: Partial<ConnectOptions>): ConnectOptions {
  return { host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: key, agent: false, lookForKeys: false, config: false, ...extra };
}

/** ssh-keygen's fingerprint of one of the server's host keys. */
function serverFingerprint(type: string): string {
  const pub = join(sshd.dir, `host_${type}.pub`);
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' }).split(/\s+/)[1]!;
}

function knownName(): string {
  return `[127.0.0.1]:${sshd.port}`;
}

/** A known_hosts line for the server's real key of `type`. */
function realLine(type: string, name = knownName()): string {
  const [t, b64] = sshd.hostPublicKeys[type]!.split(/\s+/);
  return `${name} ${t} ${b64}`;
}

async function ok(o: ConnectOptions): Promise<void> {
  const conn = await connect(o);
  conn.close();
  await conn.closed;
}

describe('connect(): known_hosts', () => {
  it('an unknown host is refused by default; the error has the SHA256 fingerprint', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, '');
    const err = await connect(opts({ knownHosts: file })).catch((e) => e);
    expect(err).toBeInstanceOf(SSHException);
    expect(err.code).toBe('ERR_SSH_UNKNOWN_HOST_KEY');
    expect(err.message).toContain(serverFingerprint('ssh-ed25519'));
    expect(err.message).toContain(knownName());
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('AutoAddPolicy records the key; ssh-keygen -F finds it; the next connect matches without a policy', async () => {
    const file = fresh('known_hosts');
    await ok(opts({ knownHosts: file, hostKeyPolicy: new AutoAddPolicy() }));
    const found = execFileSync('ssh-keygen', ['-F', knownName(), '-f', file], { encoding: 'utf8' });
    expect(found).toContain(sshd.hostPublicKeys['ssh-ed25519']!.split(' ')[1]);
    await ok(opts({ knownHosts: file }));
  });

  it('a changed key: BadHostKeyException naming the file and line', async () => {
    const file = fresh('known_hosts');
    const other = makeKey(tmp.dir, `other-${n}`, 'ed25519');
    const [t, b64] = readFileSync(`${other}.pub`, 'utf8').split(/\s+/);
    writeFileSync(file, `# comment\n${knownName()} ${t} ${b64}\n`);
    const err = await connect(opts({ knownHosts: file, hostKeyPolicy: new AutoAddPolicy() })).catch((e) => e);
    expect(err).toBeInstanceOf(BadHostKeyException);
    expect(err.message).toContain(`${file} line 2`);
    expect(err.fingerprint).toBe(serverFingerprint('ssh-ed25519'));
    expect(err.expectedFingerprint).toMatch(/^SHA256:/);
    expect(err.expectedFingerprint).not.toBe(err.fingerprint);
  });

  it('a @revoked key is refused even with AutoAddPolicy', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, `@revoked ${realLine('ssh-ed25519')}\n`);
    const err = await connect(opts({ knownHosts: file, hostKeyPolicy: new AutoAddPolicy() })).catch((e) => e);
    expect(err).toBeInstanceOf(BadHostKeyException);
    expect(err.message).toMatch(/revoked/);
  });

  it('hashed entries (ssh-keygen -H) match', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ssh-ed25519') + '\n');
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    await ok(opts({ knownHosts: file, hostKeyPolicy: new RejectPolicy() }));
  });

  it('a host known only by its ECDSA key is asked for that key type first', async () => {
    const file = fresh('known_hosts');
    writeFileSync(file, realLine('ecdsa-sha2-nistp384') + '\n');
    const conn = await connect(opts({ knownHosts: file }));
    expect(conn.negotiated?.hostKey).toBe('ecdsa-sha2-nistp384');
    conn.close();
  });

  it('knownHosts: null disables checking', async () => {
    await ok(opts({ knownHosts: null }));
  });
});

describe('SSHClient host keys (Paramiko)', () => {
  it('RejectPolicy by default, AutoAddPolicy saves to the loaded host keys file', async () => {
    const file = fresh('paramiko_known_hosts');
    const c1 = new SSHClient();
    c1.loadHostKeys(file); // does not exist yet: fine
    const err = await c1.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false }).catch((e) => e);
    expect(err.code).toBe('ERR_SSH_UNKNOWN_HOST_KEY');
    expect(existsSync(file)).toBe(false);

    const c2 = new SSHClient();
    c2.loadHostKeys(file);
    c2.setMissingHostKeyPolicy(new AutoAddPolicy());
    await c2.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
    expect(c2.getTransport()).not.toBeNull();
    c2.close();
    expect(execFileSync('ssh-keygen', ['-F', knownName(), '-f', file], { encoding: 'utf8' })).toContain('ssh-ed25519');

    const c3 = new SSHClient();
    c3.loadSystemHostKeys(file);
    await c3.connect('127.0.0.1', { port: sshd.port, username: 'root', pkey: key, allowAgent: false, lookForKeys: false });
    await c3[Symbol.asyncDispose]();
  });

  it('WarningPolicy accepts with a process warning carrying the fingerprint', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const c = new SSHClient();
      c.setMissingHostKeyPolicy(WarningPolicy);
      await c.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
      c.close();
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes(serverFingerprint('ssh-ed25519')))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a policy without missingHostKey is refused and leaves the policy in force as it was', async () => {
    const c = new SSHClient();
    c.setMissingHostKeyPolicy(new AutoAddPolicy());
    expect(() => c.setMissingHostKeyPolicy({} as never)).toThrow(/missingHostKey/);
    await c.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
    c.close();
  });

  it('gssKex without Kerberos tickets: no gss-* method is offered, so the host key is checked as usual', async () => {
    const before = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = 'FILE:/nonexistent/sshwire-no-ccache';
    try {
      const lines: string[] = [];
      const err = await new SSHClient().connect('127.0.0.1', { port: sshd.port, gssKex: true, debug: (m) => lines.push(m) }).catch((e) => e);
      expect(err.code).toBe('ERR_SSH_UNKNOWN_HOST_KEY');
      expect(lines.some((l) => /GSS-API key exchange not offered: .*kinit/.test(l))).toBe(true);
      expect(lines.some((l) => /local kex: .*gss-/.test(l))).toBe(false);
    } finally {
      if (before === undefined) delete process.env.KRB5CCNAME;
      else process.env.KRB5CCNAME = before;
    }
  });
});

describe('connection failures', () => {
  it('nothing listening: NoValidConnectionsError with the address', async () => {
    const port = await freePort();
    const err = await connect(opts({ port, knownHosts: null })).catch((e) => e);
    expect(err).toBeInstanceOf(NoValidConnectionsError);
    expect([...err.errors.keys()]).toEqual([`127.0.0.1:${port}`]);
  });

  async function silentServer(): Promise<{ port: number; close(): void }> {
    const sockets: net.Socket[] = [];
    const srv = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return {
      port: (srv.address() as net.AddressInfo).port,
      close() {
        sockets.forEach((s) => s.destroy());
        srv.close();
      },
    };
  }

  it('readyTimeout against a TCP server that never speaks: TimeoutError', async () => {
    const srv = await silentServer();
    try {
      const err = await connect(opts({ port: srv.port, knownHosts: null, readyTimeout: 300 })).catch((e) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err.message).toMatch(/not ready within 300 ms/);
    } finally {
      srv.close();
    }
  });

  it('an AbortSignal ends the attempt with its reason', async () => {
    const srv = await silentServer();
    try {
      const ac = new AbortController();
      const p = connect(opts({ port: srv.port, knownHosts: null, signal: ac.signal }));
      setTimeout(() => ac.abort(), 50);
      const err = await p.catch((e) => e);
      expect(err.name).toBe('AbortError');
    } finally {
      srv.close();
    }
  });
});
