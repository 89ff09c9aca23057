/**
 * The SFTP server: the protocol engine (SFTPServerSession), the storage
 * interface it serves from (SFTPServerInterface, SFTPHandle), and the
 * built-in LocalFilesystem rooted at a directory.
 */
export { SFTPServerSession, SFTP_MAX_IO, SFTP_MAX_PACKET, defaultCanonicalize, type SFTPServerSessionOptions } from './session.js';
export type { SFTPServerInterface, SFTPHandle, SFTPResult, SFTPStatVFSInfo } from './interface.js';
export { LocalFilesystem, type LocalFilesystemOptions } from './localFilesystem.js';
export { RootedPaths, normalizeClientPath } from './localPaths.js';
export { statusOf, sftpFail } from './status.js';
