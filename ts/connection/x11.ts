/**
 * What X11 forwarding needs to know about X11 itself, in both roles:
 *
 * - display names (`:0`, `host:10.1`, `unix:0`) and where they connect;
 * - Xauthority files (the cookies X clients present), read on the client
 *   and written on the server;
 * - the connection setup an X client sends first, whose authorization the
 *   SSH client checks against the fake cookie it gave the server and
 *   replaces with the real one before the X server sees it.
 */
import { SSHException, ProtocolError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';

/** The cookie protocol OpenSSH and X servers use. */
export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';
/** X displays listen on TCP port 6000 + display number. */
export const X11_BASE_PORT = 6000;

/** Xauthority address families (Xauth.h). */
export const XAUTH_FAMILY = { internet: 0, local: 256, wild: 65535 } as const;

/** A parsed X display name. */
export interface X11Display {
  /** Host part; '' (or 'unix') for the local Unix socket, or a socket path (XQuartz). */
  host: string;
  display: number;
  screen: number;
}

/** Parses `[host]:display[.screen]`. Throws ERR_SSH_BAD_OPTION if malformed. */
export function parseDisplay(name: string): X11Display {
  const colon = name.lastIndexOf(':');
  const m = colon < 0 ? null : /^(\d+)(?:\.(\d+))?$/.exec(name.slice(colon + 1));
  if (!m) throw new SSHException(`X11 display ${JSON.stringify(name)} is not of the form [host]:display[.screen]`, { code: 'ERR_SSH_BAD_OPTION' });
  let host = name.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, display: Number(m[1]), screen: m[2] === undefined ? 0 : Number(m[2]) };
}

/** Where to connect for `d`: its Unix socket, or TCP port 6000 + display on its host. */
export function displayAddress(d: X11Display): { path: string } | { host: string; port: number } {
  if (d.host === '' || d.host === 'unix') return { path: `/tmp/.X11-unix/X${d.display}` };
  if (d.host.startsWith('/')) return { path: `${d.host}:${d.display}` };
  return { host: d.host, port: X11_BASE_PORT + d.display };
}

/** One Xauthority record. */
export interface XauthEntry {
  family: number;
  address: Buffer;
  /** The display number, as text. */
  number: string;
  name: string;
  data: Buffer;
}

/** Parses an Xauthority file (records of big-endian 16-bit lengths). Throws ProtocolError if truncated. */
export function parseXauthority(buf: Uint8Array): XauthEntry[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: XauthEntry[] = [];
  let pos = 0;
  const field = (): Buffer => {
    if (pos + 2 > b.length) throw new ProtocolError('Xauthority: truncated record');
    const n = b.readUInt16BE(pos);
    if (pos + 2 + n > b.length) throw new ProtocolError('Xauthority: truncated record');
    const v = b.subarray(pos + 2, pos + 2 + n);
    pos += 2 + n;
    return v;
  };
  while (pos < b.length) {
    if (pos + 2 > b.length) throw new ProtocolError('Xauthority: truncated record');
    const family = b.readUInt16BE(pos);
    pos += 2;
    const address = Buffer.from(field());
    const number = field().toString('latin1');
    const name = field().toString('latin1');
    const data = Buffer.from(field());
    out.push({ family, address, number, name, data });
  }
  return out;
}

/** The Xauthority file holding `entries`. */
export function encodeXauthority(entries: readonly XauthEntry[]): Buffer {
  const parts: Buffer[] = [];
  const field = (v: Buffer): void => {
    if (v.length > 0xffff) throw new SSHException('Xauthority: field longer than 65535 bytes', { code: 'ERR_SSH_BAD_ARGUMENT' });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(v.length);
    parts.push(len, v);
  };
  for (const e of entries) {
    const fam = Buffer.alloc(2);
    fam.writeUInt16BE(e.family);
    parts.push(fam);
    field(e.address);
    field(Buffer.from(e.number, 'latin1'));
    field(Buffer.from(e.name, 'latin1'));
    field(e.data);
  }
  return Buffer.concat(parts);
}

/**
 * The MIT-MAGIC-COOKIE-1 entry an X client would use for `d`, as Xlib
 * chooses: the display number must match, and the address must be this
 * host (FamilyLocal with `hostname`, for Unix sockets and loopback TCP),
 * the display host's IPv4 address, or a wildcard.
 */
export function findXauth(entries: readonly XauthEntry[], d: X11Display, hostname: string): XauthEntry | undefined {
  const local = d.host === '' || d.host === 'unix' || d.host.startsWith('/') || d.host === 'localhost' || d.host === '127.0.0.1' || d.host === '::1';
  const ipv4 = /^\d+\.\d+\.\d+\.\d+$/.test(d.host) ? Buffer.from(d.host.split('.').map(Number)) : null;
  return entries.find((e) => {
    if (e.name !== MIT_MAGIC_COOKIE || e.number !== String(d.display)) return false;
    if (e.family === XAUTH_FAMILY.wild) return true;
    if (e.family === XAUTH_FAMILY.local) return local && e.address.toString('latin1') === hostname;
    if (e.family === XAUTH_FAMILY.internet) return ipv4 !== null && e.address.equals(ipv4);
    return false;
  });
}

/** The fixed part of an X11 connection setup: byte order, pad, major, minor, two lengths, pad. */
const SETUP_FIXED = 12;
/** Longest setup prefix we wait for before giving up on a peer (real ones are ~50 bytes). */
export const X11_SETUP_MAX = 4096;

/** The authorization in a client's connection setup. */
export interface X11Setup {
  /** Bytes the setup takes: the fixed part plus padded name and data. */
  length: number;
  littleEndian: boolean;
  authName: string;
  authData: Buffer;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Parses the start of what an X client sent: null while more bytes are
 * needed, else the setup. Throws ProtocolError if it is not an X11 setup
 * or is longer than X11_SETUP_MAX.
 */
export function parseX11Setup(buf: Buffer): X11Setup | null {
  if (buf.length < 1) return null;
  const order = buf[0];
  if (order !== 0x42 && order !== 0x6c) throw new ProtocolError('X11: the connection does not start with an X11 setup');
  if (buf.length < SETUP_FIXED) return null;
  const littleEndian = order === 0x6c;
  const nameLen = littleEndian ? buf.readUInt16LE(6) : buf.readUInt16BE(6);
  const dataLen = littleEndian ? buf.readUInt16LE(8) : buf.readUInt16BE(8);
  const length = SETUP_FIXED + pad4(nameLen) + pad4(dataLen);
  if (length > X11_SETUP_MAX) throw new ProtocolError(`X11: setup of ${length} bytes is too long`);
  if (buf.length < length) return null;
  const nameAt = SETUP_FIXED;
  const dataAt = nameAt + pad4(nameLen);
  return {
    length,
    littleEndian,
    authName: buf.subarray(nameAt, nameAt + nameLen).toString('latin1'),
    authData: Buffer.from(buf.subarray(dataAt, dataAt + dataLen)),
  };
}

/** `setup` (the bytes parseX11Setup read) with its authorization replaced by `name` and `data`. */
export function rewriteX11Setup(setupBytes: Buffer, parsed: X11Setup, name: string, data: Uint8Array): Buffer {
  const nameBytes = Buffer.from(name, 'latin1');
  const out = Buffer.alloc(SETUP_FIXED + pad4(nameBytes.length) + pad4(data.length));
  setupBytes.copy(out, 0, 0, 6);
  if (parsed.littleEndian) {
    out.writeUInt16LE(nameBytes.length, 6);
    out.writeUInt16LE(data.length, 8);
  } else {
    out.writeUInt16BE(nameBytes.length, 6);
    out.writeUInt16BE(data.length, 8);
  }
  nameBytes.copy(out, SETUP_FIXED);
  out.set(data, SETUP_FIXED + pad4(nameBytes.length));
  return out;
}

/** Where an `x11` channel's connection came from (its open's extra data). */
export interface X11Origin {
  originHost: string;
  originPort: number;
}

export function encodeX11OpenData(o: X11Origin): Uint8Array {
  return new SSHWriter(16 + o.originHost.length).string(o.originHost).uint32(o.originPort).toBytes();
}

/** Throws ProtocolError if malformed. */
export function parseX11OpenData(data: Uint8Array): X11Origin {
  const r = new SSHReader(data, 'x11 channel open');
  const out = { originHost: r.utf8(256), originPort: r.uint32() };
  r.end();
  return out;
}
