/**
 * Issue 4 acceptance against Debian's OpenSSH sshd: key formats not covered
 * elsewhere through a real login (PKCS#8, SEC1 and PKCS#1 with legacy
 * encryption, OpenSSL-made ed25519), the run/exec/shell options of API.md,
 * connect() and SSHClient.connect() options observed on the wire, a paused
 * reader beside a moving one, the server dying mid-command, refused channel
 * opens, and AbortSignal on every client operation.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_SUCCESSFUL,
  ChannelException,
  connect,
  listen,
  PasswordRequiredException,
  PrivateKey,
  ProcessError,
  SSHClient,
  SSHException,
  TimeoutError,
  type ConnectOptions,
  type SSHClientConnection,
} from '../../ts/index.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { connectTo, rootLogin, startSshd, type Sshd } from '../helpers/sshd.js';

const PASS = 'legacy pass';
let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
const keys: Record<string, string> = {};

function pubLine(path: string): string {
  return execFileSync('ssh-keygen', ['-y', '-P', path.endsWith('-enc') ? PASS : '', '-f', path], { encoding: 'utf8' }).trim();
}

beforeAll(async () => {
  tmp = makeTempDir('sshwire-acc4-');
  const d = tmp.dir;
  keys.main = makeKey(d, 'id_main', 'ed25519');
  // PKCS#8, unencrypted and encrypted (PBES2), as ssh-keygen -m PKCS8 writes them.
  keys.rsaPkcs8 = makeKey(d, 'rsa-pkcs8', 'rsa', { bits: 2048 });
  execFileSync('ssh-keygen', ['-q', '-p', '-N', '', '-P', '', '-m', 'PKCS8', '-f', keys.rsaPkcs8]);
  keys.ecdsaPkcs8 = makeKey(d, 'ecdsa-pkcs8', 'ecdsa', { bits: 384 });
  execFileSync('ssh-keygen', ['-q', '-p', '-N', '', '-P', '', '-m', 'PKCS8', '-f', keys.ecdsaPkcs8]);
  keys.ecdsaPkcs8Enc = join(d, 'ecdsa-pkcs8-enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', PASS, '-m', 'PKCS8', '-f', keys.ecdsaPkcs8Enc]);
  // SEC1 and PKCS#1 with the legacy Proc-Type/DEK-Info encryption.
  keys.ecdsaSec1Enc = join(d, 'ecdsa-sec1-enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '521', '-N', PASS, '-m', 'PEM', '-f', keys.ecdsaSec1Enc]);
  keys.rsaDes3Enc = join(d, 'rsa-des3-enc');
  execFileSync('openssl', ['genrsa', '-traditional', '-des3', '-passout', `pass:${PASS}`, '-out', keys.rsaDes3Enc, '2048'], { stdio: 'pipe' });
  // ed25519 in PKCS#8, made by OpenSSL (ssh-keygen cannot write it).
  keys.ed25519Pkcs8 = join(d, 'ed25519-pkcs8');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', keys.ed25519Pkcs8], { stdio: 'pipe' });
  const authorized = [keys.main, keys.rsaPkcs8, keys.ecdsaPkcs8, keys.ecdsaPkcs8Enc, keys.ecdsaSec1Enc, keys.rsaDes3Enc].map((k) => pubLine(k!));
  authorized.push(PrivateKey.fromFile(keys.ed25519Pkcs8).publicKey.toString());
  sshd = await startSshd({
    authorizedKeys: authorized,
    config: ['AcceptEnv SSHWIRE_*', 'MaxSessions 3', 'AllowTcpForwarding no'],
    overrides: ['LogLevel ERROR'],
  });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  tmp?.cleanup();
});

function opts(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return rootLogin(sshd, keys.main!, extra);
}

function waitFor(get: () => string, re: RegExp, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (re.test(get())) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${re} in ${JSON.stringify(get())}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('private key formats through a real login', () => {
  const cases: [string, string, string | undefined][] = [
    ['RSA PKCS#8 (ssh-keygen -m PKCS8)', 'rsaPkcs8', undefined],
    ['ECDSA P-384 PKCS#8', 'ecdsaPkcs8', undefined],
    ['ECDSA P-256 encrypted PKCS#8 (PBES2)', 'ecdsaPkcs8Enc', PASS],
    ['ECDSA P-521 SEC1 with legacy encryption (Proc-Type/DEK-Info)', 'ecdsaSec1Enc', PASS],
    ['RSA PKCS#1 with legacy DES-EDE3-CBC encryption (openssl -traditional -des3)', 'rsaDes3Enc', PASS],
    ['ed25519 PKCS#8 made by openssl genpkey', 'ed25519Pkcs8', undefined],
  ];
  for (const [label, k, passphrase] of cases) {
    it(label, async () => {
      const text = readFileSync(keys[k]!, 'utf8');
      expect(text).toMatch(/-----BEGIN (ENCRYPTED |EC |RSA )?PRIVATE KEY-----/);
      await using conn = await connect(opts({ privateKey: keys[k]!, ...(passphrase ? { passphrase } : {}) }));
      expect(conn.authMethods).toEqual(['publickey']);
    });
  }

  it('legacy-encrypted PEM without or with a wrong passphrase: PasswordRequiredException before any I/O', async () => {
    for (const k of ['ecdsaSec1Enc', 'rsaDes3Enc', 'ecdsaPkcs8Enc']) {
      await expect(connect(opts({ privateKey: keys[k]! }))).rejects.toBeInstanceOf(PasswordRequiredException);
      await expect(connect(opts({ privateKey: keys[k]!, passphrase: 'not it' }))).rejects.toBeInstanceOf(PasswordRequiredException);
    }
  });
});

describe('conn.run / exec / shell options (API.md)', () => {
  let conn: SSHClientConnection;
  beforeAll(async () => {
    conn = await connect(opts());
  });
  afterAll(async () => {
    conn?.close();
    await conn?.closed;
  });

  it('run: stdin as string and Buffer, env, encoding null gives exact bytes, exitSignal', async () => {
    expect((await conn.run('tr a-z A-Z', { stdin: 'shout\n' })).stdout).toBe('SHOUT\n');
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await conn.run('cat', { stdin: bin, encoding: null });
    expect(Buffer.isBuffer(r.stdout)).toBe(true);
    expect((r.stdout as Buffer).equals(bin)).toBe(true);
    expect(Buffer.isBuffer(r.stderr)).toBe(true);
    expect((await conn.run('printf %s "$SSHWIRE_X"', { env: { SSHWIRE_X: 'via AcceptEnv' } })).stdout).toBe('via AcceptEnv');
    const killed = await conn.run('kill -KILL $$');
    expect(killed.exitStatus).toBeNull();
    expect(killed.exitSignal?.name).toBe('KILL');
  });

  it('run: pty gives a terminal; check rejects a failing command with ProcessError carrying its output', async () => {
    expect(String((await conn.run('tty')).stdout)).toMatch(/not a tty/);
    expect(String((await conn.run('tty', { pty: true })).stdout)).toMatch(/^\/dev\/pts\//);
    expect((await conn.run('exit 4', { check: false })).exitStatus).toBe(4);
    const err = await conn.run('echo so far; exit 9', { check: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect(err).toMatchObject({ exitStatus: 9, stdout: 'so far\n' });
  });

  it('exec: stdin/stdout/stderr streams, await proc.exit', async () => {
    const proc = await conn.exec('while read l; do echo "o:$l"; echo "e:$l" >&2; done; exit 2');
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d));
    proc.stderr.on('data', (d: Buffer) => (err += d));
    proc.stdin.write('a\n');
    await waitFor(() => out, /o:a\n/);
    proc.stdin.end('b\n');
    expect(await proc.exit).toMatchObject({ exitStatus: 2 });
    expect(out).toBe('o:a\no:b\n');
    expect(err).toBe('e:a\ne:b\n');
  });

  it('shell({ term, cols, rows }) driven interactively, then sh.resize()', async () => {
    const sh = await conn.shell({ term: 'vt220', cols: 91, rows: 33 });
    let out = '';
    sh.on('data', (d: Buffer) => (out += d));
    sh.write('echo "term=$TERM"; stty size\n');
    await waitFor(() => out, /33 91\r?\n/);
    expect(out).toContain('term=vt220');
    sh.resize(120, 44);
    sh.write('stty size\n');
    await waitFor(() => out, /44 120\r?\n/);
    sh.write('exit 6\n');
    expect(await sh.recvExitStatus()).toBe(6);
  });

  it('a paused reader holds at most its window while another channel keeps moving', async () => {
    const paused = await conn.exec('head -c 40000000 /dev/zero');
    paused.stdout.pause();
    const moving = await conn.run('head -c 30000000 /dev/zero', { encoding: null });
    expect((moving.stdout as Buffer).length).toBe(30_000_000);
    expect(paused.channel.bufferedBytes).toBeGreaterThan(0);
    expect(paused.channel.bufferedBytes).toBeLessThanOrEqual(conn.connection.window);
    let n = 0;
    for await (const c of paused.stdout) n += (c as Buffer).length;
    expect(n).toBe(40_000_000);
    expect((await paused.exit).exitStatus).toBe(0);
  });

  it('a channel open the server refuses is ChannelException with the reason code (MaxSessions 3; AllowTcpForwarding no)', async () => {
    // A connection of its own: sshd frees a session slot a little after the channel closes, so earlier tests' sessions must not count.
    await using own = await connect(opts());
    const holders = await Promise.all([0, 1, 2].map(() => own.exec('cat')));
    try {
      const err = await own.run('echo never').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelException);
      expect((err as ChannelException).reasonCode).toBe(2); // sshd refuses a session past MaxSessions with SSH_OPEN_CONNECT_FAILED
    } finally {
      for (const h of holders) h.stdin.end();
      await Promise.all(holders.map((h) => h.exit.catch(() => null)));
    }
    const direct = new SSHWriter(64).string('127.0.0.1').uint32(sshd.port).string('127.0.0.1').uint32(12345).toBytes();
    const err2 = await own.connection.openChannel('direct-tcpip', direct).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ChannelException);
    expect((err2 as ChannelException).reasonCode).toBe(1); // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
    // The connection is still usable after refusals (a slot frees once sshd has reaped a holder).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await own.run('echo ok').catch((e: unknown) => e);
      if (!(r instanceof ChannelException) || Date.now() > deadline) {
        expect(r).toMatchObject({ stdout: 'ok\n' });
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  });

  it('AbortSignal: run, exec and shell reject with the abort reason; the connection survives', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const running = conn.run('echo started; sleep 20', { signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    const err = await running.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(5000);
    const aborted = AbortSignal.abort();
    await expect(conn.exec('true', { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(conn.shell({ signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(conn.run('true', { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    expect((await conn.run('echo alive')).stdout).toBe('alive\n');
  });
});

describe('connect() options observed on the wire', () => {
  it('algorithms and disabledAlgorithms decide the negotiation', async () => {
    {
      await using c = await connect(opts({ algorithms: { kex: ['ecdh-sha2-nistp384'], cipher: ['aes256-ctr'], mac: ['hmac-sha2-512'], serverHostKey: ['ecdsa-sha2-nistp256'] } }));
      expect(c.negotiated).toMatchObject({ kex: 'ecdh-sha2-nistp384', cipherCS: 'aes256-ctr', cipherSC: 'aes256-ctr', macCS: 'hmac-sha2-512', hostKey: 'ecdsa-sha2-nistp256' });
    }
    let first: { kex: string; cipherCS: string };
    {
      await using c = await connect(opts());
      first = c.negotiated!;
    }
    await using c = await connect(opts({ disabledAlgorithms: { kex: [first.kex], cipher: [first.cipherCS] } }));
    expect(c.negotiated!.kex).not.toBe(first.kex);
    expect(c.negotiated!.cipherCS).not.toBe(first.cipherCS);
  });

  it('rekeyBytes and rekeySeconds start new key exchanges; data stays intact', async () => {
    {
      // Bytes received while a key exchange runs count towards the next one
      // (as OpenSSH counts from NEWKEYS); a small window bounds them, so 6 MB
      // always spans at least three exchanges.
      await using c = await connect(opts({ rekeyBytes: 1 << 20, window: 256 * 1024 }));
      let rekeys = 0;
      c.transport.on('rekey', () => rekeys++);
      const r = await c.run('head -c 6000000 /dev/zero | tr "\\0" x', { encoding: null });
      expect((r.stdout as Buffer).length).toBe(6_000_000);
      expect((r.stdout as Buffer).every((b) => b === 0x78)).toBe(true);
      expect(rekeys).toBeGreaterThanOrEqual(3);
    }
    {
      // Sending: 24 MiB of stdin in 64 KiB writes crosses a rekey every MiB
      // and arrives intact (sshd's sha256sum checks it). Each epoch ends
      // within one flushed batch of the limit (256 KiB of payload, one
      // 32 KiB data packet and overhead: under 320 KiB), also when the
      // previous exchange released a window of held data before the peer's
      // NEWKEYS came.
      const limit = 1 << 20;
      const batch = 320 << 10;
      const epochs: number[] = [];
      const debug = (m: string): void => {
        const sent = /^\[client\] rekey: (\d+) bytes sent/.exec(m);
        if (sent) epochs.push(Number(sent[1]));
      };
      await using c = await connect(opts({ rekeyBytes: limit, debug }));
      let rekeys = 0;
      c.transport.on('rekey', () => rekeys++);
      const input = randomBytes(24 << 20);
      const chunks = Array.from({ length: 384 }, (_, i) => input.subarray(i << 16, (i + 1) << 16));
      const r = await c.run('sha256sum', { stdin: Readable.from(chunks) });
      expect(r.stdout).toBe(`${createHash('sha256').update(input).digest('hex')}  -\n`);
      for (const sent of epochs) {
        expect(sent).toBeGreaterThanOrEqual(limit);
        expect(sent).toBeLessThanOrEqual(limit + batch);
      }
      // All but the last epoch end in a rekey, and the last is under the
      // limit: more than (input - limit) / (limit + batch) rekeys started,
      // all but the last complete by the time the command has exited.
      expect(epochs.length).toBeGreaterThan((input.length - limit) / (limit + batch));
      expect(rekeys).toBeGreaterThanOrEqual(epochs.length - 1);
    }
    await using c = await connect(opts({ rekeySeconds: 1 }));
    let rekeys = 0;
    c.transport.on('rekey', () => rekeys++);
    expect((await c.run('sleep 1.6; echo done')).stdout).toBe('done\n');
    expect((await c.run('echo after')).stdout).toBe('after\n');
    expect(rekeys).toBeGreaterThanOrEqual(1);
  });

  it('keepaliveInterval: an idle connection sends probes (bytes go out), none without it', async () => {
    await using idle = await connect(opts());
    await using probing = await connect(opts({ keepaliveInterval: 150 }));
    const before = [idle.transport.bytesSent, probing.transport.bytesSent];
    await new Promise((r) => setTimeout(r, 700));
    expect(idle.transport.bytesSent).toBe(before[0]);
    expect(probing.transport.bytesSent).toBeGreaterThan(before[1]!);
    expect(probing.isClosed).toBe(false);
  });

  it('sock: a caller-made stream; close() then await closed resolves null; await using closes', async () => {
    const sock = await connectTo(sshd.port);
    const c = await connect(opts({ sock, host: 'anything.invalid' }));
    expect((await c.run('echo over sock')).stdout).toBe('over sock\n');
    c.close();
    expect(await c.closed).toBeNull();
    expect(sock.destroyed).toBe(true);
    let kept: SSHClientConnection;
    {
      await using d = await connect(opts());
      kept = d;
      expect(d.isClosed).toBe(false);
    }
    expect(kept.isClosed).toBe(true);
  });

  it('config: ~/.ssh/config is read by default and ignored with config: false', async () => {
    const home = join(tmp.dir, 'cfg-home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'config'), 'Host 127.0.0.1\n  Ciphers aes192-ctr\n');
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const o = { ...opts(), config: undefined } as ConnectOptions;
      delete (o as { config?: unknown }).config;
      {
        await using c = await connect(o);
        expect(c.negotiated!.cipherCS).toBe('aes192-ctr');
      }
      await using c = await connect(opts({ config: false }));
      expect(c.negotiated!.cipherCS).not.toBe('aes192-ctr');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('the server dying mid-command: the run rejects with a typed error that keeps the partial output', async () => {
    const c = await connect(opts());
    // $PPID is sshd's session process for this connection: killing it drops the TCP connection.
    const err = await c.run('echo partial-1; echo partial-2 >&2; sleep 0.3; kill -9 $PPID; sleep 10').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SSHException);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as ProcessError).stdout).toBe('partial-1\n');
    expect((err as ProcessError).stderr).toBe('partial-2\n');
    expect(await c.closed).toBeInstanceOf(Error);
  });
});

describe('SSHClient.connect options', () => {
  function hostKnown(c: SSHClient): void {
    const [t, b64] = sshd.hostPublicKeys['ssh-ed25519']!.split(' ');
    c.getHostKeys().add(`[127.0.0.1]:${sshd.port}`, t!, { publicKeyBlob: Buffer.from(b64!, 'base64') } as never);
  }

  it('compress: true negotiates zlib@openssh.com and data survives it; getTransport()', async () => {
    const c = new SSHClient();
    hostKnown(c);
    await c.connect('127.0.0.1', { port: sshd.port, username: 'root', pkey: keys.main!, allowAgent: false, lookForKeys: false, compress: true });
    try {
      const t = c.getTransport()!;
      expect(t.negotiated!.compressionCS).toBe('zlib@openssh.com');
      expect(t.negotiated!.compressionSC).toBe('zlib@openssh.com');
      const { stdout } = await c.execCommand('head -c 300000 /dev/zero | tr "\\0" y');
      let n = 0;
      for await (const chunk of stdout) n += (chunk as Buffer).length;
      expect(n).toBe(300_000);
      // Compressed: far fewer bytes on the wire than delivered.
      expect(t.bytesReceived).toBeLessThan(100_000);
    } finally {
      c.close();
    }
  });

  it('sock, and execCommand timeout closes a command that runs too long with TimeoutError', async () => {
    const c = new SSHClient();
    hostKnown(c);
    await c.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: keys.main!, allowAgent: false, lookForKeys: false, sock: await connectTo(sshd.port) });
    try {
      const started = Date.now();
      const { stdout } = await c.execCommand('sleep 3', { timeout: 300 });
      const err = await new Promise<unknown>((resolve) => {
        stdout.once('error', resolve);
        stdout.once('close', () => resolve(null));
        stdout.resume();
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toBeInstanceOf(TimeoutError);
    } finally {
      c.close();
    }
  });

  it('bannerTimeout against a silent server, authTimeout against a server that never decides: TimeoutError', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const c = new SSHClient();
      const t0 = Date.now();
      const err = await c.connect('127.0.0.1', { port: (silent.address() as net.AddressInfo).port, bannerTimeout: 300, allowAgent: false, lookForKeys: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
    const stuck = await listen({
      hostKeys: ['ed25519'],
      server: { checkAuthPassword: () => new Promise<typeof AUTH_SUCCESSFUL>(() => {}) },
    });
    try {
      const c = new SSHClient();
      c.setMissingHostKeyPolicy(new (await import('../../ts/index.js')).AutoAddPolicy());
      const t0 = Date.now();
      const err = await c
        .connect('127.0.0.1', { port: stuck.address().port, username: 'u', password: 'p', authTimeout: 300, allowAgent: false, lookForKeys: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await stuck.close();
    }
  });
});
