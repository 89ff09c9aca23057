/**
 * `npm start`: sshwire end to end, with nothing to configure.
 *
 * Starts an sshwire server on 127.0.0.1 (ephemeral port, host key generated
 * in memory, a temporary directory as its SFTP root, one user with an
 * in-memory key), connects the sshwire client to it with the host key
 * pinned in a temporary known_hosts file, runs a command, uploads and
 * downloads a generated file (256 MiB by default) with progress bars,
 * verifies SHA-256 both ways, prints the throughput of each direction and
 * which crypto backend served what, then cleans everything up.
 *
 * Options: --size MiB (or SSHWIRE_MAIN_MIB), --quiet (no progress bars).
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import {
  AUTH_FAILED,
  AUTH_SUCCESSFUL,
  connect,
  getBackendInfo,
  listen,
  PrivateKey,
  type SSHServerProcess,
} from '../ts/index.js';

const MiB = 1024 * 1024;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const sizeMiB = Number(argValue('--size') ?? process.env.SSHWIRE_MAIN_MIB ?? 256);
const quiet = process.argv.includes('--quiet');
if (!Number.isFinite(sizeMiB) || sizeMiB <= 0) {
  console.error('--size must be a positive number of MiB');
  process.exit(2);
}
const size = Math.round(sizeMiB * MiB);

/** Writes `n` random bytes to `path` and returns their SHA-256. */
function makeRandomFile(path: string, n: number): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 * MiB);
  const fd = openSync(path, 'w');
  try {
    for (let left = n; left > 0; ) {
      const chunk = buf.subarray(0, Math.min(left, buf.length));
      randomFillSync(chunk);
      h.update(chunk);
      writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (quiet) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(8)} [{bar}] {percentage}% | {done}/{all} MiB | {speed} MB/s`,
      hideCursor: true,
      noTTYOutput: !process.stdout.isTTY,
      notTTYSchedule: 1000,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let started = false;
  return {
    update(done, total) {
      const secs = (performance.now() - t0) / 1000;
      const payload = { done: (done / MiB).toFixed(1), all: (total / MiB).toFixed(1), speed: secs > 0 ? (done / 1e6 / secs).toFixed(1) : '0.0' };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`verification failed: ${what}`);
  console.log(`  ok: ${what}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sshwire-start-'));
  const root = join(work, 'sftp-root');
  const local = join(work, 'local');
  mkdirSync(root);
  mkdirSync(local);

  const username = 'sshwire';
  const password = randomBytes(18).toString('base64url');
  const userKey = PrivateKey.generate('ed25519');
  const hostKey = PrivateKey.generate('ed25519');
  const userBlob = Buffer.from(userKey.publicKeyBlob);

  let server: Awaited<ReturnType<typeof listen>> | null = null;
  try {
    server = await listen({
      host: '127.0.0.1',
      port: 0,
      hostKeys: [hostKey],
      server: {
        checkAuthPublickey: (user, key) => (user === username && userBlob.equals(key.blob) ? AUTH_SUCCESSFUL : AUTH_FAILED),
        checkAuthPassword: (user, pw) => (user === username && pw === password ? AUTH_SUCCESSFUL : AUTH_FAILED),
      },
      processFactory: (proc: SSHServerProcess) => {
        proc.stdout.write(`hello ${proc.username}, you ran: ${proc.command ?? '(shell)'}\n`);
        proc.stdout.write(`node ${process.version} on ${process.platform}/${process.arch}\n`);
        proc.exit(0);
      },
      sftp: { root },
    });
    server.on('error', (err: Error) => console.error(`server: ${err.name}: ${err.message}`));
    const { port } = server.address();
    console.log(`sshwire server listening on 127.0.0.1:${port}`);
    console.log(`  host key ${hostKey.keyType} ${hostKey.fingerprint}`);
    console.log(`  SFTP root ${root}`);

    // Pin the host key: the client checks it like any other known host.
    const knownHosts = join(work, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey.keyType} ${Buffer.from(hostKey.publicKeyBlob).toString('base64')}\n`);

    const t0 = performance.now();
    const conn = await connect({
      host: '127.0.0.1',
      port,
      username,
      privateKey: userKey,
      knownHosts,
      config: false,
      agent: false,
      lookForKeys: false,
    });
    try {
      const n = conn.negotiated;
      console.log(`connected in ${(performance.now() - t0).toFixed(0)} ms: ${n?.kex}, ${n?.hostKey}, ${n?.cipherCS}${n?.macCS && n.macCS !== 'none' ? ` + ${n.macCS}` : ''}`);

      const r = await conn.run('uname -a', { check: true });
      console.log(`remote command (exit ${r.exitStatus}):\n${String(r.stdout).trimEnd().replace(/^/gm, '  ')}`);

      console.log(`generating a ${sizeMiB} MiB random file...`);
      const src = join(local, 'random.bin');
      const srcHash = makeRandomFile(src, size);

      const sftp = await conn.sftp();
      try {
        let bar = progressBar('upload');
        let t = performance.now();
        await sftp.put(src, '/random.bin', { onProgress: (d, total) => bar.update(d, total) });
        const upSecs = (performance.now() - t) / 1000;
        bar.stop();

        bar = progressBar('download');
        const back = join(local, 'random.back');
        t = performance.now();
        await sftp.get('/random.bin', back, { onProgress: (d, total) => bar.update(d, total) });
        const downSecs = (performance.now() - t) / 1000;
        bar.stop();

        check((await sha256File(join(root, 'random.bin'))) === srcHash, `server copy sha256 matches (${srcHash.slice(0, 16)}...)`);
        check((await sha256File(back)) === srcHash, 'downloaded copy sha256 matches');
        console.log(`upload   ${(size / 1e6 / upSecs).toFixed(1)} MB/s (${upSecs.toFixed(2)} s)`);
        console.log(`download ${(size / 1e6 / downSecs).toFixed(1)} MB/s (${downSecs.toFixed(2)} s)`);
      } finally {
        await sftp.close();
      }
    } finally {
      conn.close();
      await conn.closed;
    }

    const info = getBackendInfo();
    console.log('crypto backends (getBackendInfo):');
    const n = info.primitives as Record<string, { backend: string; reason: string }>;
    for (const name of Object.keys(n)) console.log(`  ${name.padEnd(40)} ${n[name]!.backend}`);
  } finally {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log('done: server closed, temporary files removed');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  process.exitCode = 1;
});
