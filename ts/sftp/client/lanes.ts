/**
 * Extra SFTP sessions ("lanes") on the same SSH connection, lent to a
 * transfer that spreads one large file over several channels. Each SSH
 * channel has its own flow-control window (OpenSSH's sshd grants 2 MiB and
 * refills it as its SFTP server drains it), and sshd runs one SFTP server
 * process per channel, so a second channel doubles what can be in flight
 * and lets the server write two ranges at once.
 *
 * Lanes are opened on demand, kept idle between transfers (up to a few) and
 * closed with the client. A server that refuses another channel or the
 * subsystem (sshd's MaxSessions, a policy) is not asked again: transfers
 * then simply run on the main session.
 */
import type { SFTPClient } from './client.js';

/** Opens one more SFTP session on the same connection (within a time limit of its own). */
export type LaneOpener = (signal?: AbortSignal) => Promise<SFTPClient>;

/** Most extra sessions one client keeps open at a time (lent plus idle). */
const MAX_LANES = 6;

export class LanePool {
  readonly #open: LaneOpener;
  #idle: SFTPClient[] = [];
  #count = 0;
  #refused = false;
  #closed = false;

  constructor(open: LaneOpener) {
    this.#open = open;
  }

  /** Sessions opened so far and still open (lent or idle). */
  get size(): number {
    return this.#count;
  }

  /**
   * Up to `n` sessions for one transfer: idle ones first, then new ones.
   * Returns fewer (possibly none) when the server refuses more channels,
   * the pool is full, opening fails or `signal` aborts; never rejects.
   */
  async borrow(n: number, signal?: AbortSignal): Promise<SFTPClient[]> {
    const out: SFTPClient[] = [];
    while (out.length < n && this.#idle.length > 0) {
      const lane = this.#idle.pop()!;
      if (lane.closed) this.#count--;
      else out.push(lane);
    }
    const want = Math.min(n - out.length, MAX_LANES - this.#count);
    if (want <= 0 || this.#refused || this.#closed) return out;
    this.#count += want;
    const opened = await Promise.allSettled(Array.from({ length: want }, () => this.#open(signal)));
    for (const r of opened) {
      if (r.status === 'fulfilled') {
        if (this.#closed) {
          this.#count--;
          void r.value.close().catch(() => {});
        } else out.push(r.value);
      } else {
        this.#count--;
        // A refusal or a server that does not answer is not asked again; an abort says nothing about the server.
        if (!signal?.aborted) this.#refused = true;
      }
    }
    return out;
  }

  /** Takes lanes back after a transfer; broken ones are dropped. */
  giveBack(lanes: readonly SFTPClient[]): void {
    for (const lane of lanes) {
      if (lane.closed || this.#closed) {
        this.#count--;
        if (!lane.closed) void lane.close().catch(() => {});
      } else this.#idle.push(lane);
    }
  }

  /** Closes the idle lanes; lent ones close when they come back. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    this.#count -= idle.length;
    await Promise.all(idle.map((l) => l.close().catch(() => {})));
  }
}
