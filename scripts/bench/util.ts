/** Small helpers the benchmark scripts share. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles `entry` (a benchmark script, with the library) into `dir/name`
 * with esbuild (tsx's own dependency; packages stay external) and links the
 * repo's wasm/ and node_modules/ beside it, so plain node runs it as a
 * user's program would run the published build. Returns the bundle's path,
 * or null (after saying why) when esbuild is unavailable.
 */
export function bundleForNode(entry: string, dir: string, name: string, linkRepo = true): string | null {
  try {
    const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(o: object): unknown };
    const out = join(dir, name);
    esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'error' });
    if (linkRepo) {
      symlinkSync(join(repo, 'wasm'), join(dir, 'wasm'));
      symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    }
    return out;
  } catch (err) {
    process.stdout.write(`(no esbuild bundle of ${name}: ${(err as Error).message}; running from the sources through tsx)\n`);
    return null;
  }
}

/**
 * Starts scripts/bench/delayProxy.ts in its own process, forwarding to
 * 127.0.0.1:`targetPort` with `delayMs` held per direction; resolves with
 * its port once it listens (kill `proc` to stop it).
 */
export function startDelayProxy(targetPort: number, delayMs: number): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'bench', 'delayProxy.ts'), String(targetPort), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error('delay proxy did not start within 10 s'));
    }, 10_000);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), proc });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`delay proxy exited with ${code}`));
    });
  });
}
