/** SSHReader's bounds: every read stays inside [start, end), and bad bounds fail at once. */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../ts/errors.js';
import { SSHReader, SSHWriter } from '../../ts/wire/index.js';

describe('SSHReader bounds', () => {
  it('reads only inside [start, end): a string running past end is truncated, not read from the bytes after', () => {
    const buf = new SSHWriter().byte(9).string('abcdef').toBytes();
    const r = new SSHReader(buf, 'test', 1, buf.length - 2);
    expect(() => r.string()).toThrow(ProtocolError);
    expect(new SSHReader(buf, 'test', 1).utf8()).toBe('abcdef');
  });

  it('a start past end is a truncated message (ProtocolError); bounds outside the buffer are a RangeError', () => {
    const buf = new Uint8Array(3);
    expect(() => new SSHReader(buf, 'CHANNEL_OPEN', 5)).toThrow(ProtocolError);
    expect(() => new SSHReader(buf, 'CHANNEL_OPEN', 5)).toThrow(/CHANNEL_OPEN: truncated/);
    expect(() => new SSHReader(buf, 'x', 0, 4)).toThrow(RangeError);
    expect(() => new SSHReader(buf, 'x', -1)).toThrow(RangeError);
    expect(new SSHReader(buf, 'x', 3).remaining).toBe(0);
  });
});
