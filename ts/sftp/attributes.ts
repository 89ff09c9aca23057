/**
 * Paramiko's SFTPAttributes: a file's stat as SFTP carries it, with the
 * `st_*` field names Python users know. Used by the client (results of stat,
 * listdirAttr) and the server (building replies from `fs.Stats`).
 */
import type { Stats } from 'node:fs';
import type { FileAttrs } from '../wire/sftpAttrs.js';
import { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } from './constants.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A file's attributes as SFTP v3 carries them, with Paramiko's `st_*` names.
 * Every field is optional on the wire: one the server did not send stays
 * `undefined` (and is left out when sent back, e.g. by setstat).
 */
export class SFTPAttributes {
  /** Size in bytes, when the server sent it. */
  st_size: number | undefined;
  /** Numeric owner id. The wire carries uid and gid as a pair: set both when sending. */
  st_uid: number | undefined;
  /** Numeric group id (paired with `st_uid` on the wire). */
  st_gid: number | undefined;
  /** Type bits and permissions (e.g. 0o100644). */
  st_mode: number | undefined;
  /** Seconds since the epoch. */
  st_atime: number | undefined;
  /** Modification time, seconds since the epoch (paired with `st_atime` on the wire). */
  st_mtime: number | undefined;
  /** Set by listdirAttr / listdirIter. */
  filename = '';
  /** The server's `ls -l` style line, set by listdirAttr / listdirIter. */
  longname = '';
  /** Vendor extended attributes (type → data). */
  extended: Map<string, Uint8Array> = new Map();

  /** From the decoded wire structure. */
  static fromFileAttrs(a: FileAttrs, filename = '', longname = ''): SFTPAttributes {
    const s = new SFTPAttributes();
    s.st_size = a.size;
    s.st_uid = a.uid;
    s.st_gid = a.gid;
    s.st_mode = a.permissions;
    s.st_atime = a.atime;
    s.st_mtime = a.mtime;
    if (a.extended) s.extended = a.extended;
    s.filename = filename;
    s.longname = longname;
    return s;
  }

  /** From a local `fs.Stats` (Paramiko's `from_stat`), e.g. for the server side. */
  static fromStat(st: Stats, filename = ''): SFTPAttributes {
    const seconds = (ms: number): number => Math.floor(ms / 1000);
    return SFTPAttributes.fromFileAttrs(
      { size: st.size, uid: st.uid, gid: st.gid, permissions: st.mode, atime: seconds(st.atimeMs), mtime: seconds(st.mtimeMs) },
      filename,
    );
  }

  /** To the wire structure: only the fields that are set. */
  toFileAttrs(): FileAttrs {
    const a: FileAttrs = {};
    if (this.st_size !== undefined) a.size = this.st_size;
    if (this.st_uid !== undefined) a.uid = this.st_uid;
    if (this.st_gid !== undefined) a.gid = this.st_gid;
    if (this.st_mode !== undefined) a.permissions = this.st_mode;
    if (this.st_atime !== undefined) a.atime = this.st_atime;
    if (this.st_mtime !== undefined) a.mtime = this.st_mtime;
    if (this.extended.size > 0) a.extended = this.extended;
    return a;
  }

  #type(): number | undefined {
    return this.st_mode === undefined ? undefined : this.st_mode & S_IFMT;
  }

  /** Whether `st_mode` says directory (false when the mode is unknown). */
  isDirectory(): boolean {
    return this.#type() === S_IFDIR;
  }

  /** Whether `st_mode` says regular file (false when the mode is unknown). */
  isFile(): boolean {
    return this.#type() === S_IFREG;
  }

  /**
   * Whether `st_mode` says symlink; only lstat and directory listings can
   * report one, since stat follows links.
   */
  isSymbolicLink(): boolean {
    return this.#type() === S_IFLNK;
  }

  /** `drwxr-xr-x` style, as `ls -l` shows it. */
  modeString(): string {
    const m = this.st_mode;
    if (m === undefined) return '?---------';
    const t = m & S_IFMT;
    const kind =
      t === S_IFDIR ? 'd' : t === S_IFLNK ? 'l' : t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : t === S_IFSOCK ? 's' : t === S_IFREG ? '-' : '?';
    const rwx = (bits: number, special: boolean, ch: string): string =>
      (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
    return kind + rwx((m >> 6) & 7, (m & 0o4000) !== 0, 's') + rwx((m >> 3) & 7, (m & 0o2000) !== 0, 's') + rwx(m & 7, (m & 0o1000) !== 0, 't');
  }

  /**
   * An `ls -l` line like OpenSSH's sftp-server sends as longname (Paramiko's
   * `str(attr)`); `now` decides between showing the time or the year.
   */
  toString(now = Date.now()): string {
    const mtime = this.st_mtime ?? 0;
    const d = new Date(mtime * 1000);
    const sixMonths = 182 * 24 * 3600 * 1000;
    const recent = Math.abs(now - mtime * 1000) < sixMonths;
    const day = String(d.getDate()).padStart(2, ' ');
    const when = recent
      ? `${MONTHS[d.getMonth()]} ${day} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
      : `${MONTHS[d.getMonth()]} ${day}  ${d.getFullYear()}`;
    const uid = String(this.st_uid ?? 0).padEnd(8);
    const gid = String(this.st_gid ?? 0).padEnd(8);
    const size = String(this.st_size ?? 0).padStart(8);
    return `${this.modeString()}    1 ${uid} ${gid} ${size} ${when} ${this.filename}`;
  }
}
