/**
 * SFTP version 3 numbers (draft-ietf-secsh-filexfer-02) and the OpenSSH
 * extension names (OpenSSH's PROTOCOL file, section 4). Shared by the SFTP
 * client and server.
 */

/** The protocol version both OpenSSH and we speak. */
export const SFTP_VERSION = 3;

/** SSH_FXP_* packet types. */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** SSH_FX_* status codes. */
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** Human names of the status codes, for messages when the server sends none. */
export const FX_NAMES: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'EOF',
  2: 'No such file',
  3: 'Permission denied',
  4: 'Failure',
  5: 'Bad message',
  6: 'No connection',
  7: 'Connection lost',
  8: 'Operation unsupported',
};

/** SSH_FXF_* open flags. */
export const FXF = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** SSH_FILEXFER_ATTR_* flags. */
export const ATTR = {
  SIZE: 0x01,
  UIDGID: 0x02,
  PERMISSIONS: 0x04,
  ACMODTIME: 0x08,
  EXTENDED: 0x80000000,
} as const;

/** The OpenSSH extension names (request strings of SSH_FXP_EXTENDED). */
export const EXT = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  HARDLINK: 'hardlink@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LSETSTAT: 'lsetstat@openssh.com',
  LIMITS: 'limits@openssh.com',
  EXPAND_PATH: 'expand-path@openssh.com',
  COPY_DATA: 'copy-data',
  HOME_DIRECTORY: 'home-directory',
  USERS_GROUPS_BY_ID: 'users-groups-by-id@openssh.com',
  /** draft-ietf-secsh-filexfer-13 section 9.1.2; ProFTPD and others, not OpenSSH. */
  CHECK_FILE_HANDLE: 'check-file-handle',
  CHECK_FILE_NAME: 'check-file-name',
} as const;

/** statvfs f_flag bits. */
export const SSH2_FXE_STATVFS_ST_RDONLY = 0x1;
export const SSH2_FXE_STATVFS_ST_NOSUID = 0x2;

/** Bytes in front of every packet body: uint32 length. */
export const SFTP_LENGTH_BYTES = 4;
