/**
 * Uploads fed by a producer's fresh buffers (putfo from an iterable, a
 * write stream piped from a Readable) must not bring V8's full
 * collections: each chunk is garbage outside the heap once its bytes are
 * in a WRITE, a GiB of it per GiB sent. Held until their WRITE was sealed,
 * and not counted for the heap reserve, they made 22-25 mark-compacts per
 * 256 MiB of putfo (90-210 per GiB, at twice the CPU). See
 * ts/sftp/transfer/producerSource.ts. Collections are counted, not time,
 * in a fresh process so nothing else is on its heap; the server is a
 * private OpenSSH sshd.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKey } from '../auth/system.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { removeDir, scratchDir } from './helpers.js';

let sshd: Sshd;
let dir: string;
let key: string;

beforeAll(async () => {
  dir = scratchDir('sshwire-producer-gc-');
  chmodSync(dir, 0o755);
  key = makeKey(dir, 'id_ed25519', 'ed25519');
  sshd = await startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp'] });
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) removeDir(dir);
});

const TOTAL_MIB = 256;

/** Runs one upload of TOTAL_MIB in a fresh node process; its GC counts. */
function upload(how: 'putfo' | 'stream'): { major: number; minor: number } {
  const login = { ...rootLogin(sshd, key), algorithms: { cipher: ['aes128-gcm@openssh.com'] } };
  const child = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect, openSftp } from ${JSON.stringify(new URL('../../ts/index.ts', import.meta.url).href)};
const conn = await connect(${JSON.stringify(login)});
const sftp = await openSftp(conn);
const TOTAL = ${TOTAL_MIB} * 1024 * 1024;
/** Fresh 64 KiB buffers, as fs.ReadStream hands out. */
async function* fresh() {
  for (let at = 0; at < TOTAL; at += 65536) {
    const b = Buffer.allocUnsafeSlow(65536);
    b.fill(at >>> 16);
    yield b;
  }
}
const counts = { major: 0, minor: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
  }
}).observe({ entryTypes: ['gc'] });
const remote = ${JSON.stringify(join(dir, 'up.bin'))};
if (${JSON.stringify(how)} === 'putfo') await sftp.putfo(fresh(), remote);
else await pipeline(Readable.from(fresh()), sftp.createWriteStream(remote));
const size = (await sftp.stat(remote)).st_size;
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ ...counts, size }));
await sftp.close();
conn.close();
`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 90_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { major: number; minor: number; size: number };
  expect(r.size).toBe(TOTAL_MIB * 1024 * 1024);
  return r;
}

describe('uploads from a producer\'s fresh buffers and V8', () => {
  it('putfo: 256 MiB of fresh chunks bring scavenges, not mark-compacts', () => {
    const { major, minor } = upload('putfo');
    // Measured: 2 mark-compacts and 34-35 scavenges; 22-25 mark-compacts
    // before the chunks were copied into reused slabs and counted.
    expect(minor).toBeGreaterThan(8);
    expect(major).toBeLessThanOrEqual(6);
  }, 120_000);

  it('a write stream piped from a Readable: the same', () => {
    const { major, minor } = upload('stream');
    expect(minor).toBeGreaterThan(8);
    expect(major).toBeLessThanOrEqual(6);
  }, 120_000);
});
