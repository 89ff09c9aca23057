/**
 * Bugs in the SFTP client found while mutation testing it (all fixed):
 * glob compiled a "]" outside brackets, a "]" right after "[!" and an
 * out-of-order range into invalid RegExps; getDir wrote wherever a
 * server-sent name led; putDir split local names on a backslash; and a
 * pipelined SFTPFile.write read the caller's buffer after it resolved.
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SFTPAttributes } from '../../ts/sftp/index.js';
import { segmentRegExp } from '../../ts/sftp/client/glob.js';
import { patternBytes, serverForFile } from './helpers.js';

const srv = serverForFile();

describe('glob and a literal "]"', () => {
  it('a pattern segment with a "]" outside brackets compiles and matches names ending in "]"', () => {
    // segmentRegExp leaves "]" unescaped; with the RegExp's "u" flag a lone "]" is a SyntaxError.
    expect(() => segmentRegExp('*]')).not.toThrow();
  });

  it('"[!]a]" is the set of characters other than "]" and "a", as in fnmatch(3)', () => {
    // A "]" first in the set (after "!" or "^" too) is a member, not the end of the set.
    const re = segmentRegExp('[!]a]');
    expect(['b', ']', 'a', 'xa]'].map((name) => re.test(name))).toEqual([true, false, false, false]);
  });

  it('a range out of order ("[z-a]") matches nothing instead of throwing, as in fnmatch(3)', () => {
    expect(segmentRegExp('[z-a]').test('b')).toBe(false);
    expect(segmentRegExp('x[z-a]').test('x')).toBe(false);
  });

  it('glob("dir/*]") lists the files whose names end in "]"', async () => {
    const d = join(srv.dir, 'bracket');
    mkdirSync(d);
    for (const name of ['a]', 'b]', 'c']) writeFileSync(join(d, name), '');
    expect(await srv.client.glob(`${d}/*]`)).toEqual([`${d}/a]`, `${d}/b]`]);
  });
});

describe('getDir and names a server sends', () => {
  it('a READDIR name holding "/" (here "../escaped") is not written outside the local directory', async () => {
    const d = join(srv.dir, 'traversal');
    const remote = join(d, 'remote');
    mkdirSync(remote, { recursive: true });
    writeFileSync(join(remote, 'ok'), 'ok');
    // What a hostile server would serve for the name it slips into the listing.
    writeFileSync(join(d, 'escaped'), patternBytes(100, 1));
    const local = join(d, 'local', 'tree');
    mkdirSync(join(d, 'local'));
    const client = srv.client;
    const real = client.readdirHandle.bind(client);
    let injected = false;
    // The server's NAME reply for the first READDIR carries one more entry.
    const spy = vi.spyOn(client, 'readdirHandle').mockImplementation(async (handle, path, opts) => {
      const batch = await real(handle, path, opts);
      if (batch && !injected) {
        injected = true;
        batch.push(SFTPAttributes.fromFileAttrs({ size: 100, permissions: 0o100644, uid: 0, gid: 0, atime: 0, mtime: 0 }, '../escaped', '-rw-r--r-- 1 0 0 100 Jan 1 1970 ../escaped'));
      }
      return batch;
    });
    try {
      await client.getDir(remote, local).catch(() => undefined);
    } finally {
      spy.mockRestore();
    }
    expect(injected).toBe(true);
    // Whether getDir refuses the name or skips it, nothing may land beside the target directory.
    expect(existsSync(join(d, 'local', 'escaped'))).toBe(false);
  });
});

describe('putDir and a backslash in a local name', () => {
  it('a file named "back\\slash" is uploaded under that name (on POSIX "\\" is an ordinary character)', async () => {
    const d = join(srv.dir, 'backslash');
    const local = join(d, 'local');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'back\\slash'), 'bs');
    writeFileSync(join(local, 'plain'), 'p');
    const remote = join(d, 'remote');
    // putDir splits the relative path on "\\" as well as "/", so it looks for local/back/slash.
    expect(await srv.client.putDir(local, remote)).toEqual({ files: 2, bytes: 3 });
    expect(readFileSync(join(remote, 'back\\slash'), 'utf8')).toBe('bs');
  });
});

describe('pipelined SFTPFile.write and the caller\'s buffer', () => {
  it('a buffer refilled after a pipelined write() resolved does not change what is uploaded', async () => {
    // write() resolves with most WRITEs still to go, and they are views of
    // the caller's buffer: refilling it (as a pooled producer does once a
    // write returns) changes the data sent. SFTPWriteStream copies for this
    // reason; pipelined SFTPFile.write does not, nor documents that the
    // buffer must stay untouched until flush().
    const p = join(srv.dir, 'pipelined-reuse');
    const f = await srv.client.open(p, 'w');
    f.setPipelined(true);
    const buf = Buffer.alloc(8 * 1024 * 1024, 0x41);
    await f.write(buf);
    buf.fill(0x42);
    await f.close();
    const got = readFileSync(p);
    expect(got.length).toBe(buf.length);
    expect(got.indexOf(0x42)).toBe(-1);
  });
});
