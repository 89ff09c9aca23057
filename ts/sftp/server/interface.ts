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
  /** File system block size. */
  bsize: number;
  /** Fragment size: the unit of `blocks`, `bfree` and `bavail`. */
  frsize: number;
  /** Size of the file system, in `frsize` units. */
  blocks: number;
  /** Free blocks. */
  bfree: number;
  /** Free blocks available to unprivileged users. */
  bavail: number;
  /** Total inodes. */
  files: number;
  /** Free inodes. */
  ffree: number;
  /** Free inodes available to unprivileged users. */
  favail: number;
  /** File system id (0 if none). */
  fsid: number;
  /** Mount flags: 0x1 read-only (ST_RDONLY), 0x2 nosuid (ST_NOSUID). */
  flag: number;
  /** Longest file name the file system accepts. */
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
  /**
   * SSH_FXP_READ: up to `length` bytes (at most SFTP_MAX_IO) at `offset`;
   * anything longer is cut to `length`, and an empty result or SSH_FX_EOF is
   * sent as EOF. copy-data and check-file read through this method even when
   * `readInto` is present. With neither, READ answers OP_UNSUPPORTED.
   */
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
  /**
   * SSH_FXP_WRITE: all of `data` at `offset`, or fail. Not used for WRITE
   * when `writev` is present, but copy-data writes its destination through it.
   * With neither, WRITE answers OP_UNSUPPORTED.
   */
  write?(offset: number, data: Uint8Array): SFTPResult<void>;
  /**
   * Optional vectored write: `parts`, in order, written contiguously from
   * `offset`, all or fail. When present the server uses it instead of
   * `write`, and coalesces the client's pipelined WRITEs at consecutive
   * offsets into one call. The parts stay valid after the call returns.
   */
  writev?(offset: number, parts: readonly Uint8Array[]): SFTPResult<void>;
  /** SSH_FXP_FSTAT: the open file's attributes. Missing: OP_UNSUPPORTED. */
  stat?(): SFTPResult<SFTPAttributes>;
  /**
   * SSH_FXP_FSETSTAT: apply the attributes the client set (fields it did not
   * send are `undefined`). Missing: OP_UNSUPPORTED.
   */
  chattr?(attrs: SFTPAttributes): SFTPResult<void>;
  /** `fsync@openssh.com`. */
  fsync?(): SFTPResult<void>;
  /** `fstatvfs@openssh.com`. */
  statvfs?(): SFTPResult<SFTPStatVFSInfo>;
  /**
   * Optional: a string equal for two handles on the same file and different
   * otherwise (LocalFilesystem gives device and inode). copy-data refuses a
   * copy from a file onto itself through any two names when both handles
   * have it; without it only the same handle or path is caught.
   */
  identity?(): MaybePromise<string>;
  /**
   * SSH_FXP_CLOSE, run after the reads and writes the client sent before it.
   * Also called for handles still open when the session ends (a failure is
   * then ignored). The handle is gone for the client even if this fails.
   */
  close?(): MaybePromise<void | number>;
}

/**
 * The storage behind an SFTP session (Paramiko's SFTPServerInterface).
 * Paths are as the client sent them (absolute or relative to "/"); an
 * implementation decides what they mean and must not let them escape
 * whatever it serves. Missing methods answer SSH_FX_OP_UNSUPPORTED.
 */
export interface SFTPServerInterface {
  /**
   * Called when the client's INIT arrives, before VERSION goes out. A throw
   * does not stop the session; it is only logged (SFTPServerSessionOptions.debug).
   */
  sessionStarted?(): MaybePromise<void>;
  /** Called once, after the session ended and its open handles were closed. A throw is only logged. */
  sessionEnded?(): MaybePromise<void>;
  /**
   * Opens a file. `flags` are Node/POSIX open flags (`fs.constants.O_RDONLY`,
   * `O_WRONLY`, `O_RDWR`, `O_APPEND`, `O_CREAT`, `O_TRUNC`, `O_EXCL`), as
   * Paramiko passes `os.O_*`; `attrs` holds what the client asked for a new file.
   */
  open?(path: string, flags: number, attrs: SFTPAttributes): SFTPResult<SFTPHandle>;
  /** The entries of a directory, `filename` set on each (SFTPAttributes.fromStat helps). */
  listFolder?(path: string): SFTPResult<SFTPAttributes[]>;
  /** SSH_FXP_STAT: attributes, following symlinks. A missing path: SSH_FX_NO_SUCH_FILE (or throw ENOENT). */
  stat?(path: string): SFTPResult<SFTPAttributes>;
  /** SSH_FXP_LSTAT: like `stat`, but about a final symlink itself. */
  lstat?(path: string): SFTPResult<SFTPAttributes>;
  /** SSH_FXP_REMOVE: delete a file (directories go through `rmdir`). */
  remove?(path: string): SFTPResult<void>;
  /** Must fail if `newPath` exists (SFTP v3 rename is not destructive). */
  rename?(oldPath: string, newPath: string): SFTPResult<void>;
  /** `posix-rename@openssh.com`: replaces `newPath`. */
  posixRename?(oldPath: string, newPath: string): SFTPResult<void>;
  /**
   * SSH_FXP_MKDIR: create one directory; `attrs.st_mode` is the requested
   * permissions, or `undefined` (OpenSSH then uses 0o777, less its umask).
   */
  mkdir?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  /** SSH_FXP_RMDIR: remove an empty directory. */
  rmdir?(path: string): SFTPResult<void>;
  /**
   * SSH_FXP_SETSTAT: apply the attributes the client set (fields it did not
   * send are `undefined`), following a final symlink.
   */
  chattr?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  /** `lsetstat@openssh.com`: like chattr but does not follow a final symlink. */
  lchattr?(path: string, attrs: SFTPAttributes): SFTPResult<void>;
  /** The absolute form of `path` as the client should see it. */
  canonicalize?(path: string): SFTPResult<string>;
  /** SSH_FXP_READLINK: a symlink's target, as the client should see it. */
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
  /** `users-groups-by-id@openssh.com`: one name per gid, in order ('' when unknown). Missing: all ''. */
  groupNames?(gids: number[]): MaybePromise<string[]>;
}
