/**
 * Issue 3 acceptance, part 4: against Debian's OpenSSH 9.2 sshd.
 * - 64 MiB each way through `connect()` + exec across an sshd with
 *   `RekeyLimit 1M`: byte-exact (sha256), while sshd rekeys every MiB and
 *   we call `renegotiateKeys()` mid-stream.
 * - Strict kex is on with sshd, and a message injected (by a proxy) into
 *   sshd's initial kex, before NEWKEYS, is fatal for our client.
 * - EXT_INFO `server-sig-algs` (and `ping@openssh.com` when announced) from sshd.
 * - A negotiation failure names both sides' lists.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type SSHClientConnection } from '../../ts/client.js';
import { NegotiationError, ProtocolError } from '../../ts/errors.js';
import { Transport } from '../../ts/transport/index.js';
import { MSG } from '../../ts/wire/index.js';
import { plainPacket } from '../helpers/raw.js';
import { makeKey } from '../auth/system.js';
import { connectTo, rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
let dir: string;
let dataFile: string;
let dataHash: string;
let sshd: Sshd;
let conn: SSHClientConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sshwire-acc3-'));
  const key = makeKey(dir, 'id_ed25519', 'ed25519');
  // Memory-backed, so disk speed plays no part.
  const shm = mkdtempSync('/dev/shm/sshwire-acc3-');
  dataFile = join(shm, 'data.bin');
  const data = randomBytes(SIZE);
  writeFileSync(dataFile, data);
  dataHash = createHash('sha256').update(data).digest('hex');
  sshd = await startSshdTrusting(key, { config: ['RekeyLimit 1M'] });
  conn = await connect(rootLogin(sshd, key));
}, 60_000);

afterAll(async () => {
  conn?.close();
  await conn?.closed;
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (dataFile) rmSync(join(dataFile, '..'), { recursive: true, force: true });
});

describe('rekeying across sshd with RekeyLimit 1M', () => {
  it('64 MiB from sshd (cat) arrives byte-exact while sshd rekeys every MiB and we rekey mid-stream', async () => {
    let rekeys = 0;
    const onRekey = () => rekeys++;
    conn.transport.on('rekey', onRekey);
    const ours: Promise<void>[] = [];
    const proc = await conn.exec(`cat ${dataFile}`);
    const h = createHash('sha256');
    let received = 0;
    const marks = [8 * MiB, 24 * MiB, 40 * MiB];
    proc.stdout.on('data', (d: Buffer) => {
      h.update(d);
      received += d.length;
      // Rekeys of our own while data is in flight.
      while (marks.length && received >= marks[0]!) {
        marks.shift();
        ours.push(conn.transport.renegotiateKeys());
      }
    });
    const stderr: Buffer[] = [];
    proc.stderr.on('data', (d: Buffer) => stderr.push(d));
    const exit = await proc.exit;
    await Promise.all(ours);
    conn.transport.off('rekey', onRekey);
    expect(Buffer.concat(stderr).toString()).toBe('');
    expect(exit.exitStatus).toBe(0);
    expect(received).toBe(SIZE);
    expect(h.digest('hex')).toBe(dataHash);
    expect(ours).toHaveLength(3);
    // Our volume limit is the default 1 GiB, so every other rekey was sshd's (about one per MiB sent).
    expect(rekeys - ours.length).toBeGreaterThanOrEqual(32);
  });

  it('64 MiB to sshd (sha256sum of stdin) arrives byte-exact while sshd rekeys on what it receives', async () => {
    let rekeys = 0;
    const onRekey = () => rekeys++;
    conn.transport.on('rekey', onRekey);
    const proc = await conn.exec('sha256sum');
    const out: Buffer[] = [];
    proc.stdout.on('data', (d: Buffer) => out.push(d));
    const data = readFileSync(dataFile);
    let off = 0;
    let renegotiated: Promise<void> | null = null;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (off < data.length) {
          const chunk = data.subarray(off, off + 256 * 1024);
          off += chunk.length;
          if (!renegotiated && off >= 20 * MiB) renegotiated = conn.transport.renegotiateKeys();
          if (!proc.stdin.write(chunk)) return void proc.stdin.once('drain', pump);
        }
        proc.stdin.end(resolve);
      };
      proc.stdin.on('error', reject);
      pump();
    });
    const exit = await proc.exit;
    await renegotiated;
    conn.transport.off('rekey', onRekey);
    expect(exit.exitStatus).toBe(0);
    expect(Buffer.concat(out).toString().split(/\s/)[0]).toBe(dataHash);
    // sshd checks its volume limit when it sends, and an upload makes it send little: fewer, but still many, rekeys.
    expect(rekeys - 1).toBeGreaterThanOrEqual(16);
  });

  it('the negotiated state names everything in use, with strict kex on', () => {
    const n = conn.negotiated!;
    expect(n.kex).toBe('sntrup761x25519-sha512'); // OpenSSH 9.2 has no ML-KEM; sntrup761 is the next on our list it shares
    expect(n.hostKey).toBe('ssh-ed25519');
    expect(n.cipherCS).toBe('chacha20-poly1305@openssh.com');
    expect(n.strictKex).toBe(true);
    expect(Object.keys(n).sort()).toEqual(expect.arrayContaining(['kex', 'hostKey', 'cipherCS', 'cipherSC', 'macCS', 'macSC', 'compressionCS', 'compressionSC', 'strictKex']));
  });
});

/**
 * A proxy between our client and sshd that frames sshd's plaintext packets
 * (everything before its NEWKEYS) and lets `onPacket` add packets after one.
 */
async function framingProxy(onPacket: (payload: Buffer) => Buffer[]): Promise<{ port: number; close(): void }> {
  const proxy = net.createServer(async (inbound) => {
    const outbound = await connectTo(sshd.port);
    for (const s of [inbound, outbound]) s.on('error', () => {});
    inbound.on('data', (d) => outbound.write(d));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    let pending = Buffer.alloc(0);
    let versionDone = false;
    let plaintext = true;
    outbound.on('data', (d: Buffer) => {
      if (!plaintext) return void inbound.write(d);
      pending = Buffer.concat([pending, d]);
      if (!versionDone) {
        const nl = pending.indexOf(0x0a);
        if (nl < 0) return;
        inbound.write(pending.subarray(0, nl + 1));
        pending = pending.subarray(nl + 1);
        versionDone = true;
      }
      while (plaintext && pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const len = pending.readUInt32BE(0);
        const packet = pending.subarray(0, 4 + len);
        pending = pending.subarray(4 + len);
        const payload = packet.subarray(5, 4 + len - packet[4]!);
        inbound.write(packet);
        for (const extra of onPacket(Buffer.from(payload))) inbound.write(plainPacket(extra));
        if (payload[0] === MSG.NEWKEYS) plaintext = false;
      }
      if (!plaintext && pending.length) inbound.write(pending);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return { port: (proxy.address() as net.AddressInfo).port, close: () => proxy.close() };
}

describe('strict kex with OpenSSH', () => {
  it('is on, and a message injected into the initial kex before NEWKEYS is fatal', async () => {
    let inject = false;
    let injected = 0;
    const proxy = await framingProxy((payload) => {
      if (inject && payload[0] === MSG.KEXINIT) {
        injected++;
        return [Buffer.from([MSG.IGNORE, 0, 0, 0, 3, 1, 2, 3])];
      }
      return [];
    });
    const viaProxy = async () => new Transport(await connectTo(proxy.port), { role: 'client', verifyHostKey: () => true });

    // Through the proxy untouched: strict kex negotiated with sshd, the session works.
    const ok = await viaProxy();
    await ok.ready;
    expect(ok.negotiated!.strictKex).toBe(true);
    await ok.requestService('ssh-userauth');
    ok.disconnect();
    await ok.closed;

    // The same, with an IGNORE slipped in after sshd's KEXINIT.
    inject = true;
    const t = await viaProxy();
    const err = await t.closed;
    expect(injected).toBe(1);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err!.message).toMatch(/strict kex/);
    await expect(t.ready).rejects.toBeInstanceOf(ProtocolError);
    proxy.close();
  });
});

describe('extensions from sshd', () => {
  it('EXT_INFO server-sig-algs is parsed; ping@openssh.com is used when sshd announces it', async () => {
    const t = new Transport(await connectTo(sshd.port), { role: 'client', verifyHostKey: () => true });
    try {
      await t.ready;
      await t.requestService('ssh-userauth');
      expect(t.serverSigAlgs).toEqual(expect.arrayContaining(['ssh-ed25519', 'rsa-sha2-256', 'rsa-sha2-512', 'ecdsa-sha2-nistp256']));
      expect(t.peerExtensions.has('server-sig-algs')).toBe(true);
      // OpenSSH announces ping@openssh.com from 9.5 on; 9.2 does not, so we must not send it.
      expect(t.peerSupportsPing).toBe(t.peerExtensions.has('ping@openssh.com'));
      if (t.peerSupportsPing) await t.ping();
      else await expect(t.ping()).rejects.toMatchObject({ code: 'ERR_SSH_UNSUPPORTED' });
    } finally {
      t.disconnect();
      await t.closed;
    }
  });
});

describe('negotiation failure', () => {
  it('names the category and both sides’ lists (sshd 9.2 has no ML-KEM)', async () => {
    const t = new Transport(await connectTo(sshd.port), { role: 'client', verifyHostKey: () => true, algorithms: { kex: ['mlkem768x25519-sha256'] } });
    const err = await t.closed;
    expect(err).toBeInstanceOf(NegotiationError);
    expect(err!.message).toMatch(/kex/);
    expect(err!.message).toContain('mlkem768x25519-sha256');
    expect(err!.message).toContain('curve25519-sha256'); // from sshd's list
  });
});
