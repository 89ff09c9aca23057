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
import { PART_SUFFIX, type GetOptions } from '../../ts/sftp/index.js';
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

/**
 * Gets a fresh file with `arm` making local writes fail part-way, checks the
 * typed error and that the part file holds exactly its good prefix, then
 * resumes with the failure gone.
 */
async function failThenResume(name: string, size: number, arm: () => void, opts: GetOptions): Promise<void> {
  const { client: sftp, dir } = ctx;
  const data = patternBytes(size, size % 251);
  writeFileSync(join(dir, name), data);
  const local = join(dir, `${name}-dst`);
  fail.writes = 0;
  arm();
  const err = await sftp.get(join(dir, name), local, opts).catch((e: unknown) => e);
  fail.afterWrites = fail.poolAfter = Infinity;
  expect(err).toBeInstanceOf(SFTPTransferError);
  const e = err as SFTPTransferError;
  expect(e.message).toMatch(/ENOSPC/);
  expect(e.bytesTransferred).toBeGreaterThan(0);
  expect(e.bytesTransferred).toBeLessThan(data.length);
  const part = readFileSync(local + PART_SUFFIX);
  expect(part.length).toBe(e.bytesTransferred);
  expect(part.equals(data.subarray(0, part.length))).toBe(true);
  expect(() => statSync(local)).toThrow();

  expect(await sftp.get(join(dir, name), local, { ...opts, resume: true, verify: true })).toBe(data.length);
  expect(readFileSync(local).equals(data)).toBe(true);
}

describe('get: the local disk fills part-way', () => {
  it('rejects with the part file holding exactly bytesTransferred, and resume completes it', async () => {
    await failThenResume('src', 6 * 1024 * 1024 + 4321, () => (fail.afterWrites = 5), { concurrency: 4 });
  });

  it('on the thread pool too: data accepted for writing behind is not counted, and resume completes it', async () => {
    await failThenResume('src2', 9 * 1024 * 1024 + 777, () => (fail.poolAfter = 2), { inlineWrites: false });
  });
});
