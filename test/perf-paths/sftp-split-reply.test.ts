/**
 * The SFTP client's split-reply mode (`session.request(..., { parts: true })`,
 * used by the pipelined reader behind `get`): a DATA reply that spans
 * several chunks of the stream is handed over as a copied head plus views
 * of the chunks, and written to the local file without being joined.
 *
 * OpenSSH's sftp-server serves a file over its stdio; everything it sends
 * reaches our client re-cut by a chopper that knows where each SFTP packet
 * starts: for every DATA packet it cuts once inside the packet's first 80
 * bytes (a different offset for each packet, so the length, type, id, data
 * length and the 64-byte head are all split somewhere), and elsewhere in
 * seeded random pieces from 1 byte to 100 KiB, each its own 'data' chunk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SFTPClient } from '../../ts/sftp/index.js';
import type { ReplyCallback } from '../../ts/sftp/client/session.js';
import { FXP } from '../../ts/wire/sftpConstants.js';
import { SFTP_SERVER, patternBytes, removeDir, scratchDir, sha256 } from '../sftp/helpers.js';

/** Cut offsets inside a packet's start: 0..HEAD_CUTS-1 (cutting at 0 means at the packet start). */
const HEAD_CUTS = 80;

interface ChopStats {
  pieces: number;
  /** DATA packets of at least 64 KiB whose first bytes were split at offset 1..63. */
  headSplits: Set<number>;
}

/**
 * Re-cuts a byte stream: tracks SFTP packet boundaries in it and pushes
 * pieces to `out` as described at the top of this file. Everything
 * received is passed on at once (only the cut points are chosen), so the
 * conversation never stalls.
 */
function chopper(out: Readable, seed: number): { write(chunk: Buffer): void; stats: ChopStats } {
  const stats: ChopStats = { pieces: 0, headSplits: new Set() };
  let x = seed >>> 0 || 1;
  const rand = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const randomSize = (): number => {
    const r = rand(10);
    return r < 3 ? 1 + rand(16) : r < 6 ? 1 + rand(4096) : 1 + rand(100 * 1024);
  };
  /** Absolute stream position of the next byte we receive. */
  let pos = 0;
  /** Start of the packet being passed through, and its total size (4 + length) once known. */
  let pktStart = 0;
  let pktSize = -1;
  const lenBytes: number[] = [];
  let pktIndex = 0;
  let headCut = -1;
  let pktType = -1;
  let nextRandomCut = randomSize();
  let carryStart = 0;

  const write = (chunk: Buffer): void => {
    let i = 0;
    let pieceFrom = 0;
    const emit = (to: number): void => {
      if (to > pieceFrom) {
        out.push(Buffer.from(chunk.subarray(pieceFrom, to)));
        stats.pieces++;
        pieceFrom = to;
      }
    };
    while (i < chunk.length) {
      const abs = pos + i;
      if (headCut > 0 && abs === pktStart + headCut) emit(i);
      if (abs - carryStart === nextRandomCut) {
        emit(i);
        carryStart = abs;
        nextRandomCut = randomSize();
      }
      // Learn the packet's size from its 4-byte length field, and its type.
      if (pktSize < 0) {
        lenBytes.push(chunk[i]!);
        if (lenBytes.length === 4) {
          pktSize = 4 + Buffer.from(lenBytes).readUInt32BE(0);
          lenBytes.length = 0;
        }
      }
      if (abs === pktStart + 4) pktType = chunk[i]!;
      i++;
      if (pktSize >= 0 && pos + i === pktStart + pktSize) {
        if (pktType === FXP.DATA && pktSize - 4 >= 64 * 1024 && headCut > 0 && headCut < 64) stats.headSplits.add(headCut);
        // Next packet: choose where its head is cut.
        pktStart = pos + i;
        pktSize = -1;
        pktType = -1;
        pktIndex++;
        headCut = pktIndex % HEAD_CUTS;
      }
    }
    emit(chunk.length);
    pos += chunk.length;
  };
  return { write, stats };
}

let proc: ChildProcess | null = null;
let dir: string | null = null;
afterEach(() => {
  proc?.kill();
  proc = null;
  if (dir) removeDir(dir);
  dir = null;
});

describe('SFTP split DATA replies (parts mode)', () => {
  for (const seed of [1, 7]) {
    it(`get writes DATA replies delivered in odd pieces byte-exact, heads split everywhere (seed ${seed})`, async () => {
      expect(existsSync(SFTP_SERVER)).toBe(true);
      dir = scratchDir('sshwire-split-');
      const size = 12 * 1024 * 1024 + 12345;
      const data = patternBytes(size, seed);
      const remote = join(dir, 'remote.bin');
      const local = join(dir, 'local.bin');
      writeFileSync(remote, data);

      proc = spawn(SFTP_SERVER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
      const readable = new Readable({ read() {} });
      const chop = chopper(readable, seed);
      proc.stdout!.on('data', (c: Buffer) => chop.write(c));
      proc.stdout!.on('end', () => readable.push(null));
      const client = await SFTPClient.fromStream({ readable, writable: proc.stdin! });

      // Count the replies that really came split, as the reader saw them.
      const session = client.session;
      const request = session.request.bind(session);
      let partsRequests = 0;
      let splitReplies = 0;
      let restPieces = 0;
      session.request = (build, cb: ReplyCallback, opts) => {
        if (opts?.parts) partsRequests++;
        return request(
          build,
          (err, type, body, rest) => {
            if (rest && rest.length > 0) {
              splitReplies++;
              restPieces += rest.length;
            }
            cb(err, type, body, rest);
          },
          opts,
        );
      };

      // 70 000-byte reads: each DATA reply is a packet of ~68 KiB, above the 64 KiB split threshold, ~180 of them.
      const n = await client.get(remote, local, { chunkSize: 70_000, concurrency: 16 });
      expect(n).toBe(size);
      const got = readFileSync(local);
      expect(got.length).toBe(size);
      expect(sha256(got)).toBe(sha256(data));

      expect(partsRequests).toBeGreaterThan(150);
      expect(splitReplies).toBeGreaterThan(100);
      expect(restPieces).toBeGreaterThan(splitReplies);
      // The head of a DATA packet was split at (nearly) every offset below 64.
      expect(chop.stats.headSplits.size).toBeGreaterThan(55);
      await client.close();
    });
  }
});
