import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../ts/errors.js';
import { SSHReader } from '../../ts/wire/reader.js';
import { SSHWriter } from '../../ts/wire/writer.js';
import { readAttrs, writeAttrs } from '../../ts/wire/sftpAttrs.js';
import { FXP, ATTR } from '../../ts/wire/sftpConstants.js';
import {
  SFTPFramer,
  decodeVersion,
  encodeAttrs,
  encodeName,
  encodeRead,
  encodeStatus,
  encodeVersion,
  encodeWriteHeader,
  readName,
  readStatus,
  lossyUtf8,
} from '../../ts/wire/sftpPacket.js';
import { SFTPAttributes } from '../../ts/sftp/attributes.js';
import { parseMode } from '../../ts/sftp/client/mode.js';
import { segmentRegExp } from '../../ts/sftp/client/glob.js';

function frames(chunks: Buffer[], max?: number): Buffer[] {
  const f = new SFTPFramer(max);
  const out: Buffer[] = [];
  for (const c of chunks) f.push(c, (b) => out.push(Buffer.from(b)));
  return out;
}

describe('SFTP framer', () => {
  const a = encodeStatus(7, 2, 'nope');
  const b = encodeName(8, [{ filename: 'x', longname: 'l', attrs: { size: 5 } }]);
  const stream = Buffer.concat([a, b]);

  it('splits packets at every possible chunk boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const got = frames([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(got).toEqual([a.subarray(4), b.subarray(4)]);
    }
  });

  it('handles one byte at a time', () => {
    const chunks = [...stream].map((x) => Buffer.from([x]));
    expect(frames(chunks)).toEqual([a.subarray(4), b.subarray(4)]);
  });

  it('hands out views, not copies, for a packet inside one chunk', () => {
    const f = new SFTPFramer();
    let body: Buffer | undefined;
    f.push(a, (x) => (body = x));
    expect(body!.buffer).toBe(a.buffer);
  });

  it('refuses an oversized length before allocating it', () => {
    const evil = Buffer.from([0xff, 0xff, 0xff, 0xf0, 101]);
    expect(() => frames([evil], 1024)).toThrow(ProtocolError);
    expect(() => frames([Buffer.from([0, 0, 0, 0])])).toThrow(/empty packet/);
  });
});

describe('SFTP encodings', () => {
  it('round-trips ATTRS with every field', () => {
    const ext = new Map([['a@b', Uint8Array.from([1, 2])]]);
    const w = writeAttrs(new SSHWriter(), { size: 2 ** 40 + 3, uid: 1, gid: 2, permissions: 0o100644, atime: 10, mtime: 20, extended: ext });
    const r = new SSHReader(w.bytes());
    const back = readAttrs(r);
    r.end();
    expect(back).toEqual({ size: 2 ** 40 + 3, uid: 1, gid: 2, permissions: 0o100644, atime: 10, mtime: 20, extended: ext });
    const empty = new SSHReader(writeAttrs(new SSHWriter(), {}).bytes());
    expect(empty.uint32()).toBe(0);
  });

  it('refuses a size beyond 2^53 and absurd extended counts', () => {
    const w = new SSHWriter().uint32(ATTR.SIZE).uint64(2n ** 60n);
    expect(() => readAttrs(new SSHReader(w.bytes()))).toThrow(ProtocolError);
    const w2 = new SSHWriter().uint32(ATTR.EXTENDED).uint32(0xffffffff);
    expect(() => readAttrs(new SSHReader(w2.bytes()))).toThrow(ProtocolError);
  });

  it('builds READ and WRITE headers byte for byte', () => {
    const h = Buffer.from('hnd');
    const rd = encodeRead(5, h, 2 ** 33 + 1, 1000);
    const expectRead = new SSHWriter().uint32(0).byte(FXP.READ).uint32(5).string(h).uint64(2 ** 33 + 1).uint32(1000);
    expectRead.setUint32(0, expectRead.length - 4);
    expect(rd).toEqual(Buffer.from(expectRead.bytes()));
    const data = Buffer.from('payload');
    const wr = Buffer.concat([encodeWriteHeader(9, h, 12, data.length), data]);
    const expectWrite = new SSHWriter().uint32(0).byte(FXP.WRITE).uint32(9).string(h).uint64(12).string(data);
    expectWrite.setUint32(0, expectWrite.length - 4);
    expect(wr).toEqual(Buffer.from(expectWrite.bytes()));
  });

  it('decodes VERSION extensions and STATUS without message', () => {
    const v = decodeVersion(encodeVersion(3, [['limits@openssh.com', '1']]).subarray(4));
    expect(v.version).toBe(3);
    expect(v.extensions.get('limits@openssh.com')).toBe('1');
    const r = new SSHReader(new SSHWriter().uint32(2).bytes());
    expect(readStatus(r)).toEqual({ code: 2, message: 'No such file', language: '' });
  });

  it('refuses a NAME whose count cannot fit', () => {
    const r = new SSHReader(new SSHWriter().uint32(1_000_000).bytes());
    expect(() => readName(r)).toThrow(ProtocolError);
  });

  it('server replies leave out half a uid/gid or time pair rather than inventing the other half; requests refuse it', () => {
    const name = encodeName(3, [{ filename: 'f', longname: 'l', attrs: { size: 5, uid: 7, mtime: 9, permissions: 0o644 } }]);
    const r = new SSHReader(name, 'NAME', 9);
    expect(readName(r)[0]!.attrs).toEqual({ size: 5, permissions: 0o644 });
    const attrs = encodeAttrs(4, { gid: 2, atime: 1, mtime: 2 });
    expect(readAttrs(new SSHReader(attrs, 'ATTRS', 9))).toEqual({ atime: 1, mtime: 2 });
    expect(() => writeAttrs(new SSHWriter(), { uid: 1 })).toThrow(/uid without gid/);
    expect(() => writeAttrs(new SSHWriter(), { mtime: 1 })).toThrow(/mtime without atime/);
  });

  it('decodes non-UTF-8 names as latin1 instead of failing', () => {
    expect(lossyUtf8(Uint8Array.from([0x66, 0xff]))).toBe('f\u00ff');
    expect(lossyUtf8(Buffer.from('ü'))).toBe('ü');
  });
});

describe('SFTPAttributes and modes', () => {
  it('knows file types and prints an ls line', () => {
    const a = SFTPAttributes.fromFileAttrs({ permissions: 0o40755, size: 4096, uid: 0, gid: 0, mtime: 0 }, 'dir');
    expect(a.isDirectory()).toBe(true);
    expect(a.isFile()).toBe(false);
    expect(a.modeString()).toBe('drwxr-xr-x');
    expect(a.toString()).toMatch(/^drwxr-xr-x +1 0 +0 +4096 \w{3} +\d+ +\d{4} dir$/);
    expect(SFTPAttributes.fromFileAttrs({ permissions: 0o120777 }).isSymbolicLink()).toBe(true);
    expect(SFTPAttributes.fromFileAttrs({ permissions: 0o104755 }).modeString()).toBe('-rwsr-xr-x');
  });

  it('parses Python modes', () => {
    expect(parseMode('r').pflags).toBe(1);
    expect(parseMode('rb').binary).toBe(true);
    expect(parseMode('w').pflags).toBe(0x1a);
    expect(parseMode('a+').pflags).toBe(0x0f);
    expect(parseMode('x').pflags).toBe(0x2a);
    expect(parseMode('r+b').pflags).toBe(3);
    expect(() => parseMode('q')).toThrow(/invalid file mode/);
  });

  it('compiles glob segments', () => {
    expect(segmentRegExp('*.txt').test('a.txt')).toBe(true);
    expect(segmentRegExp('*.txt').test('a.txtx')).toBe(false);
    expect(segmentRegExp('f?[0-9]').test('fa7')).toBe(true);
    expect(segmentRegExp('[!a]*').test('abc')).toBe(false);
    expect(segmentRegExp('a.b(c)').test('a.b(c)')).toBe(true);
  });
});
