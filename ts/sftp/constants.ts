/**
 * SFTP numbers for users of the SFTP layer: the wire constants re-exported,
 * plus the POSIX file-type bits that st_mode carries.
 */
export { FXP, FX, FX_NAMES, FXF, ATTR, EXT, SFTP_VERSION } from '../wire/sftpConstants.js';

/** POSIX st_mode file-type bits (same values on every Unix OpenSSH runs on). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
/** Symbolic link: `(st_mode & S_IFMT) === S_IFLNK`. */
export const S_IFLNK = 0o120000;
/** Regular file: `(st_mode & S_IFMT) === S_IFREG`. */
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
/** Directory: `(st_mode & S_IFMT) === S_IFDIR`. */
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
