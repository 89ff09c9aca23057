/**
 * Loads the committed rust-core module (`wasm/sshwire_core.wasm`) once,
 * synchronously, and hands its exports to the wasm backend. Returns null,
 * with the reason, when WebAssembly, the file, or simd128 is unavailable, so
 * backend selection can fall back instead of failing.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The raw exports of rust-core, as documented in rust-core/ABI.md. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  [name: string]: WebAssembly.Memory | ((...args: number[]) => number);
}

export interface CoreInstance {
  exports: CoreExports;
  /** A fresh view of linear memory (views go stale when memory grows). */
  bytes(): Uint8Array;
  /** Call an export by name; the name must exist. */
  fn(name: string): (...args: number[]) => number;
}

const WASM_FILE = 'sshwire_core.wasm';

/** Walks up from this module to the package root's wasm/ folder (works from ts/ and dist/ alike). */
function locateWasm(): string | null {
  const override = process.env.SSHWIRE_WASM_PATH;
  if (override) return existsSync(override) ? override : null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'wasm', WASM_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

let loaded: { instance: CoreInstance | null; reason: string } | undefined;

/** The shared core instance, or null with `wasmUnavailableReason()` saying why. */
export function wasmCore(): CoreInstance | null {
  return load().instance;
}

export function wasmUnavailableReason(): string {
  return load().reason;
}

function load(): { instance: CoreInstance | null; reason: string } {
  if (loaded) return loaded;
  if (typeof WebAssembly !== 'object') {
    return (loaded = { instance: null, reason: 'WebAssembly is not available in this runtime' });
  }
  const path = locateWasm();
  if (!path) return (loaded = { instance: null, reason: `${WASM_FILE} not found` });
  try {
    const bytes = readFileSync(path);
    if (!WebAssembly.validate(bytes)) {
      return (loaded = { instance: null, reason: `${WASM_FILE} does not validate (simd128 unsupported?)` });
    }
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, {});
    const exports = instance.exports as unknown as CoreExports;
    const core: CoreInstance = {
      exports,
      bytes: () => new Uint8Array(exports.memory.buffer),
      fn: (name) => {
        const f = exports[name];
        if (typeof f !== 'function') throw new Error(`rust-core export ${name} is missing`);
        return f;
      },
    };
    return (loaded = { instance: core, reason: `loaded ${path}` });
  } catch (err) {
    return (loaded = { instance: null, reason: `failed to instantiate ${WASM_FILE}: ${(err as Error).message}` });
  }
}
