/**
 * X11 pieces both roles share: display names, Xauthority files (checked
 * against files the real `xauth` writes and reads), and the connection
 * setup whose cookie the client swaps.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../ts/errors.js';
import {
  displayAddress,
  encodeX11OpenData,
  encodeXauthority,
  findXauth,
  parseDisplay,
  parseX11OpenData,
  parseX11Setup,
  parseXauthority,
  rewriteX11Setup,
  XAUTH_FAMILY,
} from '../../ts/connection/x11.js';

const dir = mkdtempSync(join(tmpdir(), 'sshwire-x11-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('display names', () => {
  it('parses host, display and screen, and says where to connect', () => {
    expect(parseDisplay(':0')).toEqual({ host: '', display: 0, screen: 0 });
    expect(parseDisplay('localhost:10.2')).toEqual({ host: 'localhost', display: 10, screen: 2 });
    expect(parseDisplay('unix:3')).toEqual({ host: 'unix', display: 3, screen: 0 });
    expect(parseDisplay('[::1]:1')).toEqual({ host: '::1', display: 1, screen: 0 });
    expect(displayAddress(parseDisplay(':7'))).toEqual({ path: '/tmp/.X11-unix/X7' });
    expect(displayAddress(parseDisplay('10.0.0.1:12.0'))).toEqual({ host: '10.0.0.1', port: 6012 });
    expect(displayAddress(parseDisplay('/private/tmp/com.apple.launchd.x/org.xquartz:0'))).toEqual({ path: '/private/tmp/com.apple.launchd.x/org.xquartz:0' });
  });

  it('rejects malformed names with ERR_SSH_BAD_OPTION', () => {
    for (const bad of ['', 'host', ':', ':x', 'host:1.', ':1.2.3']) {
      expect(() => parseDisplay(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_OPTION' }));
    }
  });
});

describe('Xauthority files', () => {
  it('reads what xauth writes, and xauth reads what we write', () => {
    const file = join(dir, 'from-xauth');
    execFileSync('xauth', ['-f', file, 'add', ':5', 'MIT-MAGIC-COOKIE-1', '00112233445566778899aabbccddeeff'], { stdio: 'ignore' });
    execFileSync('xauth', ['-f', file, 'add', '10.1.2.3:9', 'MIT-MAGIC-COOKIE-1', 'ffeeddccbbaa99887766554433221100'], { stdio: 'ignore' });
    const entries = parseXauthority(readFileSync(file));
    expect(entries).toHaveLength(2);
    const local = findXauth(entries, parseDisplay(':5'), hostname())!;
    expect(local.family).toBe(XAUTH_FAMILY.local);
    expect(local.data.toString('hex')).toBe('00112233445566778899aabbccddeeff');
    // Loopback TCP uses the local entry, as Xlib does; another display number or host does not match.
    expect(findXauth(entries, parseDisplay('localhost:5'), hostname())).toBe(local);
    expect(findXauth(entries, parseDisplay(':6'), hostname())).toBeUndefined();
    expect(findXauth(entries, parseDisplay(':5'), 'some-other-host')).toBeUndefined();
    expect(findXauth(entries, parseDisplay('10.1.2.3:9'), hostname())!.data.toString('hex')).toBe('ffeeddccbbaa99887766554433221100');

    const ours = join(dir, 'ours');
    writeFileSync(ours, encodeXauthority([{ family: XAUTH_FAMILY.local, address: Buffer.from(hostname()), number: '12', name: 'MIT-MAGIC-COOKIE-1', data: Buffer.alloc(16, 0xab) }]));
    const listed = execFileSync('xauth', ['-f', ours, 'list'], { encoding: 'utf8' });
    expect(listed).toContain(`${hostname()}/unix:12  MIT-MAGIC-COOKIE-1  ${'ab'.repeat(16)}`);
    expect(encodeXauthority(parseXauthority(readFileSync(file))).equals(readFileSync(file))).toBe(true);
  });

  it('a truncated file is a ProtocolError', () => {
    const good = encodeXauthority([{ family: XAUTH_FAMILY.wild, address: Buffer.alloc(0), number: '0', name: 'MIT-MAGIC-COOKIE-1', data: Buffer.alloc(16) }]);
    for (let cut = 1; cut < good.length; cut++) expect(() => parseXauthority(good.subarray(0, cut))).toThrow(ProtocolError);
    expect(findXauth(parseXauthority(good), parseDisplay('anyhost:0'), 'h')).toBeDefined();
  });
});

/** An X11 connection setup as a client sends it. */
function setup(littleEndian: boolean, name: string, data: Buffer): Buffer {
  const pad = (n: number): number => (n + 3) & ~3;
  const b = Buffer.alloc(12 + pad(name.length) + pad(data.length));
  b[0] = littleEndian ? 0x6c : 0x42;
  const w = (v: number, at: number): number => (littleEndian ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  w(11, 2);
  w(0, 4);
  w(name.length, 6);
  w(data.length, 8);
  b.write(name, 12, 'latin1');
  data.copy(b, 12 + pad(name.length));
  return b;
}

describe('X11 connection setup', () => {
  it('parses in both byte orders, waits for the whole setup, and swaps the cookie', () => {
    const fake = Buffer.alloc(16, 1);
    const real = Buffer.alloc(16, 2);
    for (const le of [true, false]) {
      const s = setup(le, 'MIT-MAGIC-COOKIE-1', fake);
      for (let n = 0; n < s.length; n++) expect(parseX11Setup(s.subarray(0, n))).toBeNull();
      const p = parseX11Setup(Buffer.concat([s, Buffer.from('next request')]))!;
      expect(p).toMatchObject({ length: s.length, littleEndian: le, authName: 'MIT-MAGIC-COOKIE-1' });
      expect(p.authData.equals(fake)).toBe(true);
      const swapped = rewriteX11Setup(s, p, 'MIT-MAGIC-COOKIE-1', real);
      expect(swapped.equals(setup(le, 'MIT-MAGIC-COOKIE-1', real))).toBe(true);
      // No real cookie: the setup goes on with no authorization at all.
      expect(rewriteX11Setup(s, p, '', Buffer.alloc(0)).equals(setup(le, '', Buffer.alloc(0)))).toBe(true);
    }
  });

  it('refuses what is not an X11 setup, or is too long', () => {
    expect(() => parseX11Setup(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(ProtocolError);
    const huge = setup(true, 'x', Buffer.alloc(0));
    huge.writeUInt16LE(60_000, 8);
    expect(() => parseX11Setup(huge)).toThrow(/too long/);
  });

  it('encodes and parses an x11 open\'s originator', () => {
    expect(parseX11OpenData(encodeX11OpenData({ originHost: '127.0.0.1', originPort: 40_000 }))).toEqual({ originHost: '127.0.0.1', originPort: 40_000 });
    expect(() => parseX11OpenData(Buffer.from([0, 0, 0, 9, 1]))).toThrow(ProtocolError);
  });
});
