import { describe, expect, it } from 'vitest';

import { LexError, rawCommand, splitArgs, splitLine } from '../../ts/config/lexer.js';
import { matchPattern, matchPatternList } from '../../ts/config/pattern.js';

describe('splitLine', () => {
  it('skips blank and comment lines', () => {
    expect(splitLine('')).toBeNull();
    expect(splitLine('   \t ')).toBeNull();
    expect(splitLine('# Host x')).toBeNull();
    expect(splitLine('   # indented comment')).toBeNull();
  });

  it('accepts whitespace and "=" separators', () => {
    expect(splitLine('Port 22')).toEqual({ keyword: 'Port', rest: '22' });
    expect(splitLine('Port=22')).toEqual({ keyword: 'Port', rest: '22' });
    expect(splitLine('  Port = 22  ')).toEqual({ keyword: 'Port', rest: '22' });
    expect(splitLine('Port\t=\t22\r')).toEqual({ keyword: 'Port', rest: '22' });
    // Only one '=' is a separator; a second belongs to the value.
    expect(splitLine('Port==22')).toEqual({ keyword: 'Port', rest: '=22' });
  });

  it('rejects a keyword with no argument', () => {
    expect(splitLine('User')).toBeInstanceOf(LexError);
    expect(splitLine('User =  ')).toBeInstanceOf(LexError);
    expect(splitLine('=value')).toBeInstanceOf(LexError);
  });
});

describe('splitArgs', () => {
  it('splits on whitespace and strips quotes', () => {
    expect(splitArgs('a  b\tc')).toEqual(['a', 'b', 'c']);
    expect(splitArgs('"a b" c')).toEqual(['a b', 'c']);
    expect(splitArgs("'single q' x")).toEqual(['single q', 'x']);
    expect(splitArgs('a"b c"d')).toEqual(['ab cd']);
  });

  it('handles escapes', () => {
    expect(splitArgs('e\\ f')).toEqual(['e f']);
    expect(splitArgs('"q\\"uote"')).toEqual(['q"uote']);
    expect(splitArgs('back\\\\slash')).toEqual(['back\\slash']);
    expect(splitArgs('keep\\n')).toEqual(['keep\\n']);
  });

  it('stops at a comment only at a token start', () => {
    expect(splitArgs('x#y #comment here')).toEqual(['x#y']);
    expect(splitArgs('"#quoted" b')).toEqual(['#quoted', 'b']);
  });

  it('reports unterminated quotes', () => {
    expect(splitArgs('"abc')).toBeInstanceOf(LexError);
    expect(splitArgs("a 'b")).toBeInstanceOf(LexError);
  });

  it('keeps empty quoted arguments so the parser can reject them', () => {
    expect(splitArgs('""')).toEqual(['']);
  });
});

describe('rawCommand', () => {
  it('keeps quotes and everything after the separator', () => {
    expect(rawCommand('nc "%h" %p # not a comment to ssh')).toBe('nc "%h" %p # not a comment to ssh');
    expect(rawCommand('= ssh -W %h:%p jump')).toBe('ssh -W %h:%p jump');
  });
});

describe('patterns', () => {
  it('matches * and ?', () => {
    expect(matchPattern('foo.example.com', '*.example.com')).toBe(true);
    expect(matchPattern('example.com', '*.example.com')).toBe(false);
    expect(matchPattern('192.168.0.7', '192.168.0.?')).toBe(true);
    expect(matchPattern('192.168.0.17', '192.168.0.?')).toBe(false);
    expect(matchPattern('abc', '*')).toBe(true);
    expect(matchPattern('', '*')).toBe(true);
    expect(matchPattern('aXbXc', 'a*b*c')).toBe(true);
    expect(matchPattern('aXbXd', 'a*b*c')).toBe(false);
    expect(matchPattern('Foo', 'foo')).toBe(false);
  });

  it('stays fast on pathological patterns', () => {
    const text = 'a'.repeat(5000);
    expect(matchPattern(text, '*a*a*a*a*a*a*a*b')).toBe(false);
  });

  it('applies pattern-list negation like OpenSSH', () => {
    expect(matchPatternList('a.dialup.example.com', '!*.dialup.example.com,*.example.com')).toBe(false);
    expect(matchPatternList('www.example.com', '!*.dialup.example.com,*.example.com')).toBe(true);
    // Negations alone never produce a match.
    expect(matchPatternList('anything', '!other')).toBe(false);
    expect(matchPatternList('host', 'HOST', true)).toBe(true);
    expect(matchPatternList('host', 'HOST', false)).toBe(false);
  });
});
