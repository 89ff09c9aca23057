/**
 * MIT's FILE keytab (a service's long-term keys, e.g. /etc/krb5.keytab):
 * reading, writing and locating it. The layout, all integers big-endian:
 *
 *     file    = 0x05 version(1 byte) { size(signed 32) record }*
 *     record  = count(16) realm(data) component(data)* name-type(32)
 *               timestamp(32) kvno(8) enctype(16) key(data) [kvno(32)]
 *     data    = length(16) bytes
 *
 * A positive size is a record of at most that many bytes (an entry may be
 * shorter than the slot it reuses); a negative size is a hole of -size
 * zero bytes left by a deleted entry; size 0 (or end of file) ends the
 * list. When a record has at least 4 bytes after the key, they are a
 * 32-bit kvno that supersedes the 8-bit one unless it is 0 (MIT writes it
 * for every entry). Version 1 (0x0501) differs only in the principal: its
 * count includes the realm and it has no name type; it is read here in
 * big-endian order (MIT wrote it in the host's native order, so a
 * little-endian v1 file is reported as malformed).
 *
 * Every count and length is checked against the record before it is used;
 * a malformed file is a KeyFormatError naming the file and the field,
 * never showing key bytes.
 */
import { KeyFormatError, SSHException } from '../../errors.js';
import { Krb5FileReader, readKrb5File } from './fileReader.js';
import { NT, type KeytabEntry, type PrincipalName } from './krb5Types.js';

/** One record's entry. */
function readEntry(r: Krb5FileReader, version: number): KeytabEntry {
  let count = r.u16('component count');
  if (version === 1) {
    if (count === 0) r.fail('component count 0 (version 1 counts include the realm)');
    count -= 1;
  }
  // Each component needs at least its 2-byte length.
  if (count * 2 > r.remaining) r.fail(`component count ${count} is more than the ${r.remaining} bytes left in the record can hold`);
  const realm = r.text('realm');
  const nameString: string[] = [];
  for (let i = 0; i < count; i++) nameString.push(r.text('principal component'));
  const nameType = version === 1 ? NT.UNKNOWN : r.u32('name type');
  const timestamp = r.u32('timestamp');
  let kvno = r.u8('key version');
  const keytype = r.u16('key type');
  const keyvalue = r.data('key');
  if (r.remaining >= 4) {
    const kvno32 = r.u32('32-bit key version');
    if (kvno32 !== 0) kvno = kvno32;
  }
  const name: PrincipalName = { nameType, nameString };
  return { principal: { realm, name }, kvno, key: { keytype, keyvalue: Buffer.from(keyvalue) }, timestamp: new Date(timestamp * 1000) };
}

/**
 * Parses an MIT FILE keytab (version 0x0502, or 0x0501). Holes are
 * skipped. `source` (e.g. the file name) is used in error messages.
 * Throws KeyFormatError (code ERR_SSH_KEY_FORMAT) on anything malformed.
 */
export function parseKeytab(buf: Uint8Array, source = 'keytab'): KeytabEntry[] {
  const fail = (what: string, at: number): never => {
    throw new KeyFormatError(`${source}: malformed keytab: ${what} (at offset ${at})`);
  };
  if (buf.length < 2) fail('truncated version', 0);
  if (buf[0] !== 5) fail(`not an MIT keytab (first byte 0x${buf[0]!.toString(16)}, expected 0x05)`, 0);
  const version = buf[1]!;
  if (version !== 1 && version !== 2) fail(`unsupported format version 0x050${version.toString(16)} (only 0x0501 and 0x0502 are read)`, 1);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const entries: KeytabEntry[] = [];
  let pos = 2;
  // Fewer than 4 bytes left cannot hold a record size: MIT stops reading there too.
  while (buf.length - pos >= 4) {
    const size = view.getInt32(pos);
    pos += 4;
    if (size === 0) break;
    const len = Math.abs(size);
    if (len > buf.length - pos) fail(`${size < 0 ? 'hole' : 'record'} of ${len} bytes runs past the end of the file (${buf.length - pos} bytes left)`, pos - 4);
    if (size > 0) entries.push(readEntry(new Krb5FileReader(buf, source, 'keytab', 2, pos, pos + len), version));
    pos += len;
  }
  return entries;
}

/** Big-endian pieces of one record. */
function u16(v: number, what: string): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new SSHException(`cannot store ${what} ${v} in a keytab (16 bits)`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u32(v: number, what: string): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SSHException(`cannot store ${what} ${v} in a keytab (32 bits)`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

function data(bytes: Uint8Array, what: string): Buffer[] {
  return [u16(bytes.length, `${what} length`), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

/**
 * Encodes keytab entries as a version 0x0502 keytab, one record per entry,
 * each with the 32-bit kvno after the key (and the 8-bit kvno holding its
 * low byte), as MIT writes them.
 */
export function encodeKeytab(entries: KeytabEntry[]): Buffer {
  const parts: Buffer[] = [Buffer.from([5, 2])];
  for (const e of entries) {
    const { realm, name } = e.principal;
    const rec = Buffer.concat([
      u16(name.nameString.length, 'component count'),
      ...data(Buffer.from(realm, 'utf8'), 'realm'),
      ...name.nameString.flatMap((c) => data(Buffer.from(c, 'utf8'), 'principal component')),
      u32(name.nameType, 'name type'),
      u32(Math.floor(e.timestamp.getTime() / 1000), 'timestamp'),
      Buffer.from([e.kvno & 0xff]),
      u16(e.key.keytype, 'key type'),
      ...data(e.key.keyvalue, 'key'),
      u32(e.kvno, 'key version'),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(rec.length);
    parts.push(size, rec);
  }
  return Buffer.concat(parts);
}

/**
 * The keytab MIT's library would use: KRB5_KTNAME with a `FILE:` or
 * `WRFILE:` prefix stripped, else /etc/krb5.keytab. Other keytab types
 * (MEMORY:, KDB:, ...) throw SSHException code ERR_SSH_UNSUPPORTED.
 */
export function keytabPath(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.KRB5_KTNAME;
  if (!name) return '/etc/krb5.keytab';
  const colon = name.indexOf(':');
  if (colon < 0 || name.startsWith('/') || name.startsWith('.') || colon === 1) return name;
  const type = name.slice(0, colon).toUpperCase();
  if (type === 'FILE' || type === 'WRFILE') return name.slice(colon + 1);
  throw new SSHException(`KRB5_KTNAME names a ${name.slice(0, colon)}: keytab; only FILE: keytabs can be read`, { code: 'ERR_SSH_UNSUPPORTED' });
}

/**
 * Reads and parses the keytab at `path`. A missing file throws SSHException
 * code ERR_KRB5_NO_KEYTAB; other read failures (e.g. permission denied on
 * /etc/krb5.keytab) code ERR_KRB5_KEYTAB; malformed content KeyFormatError.
 */
export async function readKeytab(path: string): Promise<KeytabEntry[]> {
  const missing = (cause: unknown): Error =>
    new SSHException(`keytab ${path} does not exist (set KRB5_KTNAME or the keytab option)`, { code: 'ERR_KRB5_NO_KEYTAB', cause });
  return parseKeytab(await readKrb5File(path, 'keytab', missing, 'ERR_KRB5_KEYTAB'), path);
}
