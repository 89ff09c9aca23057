/**
 * Client benchmark: sshwire's `connect()` side by side with AsyncSSH, the
 * ssh2 package and OpenSSH's `ssh`, all against one private OpenSSH sshd on
 * 127.0.0.1.
 *
 *   npm run bench:client                  # full: 1 GiB file, 5 alternating runs
 *   npm run bench:client -- --quick       # 256 MiB, 3 runs, shorter time boxes
 *   ... -- --runs=7 --only=seq,bulk --peers=sshwire,openssh --prof=/tmp/prof
 *
 * Measured, each peer in its own process, in alternating order, median of
 * the runs:
 *   seq   sequential `run('true')` on one connection, per second (OpenSSH:
 *         one `ssh -S ctl host true` per command through a ControlMaster,
 *         its own way of reusing a connection);
 *   conc  200 concurrent `true` commands on one connection, per second;
 *   bulk  `cat bigfile` with stdout consumed and counted, MB/s (10^6 B/s)
 *         and the client process's CPU seconds, per cipher;
 *   hs    connect + authenticate + close, per second (OpenSSH: `ssh host
 *         true`, which also runs a command and starts a process each time).
 * Only the loop after connecting is timed, except where noted: OpenSSH's
 * bulk figure is (wall time of `ssh host cat` − median wall time of `ssh
 * host true`), i.e. its connection setup is taken out.
 *
 * All peers use curve25519-sha256, ssh-ed25519 host keys, and aes128-gcm
 * for seq/conc/hs. The sshd has `SetEnv SHLVL=1` (from test/helpers/sshd.ts):
 * with SHLVL set bash does not source root's ~/.bashrc for ssh commands,
 * which here runs `pyenv init` and costs ~100 ms per command.
 *
 * `--prof=DIR` writes a V8 CPU profile of each sshwire worker into DIR.
 * `--node-flags="..."` starts the sshwire workers with those node options,
 * e.g. `--node-flags=--initial-old-space-size=64` (see docs/PERFORMANCE.md,
 * "V8's collections on the bulk path").
 */
import { bundleForNode, median, makeFile } from './util.js';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ─────────────────────────── shared ───────────────────────────

type Test = 'seq' | 'conc' | 'bulk' | 'hs';
type Peer = 'sshwire' | 'asyncssh' | 'ssh2' | 'openssh';

/** What a worker is asked to do. */
interface Job {
  test: Test;
  port: number;
  key: string;
  cipher: string;
  /** Seconds to keep measuring (seq, conc, hs). */
  seconds: number;
  /** For conc: commands per round. */
  concurrency: number;
  /** For bulk: the file and its size. */
  file: string;
  size: number;
  /** Seconds of untimed warm-up before seq and conc (JIT, caches). */
  warmup: number;
  /** sshwire only: the module to import `connect` from (a bundle of ts/client.ts; unset: the sources through tsx). */
  module?: string;
  /** sshwire only: channel window and largest packet offered (unset: the library's defaults). */
  window?: number;
  maxPacketSize?: number;
}

/** What a worker reports: `value` per second (MB/s for bulk), client CPU seconds of the timed part. */
interface Outcome {
  value: number;
  cpu: number;
  count: number;
  seconds: number;
}

const KEX = 'curve25519-sha256';
const HOSTKEY = 'ssh-ed25519';
const USER = 'root';
const HOST = '127.0.0.1';

function outcome(count: number, seconds: number, cpu: number, perSecond = count / seconds): Outcome {
  return { value: perSecond, cpu, count, seconds };
}

// ─────────────────────────── sshwire worker ───────────────────────────

async function sshwireWorker(job: Job): Promise<Outcome> {
  const { connect } = (await import(job.module ?? '../../ts/client.js')) as typeof import('../../ts/client.js');
  const opts = {
    host: HOST,
    port: job.port,
    username: USER,
    privateKey: job.key,
    knownHosts: null,
    config: false as const,
    agent: false as const,
    algorithms: { kex: [KEX], serverHostKey: [HOSTKEY], cipher: [job.cipher] },
    ...(job.window !== undefined ? { window: job.window } : {}),
    ...(job.maxPacketSize !== undefined ? { maxPacketSize: job.maxPacketSize } : {}),
  };
  if (job.test === 'hs') {
    for (let i = 0; i < 3; i++) {
      const c = await connect(opts);
      c.close();
      await c.closed;
    }
    return timeBox(job.seconds, 5, async () => {
      const c = await connect(opts);
      c.close();
      await c.closed;
      return 1;
    });
  }
  const conn = await connect(opts);
  try {
    if (job.test === 'seq') {
      await timeBox(job.warmup, 10, async () => {
        await conn.run('true');
        return 1;
      });
      return await timeBox(job.seconds, 10, async () => {
        await conn.run('true');
        return 1;
      });
    }
    if (job.test === 'conc') {
      const round = async (): Promise<number> => {
        await Promise.all(Array.from({ length: job.concurrency }, () => conn.run('true')));
        return job.concurrency;
      };
      await timeBox(job.warmup, 1, round);
      return await timeBox(job.seconds, 1, round);
    }
    await conn.run('true');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const proc = await conn.exec(`cat ${job.file}`);
    let n = 0;
    proc.stdout.on('data', (d: Buffer) => (n += d.length));
    proc.stderr.resume();
    const ended = new Promise<void>((r) => proc.stdout.once('end', () => r()));
    await Promise.all([proc.exit, ended]);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (n !== job.size) throw new Error(`sshwire: received ${n} of ${job.size} bytes`);
    return outcome(n, secs, (cpu.user + cpu.system) / 1e6, n / 1e6 / secs);
  } finally {
    conn.close();
    await conn.closed;
  }
}

/** Repeats `step` (which returns how many operations it did) until `seconds` passed and at least `min` steps ran. */
async function timeBox(seconds: number, min: number, step: () => Promise<number>): Promise<Outcome> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let count = 0;
  let steps = 0;
  let elapsed = 0;
  while (elapsed < seconds * 1000 || steps < min) {
    count += await step();
    steps++;
    elapsed = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  return outcome(count, elapsed / 1000, (cpu.user + cpu.system) / 1e6);
}

// ─────────────────────────── ssh2 worker ───────────────────────────

interface Ssh2Stream {
  on(ev: string, f: (...a: any[]) => void): Ssh2Stream;
  once(ev: string, f: (...a: any[]) => void): Ssh2Stream;
  resume(): void;
  stderr: { resume(): void };
}
interface Ssh2Client {
  on(ev: string, f: (...a: any[]) => void): Ssh2Client;
  once(ev: string, f: (...a: any[]) => void): Ssh2Client;
  connect(cfg: object): void;
  exec(cmd: string, cb: (err: Error | undefined, stream: Ssh2Stream) => void): boolean;
  end(): void;
}

async function ssh2Worker(job: Job): Promise<Outcome> {
  const require = createRequire(import.meta.url);
  const { Client } = require('ssh2') as { Client: new () => Ssh2Client };
  const privateKey = readFileSync(job.key);
  const cfg = {
    host: HOST,
    port: job.port,
    username: USER,
    privateKey,
    algorithms: { kex: [KEX], serverHostKey: [HOSTKEY], cipher: [job.cipher] },
  };
  const open = (): Promise<Ssh2Client> =>
    new Promise((resolve, reject) => {
      const c = new Client();
      c.once('ready', () => resolve(c)).once('error', reject);
      c.connect(cfg);
    });
  const shut = (c: Ssh2Client): Promise<void> =>
    new Promise((r) => {
      c.once('close', () => r());
      c.end();
    });
  /** Runs `cmd`, calling `onData` per stdout chunk; resolves at channel close. */
  const exec = (c: Ssh2Client, cmd: string, onData?: (d: Buffer) => void): Promise<void> =>
    new Promise((resolve, reject) => {
      c.exec(cmd, (err, stream) => {
        if (err) return reject(err);
        stream.on('close', () => resolve());
        if (onData) stream.on('data', onData);
        else stream.resume();
        stream.stderr.resume();
      });
    });
  if (job.test === 'hs') {
    for (let i = 0; i < 3; i++) await shut(await open());
    return timeBox(job.seconds, 5, async () => {
      await shut(await open());
      return 1;
    });
  }
  const c = await open();
  try {
    if (job.test === 'seq') {
      await timeBox(job.warmup, 5, async () => {
        await exec(c, 'true');
        return 1;
      });
      return await timeBox(job.seconds, 10, async () => {
        await exec(c, 'true');
        return 1;
      });
    }
    if (job.test === 'conc') {
      const round = async (): Promise<number> => {
        await Promise.all(Array.from({ length: job.concurrency }, () => exec(c, 'true')));
        return job.concurrency;
      };
      await timeBox(job.warmup, 1, round);
      return await timeBox(job.seconds, 1, round);
    }
    await exec(c, 'true');
    let n = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await exec(c, `cat ${job.file}`, (d) => (n += d.length));
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (n !== job.size) throw new Error(`ssh2: received ${n} of ${job.size} bytes`);
    return outcome(n, secs, (cpu.user + cpu.system) / 1e6, n / 1e6 / secs);
  } finally {
    await shut(c);
  }
}

// ─────────────────────────── AsyncSSH (python) ───────────────────────────

/** The AsyncSSH side: same tests, same timing rules; reads the job as JSON from argv[1], prints an Outcome. */
const ASYNCSSH_SCRIPT = String.raw`
import asyncio, json, sys, time, warnings
warnings.filterwarnings('ignore')
import asyncssh

job = json.loads(sys.argv[1])

def opts():
    return dict(port=job['port'], username='${USER}', client_keys=[job['key']], known_hosts=None,
                agent_path=None, config=[], kex_algs=['${KEX}'], server_host_key_algs=['${HOSTKEY}'],
                encryption_algs=[job['cipher']], compression_algs=None)

async def time_box(seconds, minimum, step):
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    count = steps = 0
    elapsed = 0.0
    while elapsed < seconds or steps < minimum:
        count += await step()
        steps += 1
        elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return dict(value=count / elapsed, cpu=cpu, count=count, seconds=elapsed)

class Counter(asyncssh.SSHClientSession):
    def __init__(self):
        self.n = 0
    def data_received(self, data, datatype):
        if datatype is None:
            self.n += len(data)

async def main():
    test = job['test']
    if test == 'hs':
        async def once():
            async with asyncssh.connect('${HOST}', **opts()):
                pass
            return 1
        for _ in range(3):
            await once()
        return await time_box(job['seconds'], 5, once)
    async with asyncssh.connect('${HOST}', **opts()) as conn:
        if test == 'seq':
            async def one():
                await conn.run('true')
                return 1
            await time_box(job['warmup'], 10, one)
            return await time_box(job['seconds'], 10, one)
        if test == 'conc':
            k = job['concurrency']
            async def rnd():
                await asyncio.gather(*[conn.run('true') for _ in range(k)])
                return k
            await time_box(job['warmup'], 1, rnd)
            return await time_box(job['seconds'], 1, rnd)
        await conn.run('true')
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        chan, session = await conn.create_session(Counter, 'cat ' + job['file'], encoding=None)
        await chan.wait_closed()
        secs = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        if session.n != job['size']:
            raise SystemExit('asyncssh: received %d of %d bytes' % (session.n, job['size']))
        return dict(value=session.n / 1e6 / secs, cpu=cpu, count=session.n, seconds=secs)

print(json.dumps(asyncio.run(main())))
`;

/** The Debian python3 (with python3-asyncssh), not whatever pyenv shim comes first on PATH. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// ─────────────────────────── OpenSSH ───────────────────────────

function sshArgs(job: Pick<Job, 'port' | 'key' | 'cipher'>): string[] {
  return [
    '-F', '/dev/null',
    '-i', job.key,
    '-p', String(job.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-o', `KexAlgorithms=${KEX}`,
    '-o', `HostKeyAlgorithms=${HOSTKEY}`,
    '-o', `Ciphers=${job.cipher}`,
    `${USER}@${HOST}`,
  ];
}

/** Runs a process to its end; rejects on a non-zero exit. */
function run(cmd: string, args: string[], stdout: 'ignore' | 'pipe' = 'ignore'): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', stdout, 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout?.on('data', (c: Buffer) => out.push(c));
    p.stderr!.on('data', (c: Buffer) => err.push(c));
    p.once('error', reject);
    p.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
  });
}

async function opensshTimeBox(seconds: number, min: number, step: () => Promise<unknown>): Promise<Outcome> {
  const t0 = performance.now();
  let n = 0;
  let elapsed = 0;
  while (elapsed < seconds * 1000 || n < min) {
    await step();
    n++;
    elapsed = performance.now() - t0;
  }
  return outcome(n, elapsed / 1000, NaN);
}

async function opensshJob(job: Job, dir: string): Promise<Outcome> {
  const base = sshArgs(job);
  const target = base[base.length - 1]!;
  const opts = base.slice(0, -1);
  if (job.test === 'hs') {
    for (let i = 0; i < 2; i++) await run('ssh', [...base, 'true']);
    return opensshTimeBox(job.seconds, 5, () => run('ssh', [...base, 'true']));
  }
  if (job.test === 'seq') {
    const ctl = join(dir, `ctl-${process.pid}-${Date.now()}`);
    await run('ssh', [...opts, '-o', 'ControlMaster=yes', '-o', `ControlPath=${ctl}`, '-o', 'ControlPersist=yes', '-f', '-N', target]);
    try {
      const mux = [...opts, '-o', 'ControlMaster=no', '-o', `ControlPath=${ctl}`, target, 'true'];
      await opensshTimeBox(job.warmup, 5, () => run('ssh', mux));
      return await opensshTimeBox(job.seconds, 10, () => run('ssh', mux));
    } finally {
      await run('ssh', [...opts, '-o', `ControlPath=${ctl}`, '-O', 'exit', target]).catch(() => {});
    }
  }
  throw new Error(`openssh: bulk goes through opensshBulk`);
}

// ─────────────────────────── coordinator ───────────────────────────

const here = fileURLToPath(import.meta.url);
const repo = join(dirname(here), '..', '..');

/**
 * Bundles ts/client.ts with esbuild (tsx's own dependency) the way the
 * published build is made: plain JS, no `__name` helpers. Running from the
 * sources through tsx costs measurably more per call (tsx keeps function
 * names with a defineProperty per closure). The bundle sits in the bench's
 * temp dir next to links to wasm/ and node_modules/, so the wasm core and
 * the dependencies resolve as from the repo. Returns null (sources through
 * tsx) when esbuild is not available.
 */
function bundleSshwire(dir: string): string | null {
  const out = bundleForNode(join(repo, 'ts', 'client.ts'), dir, 'sshwire-client.mjs');
  // The workers themselves (this file), so node peers run in a plain node
  // without tsx's loader and its heap (which moves V8's collection
  // heuristics, see docs/PERFORMANCE.md), as users' programs do.
  if (out) bundleForNode(here, dir, 'bench-worker.mjs', false);
  return out;
}

/** Runs one job in a fresh process of the peer's kind and returns its Outcome. */
async function runWorker(peer: Peer, job: Job, dir: string, profDir: string | null, nodeFlags: string[] = []): Promise<Outcome> {
  let out: string;
  if (peer === 'asyncssh') {
    const script = join(dir, 'asyncssh_bench.py');
    if (!existsSync(script)) writeFileSync(script, ASYNCSSH_SCRIPT);
    out = await run(PYTHON, [script, JSON.stringify(job)], 'pipe');
  } else {
    const bundled = join(dir, 'bench-worker.mjs');
    const plain = job.module !== undefined && existsSync(bundled);
    const node = [...(plain ? [] : ['--import', 'tsx']), ...(peer === 'sshwire' ? nodeFlags : [])];
    if (profDir) node.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${peer}-${job.test}-${job.cipher}-${Date.now()}.cpuprofile`);
    out = await run(process.execPath, [...node, plain ? bundled : here, `--worker=${peer}`, JSON.stringify(job)], 'pipe');
  }
  return JSON.parse(out.trim().split('\n').pop()!) as Outcome;
}

/** OpenSSH bulk: wall time minus the connection setup, client CPU from GNU time. */
async function opensshBulk(job: Job, setup: number): Promise<Outcome> {
  const base = sshArgs(job);
  const t0 = performance.now();
  const text = await new Promise<string>((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', '%U %S', 'sh', '-c', 'exec ssh "$@" > /dev/null', 'sh', ...base, `cat ${job.file}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(Buffer.concat(err).toString()) : reject(new Error(`ssh cat exited with ${code}: ${Buffer.concat(err).toString()}`))));
  });
  const wall = (performance.now() - t0) / 1000;
  const [u, s] = text.trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
  const secs = Math.max(1e-3, wall - setup);
  return outcome(job.size, secs, u! + s!, job.size / 1e6 / secs);
}

interface Row {
  test: Test;
  cipher: string;
  peer: Peer;
  values: number[];
  cpus: number[];
}

/** Whether the ssh2 package uses its compiled crypto binding (in-place AES-GCM / ChaCha20-Poly1305) or node:crypto. */
function ssh2Binding(): string {
  try {
    const require = createRequire(import.meta.url);
    const c = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean };
    return c.bindingAvailable ? 'native binding (sshcrypto.node)' : 'node:crypto (no binding)';
  } catch {
    return 'unknown';
  }
}

function fmt(v: number, digits = 0): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

async function coordinator(argv: string[]): Promise<void> {
  const { startSshd } = await import('../../test/helpers/sshd.js');
  const quick = argv.includes('--quick');
  const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const runs = Math.max(1, Number(opt('runs') ?? (quick ? 3 : 5)));
  const only = (opt('only')?.split(',') ?? ['seq', 'conc', 'bulk', 'hs']) as Test[];
  const peers = (opt('peers')?.split(',') ?? ['sshwire', 'asyncssh', 'ssh2', 'openssh']) as Peer[];
  const ciphers = opt('ciphers')?.split(',') ?? ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
  const profDir = opt('prof') ?? null;
  const nodeFlags = opt('node-flags')?.split(' ').filter(Boolean) ?? [];
  const seconds = Number(opt('seconds') ?? (quick ? 1.5 : 3));
  const size = Number(opt('mib') ?? (quick ? 256 : 1024)) * 1024 * 1024;
  const concurrency = 200;

  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'sshwire-client-bench-'));
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
  const file = join(dir, 'bigfile');
  const sshd = await startSshd({
    authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()],
    // First value wins in sshd_config: quiet logging (DEBUG3 would cost sshd CPU per packet).
    overrides: ['LogLevel ERROR'],
    config: [`MaxSessions ${concurrency * 4}`],
  });
  const rows: Row[] = [];
  const row = (test: Test, cipher: string, peer: Peer): Row => {
    let r = rows.find((x) => x.test === test && x.cipher === cipher && x.peer === peer);
    if (!r) rows.push((r = { test, cipher, peer, values: [], cpus: [] }));
    return r;
  };
  try {
    if (only.includes('bulk')) makeFile(file, size);
    const warmup = Number(opt('warmup') ?? (quick ? 0.5 : 1));
    const base: Job = { test: 'seq', port: sshd.port, key, cipher: ciphers[0]!, seconds, warmup, concurrency, file, size };
    if (!argv.includes('--tsx')) {
      const bundle = bundleSshwire(dir);
      if (bundle) base.module = pathToFileURL(bundle).href;
    }
    if (opt('window')) base.window = Number(opt('window'));
    if (opt('max-packet')) base.maxPacketSize = Number(opt('max-packet'));
    process.stdout.write(
      `client benchmark: sshd ${sshd.port}, ${runs} runs, ${seconds} s per time box (${warmup} s warm-up), bulk ${size / 1024 / 1024} MiB, ` +
        `peers ${peers.join(' ')}, sshwire from ${base.module ? 'an esbuild bundle, node workers without tsx' : 'the sources (tsx)'}, ssh2 crypto ${ssh2Binding()}\n`,
    );
    // OpenSSH's connection setup (ssh host true), taken out of its bulk figures.
    const setup: number[] = [];
    const opensshSetup = async (cipher: string): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await run('ssh', [...sshArgs({ ...base, cipher }), 'true']);
        setup.push((performance.now() - t0) / 1000);
      }
    };
    const plan: Array<{ test: Test; cipher: string; peers: Peer[] }> = [];
    const aes = 'aes128-gcm@openssh.com';
    if (only.includes('seq')) plan.push({ test: 'seq', cipher: aes, peers });
    if (only.includes('conc')) plan.push({ test: 'conc', cipher: aes, peers: peers.filter((p) => p !== 'openssh') });
    if (only.includes('bulk')) for (const c of ciphers) plan.push({ test: 'bulk', cipher: c, peers });
    if (only.includes('hs')) plan.push({ test: 'hs', cipher: aes, peers });
    if (peers.includes('openssh') && only.includes('bulk')) for (const c of ciphers) await opensshSetup(c);
    for (const step of plan) {
      for (let r = 0; r < runs; r++) {
        // Alternate the order between runs so no peer always goes first after the previous test.
        const order = r % 2 === 0 ? step.peers : [...step.peers].reverse();
        for (const peer of order) {
          const job: Job = { ...base, test: step.test, cipher: step.cipher };
          let o: Outcome;
          try {
            if (peer === 'openssh') o = step.test === 'bulk' ? await opensshBulk(job, median(setup)) : await opensshJob(job, dir);
            else o = await runWorker(peer, job, dir, profDir, nodeFlags);
          } catch (err) {
            // One peer failing (say python3-asyncssh missing) leaves a gap in the table, not an aborted run.
            process.stdout.write(`  ${step.test} ${step.cipher} ${peer}: failed: ${String((err as Error).message).split('\n').slice(0, 3).join(' ')}\n`);
            continue;
          }
          const rr = row(step.test, step.cipher, peer);
          rr.values.push(o.value);
          // Client CPU normalised: seconds per GiB for bulk, µs per operation otherwise.
          rr.cpus.push(step.test === 'bulk' ? o.cpu / (o.count / 2 ** 30) : (o.cpu / o.count) * 1e6);
          process.stdout.write(
            `  ${step.test} ${step.cipher} ${peer}: ${fmt(o.value, 1)}${step.test === 'bulk' ? ' MB/s' : '/s'}, client cpu ${fmt(o.cpu, 2)} s over ${fmt(o.seconds, 2)} s\n`,
          );
        }
      }
    }
  } finally {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
}

const TITLES: Record<Test, string> = {
  seq: 'sequential run("true") on one connection, commands/s; client CPU in µs per command',
  conc: '200 concurrent run("true") on one connection, commands/s; client CPU in µs per command',
  bulk: 'cat bigfile, stdout consumed and counted, MB/s; client CPU in s per GiB',
  hs: 'connect + auth + close, per second; client CPU in µs per handshake',
};

function printTable(rows: Row[]): void {
  const lines: string[] = [];
  lines.push('');
  lines.push('| test | cipher | peer | median | min–max | sshwire ÷ peer | client CPU |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const test of ['seq', 'conc', 'bulk', 'hs'] as Test[]) {
    const group = rows.filter((r) => r.test === test);
    if (group.length === 0) continue;
    for (const cipher of [...new Set(group.map((r) => r.cipher))]) {
      const ours = group.find((r) => r.cipher === cipher && r.peer === 'sshwire');
      const oursMed = ours ? median(ours.values) : NaN;
      for (const r of group.filter((x) => x.cipher === cipher)) {
        const med = median(r.values);
        const digits = test === 'bulk' ? 0 : 1;
        const ratio = r.peer === 'sshwire' ? '' : `${fmt(oursMed / med, 2)}x`;
        const cpu = test === 'bulk' ? fmt(median(r.cpus), 2) : fmt(median(r.cpus), 0);
        lines.push(
          `| ${test} | ${cipher.replace('@openssh.com', '')} | ${r.peer} | ${fmt(med, digits)} | ${fmt(Math.min(...r.values), digits)}–${fmt(Math.max(...r.values), digits)} | ${ratio} | ${cpu} |`,
        );
      }
    }
  }
  lines.push('');
  for (const t of Object.keys(TITLES) as Test[]) if (rows.some((r) => r.test === t)) lines.push(`${t}: ${TITLES[t]}`);
  process.stdout.write(lines.join('\n') + '\n');
}

// ─────────────────────────── entry ───────────────────────────

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const worker = argv.find((a) => a.startsWith('--worker='))?.slice('--worker='.length);
  if (worker) {
    const job = JSON.parse(argv[argv.indexOf(`--worker=${worker}`) + 1]!) as Job;
    const o = worker === 'sshwire' ? await sshwireWorker(job) : await ssh2Worker(job);
    process.stdout.write(JSON.stringify(o) + '\n');
    return;
  }
  await coordinator(argv);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
