/**
 * Transport benchmark. Modes (default: all three):
 *
 * - `handshakes`: handshakes per second per kex method, our client and our
 *   server in one process over 127.0.0.1.
 * - `pair`: bulk packet throughput per cipher, our client to our server in
 *   ONE process over 127.0.0.1 (32 KiB messages), so every byte is sealed and
 *   opened on the same cores: the figure is bounded by 1/(1/seal + 1/open).
 * - `sshd`: the receive path alone against OpenSSH's sshd: our client
 *   authenticates (publickey), opens a session channel by hand (a minimal
 *   channel that lives in this script only), runs `cat` of a file in
 *   /dev/shm and consumes the CHANNEL_DATA with WINDOW_ADJUSTs; compared
 *   with `ssh -c <cipher> ... cat <file> > /dev/null` against the same sshd,
 *   in alternating runs, and the ratio printed.
 *
 * Usage:
 *   node --import tsx scripts/bench/transport.ts [handshakes] [pair] [sshd]
 *        [--cipher=name[,name]] [--mib=N] [--runs=N] [--window=bytes] [--maxpacket=bytes] [--no-ssh]
 *
 * `--mib` is the payload per run (pair default 256, sshd default 1024),
 * `--runs` how many runs per figure (the median is printed, default 3).
 * `--window` / `--maxpacket` are what our client's channel announces (default
 * 2 MiB / 32 KiB, what OpenSSH's ssh announces for a session).
 */
import { makeFile, median } from './util.js';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canServeCipher } from '../../ts/crypto/index.js';
import { canServeKex, DEFAULT_KEX } from '../../ts/transport/algorithms.js';
import { Transport } from '../../ts/transport/index.js';
import { connectTcp } from '../../ts/client/socket.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { closeBoth, transportPair } from '../../test/helpers/pair.js';
import { startSshd, type Sshd } from '../../test/helpers/sshd.js';
import { authenticate, authorizedKeyLine } from '../../test/helpers/userauth.js';

const MiB = 1024 * 1024;

// ───────────────────────────── arguments ─────────────────────────────

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const modes = args.filter((a) => !a.startsWith('--'));
const runMode = (m: string): boolean => modes.length === 0 || modes.includes(m);
const runs = Number(flag('runs') ?? 3);
const cipherFilter = flag('cipher')?.split(',');
const windowSize = Number(flag('window') ?? 2 * MiB);
const maxPacket = Number(flag('maxpacket') ?? 32 * 1024);
/** `--no-ssh`: sshd mode measures our client only (for profiling). */
const withSsh = !args.includes('--no-ssh');

const rows: string[][] = [['measure', 'algorithm', 'result', 'runs']];

/** Adds a row for a set of runs: median wall MB/s and median MB per CPU-second, with every run listed. */
function report(measure: string, alg: string, rates: Rate[]): void {
  const w = median(rates.map((r) => r.wall));
  const c = median(rates.map((r) => r.cpu));
  row(`${measure} MB/s (wall | per cpu-s)`, alg, `${w.toFixed(0)} | ${c.toFixed(0)}`, rates.map((r) => `${r.wall.toFixed(0)}|${r.cpu.toFixed(0)}`).join(' '));
}
function row(measure: string, alg: string, result: string, detail = ''): void {
  rows.push([measure, alg, result, detail]);
  console.error(`${measure}  ${alg}  ${result}  ${detail}`);
}

// ───────────────────────────── handshakes ─────────────────────────────

async function handshakes(kex: string, seconds: number): Promise<number> {
  const start = Date.now();
  let n = 0;
  while (Date.now() - start < seconds * 1000) {
    const { client, server } = await transportPair({ client: { algorithms: { kex: [kex] }, gexRequest: { min: 2048, n: 2048, max: 2048 } }, server: { algorithms: { kex: [kex] } } });
    await Promise.all([client.ready, server.ready]);
    await closeBoth(client, server);
    n++;
  }
  return n / ((Date.now() - start) / 1000);
}

// ───────────────────────────── pair ─────────────────────────────

/** One measurement: payload MB/s of wall time, and MB per CPU-second of the process(es) doing the work. */
interface Rate {
  wall: number;
  cpu: number;
}

/** CPU seconds (user + system) this process has used so far. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function pairThroughput(cipher: string, mac: string | undefined, totalBytes: number): Promise<Rate> {
  const algorithms = { cipher: [cipher], ...(mac ? { mac: [mac] } : {}) };
  const { client, server } = await transportPair({ client: { algorithms }, server: { algorithms } });
  await Promise.all([client.ready, server.ready]);
  const size = 32 * 1024;
  const count = Math.ceil(totalBytes / size);
  const msg = new Uint8Array(size).fill(7);
  msg[0] = 200;
  const start = process.hrtime.bigint();
  const cpu0 = cpuSeconds();
  const done = new Promise<void>((resolve) => {
    let got = 0;
    server.onMessage((type) => type === 200 && ++got === count && resolve());
  });
  let sent = 0;
  const pump = (t: Transport): void => {
    while (sent < count) {
      t.send(msg);
      sent++;
      if (t.needsDrain) return void t.once('drain', () => pump(t));
    }
  };
  pump(client);
  await done;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuSeconds() - cpu0;
  await closeBoth(client, server);
  return { wall: (count * size) / secs / 1e6, cpu: (count * size) / cpu / 1e6 };
}

const PAIR_CIPHERS: [string, string | undefined][] = [
  ['chacha20-poly1305@openssh.com', undefined],
  ['aes128-gcm@openssh.com', undefined],
  ['aes256-gcm@openssh.com', undefined],
  ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
  ['aes256-ctr', 'hmac-sha2-512-etm@openssh.com'],
  ['aes128-ctr', 'hmac-sha2-256'],
];

// ───────────────────────────── sshd ─────────────────────────────

/**
 * Our client reads `file` through `cat` on sshd over a hand-made session
 * channel. Returns payload MB/s measured from the TCP connect to the
 * channel's close (handshake and auth included, as they are for `ssh`).
 */
async function ourClientCat(port: number, cipher: string, file: string, expectBytes: number): Promise<Rate> {
  const start = process.hrtime.bigint();
  const cpu0 = cpuSeconds();
  // The client's own TCP path (reused-buffer reads feeding the transport, ts/transport/socket-feed.ts).
  const socket = await connectTcp('127.0.0.1', port);
  const t = new Transport(socket, { role: 'client', verifyHostKey: () => true, algorithms: { cipher: [cipher] } });
  await t.ready;
  await authenticate(t);
  const LOCAL_ID = 0;
  let received = 0;
  let consumed = 0;
  let window = windowSize;
  const done = new Promise<void>((resolve, reject) => {
    let remoteId = -1;
    const fail = (why: string): void => reject(new Error(why));
    t.closed.then((e) => fail(`transport closed: ${e?.message ?? 'clean'}`));
    t.onMessage((type, p) => {
      switch (type) {
        case MSG.CHANNEL_OPEN_CONFIRMATION: {
          const r = new SSHReader(p);
          r.byte();
          r.uint32();
          remoteId = r.uint32();
          t.send(new SSHWriter(128).byte(MSG.CHANNEL_REQUEST).uint32(remoteId).string('exec').boolean(true).string(`cat ${file}`).toBytes());
          return;
        }
        case MSG.CHANNEL_OPEN_FAILURE:
          return fail('CHANNEL_OPEN_FAILURE');
        case MSG.CHANNEL_FAILURE:
          return fail('exec refused');
        case MSG.CHANNEL_DATA: {
          // Header: byte, uint32 channel, uint32 length; the data follows.
          const n = p.readUInt32BE(5);
          received += n;
          consumed += n;
          window -= n;
          // Like OpenSSH's channel_check_window: top up once half is used.
          if (window < windowSize / 2) {
            t.send(new SSHWriter(16).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(remoteId).uint32(consumed).toBytes());
            window += consumed;
            consumed = 0;
          }
          return;
        }
        case MSG.CHANNEL_EXTENDED_DATA:
          return fail(`stderr from cat: ${p.subarray(13).toString()}`);
        case MSG.CHANNEL_CLOSE:
          t.send(new SSHWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(remoteId).toBytes());
          return resolve();
        case MSG.GLOBAL_REQUEST:
          // hostkeys-00@openssh.com and the like, want-reply false in practice.
          return;
      }
    });
  });
  t.send(new SSHWriter(64).byte(MSG.CHANNEL_OPEN).string('session').uint32(LOCAL_ID).uint32(windowSize).uint32(maxPacket).toBytes());
  await done;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuSeconds() - cpu0;
  t.disconnect();
  await t.closed;
  if (received !== expectBytes) throw new Error(`received ${received} bytes, expected ${expectBytes}`);
  return { wall: expectBytes / secs / 1e6, cpu: expectBytes / cpu / 1e6 };
}

/**
 * OpenSSH's ssh doing the same, output to /dev/null: MB/s from spawn to
 * exit, and MB per CPU-second of the ssh process (bash's `time`).
 */
async function sshCat(port: number, cipher: string, keyFile: string, file: string, expectBytes: number): Promise<Rate> {
  const sshArgs = ['-F', '/dev/null', '-p', String(port), '-i', keyFile, '-c', cipher, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
  sshArgs.push('-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'Compression=no', 'root@127.0.0.1', `cat ${file}`);
  // bash reports the child's user and system CPU seconds on stderr.
  const script = `TIMEFORMAT='%U %S'; time ssh "$@" >/dev/null`;
  const start = process.hrtime.bigint();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const p = spawn('bash', ['-c', script, 'bash', ...sshArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('close', (c) => resolve({ code: c, stderr: err }));
  });
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`ssh exited with ${code}: ${stderr}`);
  const times = stderr.trim().split('\n').pop()!.split(' ').map(Number);
  const cpu = times[0]! + times[1]!;
  return { wall: expectBytes / secs / 1e6, cpu: expectBytes / cpu / 1e6 };
}

async function sshdMode(mib: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sshwire-bench-'));
  const keyFile = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile], { stdio: 'ignore' });
  const file = `/dev/shm/sshwire-bench-${process.pid}.bin`;
  const bytes = mib * MiB;
  makeFile(file, bytes);
  let sshd: Sshd | null = null;
  try {
    sshd = await startSshd({
      authorizedKeys: [authorizedKeyLine(), readFileSync(`${keyFile}.pub`, 'utf8').trim()],
      // Quiet logging (the helper's DEBUG3 would cost sshd time per packet) and no login noise.
      overrides: ['LogLevel ERROR', 'PrintMotd no', 'PrintLastLog no'],
    });
    const ciphers = cipherFilter ?? ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
    for (const cipher of ciphers) {
      if (!canServeCipher(cipher)) continue;
      const ours: Rate[] = [];
      const theirs: Rate[] = [];
      // Warm-up (JIT, sshd's first fork), not counted.
      await ourClientCat(sshd.port, cipher, file, bytes);
      for (let i = 0; i < runs; i++) {
        if (withSsh) theirs.push(await sshCat(sshd.port, cipher, keyFile, file, bytes));
        ours.push(await ourClientCat(sshd.port, cipher, file, bytes));
      }
      report('sshd->client, sshwire', cipher, ours);
      if (!withSsh) continue;
      report('sshd->client, ssh', cipher, theirs);
      const ratio = (k: keyof Rate): string => (median(ours.map((r) => r[k])) / median(theirs.map((r) => r[k]))).toFixed(2);
      row('ratio sshwire/ssh', cipher, `wall ${ratio('wall')}, cpu ${ratio('cpu')}`);
    }
  } finally {
    await sshd?.stop();
    if (existsSync(file)) rmSync(file);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ───────────────────────────── main ─────────────────────────────

if (runMode('handshakes')) {
  for (const kex of [...DEFAULT_KEX, 'diffie-hellman-group14-sha1'].filter(canServeKex)) {
    row('handshakes/s', kex, (await handshakes(kex, 1.5)).toFixed(1));
  }
}
if (runMode('pair')) {
  const mib = Number(flag('mib') ?? 256);
  for (const [cipher, mac] of PAIR_CIPHERS) {
    if (!canServeCipher(cipher) || (cipherFilter && !cipherFilter.includes(cipher))) continue;
    await pairThroughput(cipher, mac, 32 * MiB); // warm-up
    const xs: Rate[] = [];
    for (let i = 0; i < runs; i++) xs.push(await pairThroughput(cipher, mac, mib * MiB));
    report('client->server, one process', mac ? `${cipher} + ${mac}` : cipher, xs);
  }
}
if (runMode('sshd')) await sshdMode(Number(flag('mib') ?? 1024));

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
