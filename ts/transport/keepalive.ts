/**
 * Keepalive (OpenSSH's ServerAliveInterval / ClientAliveInterval): every
 * silent interval sends a keepalive@openssh.com probe; the peer is declared
 * dead at the tick where `countMax` intervals passed without any packet and
 * a probe is outstanding (`interval × countMax`, or `× (countMax+1)` for
 * countMax 1).
 */
import { TimeoutError } from '../errors.js';

/** What keepalive needs from the transport. */
export interface KeepaliveHooks {
  closing(): boolean;
  fail(err: Error): void;
  /** Sends one want-reply keepalive@openssh.com GLOBAL_REQUEST, its reply owned by keepalive. */
  probe(): void;
}

export class Keepalive {
  readonly #interval: number;
  readonly #countMax: number;
  readonly #hooks: KeepaliveHooks;
  #timer: NodeJS.Timeout | null = null;
  #receivedSinceTick = false;
  #missedTicks = 0;
  #probesOutstanding = 0;

  constructor(interval: number, countMax: number, hooks: KeepaliveHooks) {
    this.#interval = interval;
    this.#countMax = countMax;
    this.#hooks = hooks;
  }

  /** Starts ticking (after the first key exchange); a no-op for interval 0. */
  start(): void {
    if (this.#interval <= 0 || this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#interval);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Any packet arrived. */
  received(): void {
    this.#receivedSinceTick = true;
  }

  /** The reply to one of our probes arrived. */
  replied(): void {
    this.#probesOutstanding = Math.max(0, this.#probesOutstanding - 1);
  }

  #tick(): void {
    if (this.#hooks.closing()) return;
    if (this.#receivedSinceTick) {
      this.#receivedSinceTick = false;
      this.#missedTicks = 0;
      return;
    }
    this.#missedTicks++;
    const max = this.#countMax;
    if (this.#missedTicks > max || (this.#missedTicks === max && this.#probesOutstanding > 0)) {
      this.#hooks.fail(new TimeoutError(`peer did not answer ${this.#probesOutstanding} keepalive(s) within ${this.#missedTicks} × ${this.#interval} ms`));
      return;
    }
    this.#probesOutstanding++;
    this.#hooks.probe();
  }
}
