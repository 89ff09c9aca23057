/**
 * Pipelined writing to one open handle: WRITE requests go out in offset
 * order with many in flight, each as a small header plus the caller's data
 * view (no copy), batched into one writev per refill. Acknowledgements may
 * come back in any order; `acked` is the contiguous acknowledged prefix, the
 * only byte count a failure may claim is on the server.
 *
 * A source may lend its buffers (`release`): each one goes back once the
 * stream has finished with every WRITE cut from it (the write callbacks; on
 * an SSH channel that is when the bytes were copied into a sealed packet),
 * so a file upload can cycle a few read buffers instead of allocating one
 * per block.
 */
import { abortError, ProtocolError, SFTPError, SFTPTransferError } from '../../errors.js';
import { encodeWriteHeader, readStatus } from '../../wire/sftpPacket.js';
import { SSHReader } from '../../wire/reader.js';
import { FXP, FX } from '../../wire/sftpConstants.js';
import type { SFTPSession } from '../client/session.js';
import { abandonAll, drainWaiter, stopReason } from './pipelineShared.js';

/**
 * Data placed at an explicit remote offset, for a writer that is one of
 * several lanes sharing a file (see multiLaneWrite.ts). Plain buffers
 * follow on from the previous one.
 */
export interface PlacedChunk {
  data: Buffer;
  offset: number;
}

/** Produces the data to send, in order; `null` at the end. */
export type ChunkSource = () => Promise<Buffer | PlacedChunk | null> | Buffer | PlacedChunk | null;

export interface PipelinedWriteOptions {
  /** Remote offset of the first byte. */
  start: number;
  /** Largest WRITE payload (the source's chunks are split to fit). */
  chunkSize: number;
  concurrency: number;
  signal?: AbortSignal;
  path?: string;
  /** Called as the acknowledged prefix grows (bytes since `start`). */
  onAcked?: (acked: number) => void;
  /**
   * Gives back a buffer the source returned, once nothing refers to it any
   * more; never called for a buffer whose writes did not all complete.
   */
  release?: (buf: Buffer) => void;
  /** Called for every acknowledged WRITE with its remote offset and length. */
  onWritten?: (offset: number, length: number) => void;
}

interface Slot {
  offset: number;
  length: number;
  done: boolean;
}

/** A source buffer on loan: released when all of it was handed out and every piece written. */
interface Loan {
  buf: Buffer;
  /** Pieces handed to the stream whose write has not completed. */
  writing: number;
  /** Every byte has been cut into pieces. */
  handedOut: boolean;
}

/**
 * Sends everything `source` yields. Resolves with the byte count once every
 * write is acknowledged; rejects with SFTPTransferError carrying the
 * contiguous acknowledged prefix (of this writer's own writes: with placed
 * chunks, the caller keeps the file-wide account through `onWritten`).
 */
export function pipelinedWrite(session: SFTPSession, handle: Buffer, source: ChunkSource, opts: PipelinedWriteOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const { chunkSize, concurrency, signal, path } = opts;
    let offset = opts.start;
    let sent = 0;
    /** In-flight writes in offset order; `head` indexes the oldest. */
    const slots: Slot[] = [];
    let head = 0;
    let ackedOffset = opts.start;
    let inflight = 0;
    let sourceDone = false;
    let reading = false;
    /** Data read from the source but not yet sent. */
    let pending: Buffer | null = null;
    /** The loan `pending` belongs to (only with `release`). */
    let loan: Loan | null = null;
    const release = opts.release;
    let failed: Error | null = null;
    let finished = false;
    const ids = new Set<number>();

    const fail = (err: Error): void => {
      if (failed || finished) return;
      failed = err;
      abandonAll(session, ids, signal, onAbort);
      const acked = ackedOffset - opts.start;
      const { aborted, status, msg } = stopReason(err, signal);
      reject(new SFTPTransferError(`upload${path ? ` to ${JSON.stringify(path)}` : ''} stopped; ${acked} bytes known written: ${msg}`, status, path, acked, { cause: err, aborted }));
    };
    const onAbort = (): void => fail(abortError(signal!));

    const onReply = (slot: Slot, err: Error | null, type: number, body: Buffer): void => {
      inflight--;
      if (failed) return;
      if (err) return fail(err);
      try {
        if (type !== FXP.STATUS) throw new ProtocolError(`SFTP WRITE: unexpected reply type ${type}`);
        const r = new SSHReader(body, 'SFTP WRITE');
        r.byte();
        r.uint32();
        const st = readStatus(r);
        if (st.code !== FX.OK) throw new SFTPError(`write${path ? ` ${JSON.stringify(path)}` : ''} at ${slot.offset}: ${st.message}`, st.code, path);
      } catch (e) {
        return fail(e as Error);
      }
      slot.done = true;
      opts.onWritten?.(slot.offset, slot.length);
      let advanced = false;
      while (head < slots.length && slots[head]!.done) {
        const s = slots[head++]!;
        ackedOffset = s.offset + s.length;
        advanced = true;
      }
      if (head > 1024 && head * 2 > slots.length) {
        slots.splice(0, head);
        head = 0;
      }
      if (advanced) opts.onAcked?.(ackedOffset - opts.start);
      pump();
    };

    const written = (l: Loan): void => {
      if (--l.writing === 0 && l.handedOut && !failed) release!(l.buf);
    };

    const sendOne = (data: Buffer): void => {
      const slot: Slot = { offset, length: data.length, done: false };
      slots.push(slot);
      inflight++;
      const at = offset;
      offset += data.length;
      sent += data.length;
      const l = loan;
      if (l) l.writing++;
      const id = session.request(
        (rid) => [encodeWriteHeader(rid, handle, at, data.length), data],
        (err, type, body) => {
          ids.delete(id);
          onReply(slot, err, type, body);
        },
        l ? { onWritten: () => written(l) } : undefined,
      );
      ids.add(id);
    };

    const take = (next: Buffer | PlacedChunk): void => {
      let b: Buffer;
      if (Buffer.isBuffer(next)) b = next;
      else {
        b = next.data;
        offset = next.offset;
      }
      pending = b;
      if (release) loan = { buf: b, writing: 0, handedOut: false };
    };
    const isEmpty = (next: Buffer | PlacedChunk): boolean => (Buffer.isBuffer(next) ? next : next.data).length === 0;

    const drain = drainWaiter(session, () => pump(), fail);

    const pump = (): void => {
      if (drain.waiting) return;
      if (failed || finished) return;
      session.corked(() => {
        while (inflight < concurrency && !failed) {
          if (pending === null) {
            if (sourceDone || reading) break;
            let next: ReturnType<ChunkSource>;
            try {
              next = source();
            } catch (e) {
              return fail(e as Error);
            }
            if (next instanceof Promise) {
              reading = true;
              next.then(
                (b) => {
                  reading = false;
                  if (b === null) sourceDone = true;
                  else if (!isEmpty(b)) take(b);
                  pump();
                },
                (e) => {
                  reading = false;
                  fail(e as Error);
                },
              );
              break;
            }
            if (next === null) {
              sourceDone = true;
              break;
            }
            if (isEmpty(next)) continue;
            take(next);
          }
          const cur = pending as Buffer;
          const whole = cur.length <= chunkSize;
          const piece = whole ? cur : cur.subarray(0, chunkSize);
          pending = whole ? null : cur.subarray(chunkSize);
          sendOne(piece);
          if (whole && loan) {
            const l = loan;
            loan = null;
            l.handedOut = true;
            if (l.writing === 0 && !failed) release!(l.buf);
          }
          if (session.needsDrain) return drain.wait();
        }
      });
      if (!failed && !finished && sourceDone && pending === null && inflight === 0) {
        finished = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(sent);
      }
    };

    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    pump();
  });
}
