/** A promise with its resolve and reject functions, for waits the transport settles later. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * Makes a Deferred whose promise is already marked handled: callers that
 * await it still see the rejection, but a promise nobody awaits never
 * becomes an unhandled rejection.
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** A handled promise already rejected with `err`. */
export function rejected<T>(err: Error): Promise<T> {
  const d = deferred<T>();
  d.reject(err);
  return d.promise;
}

/** A wait with a timer: rejected with a TimeoutError-like error by `onTimeout` unless settled first. */
export interface TimedWait<T> {
  d: Deferred<T>;
  /** undefined when the wait has no time limit. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts a wait that `onTimeout` ends after `ms` (the timer does not keep the
 * process alive; 0 = no limit). `remove` takes the wait out of its owner's list first.
 */
export function timedWait<T>(ms: number, remove: (w: TimedWait<T>) => void, onTimeout: () => Error): TimedWait<T> {
  const w: TimedWait<T> = { d: deferred<T>(), timer: undefined };
  if (ms > 0) {
    w.timer = setTimeout(() => {
      remove(w);
      w.d.reject(onTimeout());
    }, ms);
    w.timer.unref?.();
  }
  return w;
}

/** Closing: clears every wait's timer and rejects it with `err`. */
export function rejectWaits(waits: readonly TimedWait<unknown>[], err: Error): void {
  for (const w of waits) {
    clearTimeout(w.timer);
    w.d.reject(err);
  }
}
