/** Small helpers the benchmark scripts share. */
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

/** Median of the finite values (mean of the middle two for an even count); NaN when there are none. */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Writes `size` random bytes to `path` (8 MiB of randomness repeated, which is all a transfer benchmark needs). */
export function makeFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  randomFillSync(block);
  for (let done = 0; done < size; done += block.length) writeSync(fd, block, 0, Math.min(block.length, size - done));
  closeSync(fd);
}
