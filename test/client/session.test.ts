/**
 * The client APIs end to end against sshd: run / exec / shell (pty) / env
 * through connect(), execCommand / invokeShell through SSHClient, ssh_config
 * (HostName, Port, User, IdentityFile, ProxyCommand), and the not-yet
 * features failing clearly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { AutoAddPolicy, ClientTransport, connect, SSHClient, type ConnectOptions } from '../../ts/client.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';

let tmp: { dir: string; cleanup: () => void };
let sshd: Sshd;
let key: string;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-session-');
  key = makeKey(tmp.dir, 'id_ecdsa', 'ecdsa', { bits: 256 });
  sshd = await startSshdTrusting(key, { config: ['AcceptEnv SSHWIRE_*', 'Subsystem sftp internal-sftp'] });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  tmp?.cleanup();
});

function opts(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return rootLogin(sshd, key, extra);
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    stream.once('error', reject);
  });
}

describe('connect()', () => {
  it('run: stdout, stderr and exit status', async () => {
    await using conn = await connect(opts());
    const r = await conn.run('echo hi; echo err >&2; exit 3');
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('err\n');
    expect(r.exitStatus).toBe(3);
    expect(conn.negotiated?.kex).toBeTruthy();
  });

  it('exec: streams both ways, then the exit', async () => {
    const conn = await connect(opts());
    try {
      const proc = await conn.exec('tr a-z A-Z; echo done >&2');
      const out = collect(proc.stdout);
      const err = collect(proc.stderr);
      proc.stdin.write('hello ');
      proc.stdin.end('world\n');
      expect(await out).toBe('HELLO WORLD\n');
      expect(await err).toBe('done\n');
      expect((await proc.exit).exitStatus).toBe(0);
    } finally {
      conn.close();
      expect(await conn.closed).toBeNull();
    }
  });

  it('env through AcceptEnv', async () => {
    await using conn = await connect(opts());
    const r = await conn.run('echo "$SSHWIRE_COLOR/$OTHER_VAR"', { env: { SSHWIRE_COLOR: 'blue', OTHER_VAR: 'refused' } });
    expect(r.stdout).toBe('blue/\n');
  });

  it('shell with a pty: TERM, size, and exit status', async () => {
    await using conn = await connect(opts());
    const sh = await conn.shell({ term: 'xterm-256color', cols: 100, rows: 30 });
    const out = collect(sh);
    sh.write('echo "T=$TERM"; stty size; exit 5\n');
    const text = await out;
    expect(text).toContain('T=xterm-256color');
    expect(text).toMatch(/30 100/);
    expect(await sh.recvExitStatus()).toBe(5);
  });

  it('sftp() opens the sftp subsystem; forwardLocal() checks its options (forwarding itself: forwarding.test.ts)', async () => {
    await using conn = await connect(opts());
    const sftp = await conn.sftp();
    const remote = join(tmp.dir, 'via-connect.txt');
    const f = await sftp.open(remote, 'w');
    await f.write('written through conn.sftp()\n');
    await f.close();
    expect(readFileSync(remote, 'utf8')).toBe('written through conn.sftp()\n');
    expect((await sftp.stat(remote)).st_size).toBe(28);
    await sftp.close();
    // The connection outlives its SFTP channel.
    expect((await conn.run('echo still here')).stdout).toBe('still here\n');
    await expect(conn.forwardLocal({ localPort: 0, remoteHost: '', remotePort: 1 })).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION' });
  });

  it('ssh_config: HostName, Port, User, IdentityFile and ProxyCommand', async () => {
    const proxy = join(tmp.dir, 'proxy.mjs');
    writeFileSync(
      proxy,
      "import net from 'node:net';\nconst s = net.connect(Number(process.argv[3]), process.argv[2]);\nprocess.stdin.pipe(s);\ns.pipe(process.stdout);\ns.on('close', () => process.exit(0));\n",
    );
    const cfg = join(tmp.dir, 'config');
    writeFileSync(
      cfg,
      [`Host viaproxy`, `  HostName 127.0.0.1`, `  Port ${sshd.port}`, `  User root`, `  IdentityFile ${key}`, `  ProxyCommand ${process.execPath} ${proxy} %h %p`, ''].join('\n'),
    );
    await using conn = await connect({ host: 'viaproxy', config: cfg, knownHosts: null, agent: false });
    expect(conn.username).toBe('root');
    const r = await conn.run('echo "$SSH_CONNECTION"');
    // The proxy connected from 127.0.0.1 to the server port.
    expect(r.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${sshd.port}\\n$`));
  });
});

describe('SSHClient (Paramiko)', () => {
  it('execCommand: stdout/stderr streams and channel.recvExitStatus()', async () => {
    const client = new SSHClient();
    client.getHostKeys().add(`[127.0.0.1]:${sshd.port}`, 'ssh-ed25519', { publicKeyBlob: Buffer.from(sshd.hostPublicKeys['ssh-ed25519']!.split(' ')[1]!, 'base64') });
    await client.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
    try {
      const { stdin, stdout, stderr } = await client.execCommand('read x; echo "got $x"; echo "$SSHWIRE_A" >&2; exit 7', { environment: { SSHWIRE_A: 'env ok' } });
      stdin.end('line\n');
      const [out, err] = await Promise.all([collect(stdout), collect(stderr)]);
      expect(out).toBe('got line\n');
      expect(err).toBe('env ok\n');
      expect(await stdout.channel.recvExitStatus()).toBe(7);
      expect(stderr.channel).toBe(stdout.channel);
    } finally {
      client.close();
    }
  });

  it('execCommand with getPty, invokeShell, openSftp', async () => {
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new (await import('../../ts/client.js')).AutoAddPolicy());
    await client.connect('127.0.0.1', { port: sshd.port, username: 'root', pkey: key, allowAgent: false, lookForKeys: false });
    try {
      const { stdout } = await client.execCommand('tty', { getPty: true });
      expect(await collect(stdout)).toMatch(/^\/dev\/pts\//);

      const chan = await client.invokeShell({ term: 'vt220', width: 90, height: 20 });
      const out = collect(chan);
      chan.write('echo "T=$TERM"; stty size; exit\n');
      const text = await out;
      expect(text).toContain('T=vt220');
      expect(text).toMatch(/20 90/);

      const sftp = await client.openSftp();
      expect(await sftp.listdir(tmp.dir)).toContain('config');
      await sftp.close();
    } finally {
      await client[Symbol.asyncDispose]();
    }
    expect(client.getTransport()).toBeNull();
  });

  it('getTransport() has Paramiko\'s Transport conveniences: openSession, openChannel, openSftpClient, state, server key', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const client = new SSHClient();
    client.setMissingHostKeyPolicy(new AutoAddPolicy());
    await client.connect('127.0.0.1', { port: sshd.port, username: 'root', keyFilename: key, allowAgent: false, lookForKeys: false });
    const t = client.getTransport()!;
    try {
      expect(t).toBeInstanceOf(ClientTransport);
      expect(t.isActive()).toBe(true);
      expect(t.isAuthenticated()).toBe(true);
      expect(t.getUsername()).toBe('root');
      const serverKey = t.getRemoteServerKey()!;
      const expected = sshd.hostPublicKeys[t.negotiated!.hostKey] ?? sshd.hostPublicKeys[serverKey.keyType];
      expect(serverKey.toString().split(' ').slice(0, 2).join(' ')).toBe(expected!.split(' ').slice(0, 2).join(' '));

      const session = await t.openSession();
      await session.exec('echo from-session');
      let out = '';
      for await (const d of session) out += String(d);
      expect(out).toBe('from-session\n');
      expect(await session.recvExitStatus()).toBe(0);

      const tunnel = await t.openChannel('direct-tcpip', ['127.0.0.1', echoPort], ['127.0.0.1', 40000]);
      tunnel.end('through the tunnel');
      let back = '';
      for await (const c of tunnel) back += String(c);
      expect(back).toBe('through the tunnel');
      await expect(t.openChannel('direct-tcpip')).rejects.toMatchObject({ code: 'ERR_SSH_BAD_ARGUMENT' });

      const sftp = await t.openSftpClient();
      expect(await sftp.listdir(tmp.dir)).toContain('config');
      await sftp.close();
    } finally {
      client.close();
      echo.close();
    }
    await t.closed;
    expect(t.isActive()).toBe(false);
    expect(t.isAuthenticated()).toBe(false);
    await expect(t.openSession()).rejects.toMatchObject({ code: 'ERR_SSH_NOT_CONNECTED' });
  });
});
