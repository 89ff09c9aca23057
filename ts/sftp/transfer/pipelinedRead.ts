/**
 * Pipelined reading of one open handle: many READ requests in flight,
 * replies in any order, handed to a sink strictly in file order.
 *
 * - A short DATA reply re-requests the remainder (servers may return less
 *   than asked for any reason; only a STATUS EOF means end of file).
 * - EOF is the lowest offset that answered EOF; nothing past it is asked for.
 * - DATA bodies are kept as views into the received packets: a reply that
 *   spans several channel chunks arrives in pieces (the session's split
 *   replies), so no copy of the data is made between the stream and the sink.
 * - The sink is called in order, so whatever it has accepted is always a
 *   contiguous prefix: a failure leaves a destination whose good length is
 *   exactly `delivered`.
 */
import { abortError, ProtocolError, SFTPError, SFTPTransferError } from '../../errors.js';
import { encodeRead, readStatus } from '../../wire/sftpPacket.js';
import { SSHReader } from '../../wire/reader.js';
import { FXP, FX } from '../../wire/sftpConstants.js';
import type { SFTPSession } from '../client/session.js';
import { abandonAll, drainWaiter, stopReason } from './pipelineShared.js';

/** Receives data in order; may return a promise to apply backpressure. */
export type ReadSink = (chunks: Buffer[], offset: number, length: number) => void | Promise<void>;

export interface PipelinedReadOptions {
  /** First byte to read. */
  start: number;
  /** One past the last byte, or undefined to read until the server says EOF. */
  end?: number;
  chunkSize: number;
  concurrency: number;
  /**
   * Most bytes requested or received but not yet taken by the sink; no READ
   * goes out past it. Default: the session's `readAhead`.
   */
  readAhead?: number;
  signal?: AbortSignal;
  /** For error messages. */
  path?: string;
  /** Called after each sink write with the total delivered since `start`. */
  onDelivered?: (delivered: number) => void;
}

/**
 * Reads `[start, end)` (or to EOF) through `sink`. Resolves with the number
 * of bytes delivered. Rejects with SFTPTransferError whose
 * `bytesTransferred` is what the sink has accepted.
 */
export function pipelinedRead(session: SFTPSession, handle: Buffer, sink: ReadSink, opts: PipelinedReadOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const { chunkSize, concurrency, signal, path } = opts;
    const readAhead = opts.readAhead ?? session.readAhead;
    let eof = opts.end ?? Number.POSITIVE_INFINITY;
    let nextOffset = opts.start;
    let inflight = 0;
    /** Bytes asked for by the READs in flight. */
    let requested = 0;
    /** Arrived pieces keyed by their offset, waiting for the sink. */
    const ready = new Map<number, Buffer[]>();
    let buffered = 0;
    let deliverOffset = opts.start;
    let sinking = false;
    let failed: Error | null = null;
    let finished = false;
    const ids = new Set<number>();

    const fail = (err: Error): void => {
      if (failed || finished) return;
      failed = err;
      abandonAll(session, ids, signal, onAbort);
      // A sink write in progress may still land: report only once it settles,
      // so `bytesTransferred` is exactly what the destination holds.
      if (!sinking) settleFailure();
    };
    const settleFailure = (): void => {
      const err = failed!;
      const delivered = deliverOffset - opts.start;
      if (err instanceof SFTPTransferError) return reject(err);
      const { aborted, status, msg } = stopReason(err, signal);
      reject(new SFTPTransferError(`download${path ? ` of ${JSON.stringify(path)}` : ''} stopped after ${delivered} bytes: ${msg}`, status, path, delivered, { cause: err, aborted }));
    };
    const onAbort = (): void => fail(abortError(signal!));

    const maybeFinish = (): void => {
      if (failed || finished) return;
      if (inflight === 0 && nextOffset >= eof && !sinking && !ready.has(deliverOffset)) {
        finished = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(deliverOffset - opts.start);
      }
    };

    const send = (offset: number, length: number): void => {
      inflight++;
      requested += length;
      const id = session.request(
        (rid) => encodeRead(rid, handle, offset, length),
        (err, type, body, rest) => {
          ids.delete(id);
          inflight--;
          requested -= length;
          if (failed) return;
          if (err) return fail(err);
          try {
            onReply(offset, length, type, body, rest);
          } catch (e) {
            return fail(e as Error);
          }
          pump();
        },
        { parts: true },
      );
      ids.add(id);
    };

    const onReply = (offset: number, length: number, type: number, body: Buffer, rest: Buffer[] | undefined): void => {
      if (type === FXP.DATA) {
        if (body.length < 9) throw new ProtocolError('SFTP DATA: truncated');
        const n = body.readUInt32BE(5);
        let total = body.length;
        if (rest) for (const r of rest) total += r.length;
        if (n > length || n !== total - 9) throw new ProtocolError(`SFTP DATA: ${n} bytes in reply to a read of ${length}`);
        if (n === 0) {
          // A zero-length DATA is not EOF, but a server doing it forever would
          // spin us: treat it as the end, as OpenSSH's client does.
          eof = Math.min(eof, offset);
          return;
        }
        if (offset >= eof) return; // past an EOF already seen: the file changed under us
        const pieces = [body.subarray(9)];
        if (rest) for (const r of rest) pieces.push(r);
        ready.set(offset, pieces);
        buffered += n;
        // Short read: ask again for the rest of this range.
        if (n < length && offset + n < eof) send(offset + n, length - n);
        return;
      }
      if (type === FXP.STATUS) {
        const r = new SSHReader(rest ? Buffer.concat([body, ...rest]) : body, 'SFTP READ');
        r.byte();
        r.uint32();
        const st = readStatus(r);
        if (st.code === FX.EOF) {
          eof = Math.min(eof, offset);
          return;
        }
        throw new SFTPError(`read${path ? ` ${JSON.stringify(path)}` : ''} at ${offset}: ${st.message}`, st.code, path);
      }
      throw new ProtocolError(`SFTP READ: unexpected reply type ${type}`);
    };

    const drainWait = drainWaiter(session, () => pump(), fail);

    // Refill in steps rather than one READ per reply: each step is one
    // socket write (and one wake-up of the server) for several requests.
    // Both bounds get the same slack, the request count (`refill` requests
    // of full) and the read-ahead (`refillBytes` of full; a quarter of it at
    // most, so a small read-ahead still keeps several READs out). Whichever
    // binds first would otherwise send one READ per reply.
    const refill = Math.max(1, Math.min(8, concurrency >> 3));
    const refillBytes = Math.min(refill * chunkSize, readAhead / 4);
    const pump = (): void => {
      if (failed) return;
      drain();
      if (drainWait.waiting) return maybeFinish();
      if (inflight > 0 && nextOffset > opts.start) {
        const room = readAhead - buffered - requested;
        if (inflight > concurrency - refill || room < Math.min(refillBytes, eof - nextOffset)) return maybeFinish();
      }
      // Received data waits here while the sink catches up, and every READ in
      // flight will add to it: both count against the read-ahead, so a slow
      // local disk holds the download to `readAhead` bytes of memory.
      while (inflight < concurrency && nextOffset < eof && buffered + requested < readAhead) {
        const len = Math.min(chunkSize, eof - nextOffset);
        send(nextOffset, len);
        nextOffset += len;
        if (session.needsDrain) {
          drainWait.wait();
          break;
        }
      }
      maybeFinish();
    };

    /** Hands every contiguous ready piece to the sink, one batch at a time. */
    const drain = (): void => {
      if (sinking || failed) return;
      const batch: Buffer[] = [];
      const batchOffset = deliverOffset;
      let length = 0;
      let consumed = 0;
      let o = deliverOffset;
      for (let pieces = ready.get(o); pieces !== undefined; pieces = ready.get(o)) {
        ready.delete(o);
        for (const piece of pieces) {
          if (piece.length === 0) continue;
          consumed += piece.length;
          // Bytes past an EOF seen later (the file shrank) are dropped, not delivered.
          const take = Math.max(0, Math.min(piece.length, eof - o));
          if (take > 0) batch.push(take === piece.length ? piece : piece.subarray(0, take));
          length += take;
          o += piece.length;
        }
      }
      if (consumed === 0) return;
      if (length === 0) {
        buffered -= consumed;
        return;
      }
      let result: void | Promise<void>;
      try {
        result = sink(batch, batchOffset, length);
      } catch (e) {
        return fail(e as Error);
      }
      const after = (): void => {
        sinking = false;
        buffered -= consumed;
        deliverOffset = batchOffset + length;
        if (failed) return settleFailure();
        opts.onDelivered?.(deliverOffset - opts.start);
        pump();
      };
      if (result instanceof Promise) {
        sinking = true;
        result.then(after, (err: Error) => {
          sinking = false;
          if (failed) settleFailure();
          else fail(err);
        });
      } else {
        sinking = true;
        after();
      }
    };

    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.end !== undefined && opts.end <= opts.start) {
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      return resolve(0);
    }
    session.corked(pump);
  });
}
