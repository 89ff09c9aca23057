/**
 * chacha20-poly1305@openssh.com on rust-core (rust-core/ABI.md). A whole
 * batch crosses the JS/wasm boundary once: copied into the module's shared
 * I/O buffer, sealed or opened there by one call, copied back. Batches
 * larger than the I/O buffer are split at packet boundaries.
 *
 * Each sealer/opener owns a context in wasm memory; it is freed when the
 * object is garbage collected (a rekey drops the old one).
 */
import { CryptoError, IntegrityError, ProtocolError } from '../../errors.js';
import type { PacketOpener, PacketSealer } from '../types.js';
import { CHACHAPOLY, type Poly1305Fn } from '../packet/chachapoly.js';
import { IMPLICIT_MAC, checkOpenArgs, checkPadding, checkSealArgs, outgoingLength } from '../packet/common.js';
import { CoreBinding, type Fn, keyedContext, lazyBinding } from './binding.js';
import { wasmCore, type CoreInstance } from './instance.js';

/** Exports the chacha20-poly1305 binding needs. */
export const CHACHAPOLY_EXPORTS = [
  'sw_alloc',
  'sw_free',
  'sw_io_ptr',
  'sw_io_cap',
  'sw_chachapoly_new',
  'sw_chachapoly_free',
  'sw_chachapoly_init',
  'sw_chachapoly_seal_batch',
  'sw_chachapoly_open_batch',
  'sw_last_count',
] as const;

/** How many spans one open_batch call may write (a fixed area allocated once). */
const SPAN_SLOTS = 1024;

/** Bound exports plus the fixed I/O geometry and span area, shared by every context. */
class Binding extends CoreBinding {
  readonly alloc: Fn;
  readonly free: Fn;
  readonly sealBatch: Fn;
  readonly openBatch: Fn;
  readonly lastCount: Fn;
  readonly spansPtr: number;

  constructor(core: CoreInstance) {
    super(core, 'sw_chachapoly');
    this.alloc = core.fn('sw_alloc');
    this.free = core.fn('sw_free');
    this.sealBatch = core.fn('sw_chachapoly_seal_batch');
    this.openBatch = core.fn('sw_chachapoly_open_batch');
    this.lastCount = core.fn('sw_last_count');
    this.spansPtr = this.alloc(SPAN_SLOTS * 8) >>> 0;
    if (this.spansPtr === 0) throw new CryptoError('rust-core could not allocate its span area');
  }
}

/** The shared binding, or null when the module or an export is missing. */
export const chachapolyBinding = lazyBinding(CHACHAPOLY_EXPORTS, (core) => new Binding(core));

function fail(rc: number, what: string): never {
  if (rc === -1) throw new IntegrityError();
  if (rc === -2) throw new ProtocolError('invalid packet length (not a multiple of 8, below 8, or above the limit)');
  throw new CryptoError(`rust-core ${what} failed with code ${rc}`);
}

/** What sealer and opener share: the algorithm's shape and a keyed rust-core context, freed once the owner is collected. */
abstract class KeyedChaChaPoly {
  readonly cipher = CHACHAPOLY;
  readonly mac = IMPLICIT_MAC;
  readonly blockSize = 8;
  readonly macLength = 16;
  readonly #b: Binding;
  readonly #ctx: number;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== 64) throw new CryptoError('a chacha20-poly1305@openssh.com key is 64 bytes');
    const b = chachapolyBinding();
    if (!b) throw new CryptoError('the wasm backend is not available');
    this.#b = b;
    this.#ctx = keyedContext(b, this, key, (ctx, keyPtr) => b.ctxInit(ctx, keyPtr), 'chacha20-poly1305');
  }

  /** The shared binding. */
  protected get binding(): Binding {
    return this.#b;
  }

  /** This object's rust-core context handle. */
  protected get context(): number {
    return this.#ctx;
  }
}

export class WasmChaChaPolySealer extends KeyedChaChaPoly implements PacketSealer {
  readonly padsLengthField = false;

  sealPackets(buf: Uint8Array, offset: number, count: number, seq: number): void {
    checkSealArgs(offset, count);
    const b = this.binding;
    let off = offset;
    let s = seq >>> 0;
    let done = 0;
    while (done < count) {
      // Take as many whole packets as fit in the I/O buffer.
      const chunk = off;
      let size = 0;
      let n = 0;
      while (done + n < count) {
        const pkt = 4 + outgoingLength(buf, off + size, 16, 8, false) + 16;
        if (size + pkt > b.ioCap) {
          if (n === 0) throw new CryptoError(`a ${pkt}-byte packet does not fit the wasm I/O buffer (${b.ioCap} bytes)`);
          break;
        }
        size += pkt;
        n++;
      }
      let mem = b.mem();
      mem.set(buf.subarray(chunk, chunk + size), b.ioPtr);
      const rc = b.sealBatch(this.context, b.ioPtr, size, n, s | 0);
      if (rc < 0) fail(rc, 'seal');
      mem = b.mem();
      buf.set(mem.subarray(b.ioPtr, b.ioPtr + size), chunk);
      off += size;
      done += n;
      s = (s + n) >>> 0;
    }
  }
}

export class WasmChaChaPolyOpener extends KeyedChaChaPoly implements PacketOpener {

  openPackets(buf: Uint8Array, start: number, end: number, seq: number, maxPacketLength: number, spans: Uint32Array): number {
    checkOpenArgs(buf, start, end, spans);
    const b = this.binding;
    const maxCount = spans.length >>> 1;
    // Capped so a packet that could never fit the I/O buffer is refused as soon as its length is read.
    const maxLen = Math.min(Math.max(0, Math.floor(maxPacketLength)), b.ioCap - 20);
    let pos = start;
    let n = 0;
    let s = seq >>> 0;
    while (n < maxCount && end - pos >= 4) {
      const window = Math.min(end - pos, b.ioCap);
      const want = Math.min(maxCount - n, SPAN_SLOTS);
      let mem = b.mem();
      mem.set(buf.subarray(pos, pos + window), b.ioPtr);
      const rc = b.openBatch(this.context, b.ioPtr, window, s | 0, maxLen, b.spansPtr, want);
      const opened = rc < 0 ? b.lastCount() >>> 0 : rc;
      mem = b.mem();
      let used = 0;
      if (opened > 0) {
        const dv = new DataView(mem.buffer, b.spansPtr, opened * 8);
        for (let i = 0; i < opened; i++) {
          const body = dv.getUint32(8 * i, true);
          const len = dv.getUint32(8 * i + 4, true);
          spans[2 * (n + i)] = pos + body;
          spans[2 * (n + i) + 1] = len;
          used = body + len + 16;
        }
        buf.set(mem.subarray(b.ioPtr, b.ioPtr + used), pos);
        // Decrypted bodies must not linger in the shared buffer.
        mem.fill(0, b.ioPtr, b.ioPtr + used);
      }
      if (rc < 0) fail(rc, 'open');
      for (let i = 0; i < opened; i++) checkPadding(buf, spans[2 * (n + i)]!, spans[2 * (n + i) + 1]!);
      n += opened;
      s = (s + opened) >>> 0;
      pos += used;
      // Stop when this window held every complete packet there was.
      if (opened < want && window === end - (pos - used)) break;
      if (opened === 0) break;
    }
    return n;
  }
}

/** Poly1305 from rust-core, for the hybrid (native ChaCha20) construction. */
export function wasmPoly1305(): Poly1305Fn | null {
  const core = wasmCore();
  const b = chachapolyBinding();
  if (!core || !b || typeof core.exports['sw_poly1305'] !== 'function') return null;
  const poly = core.fn('sw_poly1305');
  const keyPtr = b.alloc(48) >>> 0;
  if (keyPtr === 0) return null;
  const tagPtr = keyPtr + 32;
  return {
    label: 'wasm',
    mac(key, buf, off, len, out, outOff) {
      if (len > b.ioCap) throw new CryptoError(`${len} bytes do not fit the wasm I/O buffer`);
      let mem = b.mem();
      mem.set(key, keyPtr);
      mem.set(buf.subarray(off, off + len), b.ioPtr);
      const rc = poly(keyPtr, b.ioPtr, len, tagPtr);
      mem = b.mem();
      mem.fill(0, keyPtr, keyPtr + 32);
      if (rc < 0) throw new CryptoError(`rust-core poly1305 failed with code ${rc}`);
      out.set(mem.subarray(tagPtr, tagPtr + 16), outOff);
    },
  };
}
