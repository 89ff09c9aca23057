/**
 * Bounding waits: every promise this layer hands out can be cut short by an
 * AbortSignal or a timeout, and the owner learns about it so it can release
 * whatever the wait held (a pending reply slot, a half-opened channel).
 */
import { AbortError, abortError, SSHException, TimeoutError } from '../errors.js';
import { checkDuration } from '../transport/index.js';

/** What every wait accepts. */
export interface WaitOptions {
  /** Abort the wait; it rejects with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
  /**
   * Milliseconds before the wait rejects with TimeoutError, 0 to 2^31-1;
   * 0 or undefined = no limit. Another value (negative, Infinity, NaN, past
   * what a timer holds) rejects with SSHException ERR_SSH_BAD_OPTION.
   */
  timeout?: number;
}

/**
 * Throws SSHException ERR_SSH_BAD_OPTION (prefixed with `what`) when
 * `opts.timeout` breaks the shared duration rule (`checkDuration`). Calls
 * that send something check first, so a refused wait sends nothing.
 */
export function checkWaitOptions(opts: WaitOptions | undefined, what: string): void {
  checkDuration('timeout', opts?.timeout, { zero: 'no limit', error: (m) => new SSHException(`${what}: ${m}`, { code: 'ERR_SSH_BAD_OPTION' }) });
}

/** checkWaitOptions' error, or null. */
function waitOptionsError(opts: WaitOptions | undefined, what: string): Error | null {
  try {
    checkWaitOptions(opts, what);
    return null;
  } catch (err) {
    return err as Error;
  }
}

/** A fresh AbortError whose cause is the signal's reason, for errors that carry extra fields. */
export function freshAbortError(signal: AbortSignal, message = 'The operation was aborted'): AbortError {
  return new AbortError(message, { cause: signal.reason });
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

function noop(): void {}

/**
 * A class rather than closures: channel opens and requests make one per
 * command, and methods cost nothing per instance.
 */
class DeferredImpl<T> implements Deferred<T> {
  readonly promise: Promise<T>;
  settled = false;
  /** The guard bounding this wait, cleared when it settles. */
  guard: WaitGuard | null = null;
  #res!: (v: T) => void;
  #rej!: (e: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((a, b) => {
      this.#res = a;
      this.#rej = b;
    });
    this.promise.catch(noop);
  }

  resolve(v: T): void {
    if (this.settled) return;
    this.settled = true;
    this.guard?.clear();
    this.#res(v);
  }

  reject(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.guard?.clear();
    this.#rej(e);
  }
}

/** A promise with its resolvers; a rejection nobody awaits is not reported as unhandled. */
export function deferred<T>(): Deferred<T> {
  return new DeferredImpl<T>();
}

/** The timer and abort listener of one `guarded` wait (an EventListener object: no closure per wait). */
class WaitGuard {
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly d: DeferredImpl<unknown>,
    readonly signal: AbortSignal | undefined,
    readonly timeout: number,
    readonly what: string,
    readonly onGiveUp: (() => void) | undefined,
  ) {}

  /** The signal aborted. */
  handleEvent(): void {
    this.onGiveUp?.();
    this.d.reject(abortError(this.signal!));
  }

  expire(): void {
    this.timer = null;
    this.onGiveUp?.();
    this.d.reject(new TimeoutError(`${this.what}: no answer within ${this.timeout} ms`));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.signal?.removeEventListener('abort', this);
  }
}

function expireGuard(g: WaitGuard): void {
  g.expire();
}

/**
 * Like `bounded(d.promise, ...)` for a deferred this layer owns, without a
 * second promise: the timeout or abort rejects `d` itself (after
 * `onGiveUp`), and settling `d` clears them. A late resolve is then ignored,
 * as `onGiveUp` arranges for whatever the wait held.
 */
export function guarded<T>(d: Deferred<T>, opts: WaitOptions | undefined, what: string, onGiveUp?: () => void): Promise<T> {
  const signal = opts?.signal;
  const timeout = opts?.timeout ?? 0;
  if (d.settled) return d.promise;
  const bad = waitOptionsError(opts, what);
  if (bad) {
    onGiveUp?.();
    d.reject(bad);
    return d.promise;
  }
  if (!signal && !(timeout > 0)) return d.promise;
  if (!(d instanceof DeferredImpl)) return bounded(d.promise, opts, what, onGiveUp);
  const g = new WaitGuard(d as DeferredImpl<unknown>, signal, timeout, what, onGiveUp);
  if (signal?.aborted) {
    g.handleEvent();
    return d.promise;
  }
  d.guard = g;
  if (timeout > 0) {
    g.timer = setTimeout(expireGuard, timeout, g);
    g.timer.unref?.();
  }
  signal?.addEventListener('abort', g, { once: true });
  return d.promise;
}

/**
 * Resolves like `promise`, unless `opts.signal` aborts or `opts.timeout`
 * elapses first; then `onGiveUp` runs and the wait rejects.
 */
export function bounded<T>(promise: Promise<T>, opts: WaitOptions | undefined, what: string, onGiveUp?: () => void): Promise<T> {
  const signal = opts?.signal;
  const timeout = opts?.timeout ?? 0;
  const bad = waitOptionsError(opts, what);
  if (bad) {
    onGiveUp?.();
    return Promise.reject(bad);
  }
  if (!signal && !(timeout > 0)) return promise;
  if (signal?.aborted) {
    onGiveUp?.();
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | null = null;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      onGiveUp?.();
      reject(abortError(signal!));
    };
    if (timeout > 0) {
      timer = setTimeout(() => {
        cleanup();
        onGiveUp?.();
        reject(new TimeoutError(`${what}: no answer within ${timeout} ms`));
      }, timeout);
      timer.unref?.();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}
