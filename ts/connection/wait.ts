/**
 * Bounding waits: every promise this layer hands out can be cut short by an
 * AbortSignal or a timeout, and the owner learns about it so it can release
 * whatever the wait held (a pending reply slot, a half-opened channel).
 */
import { TimeoutError } from '../errors.js';

/** What every wait accepts. */
export interface WaitOptions {
  /** Abort the wait; it rejects with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
  /** Milliseconds before the wait rejects with TimeoutError; 0 or undefined = no limit. */
  timeout?: number;
}

/** The error an aborted wait rejects with: the signal's reason, else a DOMException named AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** A fresh AbortError (DOMException) whose cause is the signal's reason, for errors that carry extra fields. */
export function freshAbortError(signal: AbortSignal, message = 'The operation was aborted'): DOMException {
  const e = new DOMException(message, 'AbortError');
  Object.defineProperty(e, 'cause', { value: signal.reason, enumerable: false, configurable: true, writable: true });
  return e;
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

/** A promise with its resolvers; a rejection nobody awaits is not reported as unhandled. */
export function deferred<T>(): Deferred<T> {
  let res!: (v: T) => void;
  let rej!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    res = a;
    rej = b;
  });
  promise.catch(() => {});
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(v) {
      if (d.settled) return;
      d.settled = true;
      res(v);
    },
    reject(e) {
      if (d.settled) return;
      d.settled = true;
      rej(e);
    },
  };
  return d;
}

/**
 * Resolves like `promise`, unless `opts.signal` aborts or `opts.timeout`
 * elapses first; then `onGiveUp` runs and the wait rejects.
 */
export function bounded<T>(promise: Promise<T>, opts: WaitOptions | undefined, what: string, onGiveUp?: () => void): Promise<T> {
  const signal = opts?.signal;
  const timeout = opts?.timeout ?? 0;
  if (!signal && !(timeout > 0)) return promise;
  if (signal?.aborted) {
    onGiveUp?.();
    return Promise.reject(abortReason(signal));
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
      reject(abortReason(signal!));
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
