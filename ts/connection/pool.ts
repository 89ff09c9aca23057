/** Bounded concurrency over a list: SFTP tree transfers and bulk execution both run work this way. */

/**
 * Runs `work` over `items`, `limit` at a time, in order of starting; the
 * first failure stops new work, waits for what is running, and is rethrown.
 * With `signal`, an abort stops new work the same way.
 */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const runner = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      signal?.throwIfAborted();
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failure !== null) throw failure;
}
