/**
 * A get whose local write fails part-way (the disk fills): a typed error
 * that counts exactly the bytes the part file holds, which resume then
 * continues. node:fs's writevSync is wrapped so the failure comes from the
 * inline write path itself, and the part file's FileHandle for the thread
 * pool's write-behind, where data accepted is not yet data written.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SFTPTransferError } from '../../ts/errors.js';
import { PART_SUFFIX } from '../../ts/sftp/index.js';
import { patternBytes, serverForFile } from './helpers.js';

const fail = vi.hoisted(() => ({ afterWrites: Infinity, poolAfter: Infinity, writes: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writevSync: (fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number | null): number => {
      if (fail.writes++ >= fail.afterWrites) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      return fs.writevSync(fd, buffers, position ?? undefined);
    },
  };
});

// The thread-pool path: the part file's handle fails its writes after `poolAfter`.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fsp,
    open: async (...args: Parameters<typeof fsp.open>) => {
      const fh = await fsp.open(...args);
      if (String(args[0]).endsWith(PART_SUFFIX)) {
        const real = fh.writev.bind(fh);
        fh.writev = (async (buffers: NodeJS.ArrayBufferView[], position?: number) => {
          if (fail.writes++ >= fail.poolAfter) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
          return real(buffers, position);
        }) as typeof fh.writev;
      }
      return fh;
    },
  };
});

const ctx = serverForFile();

describe('get: the local disk fills part-way', () => {
  it('rejects with the part file holding exactly bytesTransferred, and resume completes it', async () => {
    const { client: sftp, dir } = ctx;
    const data = patternBytes(6 * 1024 * 1024 + 4321, 21);
    writeFileSync(join(dir, 'src'), data);
    const local = join(dir, 'dst');
    fail.writes = 0;
    fail.afterWrites = 5;
    const err = await sftp.get(join(dir, 'src'), local, { concurrency: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    const e = err as SFTPTransferError;
    expect(e.message).toMatch(/ENOSPC/);
    expect(e.bytesTransferred).toBeGreaterThan(0);
    expect(e.bytesTransferred).toBeLessThan(data.length);
    const part = readFileSync(local + PART_SUFFIX);
    expect(part.length).toBe(e.bytesTransferred);
    expect(part.equals(data.subarray(0, part.length))).toBe(true);
    expect(() => statSync(local)).toThrow();

    fail.afterWrites = Infinity;
    expect(await sftp.get(join(dir, 'src'), local, { resume: true, verify: true })).toBe(data.length);
    expect(readFileSync(local).equals(data)).toBe(true);
  });

  it('on the thread pool too: data accepted for writing behind is not counted, and resume completes it', async () => {
    const { client: sftp, dir } = ctx;
    const data = patternBytes(9 * 1024 * 1024 + 777, 22);
    writeFileSync(join(dir, 'src2'), data);
    const local = join(dir, 'dst2');
    fail.writes = 0;
    fail.poolAfter = 2;
    const err = await sftp.get(join(dir, 'src2'), local, { inlineWrites: false }).catch((e: unknown) => e);
    fail.poolAfter = Infinity;
    expect(err).toBeInstanceOf(SFTPTransferError);
    const e = err as SFTPTransferError;
    expect(e.message).toMatch(/ENOSPC/);
    expect(e.bytesTransferred).toBeGreaterThan(0);
    expect(e.bytesTransferred).toBeLessThan(data.length);
    const part = readFileSync(local + PART_SUFFIX);
    expect(part.length).toBe(e.bytesTransferred);
    expect(part.equals(data.subarray(0, part.length))).toBe(true);
    expect(() => statSync(local)).toThrow();

    expect(await sftp.get(join(dir, 'src2'), local, { resume: true, verify: true, inlineWrites: false })).toBe(data.length);
    expect(readFileSync(local).equals(data)).toBe(true);
  });
});
