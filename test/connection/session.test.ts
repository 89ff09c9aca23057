import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelException,
  ProcessError,
  TimeoutError,
} from '../../ts/errors.js';
import {
  OPEN_FAILURE,
  SessionChannel,
  decodeTerminalModes,
  encodeTerminalModes,
  execProcess,
  runCommand,
  type ParsedChannelRequest,
} from '../../ts/connection/index.js';
import { MSG } from '../../ts/wire/index.js';
import { connectionPair, serveFakeCommands, until, type ConnPair } from './helpers.js';

let pair: ConnPair | null = null;
afterEach(async () => {
  await pair?.close();
  pair = null;
});

async function fakeServer(): Promise<ConnPair> {
  pair = await connectionPair();
  serveFakeCommands(pair.server);
  return pair;
}

describe('exec over a session channel', () => {
  it('separates stdout and stderr and reports the exit status', async () => {
    const { client } = await fakeServer();
    const r = await runCommand(client, 'both 10');
    expect(r.stdout).toBe('out 0\nout 2\nout 4\nout 6\nout 8\n');
    expect(r.stderr).toBe('err 1\nerr 3\nerr 5\nerr 7\nerr 9\n');
    expect(r.exitStatus).toBe(0);
    expect(r.returncode).toBe(0);

    const e = await runCommand(client, 'stderr oops');
    expect(e.stdout).toBe('');
    expect(e.stderr).toBe('oops\n');
    expect(e.exitStatus).toBe(3);
  });

  it('reports an exit signal, and returncode is minus the signal number', async () => {
    const { client } = await fakeServer();
    const r = await runCommand(client, 'kill KILL');
    expect(r.exitStatus).toBeNull();
    expect(r.exitSignal).toEqual({ name: 'KILL', coreDumped: false, message: 'killed', lang: '' });
    expect(r.returncode).toBe(-9);
  });

  it('check=true rejects with ProcessError carrying the output', async () => {
    const { client } = await fakeServer();
    const err = await runCommand(client, 'stderr bad', { check: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    const pe = err as ProcessError;
    expect(pe.exitStatus).toBe(3);
    expect(pe.stderr).toBe('bad\n');
    expect(pe.code).toBe('ERR_SSH_PROCESS_EXIT');
    await expect(runCommand(client, 'exit 0', { check: true })).resolves.toMatchObject({ exitStatus: 0 });
  });

  it('encoding null gives Buffers; stdin is fed and closed', async () => {
    const { client } = await fakeServer();
    const r = await runCommand(client, 'cat', { stdin: Buffer.from([0, 1, 2, 255]), encoding: null });
    expect(Buffer.isBuffer(r.stdout)).toBe(true);
    expect([...(r.stdout as Buffer)]).toEqual([0, 1, 2, 255]);
  });

  it('sends env before exec', async () => {
    const { client } = await fakeServer();
    const r = await runCommand(client, 'printenv FOO', { env: { FOO: 'bar baz' } });
    expect(r.stdout).toBe('bar baz\n');
  });

  it('execProcess gives streams and exit; recvExitStatus waits for CLOSE', async () => {
    const { client } = await fakeServer();
    const proc = await execProcess(client, 'cat');
    const chunks: Buffer[] = [];
    proc.stdout.on('data', (d: Buffer) => chunks.push(d));
    proc.stdin.write('line 1\n');
    proc.stdin.end('line 2\n');
    const exit = await proc.exit;
    expect(exit).toEqual({ exitStatus: 0 });
    expect(await proc.channel.recvExitStatus()).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe('line 1\nline 2\n');
  });

  it('recvExitStatus is -1 when the server closes without an exit status', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => {
      const ch = req.accept();
      setImmediate(() => ch.close());
    });
    const ch = await pair.client.openSession();
    expect(await ch.recvExitStatus()).toBe(-1);
    expect(await ch.exit).toEqual({ exitStatus: null });
  });

  it('a signal request reaches the server, which exits by it', async () => {
    const { client } = await fakeServer();
    const proc = await execProcess(client, 'sleep');
    proc.signal('SIGINT');
    expect(await proc.exit).toMatchObject({ exitStatus: null, exitSignal: { name: 'INT' } });
    expect(proc.returncode).toBe(-2);
  });

  it('a refused exec rejects with ChannelException and closes the channel', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => req.accept({ onRequest: () => false }));
    const err = await runCommand(pair.client, 'true').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelException);
    expect(pair.client.channelCount).toBeLessThanOrEqual(1);
  });
});

describe('server side: requests surfaced to a policy', () => {
  it('parses pty-req, env, window-change, break, x11-req, agent forwarding, subsystem', async () => {
    pair = await connectionPair();
    const seen: (ParsedChannelRequest | null)[] = [];
    pair.server.onChannelOpen((req) => {
      req.acceptSession({
        onRequest: (r) => {
          seen.push(r.info);
          return r.type !== 'x11-req';
        },
      });
    });
    const ch = await pair.client.openSession();
    expect(ch).toBeInstanceOf(SessionChannel);
    await ch.requestPty({ term: 'vt220', cols: 132, rows: 43, width: 640, height: 480, modes: { ECHO: 0, TTY_OP_OSPEED: 38400 } });
    expect(await ch.setEnv('LANG', 'C.UTF-8')).toBe(true);
    ch.resize(100, 50);
    expect(await ch.sendBreak(250)).toBe(true);
    expect(await ch.requestX11({ authCookie: 'abcd', screen: 1 })).toBe(false);
    expect(await ch.requestAgentForwarding()).toBe(true);
    await ch.subsystem('sftp');
    expect(seen).toEqual([
      {
        type: 'pty-req',
        term: 'vt220',
        cols: 132,
        rows: 43,
        width: 640,
        height: 480,
        modes: { ECHO: 0, TTY_OP_OSPEED: 38400 },
        rawModes: expect.any(Uint8Array),
      },
      { type: 'env', name: 'LANG', value: 'C.UTF-8' },
      { type: 'window-change', cols: 100, rows: 50, width: 0, height: 0 },
      { type: 'break', ms: 250 },
      { type: 'x11-req', singleConnection: false, authProtocol: 'MIT-MAGIC-COOKIE-1', authCookie: 'abcd', screen: 1 },
      { type: 'auth-agent-req@openssh.com' },
      { type: 'subsystem', name: 'sftp' },
    ]);
  });

  it('refuses requests when no handler accepts, and sessions when nobody accepts opens', async () => {
    pair = await connectionPair();
    const err = await pair.client.openSession().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelException);
    expect((err as ChannelException).reasonCode).toBe(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED);

    pair.server.onChannelOpen((req) => req.accept());
    const ch = await pair.client.openSession();
    await expect(ch.exec('ls')).rejects.toBeInstanceOf(ChannelException);
    await expect(ch.shell()).rejects.toBeInstanceOf(ChannelException);
  });

  it('replies in request order even when an earlier handler answers late', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) =>
      req.accept({
        onRequest: (r) => {
          if (r.type === 'slow@test') return new Promise<boolean>((res) => setTimeout(() => res(true), 50));
          return r.type === 'fast-yes@test';
        },
      }),
    );
    const ch = await pair.client.openSession();
    const order: string[] = [];
    const a = ch.request('slow@test').then((v) => order.push(`slow ${v}`));
    const b = ch.request('fast-no@test').then((v) => order.push(`fast-no ${v}`));
    const c = ch.request('fast-yes@test').then((v) => order.push(`fast-yes ${v}`));
    await Promise.all([a, b, c]);
    expect(order).toEqual(['slow true', 'fast-no false', 'fast-yes true']);
  });

  it('the server learns of the client\'s exit of stdin (EOF) and the client gets output, exit-status, EOF, CLOSE in order', async () => {
    pair = await connectionPair();
    const events: string[] = [];
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({ onRequest: (r) => r.type === 'exec' });
      ch.on('end', () => {
        // stdin EOF from the client: answer with a burst sent in one batch.
        ch.write(Buffer.alloc(300_000, 0x41));
        ch.sendExitStatus(7);
        ch.end();
        ch.close();
      });
      ch.resume();
    });
    const ch = await pair.client.openSession();
    await ch.exec('x');
    let got = 0;
    ch.on('data', (d: Buffer) => (got += d.length));
    ch.on('end', () => events.push(`end ${got}`));
    ch.exit.then((e) => events.push(`exit ${e.exitStatus}`));
    ch.on('close', () => events.push('close'));
    ch.end();
    await new Promise<void>((r) => ch.once('close', () => r()));
    expect(events).toEqual(['end 300000', 'exit 7', 'close']);
  });
});

describe('channel opens and global requests', () => {
  it('an open refused with a reason code gives ChannelException with that code', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => req.reject(OPEN_FAILURE.CONNECT_FAILED, 'nope'));
    const err = await pair.client.openChannel('direct-tcpip', new Uint8Array(0)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelException);
    expect((err as ChannelException).reasonCode).toBe(OPEN_FAILURE.CONNECT_FAILED);
    expect((err as Error).message).toContain('nope');
  });

  it('the server may open channels to the client (forwarded channels)', async () => {
    pair = await connectionPair();
    pair.client.onChannelOpen((req) => {
      const info = req.tcpip();
      const ch = req.accept();
      ch.end(`hello ${info.host}:${info.port}`);
    });
    const { encodeTcpipOpenData } = await import('../../ts/connection/index.js');
    const ch = await pair.server.openChannel('forwarded-tcpip', encodeTcpipOpenData({ host: '127.0.0.1', port: 8080, originHost: '10.0.0.1', originPort: 5555 }));
    const chunks: Buffer[] = [];
    for await (const c of ch) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello 127.0.0.1:8080');
    ch.end();
    await ch.exit; // closeOnEof: both EOFs lead to CLOSE
  });

  it('global requests: refused by default, answered with data by a handler, replies in order', async () => {
    pair = await connectionPair();
    expect(await pair.client.globalRequest('tcpip-forward@test')).toEqual({ ok: false, data: new Uint8Array(0) });
    pair.server.onGlobalRequest(async (name) => {
      if (name === 'slow') {
        await new Promise((r) => setTimeout(r, 30));
        return true;
      }
      if (name === 'port') return Uint8Array.of(0, 0, 0x1f, 0x90);
      return false;
    });
    const [a, b, c] = await Promise.all([pair.client.globalRequest('slow'), pair.client.globalRequest('port'), pair.client.globalRequest('other')]);
    expect(a.ok).toBe(true);
    expect(b.ok).toBe(true);
    expect(Buffer.from(b.data).readUInt32BE(0)).toBe(8080);
    expect(c.ok).toBe(false);
    expect(await pair.client.globalRequest('noreply', undefined, { wantReply: false })).toEqual({ ok: true, data: new Uint8Array(0) });
  });

  it('no-more-sessions@openssh.com makes the server refuse later sessions', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => req.accept());
    await pair.client.openSession();
    await pair.client.globalRequest('no-more-sessions@openssh.com', undefined, { wantReply: false });
    await expect(pair.client.openSession()).rejects.toMatchObject({ reasonCode: OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED });
  });

  it('maxChannels bounds incoming opens with RESOURCE_SHORTAGE', async () => {
    pair = await connectionPair({ server: { maxChannels: 2 } });
    pair.server.onChannelOpen((req) => req.accept());
    await pair.client.openSession();
    await pair.client.openSession();
    await expect(pair.client.openSession()).rejects.toMatchObject({ reasonCode: OPEN_FAILURE.RESOURCE_SHORTAGE });
  });
});

describe('waits: abort and timeout', () => {
  it('aborting an open rejects with AbortError; a late confirmation is closed again', async () => {
    const p0 = (pair = await connectionPair());
    const accepted: import('../../ts/connection/index.js').Channel[] = [];
    pair.server.onChannelOpen((req) => {
      setTimeout(() => accepted.push(req.accept()), 40);
    });
    const ac = new AbortController();
    const p = pair.client.openSession({ signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    const err = await p.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 60));
    expect(accepted).toHaveLength(1);
    await accepted[0]!.exit; // the client closed the abandoned channel
    // The client drops it when the server's CLOSE arrives, which can be after the server side's exit.
    await until(() => p0.client.channelCount === 0, 5_000, 'the client to drop the abandoned channel');
  });

  it('an already-aborted signal rejects at once with its reason', async () => {
    pair = await connectionPair();
    const reason = new Error('stop');
    await expect(pair.client.openSession({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(pair.client.globalRequest('x', undefined, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('a request without a reply times out with TimeoutError', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => req.accept({ onRequest: () => new Promise<boolean>(() => {}) }));
    const ch = await pair.client.openSession();
    await expect(ch.request('never@test', undefined, true, { timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('runCommand abort closes the channel and keeps the output so far', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({
        onRequest: (r) => {
          setImmediate(() => ch.write('partial'));
          return r.type === 'exec';
        },
      });
    });
    const ac = new AbortController();
    // Abort once the output has reached the client.
    pair.clientTransport.onMessage((type) => {
      if (type === MSG.CHANNEL_DATA) setImmediate(() => ac.abort());
    });
    const p = runCommand(pair.client, 'hang', { signal: ac.signal });
    const err = (await p.catch((e: unknown) => e)) as Error & { stdout: string };
    expect(err.name).toBe('AbortError');
    expect(err.stdout).toBe('partial');
  });

  it('runCommand timeout gives TimeoutError with the output so far', async () => {
    pair = await connectionPair();
    pair.server.onChannelOpen((req) => {
      const ch = req.acceptSession({
        onRequest: (r) => {
          setImmediate(() => ch.writeStderr('warn'));
          return r.type === 'exec';
        },
      });
    });
    const err = (await runCommand(pair.client, 'hang', { timeout: 500 }).catch((e: unknown) => e)) as TimeoutError & { stderr: string };
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.stderr).toBe('warn');
  });
});

describe('terminal modes', () => {
  it('round-trip by name', () => {
    const enc = encodeTerminalModes({ VINTR: 3, ECHO: 1, ICANON: 0, IUTF8: 1 });
    expect(enc.length).toBe(4 * 5 + 1);
    expect(enc[enc.length - 1]).toBe(0);
    expect(decodeTerminalModes(enc)).toEqual({ VINTR: 3, ECHO: 1, ICANON: 0, IUTF8: 1 });
  });
  it('rejects unknown names', () => {
    expect(() => encodeTerminalModes({ NOPE: 1 })).toThrow(/unknown terminal mode/);
  });
});
