/**
 * UMAC-64 / UMAC-128 (RFC 4418) on rust-core, for umac-64@openssh.com,
 * umac-128@openssh.com and their -etm variants (rust-core/ABI.md, "UMAC").
 *
 * SSH feeds UMAC the packet alone (no sequence number prefix, unlike HMAC)
 * and uses the sequence number as the nonce: an 8-byte big-endian uint64,
 * so the high word is 0. One call per packet: the packet is copied into
 * the module's shared I/O buffer, tagged there, the tag copied out.
 *
 * Each instance owns a context in wasm memory, freed when it is garbage
 * collected (a rekey drops the old one).
 */
import { CryptoError } from '../../errors.js';
import type { PacketMac } from '../packet/classic.js';
import { CoreBinding, type Fn, keyedContext, lazyBinding } from './binding.js';
import type { CoreInstance } from './instance.js';

/** Exports the UMAC binding needs. */
export const UMAC_EXPORTS = ['sw_io_ptr', 'sw_io_cap', 'sw_umac_new', 'sw_umac_free', 'sw_umac_init', 'sw_umac_tag'] as const;

class Binding extends CoreBinding {
  readonly tag: Fn;

  constructor(core: CoreInstance) {
    super(core, 'sw_umac');
    this.tag = core.fn('sw_umac_tag');
  }
}

/** The shared binding, or null when the module or one of its UMAC exports is missing. */
export const umacBinding = lazyBinding(UMAC_EXPORTS, (core) => new Binding(core));

/** UMAC keyed once; `length` is 8 (UMAC-64) or 16 (UMAC-128). */
export class WasmUmac implements PacketMac {
  readonly length: number;
  readonly #b: Binding;
  readonly #ctx: number;

  constructor(key: Uint8Array, length: number) {
    if (length !== 8 && length !== 16) throw new CryptoError(`UMAC tag length must be 8 or 16, not ${length}`);
    if (!(key instanceof Uint8Array) || key.length !== 16) throw new CryptoError('a UMAC key is 16 bytes');
    const b = umacBinding();
    if (!b) throw new CryptoError('the wasm backend (UMAC) is not available');
    const ctx = keyedContext(b, this, key, (c, keyPtr) => b.ctxInit(c, keyPtr, length), 'UMAC');
    this.#b = b;
    this.#ctx = ctx;
    this.length = length;
  }

  /** SSH: tag of buf[start, end) with nonce = uint64 seq, big-endian. */
  compute(seq: number, buf: Uint8Array, start: number, end: number, out: Uint8Array, outOff: number): void {
    this.tag(buf, start, end, 0, seq >>> 0, out, outOff);
  }

  /** Tag of buf[start, end) under the 8-byte nonce nonceHi || nonceLo (two big-endian u32). */
  tag(buf: Uint8Array, start: number, end: number, nonceHi: number, nonceLo: number, out: Uint8Array, outOff: number): void {
    const b = this.#b;
    const len = end - start;
    if (!Number.isInteger(len) || len < 0 || start < 0 || end > buf.length) throw new CryptoError('UMAC input range is outside the buffer');
    if (outOff < 0 || outOff + this.length > out.length) throw new CryptoError('UMAC output does not fit');
    // The tag goes right after the message, 16-byte aligned.
    const tagAt = b.ioPtr + ((len + 15) & ~15);
    if (tagAt + 16 > b.ioPtr + b.ioCap) throw new CryptoError(`a ${len}-byte packet does not fit the wasm I/O buffer (${b.ioCap} bytes)`);
    let mem = b.mem();
    mem.set(buf.subarray(start, end), b.ioPtr);
    const rc = b.tag(this.#ctx, b.ioPtr, len, nonceHi | 0, nonceLo | 0, tagAt);
    if (rc < 0) throw new CryptoError(`rust-core UMAC failed with code ${rc}`);
    mem = b.mem();
    out.set(mem.subarray(tagAt, tagAt + this.length), outOff);
    // Encrypt-and-MAC tags plaintext, which must not linger in the shared buffer.
    mem.fill(0, b.ioPtr, tagAt + 16);
  }
}
