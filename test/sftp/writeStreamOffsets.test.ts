/**
 * SFTPWriteStream's byte counts when it does not start at byte 0 (flags 'a',
 * or 'r+' with `start`): `bytesWritten` counts only what the stream wrote,
 * as fs.WriteStream's does; a failure's `bytesTransferred` is the file's
 * known-good prefix from byte 0, as SFTPTransferError documents.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SFTPError, SFTPTransferError } from '../../ts/errors.js';
import { FX } from '../../ts/sftp/index.js';
import { FXP } from '../../ts/wire/sftpConstants.js';
import type { SFTPClient } from '../../ts/sftp/index.js';
import { patternBytes, serverForFile } from './helpers.js';

const ctx = serverForFile();

/**
 * Makes every WRITE at or past `failFrom` report a failure (the request
 * still goes to the server; only its answer is replaced). Returns the undo.
 */
function failWritesFrom(client: SFTPClient, failFrom: number): () => void {
  const session = client.session;
  const request = session.request.bind(session);
  const spy = vi.spyOn(session, 'request').mockImplementation((build, cb, opts) => {
    let fail = false;
    return request(
      (id) => {
        const pkt = build(id);
        const head = Array.isArray(pkt) ? pkt[0]! : pkt;
        if (head[4] === FXP.WRITE) {
          const handleLength = head.readUInt32BE(9);
          fail = Number(head.readBigUInt64BE(13 + handleLength)) >= failFrom;
        }
        return pkt;
      },
      (err, type, body, rest) => cb(err ?? (fail ? new SFTPError('injected WRITE failure', FX.FAILURE) : null), type, body, rest),
      opts,
    );
  });
  return () => spy.mockRestore();
}

describe('SFTPWriteStream offsets', () => {
  it("with flags 'a', bytesWritten counts only the bytes this stream wrote", async () => {
    const p = join(ctx.dir, 'append-count');
    const before = patternBytes(1000, 1);
    writeFileSync(p, before);
    const added = patternBytes(5000, 2);
    const ws = ctx.client.createWriteStream(p, { flags: 'a' });
    await pipeline(Readable.from([added]), ws);
    expect(ws.bytesWritten).toBe(added.length);
    expect(readFileSync(p).equals(Buffer.concat([before, added]))).toBe(true);
  });

  it("a failed append: bytesWritten is this stream's prefix, bytesTransferred the file's good prefix", async () => {
    const p = join(ctx.dir, 'append-fail');
    const before = patternBytes(1000, 3);
    writeFileSync(p, before);
    const chunk = ctx.client.transferShape({}, 'write').chunkSize;
    const undo = failWritesFrom(ctx.client, before.length + 2 * chunk);
    const ws = ctx.client.createWriteStream(p, { flags: 'a' });
    let err: unknown;
    try {
      await pipeline(Readable.from([patternBytes(3 * chunk, 4)]), ws);
    } catch (e) {
      err = e;
    } finally {
      undo();
    }
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect(ws.bytesWritten).toBe(2 * chunk);
    expect((err as SFTPTransferError).bytesTransferred).toBe(before.length + 2 * chunk);
    expect((err as SFTPTransferError).message).toContain(`${2 * chunk} bytes known written at offset ${before.length}`);
  });

  it("a failed 'r+' stream from `start`: bytesTransferred counts the bytes before `start` too", async () => {
    const p = join(ctx.dir, 'start-fail');
    const chunk = ctx.client.transferShape({}, 'write').chunkSize;
    const start = 777;
    writeFileSync(p, patternBytes(start, 5));
    const undo = failWritesFrom(ctx.client, start + chunk);
    const ws = ctx.client.createWriteStream(p, { flags: 'r+', start });
    let err: unknown;
    try {
      await pipeline(Readable.from([patternBytes(2 * chunk, 6)]), ws);
    } catch (e) {
      err = e;
    } finally {
      undo();
    }
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect(ws.bytesWritten).toBe(chunk);
    expect((err as SFTPTransferError).bytesTransferred).toBe(start + chunk);
  });
});
