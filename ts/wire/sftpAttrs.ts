/**
 * The SFTP v3 ATTRS structure (draft-ietf-secsh-filexfer-02 section 5):
 * flags, then only the fields the flags announce. Plain data, shared by the
 * client and the server; `ts/sftp/attributes.ts` wraps it in Paramiko's
 * SFTPAttributes shape.
 */
import { ProtocolError, SSHException } from '../errors.js';
import type { SSHReader } from './reader.js';
import type { SSHWriter } from './writer.js';
import { ATTR } from './sftpConstants.js';

/** Decoded ATTRS; a field is undefined when its flag was absent. */
export interface FileAttrs {
  size?: number;
  uid?: number;
  gid?: number;
  /** st_mode: file type bits and permissions. */
  permissions?: number;
  /** Seconds since the epoch. */
  atime?: number;
  mtime?: number;
  /** Vendor extensions (type → data), in the order received. */
  extended?: Map<string, Uint8Array>;
}

/** More extended pairs than this is hostile: each costs us a Map entry. */
const MAX_EXTENDED = 1024;

/** Reads an ATTRS structure. Sizes above 2^53 are refused rather than rounded. */
export function readAttrs(r: SSHReader): FileAttrs {
  const flags = r.uint32();
  const a: FileAttrs = {};
  if (flags & ATTR.SIZE) {
    const size = r.uint64();
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${r.context}: file size ${size} is beyond 2^53`);
    a.size = Number(size);
  }
  if (flags & ATTR.UIDGID) {
    a.uid = r.uint32();
    a.gid = r.uint32();
  }
  if (flags & ATTR.PERMISSIONS) a.permissions = r.uint32();
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.uint32();
    a.mtime = r.uint32();
  }
  if (flags & ATTR.EXTENDED) {
    const count = r.uint32();
    if (count > MAX_EXTENDED) throw new ProtocolError(`${r.context}: ${count} extended attributes exceeds limit ${MAX_EXTENDED}`);
    a.extended = new Map();
    for (let i = 0; i < count; i++) {
      const type = r.utf8(65536);
      a.extended.set(type, r.string());
    }
  }
  return a;
}

/**
 * Which of ATTRS' paired fields `a` gives only half of: uid without gid
 * (or the reverse), atime without mtime (or the reverse). SFTP v3 sends
 * each pair under one flag.
 */
export function halfPairs(a: FileAttrs): { ids: boolean; times: boolean } {
  return { ids: (a.uid === undefined) !== (a.gid === undefined), times: (a.atime === undefined) !== (a.mtime === undefined) };
}

/**
 * `a` without half-given pairs: a uid without its gid (or the reverse), an
 * atime without its mtime (or the reverse) are left out, as Paramiko does.
 * For attributes that describe a file (STAT replies, listings), where
 * leaving a field out is honest and inventing its partner is not.
 */
export function wholePairs(a: FileAttrs): FileAttrs {
  const half = halfPairs(a);
  if (!half.ids && !half.times) return a;
  const out = { ...a };
  if (half.ids) {
    delete out.uid;
    delete out.gid;
  }
  if (half.times) {
    delete out.atime;
    delete out.mtime;
  }
  return out;
}

/**
 * Writes an ATTRS structure with flags for exactly the fields present.
 * uid and gid share one flag, as do atime and mtime: both of a pair or
 * neither must be given. Half a pair throws SSHException
 * (`ERR_SSH_BAD_ARGUMENT`) instead of sending a made-up partner, which a
 * setstat would apply (gid 0, an mtime of 0); callers that change one half
 * read the other first (SFTPClient.setstat).
 */
export function writeAttrs(w: SSHWriter, a: FileAttrs): SSHWriter {
  const half = halfPairs(a);
  if (half.ids) {
    throw new SSHException(`SFTP attributes: ${a.uid === undefined ? 'gid without uid' : 'uid without gid'}; SFTP v3 sends both or neither`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  }
  if (half.times) {
    throw new SSHException(`SFTP attributes: ${a.atime === undefined ? 'mtime without atime' : 'atime without mtime'}; SFTP v3 sends both or neither`, { code: 'ERR_SSH_BAD_ARGUMENT' });
  }
  let flags = 0;
  if (a.size !== undefined) flags |= ATTR.SIZE;
  if (a.uid !== undefined || a.gid !== undefined) flags |= ATTR.UIDGID;
  if (a.permissions !== undefined) flags |= ATTR.PERMISSIONS;
  if (a.atime !== undefined || a.mtime !== undefined) flags |= ATTR.ACMODTIME;
  if (a.extended !== undefined && a.extended.size > 0) flags |= ATTR.EXTENDED;
  w.uint32(flags);
  if (a.size !== undefined) w.uint64(BigInt(a.size));
  if (flags & ATTR.UIDGID) {
    w.uint32(a.uid!);
    w.uint32(a.gid!);
  }
  if (a.permissions !== undefined) w.uint32(a.permissions);
  if (flags & ATTR.ACMODTIME) {
    // Seconds fit a uint32 until 2106; the protocol has no room for more.
    w.uint32(Math.floor(a.atime!));
    w.uint32(Math.floor(a.mtime!));
  }
  if (flags & ATTR.EXTENDED) {
    w.uint32(a.extended!.size);
    for (const [type, data] of a.extended!) w.string(type).string(data);
  }
  return w;
}
