/**
 * The send side's buffer reuse: channel data goes to the transport as
 * views (copied once into the sealed batch), so a write's callback must
 * wait until that copy is made; sealed batch buffers are reused once the
 * socket's write completes; `put` cycles its file read buffers once the
 * WRITEs cut from them are written. Each test reuses memory at the earliest
 * moment the API allows and checks what arrived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Channel } from '../../ts/connection/index.js';
import { SFTPClient } from '../../ts/sftp/index.js';
import { connectionPair, connectionsOver, type ConnPair } from '../connection/helpers.js';
import { transportPair } from '../helpers/pair.js';
import { SFTP_SERVER, patternBytes, removeDir, scratchDir, sha256 } from '../sftp/helpers.js';

let pair: ConnPair | null = null;
let proc: ChildProcess | null = null;
let dir: string | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  proc?.kill();
  proc = null;
  if (dir) removeDir(dir);
  dir = null;
  await pair?.close();
  pair = null;
});

/** Fills `buf` with the pattern of write number `i`. */
function fill(buf: Buffer, i: number): void {
  for (let k = 0; k < buf.length; k += 4) buf.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ k) >>> 0, k);
}

/** A client over a fresh sftp-server's stdio, with a scratch `dir`; afterEach cleans both up. */
async function sftpOverPipes(prefix: string): Promise<SFTPClient> {
  dir = scratchDir(prefix);
  proc = spawn(SFTP_SERVER, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  return SFTPClient.fromStream({ readable: proc.stdout!, writable: proc.stdin! });
}

/** Runs `fn`, counting Buffer.allocUnsafeSlow calls for exactly `size` bytes. */
async function slowAllocsOf(size: number, fn: () => Promise<unknown>): Promise<number> {
  const slow = vi.spyOn(Buffer, 'allocUnsafeSlow');
  try {
    await fn();
    return slow.mock.calls.filter(([n]) => n === size).length;
  } finally {
    slow.mockRestore();
  }
}

describe('send path buffer reuse', () => {
  it('a channel write buffer refilled inside its callback: the peer gets every write as it was', async () => {
    // A small window: most writes leave from the WINDOW_ADJUST handler, long after write() returned.
    pair = await connectionPair({ server: { window: 96 * 1024 } });
    const received = new Promise<string>((resolve) => {
      pair!.server.onChannelOpen((req) => {
        const ch = req.accept();
        const h = createHash('sha256');
        ch.on('data', (d: Buffer) => h.update(d));
        ch.on('end', () => resolve(h.digest('hex')));
      });
    });
    const ch: Channel = await pair.client.openChannel('test@sshwire', new Uint8Array(0));
    const buf = Buffer.allocUnsafe(40 * 1024);
    const want = createHash('sha256');
    const writes = 300;
    await new Promise<void>((resolve, reject) => {
      const next = (i: number): void => {
        if (i === writes) return resolve();
        // The same memory every time: only safe if the callback means "copied".
        fill(buf, i);
        want.update(buf);
        ch.write(buf, (err) => (err ? reject(err) : next(i + 1)));
      };
      next(0);
    });
    ch.end();
    expect(await received).toBe(want.digest('hex'));
  });

  it('a TCP peer that stops reading (writes complete late, batch buffers reused after): every stream byte-exact', async () => {
    const { client: ct, server: st, sockets } = await transportPair();
    await Promise.all([ct.ready, st.ready]);
    pair = connectionsOver(ct, st, { server: { window: 16 * 1024 * 1024 } });
    const { client, server } = pair;
    const sums: Promise<string>[] = [];
    server.onChannelOpen((req) => {
      const ch = req.accept();
      const h = createHash('sha256');
      ch.on('data', (d: Buffer) => h.update(d));
      sums.push(new Promise((resolve) => ch.on('end', () => resolve(h.digest('hex')))));
    });
    const chans = await Promise.all([0, 1, 2, 3].map(() => client.openChannel('test@sshwire', new Uint8Array(0))));
    // The server stops reading: the kernel buffers fill, our socket writes stay pending and queue up.
    sockets[1].pause();
    const expected = chans.map((ch, c) => {
      const data = patternBytes(6 * 1024 * 1024 + c * 777, c + 11);
      for (let off = 0; off < data.length; off += 50_001) ch.write(data.subarray(off, off + 50_001));
      ch.end();
      return sha256(data);
    });
    // Meanwhile small messages still go out (as window adjusts and keepalives would), each in a batch of its own.
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 20));
      ct.sendIgnore(new Uint8Array(1000).fill(i));
    }
    expect(ct.needsDrain).toBe(true);
    sockets[1].resume();
    await vi.waitFor(() => expect(sums.length).toBe(4), { timeout: 10_000 });
    expect((await Promise.all(sums)).sort()).toEqual([...expected].sort());
  });

  it('put reuses its file read buffers and the remote file is byte-exact', async () => {
    const client = await sftpOverPipes('sshwire-put-');
    const size = 24 * 1024 * 1024 + 4321;
    const data = patternBytes(size, 5);
    const local = join(dir!, 'local.bin');
    const remote = join(dir!, 'remote.bin');
    writeFileSync(local, data);
    // 32 KiB WRITEs read in 256 KiB blocks: ~96 blocks, 64 WRITEs (8 blocks) in flight.
    const blocks = await slowAllocsOf(256 * 1024, () => client.put(local, remote, { chunkSize: 32 * 1024 }));
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    // A fresh buffer per block would be ~96.
    expect(blocks).toBeGreaterThan(0);
    expect(blocks).toBeLessThan(40);
    await client.close();
  });

  it('putfo copies a producer\'s fresh chunks into reused slabs and the remote file is byte-exact', async () => {
    const client = await sftpOverPipes('sshwire-putfo-');
    const size = 24 * 1024 * 1024 + 4321;
    const data = patternBytes(size, 6);
    const remote = join(dir!, 'remote.bin');
    async function* fresh(): AsyncGenerator<Buffer> {
      // A new buffer per chunk, as fs.ReadStream hands out (odd sizes, so slabs straddle chunks).
      for (let at = 0; at < size; at += 65_521) yield Buffer.from(data.subarray(at, at + 65_521));
    }
    const chunkSize = 32 * 1024;
    const slabs = await slowAllocsOf(chunkSize, () => client.putfo(fresh(), remote, { chunkSize }));
    expect(sha256(readFileSync(remote))).toBe(sha256(data));
    // 769 WRITEs, a fresh buffer each before. A slab goes back once its
    // WRITE is written; over a pipe the answer may be read before that
    // write's callback runs, so up to 64 in flight plus those answered early.
    expect(slabs).toBeGreaterThan(0);
    expect(slabs).toBeLessThan(256);
    await client.close();
  });
});
