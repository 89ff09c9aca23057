/**
 * Uploads fed by someone else's buffers: `putfo` from a Readable or an
 * async iterable, and the write stream. A producer usually hands over a
 * fresh buffer per chunk (fs.ReadStream: 64 KiB each), which is garbage
 * outside V8's heap once its bytes are in a WRITE: a GiB of it per GiB
 * sent, on top of the sealer's own output. Two things keep most of it
 * out of full collections (a minimal script still sees up to about 50
 * cheap mark-compacts per GiB in some runs, against storms of 90-210):
 *
 * - The bytes are copied into reused slabs at once, so the producer's
 *   buffers die young. Held until their WRITE was sealed (WRITEs wait for
 *   the peer's window in the channel, tens of milliseconds at full speed),
 *   they lived through scavenges and V8 freed them only in mark-compacts.
 * - The bytes are owed to the sealer's latin1 mix (`oweExternal` in
 *   ts/crypto/native/packet.ts): more of its output comes back as young
 *   heap strings, whose scavenges free the producer's buffers too.
 *
 * Not counted for the heap reserve (ts/transport/heap-reserve.ts), which
 * helps the receive side: held during an upload, its 8 MiB surviving a
 * scavenge made V8 double the young generation, scavenges came half as
 * often, and a write stream ran 16-22 mark-compacts per GiB with 82-94 MiB
 * of RSS growth, against 1-3 and 36-57 without it (in the bench's client
 * process). Before any of this, a 1 GiB `putfo` from fs.createReadStream
 * ran 200-210 mark-compacts at 160 MiB/s and 7 CPU-s, and a write stream
 * 90-170 in most runs (docs/PERFORMANCE.md, "Uploads from a producer's
 * buffers").
 */
import { oweExternal } from '../../crypto/native/packet.js';
import type { ChunkSource } from './pipelinedWrite.js';

/** Accounts for `bytes` of a producer's buffers, copied and dropped (see the module comment). */
export function tookProducerChunk(bytes: number): void {
  oweExternal(bytes);
}

export interface CopyingSource {
  /** Slabs of up to `chunkSize` bytes holding the producer's data in order; null at the end. */
  source: ChunkSource;
  /** Gives a slab back once nothing refers to it (pipelinedWrite's `release`). */
  release: (slab: Buffer) => void;
}

/**
 * Reads `src` into reused slabs of `chunkSize` bytes: each slab the source
 * returns is full except the last. Every byte is copied once; the
 * producer's buffers are dropped as soon as they are copied.
 */
export function copyingSource(src: AsyncIterable<Uint8Array | string>, chunkSize: number): CopyingSource {
  const it = src[Symbol.asyncIterator]();
  const free: Buffer[] = [];
  /** The producer's chunk being copied, and how much of it is. */
  let rest: Buffer | null = null;
  let restAt = 0;
  let done = false;
  const source: ChunkSource = async () => {
    if (done && rest === null) return null;
    const slab = free.pop() ?? Buffer.allocUnsafeSlow(chunkSize);
    let have = 0;
    while (have < chunkSize) {
      if (rest === null) {
        if (done) break;
        const r = await it.next();
        if (r.done) {
          done = true;
          break;
        }
        const v = r.value;
        rest = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        restAt = 0;
        tookProducerChunk(rest.length);
      }
      const n = rest.copy(slab, have, restAt);
      have += n;
      restAt += n;
      if (restAt === rest.length) rest = null;
    }
    if (have === 0) {
      free.push(slab);
      return null;
    }
    return slab.subarray(0, have);
  };
  const release = (b: Buffer): void => {
    free.push(Buffer.from(b.buffer, b.byteOffset, chunkSize));
  };
  return { source, release };
}
