/**
 * Hashes for transfer verification. SFTP v3 has no server-side hashing, so
 * the remote side is hashed with `check-file-handle` when the server offers
 * it (draft-ietf-secsh-filexfer-13 section 9.1.2; not OpenSSH) and by
 * reading the data back otherwise.
 */
import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { abortError, ProtocolError } from '../../errors.js';
import { FXP, EXT } from '../../wire/sftpConstants.js';
import { encodePacket } from '../../wire/sftpPacket.js';
import { replyReader } from '../client/session.js';
import type { SFTPClient } from '../client/client.js';
import { pipelinedRead } from './pipelinedRead.js';

/** sha256 of local bytes [start, start+length), fed into `into` when given. */
export async function hashLocalFile(path: string, start: number, length: number, into?: Hash, signal?: AbortSignal): Promise<Hash> {
  const h = into ?? createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(Math.max(length, 1), 4 * 1024 * 1024));
    let pos = start;
    const end = start + length;
    while (pos < end) {
      if (signal?.aborted) throw abortError(signal);
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h;
}

/**
 * sha256 of remote bytes [start, start+length) of an open handle: by
 * check-file-handle when offered with sha256, else by reading them back.
 */
export async function hashRemote(client: SFTPClient, handle: Buffer, path: string, start: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  if (length > 0 && client.session.has(EXT.CHECK_FILE_HANDLE)) {
    const viaServer = await checkFileHandle(client, handle, start, length, signal);
    if (viaServer) return viaServer;
  }
  const h = createHash('sha256');
  const { chunkSize, concurrency } = client.transferShape({}, 'read');
  await pipelinedRead(client.session, handle, (chunks) => {
    for (const c of chunks) h.update(c);
  }, { start, end: start + length, chunkSize, concurrency, signal, path });
  return h.digest();
}

/** The server's sha256 of a range, or null if it will not use sha256. */
async function checkFileHandle(client: SFTPClient, handle: Buffer, start: number, length: number, signal?: AbortSignal): Promise<Buffer | null> {
  const body = await client.session.call(
    (id) => encodePacket(FXP.EXTENDED, id, (w) => w.string(EXT.CHECK_FILE_HANDLE).string(handle).string('sha256').uint64(start).uint64(length).uint32(0)),
    signal,
  );
  let r;
  try {
    r = replyReader(body, FXP.EXTENDED_REPLY, 'check-file');
  } catch {
    return null; // a STATUS (unsupported for this file): read back instead
  }
  const name = r.ascii(64);
  if (name !== 'check-file') throw new ProtocolError(`SFTP check-file: unexpected reply ${JSON.stringify(name)}`);
  const algo = r.ascii(64);
  if (algo !== 'sha256') return null;
  const digest = r.rest();
  if (digest.length !== 32) throw new ProtocolError(`SFTP check-file: sha256 of ${digest.length} bytes`);
  return Buffer.from(digest);
}

/** Digest equality without an early exit. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
