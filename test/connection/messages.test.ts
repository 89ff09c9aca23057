import { describe, expect, it } from 'vitest';
import {
  channelIdMessage,
  channelOpenMessage,
  channelRequestMessage,
  openConfirmationMessage,
  sshString,
  sshStringPair,
} from '../../ts/connection/messages.js';
import { TimeoutError } from '../../ts/errors.js';
import { deferred, guarded } from '../../ts/connection/wait.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';

// The fast encoders must produce exactly what the general writer does.
const texts = ['', 'true', 'cat /dev/shm/file', 'echo "grüße" ✓ 𝄞', 'x'.repeat(5000), 'lone \ud800 surrogate'];

describe('connection message encoders', () => {
  it('sshString and sshStringPair match SSHWriter for text and bytes', () => {
    for (const t of texts) {
      expect(Buffer.from(sshString(t))).toEqual(Buffer.from(new SSHWriter().string(t).toBytes()));
      expect(Buffer.from(sshStringPair(t, `${t}=v`))).toEqual(Buffer.from(new SSHWriter().string(t).string(`${t}=v`).toBytes()));
    }
    const bytes = Uint8Array.of(0, 1, 2, 255);
    expect(Buffer.from(sshString(bytes))).toEqual(Buffer.from(new SSHWriter().string(bytes).toBytes()));
  });

  it('CHANNEL_REQUEST, CHANNEL_OPEN, OPEN_CONFIRMATION and id-only messages match SSHWriter', () => {
    for (const t of texts) {
      for (const wantReply of [true, false]) {
        const data = sshString(t);
        const expected = new SSHWriter().byte(MSG.CHANNEL_REQUEST).uint32(0xfffffffe).string('exec').boolean(wantReply).raw(data).toBytes();
        expect(Buffer.from(channelRequestMessage(0xfffffffe, 'exec', wantReply, data))).toEqual(Buffer.from(expected));
      }
      const extra = new TextEncoder().encode(t);
      const open = new SSHWriter().byte(MSG.CHANNEL_OPEN).string('session').uint32(7).uint32(2 ** 21).uint32(32768).raw(extra).toBytes();
      expect(Buffer.from(channelOpenMessage('session', 7, 2 ** 21, 32768, extra))).toEqual(Buffer.from(open));
    }
    const conf = new SSHWriter().byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(1).uint32(2).uint32(0xffffffff).uint32(262144).toBytes();
    expect(Buffer.from(openConfirmationMessage(1, 2, 0xffffffff, 262144))).toEqual(Buffer.from(conf));
    for (const type of [MSG.CHANNEL_EOF, MSG.CHANNEL_CLOSE, MSG.CHANNEL_SUCCESS, MSG.CHANNEL_FAILURE]) {
      expect(Buffer.from(channelIdMessage(type, 123456789))).toEqual(Buffer.from(new SSHWriter().byte(type).uint32(123456789).toBytes()));
    }
  });

  it('a request name with non-ASCII text round-trips through SSHReader', () => {
    const m = channelRequestMessage(3, 'näme@example.com', true, sshStringPair('K', 'ü'));
    const r = new SSHReader(m, 'test', 1);
    expect(r.uint32()).toBe(3);
    expect(r.utf8(1024)).toBe('näme@example.com');
    expect(r.boolean()).toBe(true);
    expect(r.utf8(1024)).toBe('K');
    expect(r.utf8(1024)).toBe('ü');
    r.end();
  });
});

describe('guarded waits', () => {
  it('resolves with the deferred and clears its timer', async () => {
    const d = deferred<number>();
    const p = guarded(d, { timeout: 50 }, 'thing');
    d.resolve(5);
    expect(await p).toBe(5);
    // Past the timeout nothing fires: the promise stays resolved, giving up never ran.
    let gaveUp = false;
    const d2 = deferred<number>();
    const p2 = guarded(d2, { timeout: 20 }, 'thing', () => (gaveUp = true));
    d2.resolve(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(await p2).toBe(1);
    expect(gaveUp).toBe(false);
  });

  it('times out with TimeoutError after onGiveUp; a late resolve is ignored', async () => {
    const d = deferred<number>();
    let gaveUp = false;
    const p = guarded(d, { timeout: 10 }, 'the reply', () => (gaveUp = true));
    await expect(p).rejects.toThrow(TimeoutError);
    await expect(p).rejects.toThrow('the reply: no answer within 10 ms');
    expect(gaveUp).toBe(true);
    d.resolve(3);
    await expect(p).rejects.toThrow(TimeoutError);
  });

  it('rejects with the signal reason on abort, also when already aborted', async () => {
    const ac = new AbortController();
    const d = deferred<number>();
    const p = guarded(d, { signal: ac.signal, timeout: 10_000 }, 'x');
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    const d2 = deferred<number>();
    await expect(guarded(d2, { signal: ac.signal }, 'x')).rejects.toBe(reason);
  });
});
