/**
 * A queue of user-authentication messages (numbers 50-79) for code that
 * awaits them one at a time. Banners are handed to a callback at once and
 * never queued. Every wait is bounded by a timeout and an AbortSignal, and
 * ends when the transport closes.
 */
import { abortError, DisconnectError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG } from '../wire/index.js';
import { LIMITS } from './constants.js';
import type { AuthTransport } from './transport.js';

export interface AuthMessage {
  type: number;
  payload: Buffer;
}

interface Waiter {
  resolve(m: AuthMessage): void;
  reject(e: Error): void;
}

export class AuthInbox {
  readonly #queue: AuthMessage[] = [];
  #waiter: Waiter | null = null;
  #error: Error | null = null;
  #unsubscribe: (() => void) | null;
  /** Receives each banner; set by the owner. */
  onBanner: ((payload: Buffer) => void) | null = null;
  /** Which message numbers this inbox takes: the client role takes 50-79 from the server. */
  readonly #accepts: (type: number) => boolean;

  constructor(transport: AuthTransport, accepts: (type: number) => boolean = (t) => t >= MSG.USERAUTH_REQUEST && t <= 79) {
    this.#accepts = accepts;
    this.#unsubscribe = transport.onMessage(this.#onMessage);
    transport.closed.then(
      (err) => this.fail(err ?? new DisconnectError('connection closed during authentication', DISCONNECT_REASON.CONNECTION_LOST)),
      () => {},
    );
  }

  readonly #onMessage = (type: number, payload: Buffer): void => {
    if (!this.#accepts(type)) return;
    if (type === MSG.USERAUTH_BANNER && this.onBanner) {
      this.onBanner(payload);
      return;
    }
    // After SUCCESS nothing more is ours: detach now, so messages the server
    // sends right behind it reach the connection layer (or the transport's
    // default answers) rather than this inbox.
    if (type === MSG.USERAUTH_SUCCESS) this.close();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = null;
      w.resolve({ type, payload });
      return;
    }
    if (this.#queue.length >= LIMITS.inbox) {
      const e = new ProtocolError(`more than ${LIMITS.inbox} unanswered authentication messages from the peer`);
      this.fail(e);
      throw e;
    }
    this.#queue.push({ type, payload });
  };

  /**
   * The next message. Rejects with TimeoutError after `timeoutMs` (0 = no
   * limit), the signal's reason on abort, or the transport's error.
   */
  next(timeoutMs: number, signal?: AbortSignal, what = 'a reply from the server'): Promise<AuthMessage> {
    if (this.#error) return Promise.reject(this.#error);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#waiter) return Promise.reject(new SSHException('authentication is already waiting for a message', { code: 'ERR_SSH_INTERNAL' }));
    return new Promise<AuthMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiter === waiter) this.#waiter = null;
      };
      const onAbort = (): void => {
        done();
        reject(abortError(signal!));
      };
      const waiter: Waiter = {
        resolve: (m) => {
          done();
          resolve(m);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => waiter.reject(new TimeoutError(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
        timer.unref?.();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiter = waiter;
    });
  }

  /** Fails the current and every later wait with `err`. */
  fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(err);
  }

  /** Stops taking messages from the transport. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}
