/**
 * ping@openssh.com (OpenSSH PROTOCOL section 1.9): PING is answered with a
 * PONG carrying the same data; our own pings wait for their PONG.
 */
import { TimeoutError } from '../errors.js';
import { MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { rejectWaits, timedWait, type TimedWait } from './deferred.js';

type PingWait = TimedWait<void> & { data: string };

export class Pings {
  #waits: PingWait[] = [];
  #counter = 0;
  readonly #timeout: number;
  readonly #queue: (payload: Uint8Array) => void;

  constructor(timeout: number, queue: (payload: Uint8Array) => void) {
    this.#timeout = timeout;
    this.#queue = queue;
  }

  /** Sends PING; resolves on the PONG with the same data. */
  ping(): Promise<void> {
    const data = `sshwire-ping-${++this.#counter}`;
    const base = timedWait<void>(
      this.#timeout,
      (w) => (this.#waits = this.#waits.filter((x) => x !== w)),
      () => new TimeoutError(`no PONG within ${this.#timeout} ms`),
    );
    const w: PingWait = Object.assign(base, { data });
    this.#waits.push(w);
    this.#queue(new SSHWriter(64).byte(MSG.PING).string(data).toBytes());
    return w.d.promise;
  }

  /** Answers the peer's PING. */
  pinged(payload: Uint8Array): void {
    const r = new SSHReader(payload, 'PING');
    r.byte();
    const data = r.string();
    this.#queue(new SSHWriter(data.length + 8).byte(MSG.PONG).string(data).toBytes());
  }

  /** Settles the ping a PONG answers; an unsolicited PONG is harmless and ignored. */
  ponged(payload: Uint8Array): void {
    const r = new SSHReader(payload, 'PONG');
    r.byte();
    const data = Buffer.from(r.string()).toString('latin1');
    const i = this.#waits.findIndex((w) => w.data === data);
    if (i < 0) return;
    const [w] = this.#waits.splice(i, 1);
    clearTimeout(w!.timer);
    w!.d.resolve();
  }

  /** Closing: every outstanding ping fails with `err`. */
  rejectAll(err: Error): void {
    rejectWaits(this.#waits, err);
    this.#waits = [];
  }
}
