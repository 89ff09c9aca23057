/**
 * Pieces pipelinedRead and pipelinedWrite share: pausing for the session's
 * drain, abandoning requests on failure, and describing why a transfer stopped.
 */
import { AbortError, SFTPError } from '../../errors.js';
import { FX } from '../../wire/sftpConstants.js';
import type { SFTPSession } from '../client/session.js';

/** Pauses a pump until the session drains; at most one wait at a time. */
export interface DrainWaiter {
  /** Starts waiting (no-op while a wait is on); `resume` runs once the session drains. */
  wait(): void;
  /** True while a wait is on. */
  readonly waiting: boolean;
}

/** A DrainWaiter for `session`: calls `resume` after the drain, `fail` if the wait rejects. */
export function drainWaiter(session: SFTPSession, resume: () => void, fail: (err: Error) => void): DrainWaiter {
  let waiting = false;
  return {
    wait(): void {
      if (waiting) return;
      waiting = true;
      session.waitDrain().then(() => {
        waiting = false;
        resume();
      }, fail);
    },
    get waiting(): boolean {
      return waiting;
    },
  };
}

/** Why a transfer stopped: whether `signal` aborted it with `err`, the SFTP status to report, and the message. */
export function stopReason(err: Error, signal: AbortSignal | undefined): { aborted: boolean; status: number; msg: string } {
  const aborted = signal?.aborted === true && (err === signal.reason || (err instanceof AbortError && err.cause === signal.reason));
  const status = err instanceof SFTPError ? err.status : FX.FAILURE;
  return { aborted, status, msg: aborted ? 'transfer aborted' : err.message };
}

/** On failure: abandons every request still in flight and stops listening for the abort. */
export function abandonAll(session: SFTPSession, ids: Set<number>, signal: AbortSignal | undefined, onAbort: () => void): void {
  for (const id of ids) session.abandon(id);
  ids.clear();
  signal?.removeEventListener('abort', onAbort);
}
