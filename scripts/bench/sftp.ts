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
 * Through sshd (aes128-gcm / chacha20-poly1305, and ssh2 for comparison)
 * is to be added once `connect()` exists in ts/client.ts.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, writeSync, closeSync, chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { SFTPClient } from '../../ts/sftp/index.js';

const SERVER = '/usr/lib/openssh/sftp-server';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runsIdx = args.indexOf('--runs');
const runs = runsIdx >= 0 ? Math.max(1, Number(args[runsIdx + 1])) : 2;
const SIZE = (quick ? 256 : 1024) * 1024 * 1024;
const GiB = 1024 ** 3;

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'sshwire-bench-'));
const serverCpuFile = join(dir, 'server-cpu');
const wrapper = join(dir, 'server.sh');
writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -f '%U %S' -o "${serverCpuFile}" ${SERVER} "$@"\n`);
chmodSync(wrapper, 0o755);

function makeFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  randomFillSync(block);
  for (let done = 0; done < size; done += block.length) writeSync(fd, block, 0, Math.min(block.length, size - done));
  closeSync(fd);
}

function serverCpu(): number {
  const [u, s] = readFileSync(serverCpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return u! + s!;
}

interface Result {
  seconds: number;
  clientCpu: number;
  serverCpu: number;
}

async function ours(direction: 'get' | 'put', src: string, dst: string): Promise<Result> {
  rmSync(serverCpuFile, { force: true });
  const proc = spawn(wrapper, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const client = await SFTPClient.fromStream({ readable: proc.stdout!, writable: proc.stdin! });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (direction === 'get') await client.get(src, dst);
  else await client.put(src, dst, { confirm: true });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  await new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
  await new Promise((r) => setTimeout(r, 20));
  return { seconds, clientCpu: (cpu.user + cpu.system) / 1e6, serverCpu: serverCpu() };
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
  return { seconds, clientCpu: u! + s! - server, serverCpu: server };
}

function best(rs: Result[]): Result {
  return rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

async function main(): Promise<void> {
  const src = join(dir, 'src.bin');
  makeFile(src, SIZE);
  const rows: Array<{ name: string; dir: string; r: Result }> = [];
  const cases: Array<{ name: string; run: (d: 'get' | 'put', s: string, t: string) => Promise<Result> | Result }> = [
    { name: 'sshwire SFTPClient', run: ours },
    { name: 'OpenSSH sftp (defaults)', run: (d, s, t) => openssh(d, s, t, []) },
    { name: 'OpenSSH sftp -B 261120', run: (d, s, t) => openssh(d, s, t, ['-B', '261120']) },
  ];
  for (const c of cases) {
    for (const d of ['get', 'put'] as const) {
      const results: Result[] = [];
      for (let i = 0; i < runs; i++) {
        const dst = join(dir, `dst-${d}.bin`);
        results.push(await c.run(d, src, dst));
        if (statSync(dst).size !== SIZE) throw new Error(`${c.name} ${d}: wrong size ${statSync(dst).size}`);
        rmSync(dst, { force: true });
      }
      rows.push({ name: c.name, dir: d, r: best(results) });
    }
  }
  const mb = SIZE / 1e6;
  console.log(`\nSFTP over a local sftp-server (pipes, no SSH), ${SIZE / 1024 / 1024} MiB on ${dir.startsWith('/dev/shm') ? 'tmpfs' : 'disk'}, best of ${runs}\n`);
  console.log('| client | op | MB/s | client CPU s/GiB | server CPU s/GiB | MB/s vs OpenSSH defaults |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const row of rows) {
    const ref = rows.find((x) => x.name === 'OpenSSH sftp (defaults)' && x.dir === row.dir)!;
    const rate = mb / row.r.seconds;
    const refRate = mb / ref.r.seconds;
    console.log(
      `| ${row.name} | ${row.dir} | ${rate.toFixed(0)} | ${((row.r.clientCpu * GiB) / SIZE).toFixed(2)} | ${((row.r.serverCpu * GiB) / SIZE).toFixed(2)} | ${(rate / refRate).toFixed(2)}x |`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
