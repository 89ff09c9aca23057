/**
 * SFTP v3 sends uid with gid and atime with mtime. Setting one of a pair
 * must leave the other as it was: the client reads it first (stat, lstat,
 * fstat), and the wire encoder refuses half a pair rather than sending 0.
 */
import { describe, expect, it } from 'vitest';
import { chownSync, lstatSync, lutimesSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SSHException } from '../../ts/errors.js';
import { SFTPAttributes } from '../../ts/sftp/index.js';
import { writeAttrs } from '../../ts/wire/sftpAttrs.js';
import { FXP } from '../../ts/wire/sftpConstants.js';
import { SSHWriter } from '../../ts/wire/writer.js';
import { serverForFile } from './helpers.js';

const ctx = serverForFile();

/** A file owned by 1234:5678 with atime 1000 s and mtime 2000 s (the tests run as root). */
function owned(name: string): string {
  const p = join(ctx.dir, name);
  writeFileSync(p, 'x');
  chownSync(p, 1234, 5678);
  utimesSync(p, 1000, 2000);
  return p;
}

describe('setstat with one of a pair', () => {
  it('uid alone keeps the gid; gid alone keeps the uid', async () => {
    const p = owned('ids');
    await ctx.client.setstat(p, { uid: 1234 });
    expect([statSync(p).uid, statSync(p).gid]).toEqual([1234, 5678]);
    await ctx.client.setstat(p, { uid: 4321 });
    expect([statSync(p).uid, statSync(p).gid]).toEqual([4321, 5678]);
    await ctx.client.setstat(p, { gid: 8765 });
    expect([statSync(p).uid, statSync(p).gid]).toEqual([4321, 8765]);
  });

  it('mtime alone keeps the atime; atime alone keeps the mtime', async () => {
    const p = owned('times');
    await ctx.client.setstat(p, { mtime: 3000 });
    expect([statSync(p).atimeMs, statSync(p).mtimeMs]).toEqual([1_000_000, 3_000_000]);
    await ctx.client.setstat(p, { atime: 4000 });
    expect([statSync(p).atimeMs, statSync(p).mtimeMs]).toEqual([4_000_000, 3_000_000]);
  });

  it('an SFTPAttributes with only st_mtime and st_uid changes nothing else', async () => {
    const p = owned('attrs');
    const a = new SFTPAttributes();
    a.st_mtime = 5000;
    a.st_uid = 99;
    await ctx.client.setstat(p, a);
    const st = statSync(p);
    expect([st.uid, st.gid, st.atimeMs, st.mtimeMs]).toEqual([99, 5678, 1_000_000, 5_000_000]);
  });

  it("lsetstat completes the pair from the link's own attributes (lstat), not its target's", async () => {
    const p = owned('target');
    const link = join(ctx.dir, 'link');
    symlinkSync('target', link);
    lutimesSync(link, 7000, 8000);
    await ctx.client.lsetstat(link, { mtime: 9000 });
    expect([lstatSync(link).atimeMs, lstatSync(link).mtimeMs]).toEqual([7_000_000, 9_000_000]);
    expect([statSync(p).atimeMs, statSync(p).mtimeMs]).toEqual([1_000_000, 2_000_000]);
  });

  it('FSETSTAT on an open file completes the pair from fstat', async () => {
    const p = owned('open');
    const f = await ctx.client.open(p, 'r+');
    try {
      await ctx.client.fsetstatHandle(f.handle, { gid: 42 }, p);
      await ctx.client.fsetstatHandle(f.handle, { atime: 6000 }, p);
    } finally {
      await f.close();
    }
    const st = statSync(p);
    expect([st.uid, st.gid, st.atimeMs, st.mtimeMs]).toEqual([1234, 42, 6_000_000, 2_000_000]);
  });

  it('whole pairs and no pairs go out as given, without a stat first', async () => {
    const p = owned('whole');
    const stat = ctx.client.stat.bind(ctx.client);
    let stats = 0;
    ctx.client.stat = (...args) => (stats++, stat(...args));
    try {
      await ctx.client.setstat(p, { uid: 1, gid: 2, atime: 3, mtime: 4 });
      await ctx.client.chmod(p, 0o600);
    } finally {
      ctx.client.stat = stat;
    }
    expect(stats).toBe(0);
    const st = statSync(p);
    expect([st.uid, st.gid, st.atimeMs, st.mtimeMs, st.mode & 0o777]).toEqual([1, 2, 3000, 4000, 0o600]);
  });
});

describe('the ATTRS encoder', () => {
  it('refuses half a pair instead of sending 0 for the other half', () => {
    for (const half of [{ uid: 1 }, { gid: 1 }, { atime: 1 }, { mtime: 1 }]) {
      let err: unknown;
      try {
        writeAttrs(new SSHWriter(), half);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(half)).toBeInstanceOf(SSHException);
      expect(err).toMatchObject({ code: 'ERR_SSH_BAD_ARGUMENT' });
      expect((err as Error).message).toMatch(/both or neither/);
    }
  });

  it('a request whose ATTRS are refused fails alone and leaves nothing outstanding', async () => {
    const p = owned('refused');
    await expect(ctx.client.request(FXP.SETSTAT, (w) => writeAttrs(w.string(p), { uid: 1 }))).rejects.toMatchObject({ code: 'ERR_SSH_BAD_ARGUMENT' });
    expect(ctx.client.session.outstanding).toBe(0);
    expect([statSync(p).uid, statSync(p).gid]).toEqual([1234, 5678]);
    expect((await ctx.client.stat(p)).st_size).toBe(1);
  });
});
