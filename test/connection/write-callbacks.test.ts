/**
 * A channel write's callback means "the bytes are no longer referenced":
 * for data handed to the transport as gathered parts, only once the
 * transport has copied them, also when the channel closes with writes still
 * queued behind such parts (the SFTP server reuses its READ buffers on it).
 */
import { describe, expect, it } from 'vitest';
import { Channel, type ChannelHost } from '../../ts/connection/channel.js';

interface Gathered {
  parts: Uint8Array[];
  onCopied: (() => void) | null;
}

/**
 * A channel on a fake connection that sends whatever the peer's window
 * allows and keeps gathered parts uncopied until the test says so.
 */
function channelWithFakeHost(remoteWindow = 1 << 20): { ch: Channel; gathered: Gathered[]; sent: Uint8Array[] } {
  const gathered: Gathered[] = [];
  const sent: Uint8Array[] = [];
  const host: ChannelHost = {
    send: (p) => void sent.push(p),
    sendGathered: (parts, onCopied) => void gathered.push({ parts: [...parts], onCopied }),
    schedule: (ch) => {
      while (ch._sendNext());
    },
    release: () => {},
    debug: () => {},
    requestTimeout: 0,
  };
  const ch = new Channel(host, {
    type: 'session',
    localId: 0,
    remoteId: 7,
    localWindow: 1 << 20,
    localMaxPacket: 32768,
    remoteWindow,
    remoteMaxPacket: 32768,
    role: 'server',
  });
  return { ch, gathered, sent };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('channel write callbacks and gathered parts', () => {
  it('calls a gathered write back only after the transport copied it', async () => {
    const { ch, gathered } = channelWithFakeHost();
    let called = 0;
    ch.write(Buffer.alloc(20000, 1), () => called++);
    await tick();
    expect(gathered).toHaveLength(1);
    expect(called).toBe(0);
    gathered[0]!.onCopied!();
    await tick();
    expect(called).toBe(1);
  });

  it('waits for earlier gathered packets when a write ends in a small packet that is copied at once', async () => {
    const { ch, gathered, sent } = channelWithFakeHost();
    let called = 0;
    // One full packet (gathered), then 1000 bytes: below the gathering threshold, copied into a payload.
    ch.write(Buffer.alloc(32768 + 1000, 4), () => called++);
    await tick();
    expect(gathered).toHaveLength(1);
    expect(sent.filter((p) => p[0] === 94)).toHaveLength(1);
    expect(called).toBe(0);
    gathered[0]!.onCopied!();
    await tick();
    expect(called).toBe(1);
  });

  it('holds back the callbacks of writes dropped at close until earlier gathered parts are copied', async () => {
    // The window takes one packet; the rest of the write waits in the channel.
    const { ch, gathered, sent } = channelWithFakeHost(32768);
    let called = 0;
    // 3 packets' worth: the first goes out as parts (views of this buffer), the rest stays queued.
    const data = Buffer.alloc(3 * 32768, 2);
    ch.write(data, () => called++);
    await tick();
    expect(gathered).toHaveLength(1);
    expect(gathered[0]!.parts.some((p) => p.buffer === data.buffer)).toBe(true);
    ch.destroy();
    await tick();
    // CLOSE went out and the rest was dropped, but the first packet still reads `data`.
    expect(sent.some((p) => p[0] === 97)).toBe(true);
    expect(called).toBe(0);
    gathered[0]!.onCopied!();
    await tick();
    expect(called).toBe(1);
  });

  it('releases held-back callbacks when the connection is lost (nothing will copy the parts any more)', async () => {
    const { ch, gathered } = channelWithFakeHost(32768);
    let called = 0;
    ch.on('error', () => {});
    void ch.exit.catch(() => {});
    ch.write(Buffer.alloc(3 * 32768, 3), () => called++);
    await tick();
    expect(gathered).toHaveLength(1);
    ch._connectionLost(new Error('connection lost'));
    await tick();
    expect(called).toBe(1);
    // A late onCopied from the closing transport changes nothing.
    gathered[0]!.onCopied?.();
    await tick();
    expect(called).toBe(1);
  });
});
