/**
 * SFTP transfer benchmark: get/put MB/s and client CPU seconds per GiB for a
 * 1 GiB file on tmpfs (`--quick`: 256 MiB), sshwire's SFTPClient vs
 * OpenSSH's `sftp`, both talking to OpenSSH's sftp-server directly over
 * pipes (no SSH, so only the SFTP engines are compared).
 *
 *   npm run bench:sftp [-- --quick] [--runs N]
 *
 * CPU accounting: our client is this process (process.cpuUsage). The
 * sftp-server is started through a wrapper that records its own CPU with
 * GNU time, so for OpenSSH's client, client CPU = (sftp + its children)
 * minus the server's share.
 *
 * Then the same through a private sshd (`Subsystem sftp internal-sftp`)
 * with aes128-gcm and chacha20-poly1305: sshwire (connect + openSftp),
 * OpenSSH `sftp` (client CPU = sftp + its ssh child), and the ssh2 package's
 * fastGet/fastPut with its defaults. `--no-sshd` skips that part. Our
 * client also runs the same transfer as Node streams (createReadStream piped
 * to a local file, a local file piped to createWriteStream), reported beside
 * get/put. For our runs through sshd the table gives the resident-memory
 * growth of the process doing the transfer: the peak RSS sampled every
 * 10 ms during it minus the RSS just before it.
 *
 * Through sshd, each node client run (ours, ours with streams, ssh2) is a
 * fresh plain-node process running an esbuild bundle of this script, as a
 * user's program would be: the harness (tsx, the other clients) stays off
 * its heap, which matters because V8's collection heuristics depend on heap
 * size (docs/PERFORMANCE.md). `--in-process` runs them here instead.
 *
 * The runs go in rounds: round i runs every client and direction once, and
 * each table row is that client's best run (its memory figure the worst).
 * This machine's speed drifts over minutes, so clients compared side by
 * side must share them.
 *
 * Narrowing a run (e.g. to profile or compare one path):
 *   --op get|put       only that direction
 *   --no-pipes         skip the sftp-server-over-pipes part
 *   --ours-only        only sshwire (no OpenSSH sftp, no ssh2)
 *   --cipher <name>    only that cipher through sshd
 *   --chunk <bytes>    our client's chunkSize (default: the server's limits)
 *   --concurrency <n>  our client's requests in flight (default 64)
 *   --channels <n>     our client's SFTP channels per large upload (default 2)
 *   --delay-ms <n>     every client reaches sshd through a forwarder that
 *                      holds each chunk n ms per direction (a round-trip
 *                      time of 2n ms), where flow-control windows decide
 */
import { bundleForNode, makeFile, startDelayProxy } from './util.js';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync, statSync, createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { SFTPClient, openSftp } from '../../ts/sftp/index.js';
import { connect } from '../../ts/client.js';
import { startSshd } from '../../test/helpers/sshd.js';

const SERVER = '/usr/lib/openssh/sftp-server';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsIdx = args.indexOf('--runs');
const runs = runsIdx >= 0 ? Math.max(1, Number(args[runsIdx + 1])) : 2;
const withSshd = !args.includes('--no-sshd');
const opIdx = args.indexOf('--op');
const OPS = (opIdx >= 0 ? [args[opIdx + 1]] : ['get', 'put']) as Array<'get' | 'put'>;
if (!OPS.every((o) => o === 'get' || o === 'put')) throw new Error('--op takes get or put');
const withPipes = !args.includes('--no-pipes');
const oursOnly = args.includes('--ours-only');
const cipherIdx = args.indexOf('--cipher');
/** `--name <number>`'s value, if given. */
function numberArg(name: string): number | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
}
const SHAPE = { chunkSize: numberArg('--chunk'), concurrency: numberArg('--concurrency'), channels: numberArg('--channels') };
/** The shape options again, for a child process. */
function shapeArgs(): string[] {
  return Object.entries({ '--chunk': SHAPE.chunkSize, '--concurrency': SHAPE.concurrency, '--channels': SHAPE.channels }).flatMap(([k, v]) => (v ? [k, String(v)] : []));
}
const delayMs = numberArg('--delay-ms');
const SIZE = (quick ? 256 : 1024) * 1024 * 1024;
const GiB = 1024 ** 3;

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'sshwire-bench-'));
const serverCpuFile = join(dir, 'server-cpu');
const wrapper = join(dir, 'server.sh');
writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -f '%U %S' -o "${serverCpuFile}" ${SERVER} "$@"\n`);
chmodSync(wrapper, 0o755);

function serverCpu(): number {
  const [u, s] = readFileSync(serverCpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return u! + s!;
}

interface Result {
  seconds: number;
  clientCpu: number;
  /**
   * The user-space part of clientCpu. Kernel time here is mostly socket
   * I/O and writing the file to tmpfs, which on this VM varies several-fold
   * between runs (fresh pages); user time is what a client's own code costs.
   */
  clientUser: number;
  serverCpu: number;
  /** Peak RSS during the transfer minus RSS before it, bytes (our in-process runs only). */
  rssGrowth?: number;
}

/** Samples this process's RSS every 10 ms until the returned function is called; it returns the peak growth in bytes. */
function watchRss(): () => number {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss()) - base;
  };
}

async function ours(direction: 'get' | 'put', src: string, dst: string): Promise<Result> {
  rmSync(serverCpuFile, { force: true });
  const proc = spawn(wrapper, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const client = await SFTPClient.fromStream({ readable: proc.stdout!, writable: proc.stdin! }, SHAPE);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (direction === 'get') await client.get(src, dst);
  else await client.put(src, dst, { confirm: true });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  await new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
  await new Promise((r) => setTimeout(r, 20));
  return { seconds, clientCpu: (cpu.user + cpu.system) / 1e6, clientUser: cpu.user / 1e6, serverCpu: serverCpu() };
}

function openssh(direction: 'get' | 'put', src: string, dst: string, extra: string[]): Result {
  rmSync(serverCpuFile, { force: true });
  const batch = join(dir, 'batch');
  writeFileSync(batch, `${direction} ${src} ${dst}\n`);
  const timeFile = join(dir, 'client-cpu');
  const t0 = performance.now();
  execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'sftp', '-q', ...extra, '-D', wrapper, '-b', batch], { stdio: ['ignore', 'ignore', 'inherit'] });
  const seconds = (performance.now() - t0) / 1000;
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  const server = serverCpu();
  return { seconds, clientCpu: u! + s! - server, clientUser: NaN, serverCpu: server };
}

const CIPHERS = cipherIdx >= 0 ? [args[cipherIdx + 1]!] : ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];

/** Our client through sshd: `get`/`put`, or with `streams` the same transfer as Node streams piped to/from a local file. */
async function oursSshd(port: number, key: string, cipher: string, direction: 'get' | 'put', src: string, dst: string, streams = false): Promise<Result> {
  const conn = await connect({ host: '127.0.0.1', port, username: 'root', privateKey: key, knownHosts: null, agent: false, config: false, algorithms: { cipher: [cipher] } } as Parameters<typeof connect>[0]);
  const client = await openSftp(conn, SHAPE);
  const rss = watchRss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (streams) {
    if (direction === 'get') await pipeline(client.createReadStream(src), createWriteStream(dst));
    else await pipeline(createReadStream(src), client.createWriteStream(dst));
  } else if (direction === 'get') await client.get(src, dst);
  else await client.put(src, dst);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rssGrowth = rss();
  await client.close();
  conn.close();
  return { seconds, clientCpu: (cpu.user + cpu.system) / 1e6, clientUser: cpu.user / 1e6, serverCpu: NaN, rssGrowth };
}

function opensshSshd(port: number, key: string, cipher: string, direction: 'get' | 'put', src: string, dst: string): Result {
  const batch = join(dir, 'batch');
  writeFileSync(batch, `${direction} ${src} ${dst}\n`);
  const timeFile = join(dir, 'client-cpu');
  const t0 = performance.now();
  execFileSync(
    '/usr/bin/time',
    ['-f', '%U %S', '-o', timeFile, 'sftp', '-q', '-i', key, '-P', String(port), '-c', cipher, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-b', batch, 'root@127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const seconds = (performance.now() - t0) / 1000;
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { seconds, clientCpu: u! + s!, clientUser: u!, serverCpu: NaN };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- ssh2 ships no types and @types/ssh2 is not a dependency */
async function ssh2Sshd(port: number, key: string, cipher: string, direction: 'get' | 'put', src: string, dst: string): Promise<Result> {
  const { Client } = createRequire(import.meta.url)('ssh2') as { Client: new () => any };
  const conn = new Client();
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', resolve).once('error', reject);
    conn.connect({ host: '127.0.0.1', port, username: 'root', privateKey: readFileSync(key), algorithms: { cipher: [cipher] } });
  });
  const sftp: any = await new Promise((resolve, reject) => conn.sftp((err: Error | undefined, s: any) => (err ? reject(err) : resolve(s))));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => (direction === 'get' ? sftp.fastGet : sftp.fastPut).call(sftp, src, dst, (err?: Error) => (err ? reject(err) : resolve())));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  conn.end();
  return { seconds, clientCpu: (cpu.user + cpu.system) / 1e6, clientUser: cpu.user / 1e6, serverCpu: NaN };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Runs every case in both directions `runs` times, in rounds: round i runs
 * each case once before round i + 1 starts, so the clients compared share
 * the same minutes of this machine's drifting speed (runs grouped by
 * client would hand one client a slow stretch whole). Returns each case's
 * results per direction, in case order.
 */
async function inRounds<C>(list: C[], one: (c: C, d: 'get' | 'put', i: number) => Promise<Result>): Promise<Array<{ c: C; d: 'get' | 'put'; results: Result[] }>> {
  const out = list.flatMap((c) => OPS.map((d) => ({ c, d, results: [] as Result[] })));
  for (let i = 0; i < runs; i++) for (const slot of out) slot.results.push(await one(slot.c, slot.d, i));
  return out;
}

function best(rs: Result[]): Result {
  return rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

/** One node client run through sshd, as the child process gets it. */
interface SshdJob {
  impl: 'sshwire' | 'sshwire streams' | 'ssh2';
  port: number;
  key: string;
  cipher: string;
  direction: 'get' | 'put';
  src: string;
  dst: string;
}

function runSshdJob(j: SshdJob): Promise<Result> {
  if (j.impl === 'ssh2') return ssh2Sshd(j.port, j.key, j.cipher, j.direction, j.src, j.dst);
  return oursSshd(j.port, j.key, j.cipher, j.direction, j.src, j.dst, j.impl === 'sshwire streams');
}

/** This script bundled for plain node (see bundleForNode), unless --in-process. */
function bundleSelf(): string | null {
  return args.includes('--in-process') ? null : bundleForNode(fileURLToPath(import.meta.url), dir, 'bench-sftp.mjs');
}

/** Runs `j` in a fresh plain-node process from `bundle` (or here, without one). */
function inChild(bundle: string | null, j: SshdJob): Promise<Result> {
  if (!bundle) return runSshdJob(j);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bundle, '--sftp-child', JSON.stringify(j), ...shapeArgs()], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${j.impl} ${j.direction} child failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Result);
    });
  });
}

async function main(): Promise<void> {
  const src = join(dir, 'src.bin');
  makeFile(src, SIZE);
  // The first transfer after creating the source would otherwise write its
  // destination into memory this VM has not touched for a while, seconds of
  // kernel time that would land on whichever client happens to go first.
  const warm = join(dir, 'warm-up.bin');
  makeFile(warm, SIZE);
  rmSync(warm, { force: true });
  const rows: Array<{ name: string; dir: string; r: Result }> = [];
  const cases: Array<{ name: string; run: (d: 'get' | 'put', s: string, t: string) => Promise<Result> | Result }> = [
    { name: 'sshwire SFTPClient', run: ours },
    { name: 'OpenSSH sftp (defaults)', run: (d, s, t) => openssh(d, s, t, []) },
    { name: 'OpenSSH sftp -B 261120', run: (d, s, t) => openssh(d, s, t, ['-B', '261120']) },
  ];
  const pipeCases = withPipes ? (oursOnly ? cases.slice(0, 1) : cases) : [];
  const pipeResults = await inRounds(pipeCases, async (c, d) => {
    const dst = join(dir, `dst-${d}.bin`);
    const r = await c.run(d, src, dst);
    if (statSync(dst).size !== SIZE) throw new Error(`${c.name} ${d}: wrong size ${statSync(dst).size}`);
    rmSync(dst, { force: true });
    return r;
  });
  for (const { c, d, results } of pipeResults) rows.push({ name: c.name, dir: d, r: best(results) });
  const sshRows: Array<{ name: string; cipher: string; dir: string; r: Result }> = [];
  if (withSshd) {
    const key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'pipe' });
    const bundle = bundleSelf();
    const sshd = await startSshd({ authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()], config: ['Subsystem sftp internal-sftp'], overrides: ['LogLevel ERROR'] });
    const proxy = delayMs ? await startDelayProxy(sshd.port, delayMs) : null;
    const port = proxy?.port ?? sshd.port;
    try {
      const sshCases: Array<{ name: string; run: (c: string, d: 'get' | 'put', s: string, t: string) => Promise<Result> | Result }> = [
        { name: 'sshwire', run: (c, d, s, t) => inChild(bundle, { impl: 'sshwire', port, key, cipher: c, direction: d, src: s, dst: t }) },
        { name: 'sshwire streams', run: (c, d, s, t) => inChild(bundle, { impl: 'sshwire streams', port, key, cipher: c, direction: d, src: s, dst: t }) },
        { name: 'OpenSSH sftp', run: (c, d, s, t) => opensshSshd(port, key, c, d, s, t) },
        { name: 'ssh2 fastGet/fastPut', run: (c, d, s, t) => inChild(bundle, { impl: 'ssh2', port, key, cipher: c, direction: d, src: s, dst: t }) },
      ];
      for (const cipher of CIPHERS) {
        const perCase = await inRounds(oursOnly ? sshCases.slice(0, 2) : sshCases, async (c, d, i) => {
          const dst = join(dir, `dst-${d}.bin`);
          const r = await c.run(cipher, d, src, dst);
          console.log(`${c.name} ${cipher.split('@')[0]} ${d} run ${i + 1}: ${((r.clientCpu * GiB) / SIZE).toFixed(2)} client CPU s/GiB (user ${((r.clientUser * GiB) / SIZE).toFixed(2)}), ${(SIZE / 1e6 / r.seconds).toFixed(0)} MB/s${r.rssGrowth === undefined ? '' : `, RSS +${(r.rssGrowth / 2 ** 20).toFixed(0)} MiB`}`);
          if (statSync(dst).size !== SIZE) throw new Error(`${c.name} ${d}: wrong size ${statSync(dst).size}`);
          rmSync(dst, { force: true });
          return r;
        });
        for (const { c, d, results } of perCase) {
          // Memory: the worst run, not the fastest one's.
          const growths = results.map((x) => x.rssGrowth).filter((x): x is number => x !== undefined);
          sshRows.push({ name: c.name, cipher, dir: d, r: { ...best(results), ...(growths.length > 0 ? { rssGrowth: Math.max(...growths) } : {}) } });
        }
      }
    } finally {
      proxy?.proc.kill();
      await sshd.stop();
    }
  }
  const mb = SIZE / 1e6;
  console.log(`\nSFTP over a local sftp-server (pipes, no SSH), ${SIZE / 1024 / 1024} MiB on ${dir.startsWith('/dev/shm') ? 'tmpfs' : 'disk'}, best of ${runs}\n`);
  console.log('| client | op | MB/s | client CPU s/GiB | server CPU s/GiB | MB/s vs OpenSSH defaults |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const row of rows) {
    const ref = rows.find((x) => x.name === 'OpenSSH sftp (defaults)' && x.dir === row.dir) ?? row;
    const rate = mb / row.r.seconds;
    const refRate = mb / ref.r.seconds;
    console.log(
      `| ${row.name} | ${row.dir} | ${rate.toFixed(0)} | ${((row.r.clientCpu * GiB) / SIZE).toFixed(2)} | ${((row.r.serverCpu * GiB) / SIZE).toFixed(2)} | ${(rate / refRate).toFixed(2)}x |`,
    );
  }
  if (sshRows.length > 0) {
    console.log(`\nSFTP through a private sshd (internal-sftp) on 127.0.0.1, ${SIZE / 1024 / 1024} MiB, best of ${runs}\n`);
    console.log('| cipher | client | op | MB/s | client CPU s/GiB | of which user | MB/s vs OpenSSH | CPU vs OpenSSH | user CPU vs OpenSSH | RSS growth MiB |');
    console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of sshRows) {
      const ref = sshRows.find((x) => x.name === 'OpenSSH sftp' && x.dir === row.dir && x.cipher === row.cipher) ?? row;
      const rate = mb / row.r.seconds;
      console.log(
        `| ${row.cipher.split('@')[0]} | ${row.name} | ${row.dir} | ${rate.toFixed(0)} | ${((row.r.clientCpu * GiB) / SIZE).toFixed(2)} | ${((row.r.clientUser * GiB) / SIZE).toFixed(2)} | ${(rate / (mb / ref.r.seconds)).toFixed(2)}x | ${(row.r.clientCpu / ref.r.clientCpu).toFixed(2)}x | ${(row.r.clientUser / ref.r.clientUser).toFixed(2)}x | ${row.r.rssGrowth === undefined ? '' : (row.r.rssGrowth / 2 ** 20).toFixed(0)} |`,
      );
    }
  }
}

const childAt = args.indexOf('--sftp-child');
(childAt >= 0 ? runSshdJob(JSON.parse(args[childAt + 1]!) as SshdJob).then((r) => console.log(JSON.stringify(r))) : main())
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
