/**
 * Turning what an SFTPServerInterface threw or returned into an SSH_FX_*
 * status for the client.
 */
import { SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';

const ERRNO_STATUS: Readonly<Record<string, number>> = {
  ENOENT: FX.NO_SUCH_FILE,
  ENOTDIR: FX.NO_SUCH_FILE,
  ELOOP: FX.PERMISSION_DENIED,
  EACCES: FX.PERMISSION_DENIED,
  EPERM: FX.PERMISSION_DENIED,
  EROFS: FX.PERMISSION_DENIED,
  ENOSYS: FX.OP_UNSUPPORTED,
  ENOTSUP: FX.OP_UNSUPPORTED,
  EOPNOTSUPP: FX.OP_UNSUPPORTED,
  EBADF: FX.FAILURE,
};

/** A status for a thrown value, with a message safe to send (no host paths). */
export function statusOf(err: unknown): { code: number; message: string } {
  if (err instanceof SFTPError) return { code: err.status, message: err.message };
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === 'string') {
    const code = ERRNO_STATUS[errno] ?? FX.FAILURE;
    // Node's fs messages name the real path; the client sees only the errno.
    return { code, message: errno };
  }
  return { code: FX.FAILURE, message: 'Failure' };
}

/** A failure with a status code, for implementations to throw. */
export function sftpFail(code: number, message?: string, path?: string): SFTPError {
  return new SFTPError(message ?? `SFTP status ${code}`, code, path);
}

/** SSH_FXP_STATUS OK ("Success", language "en") with the id zeroed: what encodeStatus(id, FX.OK, 'Success') makes. */
const OK_TEMPLATE = Buffer.from('0000001a650000000000000000000000075375636365737300000002656e', 'hex');

/**
 * The STATUS OK reply for request `id`, copied from a template: the reply to
 * every WRITE, so it skips the general encoder. Small enough that Node
 * serves it from its shared allocation pool.
 */
export function okStatus(id: number): Buffer {
  const b = Buffer.allocUnsafe(OK_TEMPLATE.length);
  OK_TEMPLATE.copy(b, 0);
  b.writeUInt32BE(id, 5);
  return b;
}
