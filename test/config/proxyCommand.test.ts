import { once } from 'node:events';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ProxyCommandFailure } from '../../ts/errors.js';
import { ProxyCommand, ProxyCommandExitError } from '../../ts/config/index.js';

/** Collect everything the stream yields until it ends or errors. */
function drain(stream: ProxyCommand): Promise<{ data: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve({ data: Buffer.concat(chunks) }));
    stream.once('error', (error) => resolve({ data: Buffer.concat(chunks), error }));
  });
}

/** Whether a process exists and is not a zombie (an orphan's zombie may linger if init does not reap). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('ProxyCommand', () => {
  it('carries data both ways through cat and ends cleanly', async () => {
    const p = new ProxyCommand('cat');
    const done = drain(p);
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 9)) & 0xff;
    p.write(payload.subarray(0, 1000));
    p.end(payload.subarray(1000));
    const { data, error } = await done;
    expect(error).toBeUndefined();
    expect(data.equals(payload)).toBe(true);
    expect(await p.wait()).toEqual({ exitCode: 0, signal: null });
  });

  it('a command that exits 1 fails with ProxyCommandFailure carrying the stderr tail', async () => {
    const p = new ProxyCommand(`sh -c 'echo first line >&2; echo "connect to gw port 22: refused" >&2; exit 1'`);
    const { error } = await drain(p);
    expect(error).toBeInstanceOf(ProxyCommandFailure);
    const e = error as ProxyCommandExitError;
    expect(e.code).toBe('ERR_SSH_PROXY_COMMAND');
    expect(e.exitCode).toBe(1);
    expect(e.command).toContain('exit 1');
    expect(e.stderrTail).toContain('connect to gw port 22: refused');
    expect(e.message).toMatch(/exited with status 1.*refused/s);
  });

  it('a missing binary fails with the shell’s complaint', async () => {
    const p = new ProxyCommand('/nonexistent/proxy-binary-xyz --flag');
    const { error } = await drain(p);
    expect(error).toBeInstanceOf(ProxyCommandFailure);
    expect((error as ProxyCommandExitError).exitCode).toBe(127);
    expect((error as ProxyCommandExitError).stderrTail).toMatch(/proxy-binary-xyz/);
  });

  it('a shell that cannot be spawned fails with ProxyCommandFailure', async () => {
    const p = new ProxyCommand('cat', { shell: '/nonexistent/sh' });
    const { error } = await drain(p);
    expect(error).toBeInstanceOf(ProxyCommandFailure);
    expect(error?.message).toMatch(/could not be started/);
    await p.wait();
  });

  it('destroy() kills the child and it is reaped', async () => {
    const p = new ProxyCommand('sleep 30');
    p.on('error', () => {});
    // Wait until the shell has exec'd sleep.
    await new Promise((r) => setTimeout(r, 100));
    const pid = p.pid!;
    expect(isAlive(pid)).toBe(true);
    p.destroy();
    const exit = await p.wait();
    expect(exit.signal).toBe('SIGTERM');
    expect(isAlive(pid)).toBe(false);
  });

  it('processGroup: destroy() also kills what the command started', async () => {
    const p = new ProxyCommand(`sh -c 'sleep 30 & echo $!; wait'`, { processGroup: true });
    p.on('error', () => {});
    const [first] = (await once(p, 'data')) as [Buffer];
    const grandchild = Number(first.toString().trim());
    expect(isAlive(grandchild)).toBe(true);
    p.destroy();
    await p.wait();
    // The grandchild was in the group; give the kernel a moment to deliver the signal.
    for (let i = 0; i < 50 && isAlive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(grandchild)).toBe(false);
  });

  it('destroy() escalates to SIGKILL when SIGTERM is ignored', async () => {
    // The shell is replaced by the command (exec), so the trap belongs to the proxy process itself.
    const p = new ProxyCommand(`sh -c 'trap "" TERM; echo ready; while :; do sleep 0.05; done'`, { killGraceMs: 200 });
    p.on('error', () => {});
    await once(p, 'data');
    p.destroy();
    const exit = await p.wait();
    expect(exit.signal).toBe('SIGKILL');
  });

  it('times out when no byte arrives in time, and kills the command', async () => {
    const p = new ProxyCommand('sleep 30', { timeout: 150 });
    const { error } = await drain(p);
    expect(error).toBeInstanceOf(ProxyCommandFailure);
    expect(error?.message).toMatch(/no data within 150 ms/);
    const exit = await p.wait();
    expect(exit.signal).toBe('SIGTERM');
  });

  it('the first-byte timer stops once data flows', async () => {
    // The second line only comes after we answer, well past the timeout.
    const p = new ProxyCommand(`sh -c 'echo hi; read x; echo "bye $x"'`, { timeout: 1000 });
    const done = drain(p);
    await once(p, 'data');
    await new Promise((r) => setTimeout(r, 1200));
    p.end('go\n');
    const { data, error } = await done;
    expect(error).toBeUndefined();
    expect(data.toString()).toBe('hi\nbye go\n');
  });

  it('keeps only the tail of a large stderr', async () => {
    const p = new ProxyCommand(`sh -c 'i=0; while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo THE-END >&2; exit 2'`, {
      stderrLimit: 1024,
    });
    const { error } = await drain(p);
    const e = error as ProxyCommandExitError;
    expect(e.exitCode).toBe(2);
    expect(Buffer.byteLength(e.stderrTail)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(e.stderrTail)).toBeGreaterThan(900);
    expect(e.stderrTail.trimEnd().endsWith('THE-END')).toBe(true);
    expect(e.stderrTail).not.toContain('noise line 0\n');
  });

  it('a clean exit without output is a plain end of stream', async () => {
    const p = new ProxyCommand('true');
    const { data, error } = await drain(p);
    expect(error).toBeUndefined();
    expect(data.length).toBe(0);
  });

  it('a command killed by a signal while in use fails', async () => {
    const p = new ProxyCommand(`sh -c 'echo up; kill -9 $$'`);
    const { data, error } = await drain(p);
    expect(data.toString()).toBe('up\n');
    expect(error).toBeInstanceOf(ProxyCommandFailure);
    expect((error as ProxyCommandExitError).signal).toBe('SIGKILL');
  });

  it('fails when the command stops reading its input', async () => {
    // Closes stdin, then keeps running: writes hit EPIPE.
    const p = new ProxyCommand(`sh -c 'exec 0<&-; echo ok; exec sleep 30'`);
    const errored = new Promise<Error>((resolve) => p.once('error', resolve));
    await once(p, 'data');
    const big = Buffer.alloc(256 * 1024);
    p.write(big);
    p.write(big);
    const err = await errored;
    expect(err).toBeInstanceOf(ProxyCommandFailure);
    expect(err.message).toMatch(/stopped reading its input/);
    const exit = await p.wait();
    expect(exit.signal).toBe('SIGTERM');
  });

  it('writes after the command exited fail', async () => {
    const p = new ProxyCommand('true');
    await drain(p);
    await p.wait();
    const err = await new Promise<Error | null | undefined>((resolve) => {
      p.once('error', resolve);
      p.write(Buffer.from('late'), (e) => {
        if (e) resolve(e);
      });
    });
    expect(err).toBeInstanceOf(ProxyCommandFailure);
  });
});
