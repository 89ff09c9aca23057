/**
 * The SFTP server's OpenSSH extensions and behaviours, driven by our own
 * SFTP client: limits, statvfs, hardlink, posix-rename, fsync, lsetstat,
 * expand-path, copy-data, home-directory, users-groups-by-id, pipelined
 * transfers, and a custom (in-memory) SFTPServerInterface.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, SFTPAttributes, SFTPError, type SFTPHandle, type SFTPServerInterface, type SSHClientConnection } from '../../ts/index.js';
import { FX, FXP } from '../../ts/sftp/constants.js';
import { SSHReader } from '../../ts/wire/index.js';
import { makeFixture, startServer, type Fixture, type Running } from '../server/helpers.js';

let fx: Fixture;
let r: Running;
let conn: SSHClientConnection;

/** A tiny in-memory store: the interface is all a storage needs to provide. */
class MemoryFs implements SFTPServerInterface {
  files = new Map<string, Buffer>([['/hello.txt', Buffer.from('from memory\n')]]);
  open(path: string): SFTPHandle | number {
    const files = this.files;
    if (!files.has(path)) files.set(path, Buffer.alloc(0));
    return {
      read: (off, len) => files.get(path)!.subarray(off, off + len),
      write: (off, data) => {
        const cur = files.get(path)!;
        const next = Buffer.alloc(Math.max(cur.length, off + data.length));
        cur.copy(next);
        next.set(data, off);
        files.set(path, next);
      },
      stat: () => Object.assign(new SFTPAttributes(), { st_size: files.get(path)!.length, st_mode: 0o100644 }),
    };
  }
  stat(path: string): SFTPAttributes | number {
    const f = this.files.get(path);
    return f ? Object.assign(new SFTPAttributes(), { st_size: f.length, st_mode: 0o100644 }) : FX.NO_SUCH_FILE;
  }
  listFolder(): SFTPAttributes[] {
    return [...this.files.keys()].map((k) => Object.assign(new SFTPAttributes(), { filename: k.slice(1), st_mode: 0o100644, st_size: this.files.get(k)!.length }));
  }
}
const memory = new MemoryFs();

beforeAll(async () => {
  fx = makeFixture('sshwire-sftp-ext-');
  r = await startServer(fx, {
    authorizedClientKeys: fx.authorizedKeys,
    sftp: { root: fx.root },
    subsystems: {},
  });
  conn = await connect({ host: '127.0.0.1', port: r.port, username: 'tester', privateKey: fx.key, knownHosts: r.knownHosts, config: false, agent: false, lookForKeys: false });
});

afterAll(async () => {
  conn?.close();
  await r?.server.close();
  fx?.cleanup();
});

describe('SFTP server extensions (LocalFilesystem)', () => {
  it('advertises the OpenSSH extensions and 256 KiB limits', async () => {
    const sftp = await conn.sftp();
    for (const e of ['posix-rename@openssh.com', 'statvfs@openssh.com', 'fstatvfs@openssh.com', 'hardlink@openssh.com', 'fsync@openssh.com', 'lsetstat@openssh.com', 'limits@openssh.com', 'expand-path@openssh.com', 'copy-data', 'home-directory', 'users-groups-by-id@openssh.com']) {
      expect(sftp.extensions.has(e), e).toBe(true);
    }
    expect(sftp.limits.maxReadLength).toBe(256 * 1024);
    expect(sftp.limits.maxWriteLength).toBe(256 * 1024);
    await sftp.close();
  });

  it('pipelined put/get, posix-rename, hardlink, copy, statvfs, lsetstat', async () => {
    const sftp = await conn.sftp();
    const data = Buffer.allocUnsafe(5 * 1024 * 1024 + 3);
    randomFillSync(data);
    writeFileSync(join(fx.dir, 'src.bin'), data);
    await sftp.put(join(fx.dir, 'src.bin'), '/a.bin', { concurrency: 32 });
    expect(createHash('sha256').update(readFileSync(join(fx.root, 'a.bin'))).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    writeFileSync(join(fx.root, 'b.bin'), 'old');
    await sftp.posixRename('/a.bin', '/b.bin');
    expect(statSync(join(fx.root, 'b.bin')).size).toBe(data.length);
    await expect(sftp.rename('/b.bin', '/b.bin')).rejects.toBeInstanceOf(SFTPError); // v3 rename never overwrites
    await sftp.hardlink('/b.bin', '/c.bin');
    expect(statSync(join(fx.root, 'c.bin')).ino).toBe(statSync(join(fx.root, 'b.bin')).ino);
    await sftp.copy('/b.bin', '/d.bin');
    expect(readFileSync(join(fx.root, 'd.bin')).equals(data)).toBe(true);
    // Onto itself: refused before the destination is opened (and truncated).
    await expect(sftp.copy('/d.bin', '//./d.bin')).rejects.toMatchObject({ name: 'SFTPError', status: FX.FAILURE });
    expect(readFileSync(join(fx.root, 'd.bin')).equals(data)).toBe(true);
    // Onto a link to itself: the server refuses (one file), and the source was never truncated.
    symlinkSync('d.bin', join(fx.root, 'd-alias'));
    await expect(sftp.copy('/d.bin', '/d-alias')).rejects.toMatchObject({ name: 'SFTPError', status: FX.FAILURE });
    expect(readFileSync(join(fx.root, 'd.bin')).equals(data)).toBe(true);
    const vfs = await sftp.statvfs('/');
    expect(vfs.f_bsize).toBeGreaterThan(0);
    expect(vfs.f_blocks).toBeGreaterThan(0);
    await sftp.symlink('/b.bin', '/link');
    await sftp.lsetstat('/link', { mtime: 1_000_000, atime: 1_000_000 });
    expect(Math.floor(lstatSync(join(fx.root, 'link')).mtimeMs / 1000)).toBe(1_000_000);
    await sftp.close();
  });

  it('expand-path, home-directory, users-groups-by-id and fsync', async () => {
    const sftp = await conn.sftp();
    const ext = async (name: string, fill: (w: import('../../ts/wire/index.js').SSHWriter) => void): Promise<SSHReader> => {
      const body = await sftp.request(FXP.EXTENDED, (w) => {
        w.string(name);
        fill(w);
      });
      return new SSHReader(body, name, 5);
    };
    const name = (rd: SSHReader): string => {
      expect(rd.uint32()).toBe(1);
      return Buffer.from(rd.string()).toString();
    };
    const b0 = await sftp.request(FXP.EXTENDED, (w) => w.string('expand-path@openssh.com').string('~/x/../y'));
    expect(b0[0]).toBe(FXP.NAME);
    expect(name(new SSHReader(b0, 'x', 5))).toBe('/y');
    const h = await sftp.request(FXP.EXTENDED, (w) => w.string('home-directory').string('tester'));
    expect(name(new SSHReader(h, 'x', 5))).toBe('/');
    const ug = await ext('users-groups-by-id@openssh.com', (w) => w.string(Buffer.from([0, 0, 0, 0])).string(Buffer.from([0, 0, 0, 0])));
    expect(Buffer.from(new SSHReader(ug.string(), 'u').string()).toString()).toBe('root');
    const f = await sftp.open('/sync.txt', 'w');
    await f.write('x');
    await f.fsync();
    await f.close();
    expect(existsSync(join(fx.root, 'sync.txt'))).toBe(true);
    await sftp.close();
  });
});

describe('a custom SFTPServerInterface', () => {
  it('serves any storage behind the interface', async () => {
    const s2 = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, sftp: () => memory });
    try {
      const c = await connect({ host: '127.0.0.1', port: s2.port, username: 'tester', privateKey: fx.key, knownHosts: s2.knownHosts, config: false, agent: false, lookForKeys: false });
      const sftp = await c.sftp();
      expect(await sftp.listdir('/')).toEqual(['hello.txt']);
      const chunks: Buffer[] = [];
      const w = { write: (b: Buffer) => chunks.push(Buffer.from(b)) };
      const { Writable } = await import('node:stream');
      await sftp.getfo('/hello.txt', new Writable({ write: (b, _e, cb) => (w.write(b), cb()) }));
      expect(Buffer.concat(chunks).toString()).toBe('from memory\n');
      await expect(sftp.remove('/hello.txt')).rejects.toMatchObject({ status: FX.OP_UNSUPPORTED });
      await expect(sftp.stat('/nope')).rejects.toMatchObject({ status: FX.NO_SUCH_FILE });
      await sftp.close();
      c.close();
    } finally {
      await s2.server.close();
    }
  });
});
