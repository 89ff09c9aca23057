/**
 * `zlib` / `zlib@openssh.com` payload compression (RFC 4253 section 6.2):
 * one persistent deflate stream per direction, each packet's payload ending
 * with a Z_SYNC_FLUSH so the peer can inflate it on its own.
 *
 * Packets are compressed and inflated in order inside synchronous loops, so
 * we need a synchronous, persistent zlib stream. Node has no public API for
 * that: `zlib.deflateSync` closes its stream after one call, and the stream
 * API is asynchronous. We therefore drive the zlib object's native handle
 * the same way Node's own synchronous path does (`handle.writeSync` and the
 * `_writeState` pair), minus the close. `zlibAvailable()` checks that those
 * internals are present and work; if a future Node changes them, compression
 * is simply not offered rather than failing at runtime.
 */
import * as zlib from 'node:zlib';
import { ProtocolError } from '../errors.js';

/** The internal handle of a node:zlib object. */
interface NativeZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code?: string) => void;
  close(): void;
}

interface ZlibInternals {
  _handle: NativeZlibHandle | null;
  _writeState: Uint32Array;
}

const CHUNK = 64 * 1024;

/** A persistent zlib stream driven synchronously, one Z_SYNC_FLUSH per call. */
class SyncZlibStream {
  readonly #handle: NativeZlibHandle;
  readonly #state: Uint32Array;
  readonly #maxOutput: number;
  #out: Buffer = Buffer.allocUnsafe(CHUNK);
  #error: string | null = null;
  #closed = false;

  constructor(engine: zlib.Deflate | zlib.Inflate, maxOutput: number) {
    const internals = engine as unknown as ZlibInternals;
    if (!internals._handle || typeof internals._handle.writeSync !== 'function' || !(internals._writeState instanceof Uint32Array)) {
      throw new ProtocolError('synchronous zlib is not available in this Node', { code: 'ERR_SSH_COMPRESSION' });
    }
    this.#handle = internals._handle;
    this.#state = internals._writeState;
    this.#maxOutput = maxOutput;
    // Record errors ourselves instead of letting the stream destroy itself
    // and emit 'error' later: a zlib error is a fatal protocol error here.
    this.#handle.onerror = (message: string) => {
      this.#error = message;
    };
  }

  /** Feeds `input` and returns everything zlib produces up to a sync flush. */
  process(input: Uint8Array): Buffer {
    if (this.#closed) throw new ProtocolError('zlib stream is closed', { code: 'ERR_SSH_COMPRESSION' });
    const inBuf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    let inOff = 0;
    let inLen = inBuf.length;
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      this.#handle.writeSync(zlib.constants.Z_SYNC_FLUSH, inBuf, inOff, inLen, this.#out, 0, this.#out.length);
      if (this.#error !== null) throw new ProtocolError(`zlib: ${this.#error}`, { code: 'ERR_SSH_COMPRESSION' });
      const availOut = this.#state[0]!;
      const availIn = this.#state[1]!;
      const produced = this.#out.length - availOut;
      total += produced;
      if (total > this.#maxOutput) throw new ProtocolError(`decompressed payload exceeds ${this.#maxOutput} bytes`, { code: 'ERR_SSH_COMPRESSION' });
      if (produced > 0) parts.push(Buffer.from(this.#out.subarray(0, produced)));
      inOff += inLen - availIn;
      inLen = availIn;
      // zlib filled the whole output buffer: there may be more to come.
      if (availOut !== 0) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handle.close();
  }
}

let available: boolean | undefined;

/** Whether synchronous streaming zlib works in this Node. */
export function zlibAvailable(): boolean {
  if (available === undefined) {
    try {
      const d = new PayloadCompressor();
      const i = new PayloadDecompressor(1024);
      const a = i.decompress(d.compress(Uint8Array.of(1, 2, 3)));
      const b = i.decompress(d.compress(Uint8Array.of(4, 5)));
      available = a.length === 3 && a[2] === 3 && b.length === 2 && b[1] === 5;
      d.close();
      i.close();
    } catch {
      available = false;
    }
  }
  return available;
}

/** Compresses outgoing payloads on one persistent stream. */
export class PayloadCompressor {
  readonly #z = new SyncZlibStream(zlib.createDeflate({ level: zlib.constants.Z_DEFAULT_COMPRESSION }), Number.MAX_SAFE_INTEGER);

  compress(payload: Uint8Array): Buffer {
    return this.#z.process(payload);
  }

  close(): void {
    this.#z.close();
  }
}

/** Inflates incoming payloads on one persistent stream, never beyond `maxOutput` bytes per packet. */
export class PayloadDecompressor {
  readonly #z: SyncZlibStream;
  /** @param maxOutput bound on one packet's inflated size, so a small hostile packet cannot become a huge allocation */
  constructor(maxOutput: number) {
    this.#z = new SyncZlibStream(zlib.createInflate(), maxOutput);
  }

  decompress(data: Uint8Array): Buffer {
    return this.#z.process(data);
  }

  close(): void {
    this.#z.close();
  }
}
