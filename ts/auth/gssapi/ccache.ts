/**
 * MIT's FILE credential cache (what `kinit` writes to /tmp/krb5cc_<uid> or
 * KRB5CCNAME), versions 3 and 4 (0x0503 / 0x0504): reading, writing and
 * locating it. The layout, all integers big-endian:
 *
 *     file        = 0x05 version(1 byte) [header, v4 only] default-principal credential*
 *     header      = length(16) { tag(16) length(16) value }*      (tags are skipped)
 *     principal   = name-type(32) count(32) realm(data) component(data)*
 *     credential  = client(principal) server(principal) keyblock
 *                   authtime(32) starttime(32) endtime(32) renew-till(32)
 *                   is-skey(8) ticket-flags(32)
 *                   address-count(32) { addrtype(16) data }*
 *                   authdata-count(32) { ad-type(16) data }*
 *                   ticket(data) second-ticket(data)
 *     keyblock    = enctype(16) [enctype(16) again, v3 only] data
 *     data        = length(32) bytes
 *
 * The credential list has no count: it runs to the end of the file.
 * Configuration entries (server realm "X-CACHECONF:", e.g. fast_avail) are
 * skipped on reading; addresses, authorization data, is-skey and the second
 * ticket are read and dropped (a Krb5Credential has no place for them).
 *
 * Every count and length is checked against what is left of the input
 * before anything is read or allocated, so a hostile file can only produce
 * a KeyFormatError naming the file and the field.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthenticationException, SSHException } from '../../errors.js';
import { Krb5FileReader, readKrb5File } from './fileReader.js';
import type { Krb5Credential, PrincipalName } from './krb5Types.js';

/** A parsed credential cache: its owner and its (non-configuration) credentials, in file order. */
export interface CredentialCache {
  /** The cache's default ("primary") principal: whose tickets these are. */
  defaultPrincipal: { realm: string; name: PrincipalName };
  credentials: Krb5Credential[];
}

/** The realm MIT gives the server principal of configuration entries. */
const CONFIG_REALM = 'X-CACHECONF:';

/** The ccache reader: 32-bit data lengths, plus counts bounded by what is left. */
class CcacheReader extends Krb5FileReader {
  constructor(buf: Uint8Array, source: string) {
    super(buf, source, 'credential cache', 4);
  }

  /** A count of items each at least `minItemSize` bytes long: bounded by what is left. */
  count(what: string, minItemSize: number): number {
    const n = this.u32(`${what} count`);
    if (n * minItemSize > this.remaining) this.fail(`${what} count ${n} is more than the ${this.remaining} bytes left can hold`);
    return n;
  }
}

function readPrincipal(r: CcacheReader, what: string): { realm: string; name: PrincipalName } {
  const nameType = r.u32(`${what} name type`);
  const n = r.count(`${what} component`, 4);
  const realm = r.text(`${what} realm`);
  const nameString: string[] = [];
  for (let i = 0; i < n; i++) nameString.push(r.text(`${what} component`));
  return { realm, name: { nameType, nameString } };
}

/** Seconds since the epoch (unsigned 32-bit, as MIT stores them) to a Date. */
const toDate = (secs: number): Date => new Date(secs * 1000);

/**
 * Parses an MIT FILE credential cache (format version 3 or 4). `source`
 * (e.g. the file name) is used in error messages. Throws KeyFormatError
 * (code ERR_SSH_KEY_FORMAT) on anything malformed or truncated, and for
 * the native-byte-order versions 1 and 2.
 */
export function parseCcache(buf: Uint8Array, source = 'credential cache'): CredentialCache {
  const r = new CcacheReader(buf, source);
  const magic = r.u8('version');
  const version = r.u8('version');
  if (magic !== 5) r.fail(`not an MIT credential cache (first byte 0x${magic.toString(16)}, expected 0x05)`);
  if (version !== 3 && version !== 4) r.fail(`unsupported format version 0x050${version} (only 0x0503 and 0x0504 are read)`);
  if (version === 4) {
    const headerLen = r.u16('header length');
    if (headerLen > r.remaining) r.fail(`header length ${headerLen} exceeds the ${r.remaining} bytes left`);
    // Tags (only 1, the KDC time offset, is defined) are skipped, but their framing is still checked.
    const end = r.position + headerLen;
    while (r.position < end) {
      if (end - r.position < 4) r.fail('truncated header field');
      r.u16('header tag');
      const len = r.u16('header field length');
      if (len > end - r.position) r.fail(`header field length ${len} runs past the header`);
      r.skip(len, 'header field');
    }
  }
  const defaultPrincipal = readPrincipal(r, 'default principal');
  const credentials: Krb5Credential[] = [];
  while (r.remaining > 0) {
    const client = readPrincipal(r, 'client principal');
    const server = readPrincipal(r, 'server principal');
    const keytype = r.u16('key type');
    if (version === 3) r.u16('key type (repeated)');
    const keyvalue = r.data('key');
    const authtime = r.u32('authtime');
    const starttime = r.u32('starttime');
    const endtime = r.u32('endtime');
    const renewTill = r.u32('renew-till');
    r.u8('is_skey'); // user-to-user flag: MIT reads any non-zero byte as true; not kept
    const flags = r.u32('ticket flags');
    const addresses = r.count('address', 6);
    for (let i = 0; i < addresses; i++) {
      r.u16('address type');
      r.data('address');
    }
    const authdata = r.count('authdata', 6);
    for (let i = 0; i < authdata; i++) {
      r.u16('authdata type');
      r.data('authdata');
    }
    const ticket = r.data('ticket');
    r.data('second ticket');
    if (server.realm === CONFIG_REALM) continue;
    credentials.push({
      client,
      server,
      key: { keytype, keyvalue: Buffer.from(keyvalue) },
      authtime: toDate(authtime),
      ...(starttime !== 0 ? { starttime: toDate(starttime) } : {}),
      endtime: toDate(endtime),
      ...(renewTill !== 0 ? { renewTill: toDate(renewTill) } : {}),
      flags,
      ticket: Buffer.from(ticket),
    });
  }
  return { defaultPrincipal, credentials };
}

/** Big-endian writer for encodeCcache. */
class Writer {
  readonly #parts: Buffer[] = [];
  u8(v: number): void {
    this.#parts.push(Buffer.from([v & 0xff]));
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.#parts.push(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.#parts.push(b);
  }
  data(bytes: Uint8Array): void {
    this.u32(bytes.length);
    this.#parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  text(s: string): void {
    this.data(Buffer.from(s, 'utf8'));
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** A Date as unsigned 32-bit seconds; undefined is 0 ("not set"). */
function secs(d: Date | undefined, what: string): number {
  if (d === undefined) return 0;
  const s = Math.floor(d.getTime() / 1000);
  if (!Number.isFinite(s) || s < 0 || s > 0xffffffff) {
    throw new SSHException(`cannot store ${what} ${String(d)} in a credential cache (outside 1970..2106)`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  }
  return s;
}

function writePrincipal(w: Writer, p: { realm: string; name: PrincipalName }): void {
  w.u32(p.name.nameType);
  w.u32(p.name.nameString.length);
  w.text(p.realm);
  for (const c of p.name.nameString) w.text(c);
}

/**
 * Encodes a credential cache in format version 4 with an empty header:
 * no addresses, no authorization data, no second ticket, is_skey 0. A
 * missing starttime or renewTill is stored as 0, as MIT does.
 */
export function encodeCcache(cache: CredentialCache): Buffer {
  const w = new Writer();
  w.u8(5);
  w.u8(4);
  w.u16(0);
  writePrincipal(w, cache.defaultPrincipal);
  for (const c of cache.credentials) {
    writePrincipal(w, c.client);
    writePrincipal(w, c.server);
    if (c.key.keytype < 0 || c.key.keytype > 0xffff) {
      throw new SSHException(`cannot store key type ${c.key.keytype} in a credential cache`, { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    w.u16(c.key.keytype);
    w.data(c.key.keyvalue);
    w.u32(secs(c.authtime, 'authtime'));
    w.u32(secs(c.starttime, 'starttime'));
    w.u32(secs(c.endtime, 'endtime'));
    w.u32(secs(c.renewTill, 'renew-till'));
    w.u8(0);
    w.u32(c.flags);
    w.u32(0);
    w.u32(0);
    w.data(c.ticket);
    w.u32(0);
  }
  return w.done();
}

/**
 * The credential cache file MIT's library would use: KRB5CCNAME with a
 * `FILE:` prefix stripped, else /tmp/krb5cc_<uid>. Other cache types
 * (KEYRING:, KCM:, MEMORY:, DIR:, API:, ...) cannot be read from outside
 * MIT's library and throw SSHException code ERR_SSH_UNSUPPORTED naming the
 * type.
 */
export function ccachePath(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  const name = env.KRB5CCNAME;
  if (!name) return `/tmp/krb5cc_${uid}`;
  // MIT: a name with no colon, or one starting with a path, is a FILE cache; "X:" (one letter) is a Windows drive.
  const colon = name.indexOf(':');
  if (colon < 0 || name.startsWith('/') || name.startsWith('.') || colon === 1) return name;
  const type = name.slice(0, colon);
  if (type.toUpperCase() === 'FILE') return name.slice(colon + 1);
  // DIR::/dir/tktXXX names one cache of a collection directly.
  if (type.toUpperCase() === 'DIR' && name[colon + 1] === ':') return name.slice(colon + 2);
  throw new SSHException(
    `KRB5CCNAME names a ${type}: credential cache; only FILE: and DIR: caches can be read (set KRB5CCNAME=FILE:/path, e.g. run "kinit -c FILE:/tmp/krb5cc_${uid}")`,
    { code: 'ERR_SSH_UNSUPPORTED' },
  );
}

/**
 * The file of the cache KRB5CCNAME names: as ccachePath, and for a DIR:
 * collection its primary cache (the name in DIR/primary, "tkt" when that
 * file is missing), as MIT's DIR type does.
 */
export async function resolveCcacheFile(env: NodeJS.ProcessEnv = process.env, uid?: number): Promise<string> {
  const name = env.KRB5CCNAME ?? '';
  const m = /^DIR:(?!:)(.+)$/i.exec(name);
  if (!m) return ccachePath(env, uid);
  const dir = m[1]!;
  let primary = 'tkt';
  try {
    primary = (await readFile(join(dir, 'primary'), 'utf8')).split('\n')[0]!.trim() || 'tkt';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SSHException(`cannot read ${join(dir, 'primary')}: ${(e as Error).message}`, { code: 'ERR_KRB5_CCACHE', cause: e });
  }
  // The primary file names a cache in the directory, never a path elsewhere.
  if (primary.includes('/')) throw new SSHException(`${join(dir, 'primary')} names "${primary.slice(0, 100)}", not a file in the collection`, { code: 'ERR_KRB5_CCACHE' });
  return join(dir, primary);
}

/**
 * Reads and parses the credential cache at `path`. A missing file throws
 * AuthenticationException code ERR_KRB5_NO_CREDENTIALS (no Kerberos
 * credentials: run kinit); other read failures SSHException code
 * ERR_KRB5_CCACHE; malformed content KeyFormatError.
 */
export async function readCcache(path: string): Promise<CredentialCache> {
  const missing = (cause: unknown): Error =>
    new AuthenticationException(`no Kerberos credentials: credential cache ${path} does not exist (run kinit)`, { code: 'ERR_KRB5_NO_CREDENTIALS', cause });
  return parseCcache(await readKrb5File(path, 'credential cache', missing, 'ERR_KRB5_CCACHE'), path);
}

/**
 * Writes `cache` to `path` (format version 4), mode 0600: to a temporary
 * name beside it first, then renamed over `path`, so a reader never sees
 * a half-written cache.
 */
export async function writeCcache(path: string, cache: CredentialCache): Promise<void> {
  const data = encodeCcache(cache);
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.chmod(0o600);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new SSHException(`cannot write credential cache ${path}: ${(e as Error).message}`, { code: 'ERR_KRB5_CCACHE', cause: e });
  }
}
