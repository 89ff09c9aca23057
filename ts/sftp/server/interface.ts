/**
 * What an SFTP server serves: Paramiko's SFTPServerInterface and SFTPHandle,
 * with camelCase names and every method async, so any storage (a local
 * directory, object storage, a database) can sit behind the protocol.
 *
 * Results follow Paramiko: a method returns its value, or an SSH_FX_* status
 * code (a number) to fail. Throwing works too: an SFTPError carries its
 * status, a Node `fs` error (ENOENT, EACCES, ...) is mapped to the matching
 * status, anything else becomes SSH_FX_FAILURE.
 */
import type { SFTPAttributes } from '../attributes.js';

type MaybePromise<T> = T | Promise<T>;
/** A value, or an SSH_FX_* status code meaning failure. */
export type SFTPResult<T> = MaybePromise<T | number>;

/** statvfs(2) numbers, as `statvfs@openssh.com` returns them. */
export interface SFTPStatVFSInfo {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/**
 * An open file or directory (Paramiko's SFTPHandle). `read` returns at most
 * `length` bytes; an empty result (or SSH_FX_EOF) means end of file. `write`
 * and `writev` must write everything or fail. Pipelined WRITEs on a handle
 * with only `write` may overlap (calls at distinct offsets run at once); on
 * a handle with `writev` they come one call at a time, in the order the
 * client sent them.
 */
export interface SFTPHandle {
  read?(offset: number, length: number): SFTPResult<Uint8Array>;
  /**
   * Optional: reads up to `length` bytes at file offset `offset` into
   * `into[at, at + length)` and returns how many it read (0 at end of file;
   * a short count is sent as a short DATA). Failures are thrown (SFTPError or
   * a Node `fs` error), not returned as a status, since the result is a
   * number. When present the server uses it for READ instead of `read`, with
   * a buffer of its own that it reuses once the reply has been sent, so the
   * handle must not keep `into` or write to it after the promise settles.
   */
  readInto?(offset: number, into: Uint8Array, at: number, length: number): MaybePromise<number>;
  write?(offset: number, data: Uint8Array): SFTPResult<void>;
  /**
   * Optional vectored write: `parts`, in order, written contiguously from
   * `offset`, all or fail. When present the server uses it instead of
   * `write`, and coalesces the client's pipelined WRITEs at consecutive
   * offsets into one call. The parts stay valid after the call returns.
   */
  writev?(offset: number, parts: readonly Uint8Array[]): SFTPResult<void>;
  stat?(): SFTPResult<SFTPAttributes>;
  chattr?(attrs: SFTPAttributes): SFTPResult<void>;
  /** `fsync@openssh.com`. */
  fsync?(): SFTPResult<void>;
  /** `fstatvfs@openssh.com`. */
  statvfs?(): SFTPResult<SFTPStatVFSInfo>;
  close?(): MaybePromise<void | number>;
}

/**
 * The storage behind an SFTP session (Paramiko's SFTPServerInterface).
 * Paths are as the client sent them (absolute or relative to "/"); an
 * implementation decides what they mean and must not let them escape
 * whatever it serves. Missing methods answer SSH_FX_OP_UNSUPPORTED.
 */
export interface SFTPServerInterface {
  sessionStarted?(): MaybePromise<void>;
  sessionEnded?(): MaybePromise<void>;
  /**
   * Opens a file. `flags` are Node/POSIX open flags (`fs.constants.O_RDONLY`,
   * `O_WRONLY`, `O_RDWR`, `O_APPEND`, `O_CREAT`, `O_TRUNC`, `O_EXCL`), as
   * Paramiko passes `os.O_*`; `attrs` holds what the client asked for a new file.
   */
  open?(path: string, flags: number, attrs: SFTPAttributes): SFTPResult<SFTPHandle>;
  /** The entries of a directory, `filename` set on each (SFTPAttributes.fromStat helps). */
  listFolder?(path: string): SFTPResult<SFTPAttributes[]>;
  stat?(path: string): SFTPResult<SFTPAttributes>;
  lstat?(path: string): SFTPResult<SFTPAttributes>;
  remove?(path: string): SFTPResult<void>;
  /** Must fail if `newPath` exists (SFTP v3 rename is not destructive). */
  rename?(oldPath: string, newPath: string): SFTPResult<void>;
  /** `posix-rename@openssh.com`: replaces `newPath`. */
  posixRename?(oldPath: string, newPath: string): SFTPResult<void>;
  mkdir?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  rmdir?(path: string): SFTPResult<void>;
  chattr?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  /** `lsetstat@openssh.com`: like chattr but does not follow a final symlink. */
  lchattr?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  /** The absolute form of `path` as the client should see it. */
  canonicalize?(path: string): SFTPResult<string>;
  readlink?(path: string): SFTPResult<string>;
  /** Creates `linkPath` pointing at `targetPath`. */
  symlink?(targetPath: string, linkPath: string): SFTPResult<void>;
  /** `hardlink@openssh.com`. */
  hardlink?(oldPath: string, newPath: string): SFTPResult<void>;
  /** `statvfs@openssh.com`. */
  statvfs?(path: string): SFTPResult<SFTPStatVFSInfo>;
  /** `home-directory`: the user's home as a client path. Default "/". */
  homeDirectory?(username: string): SFTPResult<string>;
  /** `users-groups-by-id@openssh.com`: names for ids ('' when unknown). */
  userNames?(uids: number[]): MaybePromise<string[]>;
  groupNames?(gids: number[]): MaybePromise<string[]>;
}
