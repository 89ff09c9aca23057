/**
 * `npm run bench:server`: the sshwire server against a private OpenSSH
 * sshd (internal-sftp), in one run, on the same machine.
 *
 *  1. OpenSSH `sftp` put and get of a 256 MiB file on /dev/shm against each
 *     server; MB/s and the ratio sshwire / OpenSSH, and the sshwire server
 *     process's CPU seconds per GiB moved (process.cpuUsage(), user + system,
 *     its thread pool and GC threads included; best run) and its major
 *     (mark-compact) GCs per GiB in that run. Every transfer is checked
 *     byte for byte (outside the timing).
 *  2. 500 concurrent connections (our client), each running a command on
 *     the sshwire server; the server's peak RSS per connection.
 *
 * The sshwire server runs in its own process (this script with --child) so
 * its RSS is its own. Options: --quick (64 MiB, 100 connections),
 * --mib N, --conns N, --cipher=NAME (sftp -c, e.g. aes128-gcm@openssh.com;
 * default: what OpenSSH picks, chacha20-poly1305), --runs N (best of N, 2),
 * --node-flags="..." (node options for the sshwire server process, e.g.
 * --initial-old-space-size=64; docs/PERFORMANCE.md).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundleForNode } from './util.js';
import { constants as perfConstants, performance, PerformanceObserver } from 'node:perf_hooks';

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

async function child(): Promise<void> {
  const { listen } = await import('../../ts/index.js');
  const [, , , root, authorizedKeys, hostKeyPath] = process.argv;
  const server = await listen({
    hostKeys: [hostKeyPath!],
    authorizedClientKeys: authorizedKeys!,
    sftp: { root: root! },
    maxConnections: 5000,
    processFactory: (proc) => {
      proc.stdout.write(`ran ${proc.command}\n`);
      proc.exit(0);
    },
  });
  server.on('error', (e: Error) => process.stderr.write(`server: ${e.message}\n`));
  let majorGCs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGCs++;
  }).observe({ entryTypes: ['gc'] });
  process.stdout.write(`PORT ${server.address().port}\n`);
  // "cpu" on stdin: report this process's CPU time so far (microseconds) and its major GCs so far.
  let line = '';
  process.stdin.on('data', (d: Buffer) => {
    line += String(d);
    for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n')) {
      if (line.slice(0, i) === 'cpu') {
        const u = process.cpuUsage();
        process.stdout.write(`CPU ${u.user + u.system} ${majorGCs}\n`);
      }
      line = line.slice(i + 1);
    }
  });
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

function run(file: string, args: string[], cwd?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, maxBuffer: 16 << 20, env: { ...process.env, SSH_AUTH_SOCK: '' } }, (err, _o, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }),
    );
  });
}

function vm(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const mib = Number(arg('mib') ?? (quick ? 64 : 256));
  const conns = Number(arg('conns') ?? (quick ? 100 : 500));
  const cipher = arg('cipher');
  const runs = Math.max(1, Number(arg('runs') ?? 2));
  const { startSshd } = await import('../../test/helpers/sshd.js');
  const { connect } = await import('../../ts/index.js');

  const work = mkdtempSync('/dev/shm/sshwire-bench-server-');
  try {
    const key = join(work, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const hostKey = join(work, 'host_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    writeFileSync(join(work, 'authorized_keys'), pub + '\n');
    const local = join(work, 'local');
    const ours = join(work, 'ours');
    for (const d of [local, ours]) mkdirSync(d);
    const fd = openSync(join(local, 'file.bin'), 'w');
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let left = mib << 20; left > 0; left -= buf.length) writeSync(fd, randomFillSync(buf), 0, Math.min(left, buf.length));
    closeSync(fd);

    // The sshwire server, in its own process: plain node running an esbuild
    // bundle of this script, as a user's server would run (tsx's loader adds
    // heap, which changes V8's collection heuristics; docs/PERFORMANCE.md).
    const childScript = bundleForNode(fileURLToPath(import.meta.url), work, 'server-child.mjs');
    const nodeFlags = arg('node-flags')?.split(' ').filter(Boolean) ?? [];
    const srv = spawn(process.execPath, [...nodeFlags, ...(childScript ? [childScript] : ['--import', 'tsx', new URL(import.meta.url).pathname]), '--child', ours, join(work, 'authorized_keys'), hostKey], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    // Lines from the child: PORT once, then CPU answers in order.
    const cpuWaiters: ((r: { us: number; gcs: number }) => void)[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      srv.stdout!.on('data', (d: Buffer) => {
        out += String(d);
        for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
          const l = out.slice(0, i);
          out = out.slice(i + 1);
          if (l.startsWith('PORT ')) resolve(Number(l.slice(5)));
          else if (l.startsWith('CPU ')) {
            const [us, gcs] = l.slice(4).split(' ').map(Number);
            cpuWaiters.shift()?.({ us: us!, gcs: gcs! });
          }
        }
      });
      srv.once('exit', () => reject(new Error('sshwire server exited')));
    });
    /** The server's CPU seconds and major GC count so far. */
    const serverCpu = (): Promise<{ s: number; gcs: number }> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('sshwire server did not report its CPU time')), 10_000);
        cpuWaiters.push(({ us, gcs }) => {
          clearTimeout(t);
          resolve({ s: us / 1e6, gcs });
        });
        srv.stdin!.write('cpu\n');
      });
    const ourKnown = join(work, 'known_ours');
    writeFileSync(ourKnown, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);

    const sshd = await startSshd({ authorizedKeys: [pub], overrides: ['LogLevel ERROR'], config: ['Subsystem sftp internal-sftp', 'MaxSessions 10'] });
    const sshdKnown = join(work, 'known_sshd');
    writeFileSync(sshdKnown, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeys['ssh-ed25519']!.split(' ').slice(0, 2).join(' ')}\n`);

    const original = readFileSync(join(local, 'file.bin'));
    /** A transfer that is fast but wrong is a failure: compare the bytes (after the timing). */
    const check = (path: string): void => {
      if (!readFileSync(path).equals(original)) throw new Error(`${path} differs from the file sent`);
    };
    const sftpOnce = async (p: number, known: string, cmd: string): Promise<number> => {
      const batch = join(work, 'batch');
      writeFileSync(batch, cmd + '\n');
      const t = performance.now();
      const r = await run('sftp', ['-q', '-b', batch, ...(cipher ? ['-c', cipher] : []), '-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${known}`, '-P', String(p), 'root@127.0.0.1'], local);
      if (r.code !== 0) throw new Error(`sftp failed: ${r.stderr}`);
      return ((mib << 20) / 1e6) / ((performance.now() - t) / 1000);
    };
    const best = async (f: () => Promise<number>): Promise<number> => {
      let b = 0;
      for (let i = 0; i < runs; i++) b = Math.max(b, await f());
      return b;
    };
    // Our server's CPU seconds per GiB, best of the runs (the machine may be shared: the least disturbed run), with that run's major GCs per GiB.
    const cpuPerGiB = new Map<string, { s: number; gcs: number }>();
    const oursOnce = (name: string, cmd: string, result: string) => async (): Promise<number> => {
      const c0 = await serverCpu();
      const mbs = await sftpOnce(port, ourKnown, cmd);
      const c1 = await serverCpu();
      const s = (c1.s - c0.s) / (mib / 1024);
      if (s < (cpuPerGiB.get(name)?.s ?? Infinity)) cpuPerGiB.set(name, { s, gcs: (c1.gcs - c0.gcs) / (mib / 1024) });
      check(result);
      return mbs;
    };
    const rows: [string, number, number][] = [];
    // internal-sftp serves the real filesystem: give it a directory on /dev/shm too.
    const sshdRoot = join(work, 'theirs');
    mkdirSync(sshdRoot);
    rows.push([
      'sftp put',
      await best(oursOnce('sftp put', 'put file.bin /up.bin', join(ours, 'up.bin'))),
      await best(async () => {
        const mbs = await sftpOnce(sshd.port, sshdKnown, `put file.bin ${sshdRoot}/up.bin`);
        check(join(sshdRoot, 'up.bin'));
        return mbs;
      }),
    ]);
    rows.push([
      'sftp get',
      await best(oursOnce('sftp get', 'get /up.bin down.bin', join(local, 'down.bin'))),
      await best(async () => {
        const mbs = await sftpOnce(sshd.port, sshdKnown, `get ${sshdRoot}/up.bin down.bin`);
        check(join(local, 'down.bin'));
        return mbs;
      }),
    ]);
    console.log(`\nOpenSSH sftp client${cipher ? ` (-c ${cipher})` : ''}, ${mib} MiB on /dev/shm (best of ${runs}):`);
    console.log('  operation   sshwire MB/s   OpenSSH MB/s   ratio   sshwire server CPU s/GiB   major GCs/GiB');
    for (const [name, a, b] of rows) {
      const c = cpuPerGiB.get(name);
      console.log(`  ${name.padEnd(10)}  ${a.toFixed(1).padStart(12)}   ${b.toFixed(1).padStart(12)}   ${(a / b).toFixed(2)}   ${(c?.s ?? NaN).toFixed(2).padStart(10)}   ${(c?.gcs ?? NaN).toFixed(0).padStart(27)}`);
    }
    await sshd.stop();

    // Many connections at once, each running a command, all held open until every one has run.
    const base = vm(srv.pid!, 'VmRSS');
    const t0 = performance.now();
    const clients = await Promise.all(
      Array.from({ length: conns }, async (_, i) => {
        const c = await connect({ host: '127.0.0.1', port, username: 'root', privateKey: key, knownHosts: ourKnown, config: false, agent: false, lookForKeys: false, readyTimeout: 120_000 });
        const r = await c.run(`cmd-${i}`);
        if (r.stdout !== `ran cmd-${i}\n`) throw new Error(`connection ${i}: unexpected output ${String(r.stdout)}`);
        return c;
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const peak = vm(srv.pid!, 'VmHWM');
    const now = vm(srv.pid!, 'VmRSS');
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.closed));
    console.log(`\n${conns} concurrent connections (sshwire client), each ran a command:`);
    console.log(`  all connected and ran in ${secs.toFixed(2)} s (${(conns / secs).toFixed(0)} conn/s, key exchange + auth + exec each)`);
    console.log(`  server RSS: ${(base / 1048576).toFixed(1)} MiB idle, ${(now / 1048576).toFixed(1)} MiB with all open, peak ${(peak / 1048576).toFixed(1)} MiB`);
    console.log(`  per connection: ${((Math.max(now, peak) - base) / conns / 1024).toFixed(1)} KiB (peak RSS over idle, / ${conns})`);
    srv.stdin!.end();
    await new Promise((r) => srv.once('exit', r));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) void child();
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
