/**
 * OpenSSH's `sftp` against our SFTP server while the server rekeys every
 * MiB: bulk data in both directions crosses dozens of key exchanges, and
 * must arrive byte-exact and in order (traffic held during an exchange,
 * and what the channel queues as it is released).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, sftpBatch, sha256Files, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let r: Running;
let rekeys = 0;

beforeAll(async () => {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = existsSync('/dev/shm') ? '/dev/shm' : saved;
  fx = makeFixture('sshwire-sftp-rekey-');
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
  r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: { root: fx.root }, rekeyBytes: 1 << 20 });
  r.server.on('connection', (conn: { transport: NodeJS.EventEmitter }) => conn.transport.on('rekey', () => rekeys++));
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

describe('OpenSSH sftp against our server rekeying every MiB', () => {
  it('puts and gets 48 MiB byte-exact across dozens of rekeys', async () => {
    const local = join(fx.dir, 'local');
    mkdirSync(local);
    execFileSync('sh', ['-c', `head -c 50331655 /dev/urandom > '${join(local, 'big.bin')}'`]);
    const res = await sftpBatch(fx, r, ['put big.bin', 'get big.bin back.bin'], local);
    expect(res.code, res.stderr).toBe(0);
    const sums = sha256Files([join(local, 'big.bin'), join(fx.root, 'big.bin'), join(local, 'back.bin')]);
    expect(sums).toHaveLength(3);
    expect(new Set(sums).size).toBe(1);
    expect(rekeys).toBeGreaterThanOrEqual(48);
    expect(r.errors).toEqual([]);
  }, 120_000);
});
