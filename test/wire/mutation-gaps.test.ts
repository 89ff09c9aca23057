/**
 * Wire encodings that mutation testing found unpinned by test/wire: mpint
 * sign and padding (RFC 4251 section 5 examples), name-lists, booleans,
 * string limits, trailing bytes, SFTP ATTRS field order and limits, and the
 * SFTP framer's size bound.
 */
import { describe, expect, it } from 'vitest';

import { ProtocolError } from '../../ts/errors.js';
import { SSHReader, SSHWriter, bigIntToMpint, mpintToBigInt } from '../../ts/wire/index.js';
import { readAttrs, writeAttrs } from '../../ts/wire/sftpAttrs.js';
import { ATTR } from '../../ts/wire/sftpConstants.js';
import { SFTPFramer } from '../../ts/wire/sftpPacket.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** RFC 4251 section 5: value → mpint encoding (length included). */
const RFC4251_MPINTS: [bigint, string][] = [
  [0n, '00000000'],
  [0x9a378f9b2e332a7n, '0000000809a378f9b2e332a7'],
  [0x80n, '000000020080'],
  [-0x1234n, '00000002edcc'],
  [-0xdeadbeefn, '00000005ff21524111'],
];

describe('mpint (RFC 4251 section 5 examples)', () => {
  it.each(RFC4251_MPINTS)('%s encodes and decodes as the RFC shows', (v, enc) => {
    expect(hex(new SSHWriter().mpint(v).toBytes())).toBe(enc);
    expect(new SSHReader(unhex(enc)).mpint()).toBe(v);
  });

  it('negative values at byte boundaries round-trip (-128, -129, -32768, -32769)', () => {
    for (const v of [-1n, -128n, -129n, -255n, -256n, -32768n, -32769n]) {
      const body = bigIntToMpint(v);
      expect(mpintToBigInt(body), String(v)).toBe(v);
      // Minimal: no redundant 0xff lead byte.
      if (body.length > 1) expect(body[0] === 0xff && (body[1]! & 0x80) !== 0, String(v)).toBe(false);
    }
    expect(hex(bigIntToMpint(-129n))).toBe('ff7f');
    expect(hex(bigIntToMpint(-128n))).toBe('80');
  });

  it('mpintFromUnsigned strips leading zeros and adds one zero byte before a set top bit', () => {
    expect(hex(new SSHWriter().mpintFromUnsigned(unhex('000080')).toBytes())).toBe('000000020080');
    expect(hex(new SSHWriter().mpintFromUnsigned(unhex('00007f')).toBytes())).toBe('000000017f');
    expect(hex(new SSHWriter().mpintFromUnsigned(unhex('0000')).toBytes())).toBe('00000000');
  });

  it('mpintBytes returns the magnitude without leading zeros and refuses a negative mpint', () => {
    expect(hex(new SSHReader(unhex('000000030000ff')).mpintBytes())).toBe('ff');
    expect(hex(new SSHReader(unhex('000000020080')).mpintBytes())).toBe('80');
    expect(() => new SSHReader(unhex('00000001ff')).mpintBytes()).toThrow(ProtocolError);
    expect(() => new SSHReader(unhex('00000002edcc')).mpintBytes()).toThrow(/negative mpint/);
  });
});

describe('SSHReader fields', () => {
  it('an empty name-list is an empty array; names are split on commas', () => {
    expect(new SSHReader(new SSHWriter().string('').toBytes()).nameList()).toEqual([]);
    expect(new SSHReader(new SSHWriter().string('a,b').toBytes()).nameList()).toEqual(['a', 'b']);
  });

  it('any non-zero boolean byte is true (RFC 4251)', () => {
    const r = new SSHReader(Uint8Array.from([0, 1, 2, 0xff]));
    expect([r.boolean(), r.boolean(), r.boolean(), r.boolean()]).toEqual([false, true, true, true]);
  });

  it('string(max) refuses a longer string before reading it, and accepts exactly max', () => {
    const buf = new SSHWriter().string('abcd').toBytes();
    expect(() => new SSHReader(buf).string(3)).toThrow(/exceeds limit 3/);
    expect(hex(new SSHReader(buf).string(4))).toBe(hex(Buffer.from('abcd')));
    // nameList's default limit is 64 KiB.
    const big = new SSHWriter().string('a'.repeat(65537)).toBytes();
    expect(() => new SSHReader(big).nameList()).toThrow(ProtocolError);
  });

  it('end() throws while bytes are left, and not after they are read', () => {
    const r = new SSHReader(Uint8Array.from([1, 2]), 'MSG');
    r.byte();
    expect(() => r.end()).toThrow(/MSG: 1 unexpected trailing bytes/);
    r.byte();
    expect(() => r.end()).not.toThrow();
  });
});

describe('SFTP ATTRS', () => {
  it('atime comes before mtime on the wire, both ways', () => {
    const w = new SSHWriter();
    writeAttrs(w, { atime: 111, mtime: 222 });
    expect(hex(w.toBytes())).toBe('00000008' + '0000006f' + '000000de');
    const a = readAttrs(new SSHReader(w.toBytes()));
    expect(a).toEqual({ atime: 111, mtime: 222 });
  });

  it('refuses more than 1024 extended pairs, and a size beyond 2^53', () => {
    const ext = new SSHWriter().uint32(ATTR.EXTENDED).uint32(1025).toBytes();
    expect(() => readAttrs(new SSHReader(ext, 'ATTRS'))).toThrow(/1025 extended attributes exceeds limit 1024/);
    const ok = new SSHWriter().uint32(ATTR.EXTENDED).uint32(1).string('x@y').string('v').toBytes();
    expect([...readAttrs(new SSHReader(ok)).extended!.keys()]).toEqual(['x@y']);
    const size = new SSHWriter().uint32(ATTR.SIZE).uint64(2n ** 53n).toBytes();
    expect(() => readAttrs(new SSHReader(size))).toThrow(ProtocolError);
    const max = new SSHWriter().uint32(ATTR.SIZE).uint64(BigInt(Number.MAX_SAFE_INTEGER)).toBytes();
    expect(readAttrs(new SSHReader(max)).size).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('SFTPFramer', () => {
  it('accepts a packet of exactly maxPacket bytes and refuses one byte more', () => {
    const f = new SFTPFramer(16);
    const got: number[] = [];
    const pkt = (len: number) => Buffer.concat([Buffer.from([0, 0, 0, len]), Buffer.alloc(len, 7)]);
    f.push(pkt(16), (b) => got.push(b.length));
    expect(got).toEqual([16]);
    expect(() => new SFTPFramer(16).push(pkt(17), () => {})).toThrow(ProtocolError);
  });
});
