/** Bounded concurrency over a list: SFTP tree transfers and bulk execution both run work this way. */
import { abortError } from '../errors.js';

/**
 * Runs `work` over `items`, `limit` at a time, in order of starting. The
 * first failure stops new work; so does an abort of `signal`. Either way
 * the returned promise settles only once every call of `work` already
 * running has settled (pool cannot cancel them: `work` should watch the
 * same signal to stop early), so nothing runs on after it. It then
 * rejects with the first failure, or with abortError(signal) when the
 * abort came first. An abort after the last item started does not make
 * finished work fail.
 */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  // Fewer than one at a time would run nothing and report success.
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`pool: limit must be an integer >= 1, got ${limit}`);
  let next = 0;
  // Boxed: a signal's reason (or a thrown value) may itself be null or undefined.
  let failure: { error: unknown } | null = null;
  const runner = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      if (signal?.aborted) {
        failure = { error: abortError(signal) };
        return;
      }
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= { error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
