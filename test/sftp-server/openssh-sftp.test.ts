/**
 * OpenSSH's `sftp` in batch mode against our SFTP server (LocalFilesystem
 * rooted at a temp dir): 64 MiB put and get byte-exact, ls, rename, mkdir,
 * rm; and attempts to leave the root with `..`, absolute paths and
 * symlinks, which must all be refused.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, sftpBatch, startServer, type Fixture, type Running } from '../server/helpers.js';

let fx: Fixture;
let r: Running;
let local: string;
let outside: string;

beforeAll(async () => {
  fx = makeFixture('sshwire-sftp-server-');
  local = join(fx.dir, 'local');
  outside = join(fx.dir, 'outside');
  mkdirSync(local);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'top secret\n');
  r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: { root: fx.root } });
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('OpenSSH sftp against the sshwire SFTP server', () => {
  it('puts and gets 64 MiB byte-exact', async () => {
    const data = Buffer.allocUnsafe(64 * 1024 * 1024);
    randomFillSync(data);
    writeFileSync(join(local, 'big.bin'), data);
    const res = await sftpBatch(fx, r, ['put big.bin', 'get big.bin back.bin'], local);
    expect(res.code, res.stderr).toBe(0);
    expect(sha(readFileSync(join(fx.root, 'big.bin')))).toBe(sha(data));
    expect(sha(readFileSync(join(local, 'back.bin')))).toBe(sha(data));
  }, 120_000);

  it('lists, makes directories, renames and removes', async () => {
    writeFileSync(join(local, 'a.txt'), 'hello\n');
    const res = await sftpBatch(
      fx, r,
      ['mkdir dir', 'put a.txt dir/a.txt', 'ls -1 dir', 'rename dir/a.txt dir/b.txt', 'ls -l dir', 'get dir/b.txt b.txt', 'rm dir/b.txt', 'rmdir dir', 'ls -1'],
      local,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/sftp> ls -1 dir\n\s*dir\/a\.txt/);
    expect(res.stdout).toMatch(/-rw\S+\s+.*\s6\s.*b\.txt/);
    expect(readFileSync(join(local, 'b.txt'), 'utf8')).toBe('hello\n');
    expect(existsSync(join(fx.root, 'dir'))).toBe(false);
  });

  it('keeps ".." and absolute paths inside the root', async () => {
    const res = await sftpBatch(fx, r, ['cd ../../..', 'pwd', '-get ../outside/secret.txt got1.txt', `-get ${outside}/secret.txt got2.txt`, '-put a.txt ../escaped.txt'], local);
    expect(res.stdout).toMatch(/Remote working directory: \/\n/);
    expect(existsSync(join(local, 'got1.txt'))).toBe(false);
    expect(existsSync(join(local, 'got2.txt'))).toBe(false);
    expect(existsSync(join(fx.dir, 'escaped.txt'))).toBe(false);
    // "../escaped.txt" from "/" is "/escaped.txt": inside the root.
    expect(existsSync(join(fx.root, 'escaped.txt'))).toBe(true);
  });

  it('never follows symlinks out of the root, pre-existing or client-made', async () => {
    symlinkSync(outside, join(fx.root, 'link-dir'));
    symlinkSync(join(outside, 'secret.txt'), join(fx.root, 'link-file'));
    const res = await sftpBatch(
      fx, r,
      [
        '-get link-file s1.txt', '-get link-dir/secret.txt s2.txt', '-ls link-dir', '-put a.txt link-dir/planted.txt',
        `-ln -s ${outside}/secret.txt mylink`, '-get mylink s3.txt', '-ln -s ../outside/secret.txt rel', '-get rel s4.txt',
        '-cd link-dir', '-rm link-dir/secret.txt',
      ],
      local,
    );
    for (const f of ['s1.txt', 's2.txt', 's3.txt', 's4.txt']) expect(existsSync(join(local, f)), f).toBe(false);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
    expect(res.stdout + res.stderr).not.toContain('top secret');
    expect(res.stderr).toMatch(/denied|not found|No such file/i);
  });

  it('follows symlinks that stay inside the root', async () => {
    writeFileSync(join(fx.root, 'target.txt'), 'inside\n');
    const res = await sftpBatch(fx, r, ['ln -s /target.txt abs-link', 'ln -s target.txt rel-link', 'get abs-link i1.txt', 'get rel-link i2.txt'], local);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(join(local, 'i1.txt'), 'utf8')).toBe('inside\n');
    expect(readFileSync(join(local, 'i2.txt'), 'utf8')).toBe('inside\n');
  });
});
