/**
 * Issue 6 acceptance: host keys from a file, a Buffer, a PrivateKey and
 * generated in memory, all served at once and each chosen by OpenSSH's ssh
 * with -o HostKeyAlgorithms; a recording ServerInterface showing that every
 * check method named in the issue is consulted and that its denial holds;
 * processFactory pty size, resize events and exitWithSignal;
 * setSubsystemHandler; listen() window, maxPacketSize, rekeyBytes and
 * authTimeout observed from the client; and `npm start` end to end.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_SUCCESSFUL,
  ChannelException,
  connect,
  listen,
  OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
  OPEN_SUCCEEDED,
  PrivateKey,
  type ConnectOptions,
  type ServerInterface,
  type SSHServer,
  type SSHServerProcess,
} from '../../ts/index.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { makeFixture, run, sftpBatch, sha256Files, startServer, type Fixture } from '../server/helpers.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture('sshwire-acc6-');
});
afterAll(() => fx?.cleanup());

const allowAll: ServerInterface = { checkAuthNone: () => AUTH_SUCCESSFUL };

function clientOpts(port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port, username: 'tester', knownHosts: null, config: false, agent: false, clientKeys: null, ...extra };
}

describe('host keys from a file, a Buffer, a PrivateKey and generated, all at once', () => {
  it('OpenSSH ssh picks each with -o HostKeyAlgorithms and verifies it against a pinned known_hosts line', async () => {
    const ecdsaFile = join(fx.dir, 'host_ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', ecdsaFile]);
    const rsaFile = join(fx.dir, 'host_rsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-m', 'PEM', '-f', rsaFile]);
    const p384 = PrivateKey.generate('ecdsa', 384);
    const server = await listen({
      hostKeys: [ecdsaFile, readFileSync(rsaFile), p384, 'ed25519'],
      authorizedClientKeys: fx.authorizedKeys,
      processFactory: (proc) => {
        proc.stdout.write(`ran ${proc.command}\n`);
        proc.exit(0);
      },
    });
    try {
      const port = server.address().port;
      // The generated ed25519 key exists only in memory: ssh-keyscan reads what the server offers,
      // and our client agrees it is the ed25519 key in use.
      {
        await using c = await connect(clientOpts(port, { algorithms: { serverHostKey: ['ssh-ed25519'] }, clientKeys: [fx.key] }));
        expect(c.negotiated?.hostKey).toBe('ssh-ed25519');
      }
      const scan = await run('ssh-keyscan', ['-T', '10', '-t', 'ed25519', '-p', String(port), '127.0.0.1']);
      const edLine = scan.stdout.split('\n').find((l) => l.includes('ssh-ed25519'))!.split(' ').slice(1).join(' ');
      expect(edLine).toMatch(/^ssh-ed25519 AAAA/);
      const pinned: Record<string, string> = {
        'ecdsa-sha2-nistp256': readFileSync(`${ecdsaFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
        'rsa-sha2-512': readFileSync(`${rsaFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
        'rsa-sha2-256': readFileSync(`${rsaFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
        'ecdsa-sha2-nistp384': p384.publicKey.toString().split(' ').slice(0, 2).join(' '),
        'ssh-ed25519': edLine,
      };
      for (const [alg, line] of Object.entries(pinned)) {
        const kh = join(fx.dir, `kh-${alg}`);
        writeFileSync(kh, `[127.0.0.1]:${port} ${line}\n`);
        const r = await run('ssh', [
          '-F', '/dev/null', '-i', fx.key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${kh}`,
          '-o', 'StrictHostKeyChecking=yes', '-o', `HostKeyAlgorithms=${alg}`, '-o', 'LogLevel=ERROR', '-p', String(port), 'tester@127.0.0.1', `hello-${alg}`,
        ]);
        expect({ alg, code: r.code, out: r.stdout, err: r.stderr }).toEqual({ alg, code: 0, out: `ran hello-${alg}\n`, err: '' });
      }
      // A key that is not the server's is refused by ssh: the pinning above really checked.
      const wrong = join(fx.dir, 'kh-wrong');
      writeFileSync(wrong, `[127.0.0.1]:${port} ${PrivateKey.generate('ecdsa', 256).publicKey.toString().split(' ').slice(0, 2).join(' ')}\n`);
      const bad = await run('ssh', [
        '-F', '/dev/null', '-i', fx.key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${wrong}`,
        '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlgorithms=ecdsa-sha2-nistp256', '-p', String(port), 'tester@127.0.0.1', 'x',
      ]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      await server.close();
    }
  });
});

describe('every ServerInterface check is consulted, and denial holds', () => {
  let server: SSHServer;
  let port: number;
  let allow = true;
  const calls: string[] = [];
  const resizes: number[][] = [];
  let echoTarget: net.Server;

  beforeAll(async () => {
    echoTarget = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echoTarget.listen(0, '127.0.0.1', r));
    const record = <T>(name: string, verdictAllowed: T, verdictDenied: T, detail = ''): T => {
      calls.push(detail ? `${name}:${detail}` : name);
      return allow ? verdictAllowed : verdictDenied;
    };
    const policy: ServerInterface = {
      checkAuthNone: () => AUTH_SUCCESSFUL,
      checkChannelRequest: (kind) => record('checkChannelRequest', OPEN_SUCCEEDED, OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, kind),
      checkChannelExecRequest: (_ch, cmd) => record('checkChannelExecRequest', true, false, cmd),
      checkChannelShellRequest: () => record('checkChannelShellRequest', true, false),
      checkChannelPtyRequest: (_ch, term, w, h) => record('checkChannelPtyRequest', true, false, `${term} ${w}x${h}`),
      checkChannelSubsystemRequest: (_ch, name) => record('checkChannelSubsystemRequest', true, false, name),
      checkChannelWindowChangeRequest: (_ch, w, h) => record('checkChannelWindowChangeRequest', true, false, `${w}x${h}`),
      checkChannelEnvRequest: (_ch, name, value) => record('checkChannelEnvRequest', true, false, `${name}=${value}`),
      checkChannelX11Request: (_ch, single, proto) => record('checkChannelX11Request', true, false, `${single} ${proto}`),
      checkChannelForwardAgentRequest: () => record('checkChannelForwardAgentRequest', true, false),
      checkChannelDirectTcpipRequest: (_id, _origin, dest) => record('checkChannelDirectTcpipRequest', OPEN_SUCCEEDED, OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, `${dest[0]}:${dest[1]}`),
      checkPortForwardRequest: (addr) => record('checkPortForwardRequest', true, false, addr),
      cancelPortForwardRequest: (addr) => {
        calls.push(`cancelPortForwardRequest:${addr}`);
      },
      checkGlobalRequest: (kind) => record('checkGlobalRequest', true, false, kind),
    };
    server = await listen({
      hostKeys: ['ed25519'],
      server: policy,
      processFactory: (proc: SSHServerProcess) => {
        proc.on('resize', (cols: number, rows: number) => {
          resizes.push([cols, rows]);
          proc.stdout.write(`resized ${cols}x${rows}\n`);
        });
        proc.stdout.write(`start ${proc.command ?? proc.subsystem ?? 'shell'} pty=${proc.pty ? `${proc.pty.cols}x${proc.pty.rows}` : 'none'} env=${JSON.stringify(proc.env)}\n`);
        proc.stdin.on('data', (d: Buffer) => {
          if (d.toString().includes('quit')) proc.exit(0);
        });
        proc.stdin.on('end', () => proc.exit(0));
      },
    });
    port = server.address().port;
  });
  afterAll(async () => {
    await server?.close();
    echoTarget?.close();
  });

  async function exercise(): Promise<Record<string, unknown>> {
    calls.length = 0;
    resizes.length = 0;
    const out: Record<string, unknown> = {};
    await using c = await connect(clientOpts(port));
    // Session: env, x11, agent forwarding, pty, shell, window-change.
    try {
      const ch = await c.openSession();
      out.env = await ch.setEnv('LANG', 'C.UTF-8');
      out.x11 = await ch.requestX11({ singleConnection: true });
      out.agent = await ch.requestAgentForwarding();
      out.pty = await ch.requestPty({ term: 'xterm', cols: 90, rows: 30 }).then(() => true, (e: unknown) => (e instanceof ChannelException ? false : e));
      out.shell = await ch.shell().then(() => true, (e: unknown) => (e instanceof ChannelException ? false : e));
      if (out.shell === true) {
        let text = '';
        ch.on('data', (d: Buffer) => (text += d));
        ch.resize(132, 50);
        const deadline = Date.now() + 5000;
        while (!text.includes('resized') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        out.shellText = text;
        ch.write('quit\n');
        await ch.recvExitStatus();
      } else ch.destroy();
    } catch (e) {
      out.session = e instanceof ChannelException ? false : e;
    }
    out.exec = await c.run('do-it').then((r) => r.stdout, (e: unknown) => (e instanceof ChannelException ? false : e));
    const sub = await c.openSession().catch(() => null);
    out.subsystem = sub ? await sub.subsystem('custom-sub').then(() => true, (e: unknown) => (e instanceof ChannelException ? false : e)) : false;
    sub?.destroy();
    const dest = (echoTarget.address() as net.AddressInfo).port;
    const direct = new SSHWriter(64).string('127.0.0.1').uint32(dest).string('127.0.0.1').uint32(5555).toBytes();
    out.directTcpip = await c.connection.openChannel('direct-tcpip', direct).then(
      (ch) => {
        ch.destroy();
        return true;
      },
      (e: unknown) => (e instanceof ChannelException ? e.reasonCode : e),
    );
    const fwd = new SSHWriter(32).string('127.0.0.1').uint32(0).toBytes();
    const forward = await c.connection.globalRequest('tcpip-forward', fwd);
    out.tcpipForward = forward.ok;
    if (forward.ok) {
      // Port 0 asked: the reply names the port the server listens on; cancel that one.
      const bound = Buffer.from(forward.data).readUInt32BE(0);
      out.cancel = (await c.connection.globalRequest('cancel-tcpip-forward', new SSHWriter(32).string('127.0.0.1').uint32(bound).toBytes())).ok;
    }
    out.global = (await c.connection.globalRequest('custom@acceptance.test', new Uint8Array(0))).ok;
    return out;
  }

  it('allowed: each method is called with the request details and the requests succeed', async () => {
    allow = true;
    const out = await exercise();
    expect(out).toMatchObject({ env: true, x11: true, agent: true, pty: true, shell: true, subsystem: true, directTcpip: true, tcpipForward: true, cancel: true, global: true });
    expect(String(out.exec)).toContain('start do-it');
    expect(String(out.shellText)).toContain('start shell pty=90x30 env={"LANG":"C.UTF-8"}');
    expect(String(out.shellText)).toContain('resized 132x50');
    expect(resizes).toEqual([[132, 50]]);
    for (const want of [
      'checkChannelRequest:session',
      'checkChannelEnvRequest:LANG=C.UTF-8',
      'checkChannelX11Request:true MIT-MAGIC-COOKIE-1',
      'checkChannelForwardAgentRequest',
      'checkChannelPtyRequest:xterm 90x30',
      'checkChannelShellRequest',
      'checkChannelWindowChangeRequest:132x50',
      'checkChannelExecRequest:do-it',
      'checkChannelSubsystemRequest:custom-sub',
      `checkChannelDirectTcpipRequest:127.0.0.1:${(echoTarget.address() as net.AddressInfo).port}`,
      'checkPortForwardRequest:127.0.0.1',
      'cancelPortForwardRequest:127.0.0.1',
      'checkGlobalRequest:custom@acceptance.test',
    ]) {
      expect(calls).toContain(want);
    }
  });

  it('denied: every one of those requests fails at the client', async () => {
    allow = false;
    try {
      const out = await exercise();
      // checkChannelRequest refuses the session itself, so exec and subsystem never start.
      expect(out.session).toBe(false);
      expect(out.exec).toBe(false);
      expect(out.subsystem).toBe(false);
      expect(out.directTcpip).toBe(OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED);
      expect(out.tcpipForward).toBe(false);
      expect(out.global).toBe(false);
      expect(calls).toContain('checkChannelRequest:session');
    } finally {
      allow = true;
    }
  });

  it('denied per request inside an allowed session: env, x11, agent, pty, shell, exec, subsystem, window-change', async () => {
    // Sessions open, every request on them refused.
    calls.length = 0;
    const withPty = new WeakSet<object>();
    resizes.length = 0;
    const perRequest = await listen({
      hostKeys: ['ed25519'],
      server: {
        checkAuthNone: () => AUTH_SUCCESSFUL,
        checkChannelRequest: (kind) => (calls.push(`open:${kind}`), OPEN_SUCCEEDED),
        checkChannelExecRequest: () => (calls.push('exec'), false),
        // A pty with TERM "granted" is allowed, and a shell on such a channel, so window-change can be refused on its own.
        checkChannelShellRequest: (ch) => (calls.push('shell'), withPty.has(ch)),
        checkChannelPtyRequest: (ch, term) => (calls.push('pty'), term === 'granted' && (withPty.add(ch), true)),
        checkChannelSubsystemRequest: () => (calls.push('subsystem'), false),
        checkChannelEnvRequest: () => (calls.push('env'), false),
        checkChannelX11Request: () => (calls.push('x11'), false),
        checkChannelForwardAgentRequest: () => (calls.push('agent'), false),
        checkChannelWindowChangeRequest: () => (calls.push('window-change'), false),
      },
      processFactory: (proc) => {
        proc.on('resize', (cols: number, rows: number) => resizes.push([cols, rows]));
        proc.stdin.on('end', () => proc.exit(0)).resume();
      },
    });
    try {
      await using c = await connect(clientOpts(perRequest.address().port));
      const ch = await c.openSession();
      expect(await ch.setEnv('LANG', 'C')).toBe(false);
      expect(await ch.requestX11()).toBe(false);
      expect(await ch.requestAgentForwarding()).toBe(false);
      await expect(ch.requestPty({ cols: 80, rows: 24 })).rejects.toBeInstanceOf(ChannelException);
      await expect(ch.shell()).rejects.toBeInstanceOf(ChannelException);
      ch.destroy();
      await expect(c.run('x')).rejects.toBeInstanceOf(ChannelException);
      const s2 = await c.openSession();
      await expect(s2.subsystem('anything')).rejects.toBeInstanceOf(ChannelException);
      s2.destroy();
      const s3 = await c.openSession();
      await s3.requestPty({ term: 'granted', cols: 80, rows: 24 });
      await s3.shell();
      s3.resize(100, 30); // refused by checkChannelWindowChangeRequest: the process never hears of it
      s3.end();
      expect(await s3.recvExitStatus()).toBe(0);
      expect(resizes).toEqual([]);
      expect(calls).toEqual(expect.arrayContaining(['open:session', 'env', 'x11', 'agent', 'pty', 'shell', 'exec', 'subsystem', 'window-change']));
    } finally {
      await perRequest.close();
    }
  });
});

describe('processFactory, setSubsystemHandler and listen() options seen from the client', () => {
  it('proc.pty with later resizes, proc.exitWithSignal; a subsystem handler added with setSubsystemHandler', async () => {
    const server = await listen({
      hostKeys: ['ed25519'],
      server: allowAll,
      processFactory: (proc) => {
        if (proc.command === 'kill-me') return proc.exitWithSignal('USR1', false, 'asked to');
        proc.stdout.write(`pty ${proc.pty?.term} ${proc.pty?.cols}x${proc.pty?.rows}\n`);
        proc.on('resize', (cols: number, rows: number) => proc.stdout.write(`now ${cols}x${rows}\n`));
        proc.stdin.on('end', () => proc.exit(3)).resume();
      },
    });
    // Subsystems only (no processFactory): what is not registered is refused.
    const subServer = await listen({ hostKeys: ['ed25519'], server: allowAll });
    subServer.setSubsystemHandler('upper@acceptance', (channel) => {
      return new Promise<void>((resolve) => {
        channel.on('data', (d: Buffer) => channel.write(d.toString().toUpperCase()));
        channel.on('end', () => {
          channel.sendExitStatus(0);
          resolve();
        });
      });
    });
    try {
      await using c = await connect(clientOpts(server.address().port));
      const killed = await c.run('kill-me');
      expect(killed.exitStatus).toBeNull();
      expect(killed.exitSignal).toMatchObject({ name: 'USR1', message: 'asked to' });

      const sh = await c.shell({ term: 'vt220', cols: 77, rows: 22 });
      let text = '';
      sh.on('data', (d: Buffer) => (text += d));
      const until = async (s: string): Promise<void> => {
        const deadline = Date.now() + 5000;
        while (!text.includes(s)) {
          if (Date.now() > deadline) throw new Error(`no ${s} in ${text}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until('pty vt220 77x22');
      sh.resize(100, 40);
      await until('now 100x40');
      sh.resize(60, 20);
      await until('now 60x20');
      sh.end();
      expect(await sh.recvExitStatus()).toBe(3);

      await using sc = await connect(clientOpts(subServer.address().port));
      await expect(sc.run('ls')).rejects.toBeInstanceOf(ChannelException);
      const ch = await sc.openSession();
      await ch.subsystem('upper@acceptance');
      let up = '';
      ch.on('data', (d: Buffer) => (up += d));
      ch.end('make me loud');
      expect(await ch.recvExitStatus()).toBe(0);
      expect(up).toBe('MAKE ME LOUD');
      const unknown = await sc.openSession();
      await expect(unknown.subsystem('not-registered')).rejects.toBeInstanceOf(ChannelException);
      unknown.destroy();
    } finally {
      await server.close();
      await subServer.close();
    }
  });

  it('window and maxPacketSize are what the client is granted; rekeyBytes makes the server rekey', async () => {
    const server = await listen({
      hostKeys: ['ed25519'],
      server: allowAll,
      window: 256 * 1024,
      maxPacketSize: 16 * 1024,
      rekeyBytes: 512 * 1024,
      processFactory: (proc) => {
        let n = 0;
        proc.stdin.on('data', (d: Buffer) => (n += d.length));
        proc.stdin.on('end', () => {
          proc.stdout.write(`${n}\n`);
          proc.exit(0);
        });
      },
    });
    try {
      await using c = await connect(clientOpts(server.address().port));
      let rekeys = 0;
      c.transport.on('rekey', () => rekeys++);
      const proc = await c.exec('count');
      expect(proc.channel.remoteWindow).toBe(256 * 1024);
      expect(proc.channel.remoteMaxPacket).toBe(16 * 1024);
      const r = await c.run('count', { stdin: Buffer.alloc(4 * 1024 * 1024, 7) });
      expect(r.stdout).toBe(`${4 * 1024 * 1024}\n`);
      proc.stdin.end();
      await proc.exit;
      expect(rekeys).toBeGreaterThanOrEqual(4);
    } finally {
      await server.close();
    }
  });

  it('authTimeout: a client that never authenticates is disconnected', async () => {
    const errors: Error[] = [];
    const server = await listen({ hostKeys: ['ed25519'], server: { checkAuthPassword: () => AUTH_SUCCESSFUL }, authTimeout: 400 });
    server.on('error', (e: Error) => errors.push(e));
    try {
      const s = net.connect(server.address().port, '127.0.0.1');
      s.on('error', () => {});
      s.write('SSH-2.0-idle_client\r\n');
      s.resume();
      const t0 = Date.now();
      await new Promise<void>((resolve, reject) => {
        s.once('close', () => resolve());
        setTimeout(() => reject(new Error('server kept an unauthenticated client past authTimeout')), 5000).unref();
      });
      expect(Date.now() - t0).toBeLessThan(4000);
      // The server still serves others.
      await using c = await connect(clientOpts(server.address().port, { password: 'x', clientKeys: null }));
      expect(c.authMethods).toEqual(['password']);
    } finally {
      await server.close();
    }
  });
});

describe('OpenSSH sftp in batch mode against our SFTP server', () => {
  it('puts and gets 256 MiB byte-exact (files on /dev/shm)', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = existsSync('/dev/shm') ? '/dev/shm' : saved;
    const big = makeFixture('sshwire-acc6-sftp-');
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    const r = await startServer(big, { authorizedClientKeys: big.authorizedKeys, sftp: { root: big.root } });
    try {
      const local = join(big.dir, 'local');
      mkdirSync(local);
      execFileSync('sh', ['-c', `openssl enc -aes-128-ctr -nosalt -pass pass:acc6 -in /dev/zero 2>/dev/null | head -c 268435456 > '${join(local, 'big.bin')}'`]);
      const res = await sftpBatch(big, r, ['put big.bin', 'get big.bin back.bin'], local);
      expect(res.code, res.stderr).toBe(0);
      const sums = sha256Files([join(local, 'big.bin'), join(big.root, 'big.bin'), join(local, 'back.bin')]);
      expect(sums).toHaveLength(3);
      expect(new Set(sums).size).toBe(1);
      expect(readFileSync(join(big.root, 'big.bin')).length).toBe(256 * 1024 * 1024);
    } finally {
      await r.server.close();
      big.cleanup();
    }
  }, 120_000);
});

describe('npm start (scripts/main.ts)', () => {
  it('runs the main job: sha256 matched both ways, MB/s each way, backend info, temp files removed', async () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node --initial-old-space-size=64 --import tsx scripts/main.ts');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--initial-old-space-size=64', '--import', 'tsx', 'scripts/main.ts', '--size', '16'], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const out = r.stdout;
    expect(out).toMatch(/sshwire server listening on 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/remote command \(exit 0\)/);
    expect(out).toMatch(/ok: server copy sha256 matches/);
    expect(out).toMatch(/ok: downloaded copy sha256 matches/);
    expect(out).toMatch(/^upload\s+\d+(\.\d+)? MB\/s/m);
    expect(out).toMatch(/^download\s+\d+(\.\d+)? MB\/s/m);
    expect(out).toMatch(/getBackendInfo/);
    expect(out).toMatch(/aes128-gcm@openssh\.com\s+(wasm|native|js)/);
    const root = /SFTP root (\S+)/.exec(out)![1]!;
    expect(existsSync(root)).toBe(false);
  }, 120_000);
});
