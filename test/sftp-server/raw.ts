/**
 * Raw SFTP for server tests: field encoders, a packet builder and a reader
 * that collects reply bodies from whatever the server writes.
 */
import type { Readable } from 'node:stream';

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const u64 = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
export const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};

/** One SFTP packet: length, type, request id (none for INIT), fields. */
export function packet(type: number, id: number | null, ...fields: Buffer[]): Buffer {
  const head = Buffer.alloc(id === null ? 1 : 5);
  head[0] = type;
  if (id !== null) head.writeUInt32BE(id, 1);
  const body = Buffer.concat([head, ...fields]);
  return Buffer.concat([u32(body.length), body]);
}

/** Collects the server's output and hands out reply bodies (type first) one at a time. */
export class ReplyReader {
  #got = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  constructor(input: Readable) {
    input.on('data', (d: Buffer) => {
      this.#got = Buffer.concat([this.#got, d]);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** The next reply body, or an error after `timeoutMs`. */
  async reply(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#got.length >= 4) {
        const len = this.#got.readUInt32BE(0);
        if (this.#got.length >= 4 + len) {
          const body = this.#got.subarray(4, 4 + len);
          this.#got = this.#got.subarray(4 + len);
          return body;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
