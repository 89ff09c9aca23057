/**
 * What every rust-core primitive binding shares: its keyed-context exports
 * (`<prefix>_new`, `_init`, `_free`), the module's I/O buffer geometry, a
 * memory view kept current across growth, contexts freed once their owner
 * is collected, and one lazily made binding per primitive.
 */
import { CryptoError } from '../../errors.js';
import { wasmCore, type CoreInstance } from './instance.js';

export type Fn = (...args: number[]) => number;

export class CoreBinding {
  readonly ctxNew: Fn;
  readonly ctxFree: Fn;
  readonly ctxInit: Fn;
  /** The shared I/O buffer: offset in linear memory and size. */
  readonly ioPtr: number;
  readonly ioCap: number;
  readonly core: CoreInstance;
  #view: Uint8Array;

  constructor(core: CoreInstance, prefix: string) {
    this.core = core;
    this.ctxNew = core.fn(`${prefix}_new`);
    this.ctxFree = core.fn(`${prefix}_free`);
    this.ctxInit = core.fn(`${prefix}_init`);
    this.ioPtr = core.fn('sw_io_ptr')() >>> 0;
    this.ioCap = core.fn('sw_io_cap')() >>> 0;
    this.#view = core.bytes();
  }

  /** Linear memory; re-viewed if it grew (growth detaches the old buffer). */
  mem(): Uint8Array {
    if (this.#view.byteLength === 0) this.#view = this.core.bytes();
    return this.#view;
  }
}

const contexts = new FinalizationRegistry<{ b: CoreBinding; ctx: number }>(({ b, ctx }) => {
  b.ctxFree(ctx);
});

/**
 * A new context of `b`, keyed by `init(ctx, keyPtr)` with `key` placed in
 * the I/O buffer and wiped from it at once; freed once `owner` is
 * collected. `what` names the primitive in errors.
 */
export function keyedContext(b: CoreBinding, owner: object, key: Uint8Array, init: (ctx: number, keyPtr: number) => number, what: string): number {
  const ctx = b.ctxNew() >>> 0;
  if (ctx === 0) throw new CryptoError(`rust-core is out of memory (${what} context)`);
  b.mem().set(key, b.ioPtr);
  const rc = init(ctx, b.ioPtr);
  b.mem().fill(0, b.ioPtr, b.ioPtr + key.length);
  if (rc < 0) {
    b.ctxFree(ctx);
    throw new CryptoError(`rust-core rejected the ${what} key (code ${rc})`);
  }
  contexts.register(owner, { b, ctx });
  return ctx;
}

/** One binding made on first use; null when the module or one of `exports` is missing. */
export function lazyBinding<B>(exports: readonly string[], make: (core: CoreInstance) => B): () => B | null {
  let binding: B | null | undefined;
  return () => {
    if (binding !== undefined) return binding;
    const core = wasmCore();
    if (!core || exports.some((n) => typeof core.exports[n] !== 'function')) return (binding = null);
    return (binding = make(core));
  };
}
