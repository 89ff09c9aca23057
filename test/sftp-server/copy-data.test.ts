/**
 * copy-data on the server: a copy within one handle or one path is refused
 * (as OpenSSH's sftp-server does), so is one between two names of a file
 * when the handles tell their identity (LocalFilesystem's do), and length 0
 * copies the source as it was when the copy started, so a copy onto itself
 * through names the server cannot see through ends instead of reading back
 * what it writes, for ever.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFilesystem, SFTPServerSession, type SFTPHandle, type SFTPServerInterface } from '../../ts/sftp/server/index.js';
import { EXT, FX, FXF, FXP } from '../../ts/wire/sftpConstants.js';
import { packet, ReplyReader, str, u32, u64 } from './raw.js';

let dir: string;
let toServer: PassThrough;
let replies: ReplyReader;
let session: SFTPServerSession;
let nextId = 1;

/** A LocalFilesystem whose handles do not tell their identity, as a custom SFTPServerInterface may not. */
class Anonymous extends LocalFilesystem {
  override async open(...args: Parameters<LocalFilesystem['open']>): Promise<SFTPHandle> {
    const h = await super.open(...args);
    return { read: (o, n) => h.read!(o, n), write: (o, d) => h.write!(o, d), stat: () => h.stat!(), close: () => h.close!() };
  }
}

async function startSession(fs: SFTPServerInterface): Promise<void> {
  toServer = new PassThrough();
  const fromServer = new PassThrough();
  session = new SFTPServerSession(Duplex.from({ readable: toServer, writable: fromServer }), fs);
  replies = new ReplyReader(fromServer);
  toServer.write(packet(FXP.INIT, null, u32(3)));
  expect((await replies.reply())[0]).toBe(FXP.VERSION);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sshwire-copydata-'));
  writeFileSync(join(dir, 'a'), Buffer.alloc(200_000, 0x61));
  symlinkSync('a', join(dir, 'alias'));
  await startSession(new LocalFilesystem(dir));
});

afterEach(async () => {
  toServer.end();
  await session.done;
  rmSync(dir, { recursive: true, force: true });
});

async function request(type: number, ...fields: Buffer[]): Promise<Buffer> {
  const id = nextId++;
  toServer.write(packet(type, id, ...fields));
  const reply = await replies.reply(10_000);
  expect(reply.readUInt32BE(1)).toBe(id);
  return reply;
}

async function open(path: string): Promise<Buffer> {
  const reply = await request(FXP.OPEN, str(path), u32(FXF.READ | FXF.WRITE), u32(0));
  expect(reply[0]).toBe(FXP.HANDLE);
  return reply.subarray(9, 9 + reply.readUInt32BE(5));
}

async function copyData(from: Buffer, readAt: number, length: number, to: Buffer, writeAt: number): Promise<{ code: number; message: string }> {
  const reply = await request(FXP.EXTENDED, str(EXT.COPY_DATA), str(from), u64(readAt), u64(length), str(to), u64(writeAt));
  expect(reply[0]).toBe(FXP.STATUS);
  return { code: reply.readUInt32BE(5), message: reply.subarray(13, 13 + reply.readUInt32BE(9)).toString() };
}

describe('copy-data limits', () => {
  it('refuses a copy within one handle', async () => {
    const h = await open('a');
    expect(await copyData(h, 0, 4 * 1024 * 1024, h, 1)).toMatchObject({ code: FX.FAILURE, message: expect.stringMatching(/same file/) });
    expect(readFileSync(join(dir, 'a')).length).toBe(200_000);
  });

  it('refuses a copy between two handles on one path, however it is spelled', async () => {
    const h1 = await open('a');
    const h2 = await open('/dir/../a');
    expect((await copyData(h1, 0, 0, h2, 1)).code).toBe(FX.FAILURE);
    expect(readFileSync(join(dir, 'a')).length).toBe(200_000);
  });

  it('refuses a copy between two names of one file when the handles tell their identity', async () => {
    const h1 = await open('a');
    const h2 = await open('alias');
    expect((await copyData(h1, 0, 0, h2, 200_000)).code).toBe(FX.FAILURE);
    expect(readFileSync(join(dir, 'a')).length).toBe(200_000);
  });

  it('length 0 onto the same file through a name the server cannot see through copies what was there when it started, and ends', async () => {
    toServer.end();
    await session.done;
    await startSession(new Anonymous(dir));
    const h1 = await open('a');
    const h2 = await open('alias');
    expect((await copyData(h1, 0, 0, h2, 200_000)).code).toBe(FX.OK);
    const after = readFileSync(join(dir, 'a'));
    expect(after.length).toBe(400_000);
    expect(after.every((b) => b === 0x61)).toBe(true);
  });

  it('still copies between different files, to the end with length 0', async () => {
    writeFileSync(join(dir, 'b'), '');
    const h1 = await open('a');
    const h2 = await open('b');
    expect((await copyData(h1, 100, 0, h2, 0)).code).toBe(FX.OK);
    expect(readFileSync(join(dir, 'b')).length).toBe(199_900);
  });
});
