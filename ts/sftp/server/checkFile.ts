/**
 * The `check-file` extension (draft-ietf-secsh-filexfer-extensions-00
 * section 3; Paramiko's SFTPFile.check): hashes of a byte range of an open
 * file, one per block, computed by the server so a client can compare
 * without reading the data back. Requested as `check-file-handle` (the
 * draft) or `check-file` with a handle (Paramiko).
 */
import { createHash } from 'node:crypto';

/** Hash names we answer, in the draft's names (node:crypto's match). */
export const CHECK_FILE_HASHES = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
/** The draft's smallest block size (0 means one hash of the whole range). */
export const CHECK_FILE_MIN_BLOCK = 256;
/** Largest reply we build: digests beyond this are refused rather than sent. */
export const CHECK_FILE_MAX_REPLY = 256 * 1024;
const READ_CHUNK = 256 * 1024;

/** Why a check-file request is refused (an SFTP status code and message). */
export class CheckFileRefused extends Error {
  constructor(
    readonly status: 'unsupported' | 'failure',
    message: string,
  ) {
    super(message);
  }
}

/** The first hash of the client's comma-separated list that we compute, or a refusal. */
export function chooseCheckFileHash(list: string): string {
  const wanted = list.split(',').map((s) => s.trim().toLowerCase());
  const pick = wanted.find((w) => (CHECK_FILE_HASHES as readonly string[]).includes(w));
  if (!pick) throw new CheckFileRefused('unsupported', `no supported hash among ${list.slice(0, 200)} (have ${CHECK_FILE_HASHES.join(',')})`);
  return pick;
}

/**
 * Hashes [offset, offset + length) (length 0: to end of file) through
 * `read`, one digest per `blockSize` bytes (0: one for the range), and
 * returns the digests concatenated. Refuses block sizes under 256 and
 * replies that would exceed CHECK_FILE_MAX_REPLY before reading anything
 * beyond what the size allows.
 */
export async function hashFileRange(
  read: (offset: number, length: number) => Promise<Uint8Array | null>,
  hash: string,
  offset: number,
  length: number,
  blockSize: number,
  cancelled: () => boolean,
): Promise<Buffer> {
  if (blockSize !== 0 && blockSize < CHECK_FILE_MIN_BLOCK) throw new CheckFileRefused('failure', `block size ${blockSize} is below ${CHECK_FILE_MIN_BLOCK}`);
  const digestLength = createHash(hash).digest().length;
  const maxBlocks = Math.floor(CHECK_FILE_MAX_REPLY / digestLength);
  const end = length === 0 ? Number.MAX_SAFE_INTEGER : offset + length;
  const digests: Buffer[] = [];
  let h = createHash(hash);
  let inBlock = 0;
  let at = offset;
  while (at < end) {
    if (cancelled()) throw new CheckFileRefused('failure', 'session ended');
    const want = Math.min(READ_CHUNK, end - at, blockSize === 0 ? READ_CHUNK : blockSize - inBlock);
    const chunk = await read(at, want);
    if (!chunk || chunk.length === 0) break;
    h.update(chunk);
    at += chunk.length;
    inBlock += chunk.length;
    if (blockSize !== 0 && inBlock === blockSize) {
      if (digests.length === maxBlocks) throw new CheckFileRefused('failure', `more than ${maxBlocks} blocks of ${blockSize} bytes`);
      digests.push(h.digest());
      h = createHash(hash);
      inBlock = 0;
    }
  }
  if (length !== 0 && at < end) throw new CheckFileRefused('failure', `the file ends at ${at}, before ${end}`);
  // The last, short block (or the whole range) gets its digest too; an empty range hashes nothing.
  if (blockSize === 0 || inBlock > 0) {
    if (digests.length === maxBlocks) throw new CheckFileRefused('failure', `more than ${maxBlocks} blocks of ${blockSize} bytes`);
    digests.push(h.digest());
  }
  return Buffer.concat(digests);
}
