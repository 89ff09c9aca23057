/**
 * Channel throughput, our client ↔ our server in one process over
 * 127.0.0.1: MB/s for one channel each way, and for several channels at
 * once. Usage: node --import tsx scripts/bench/connection.ts [MiB] [cipher]
 */
import * as net from 'node:net';
import { Connection, type Channel } from '../../ts/connection/index.js';
import { createSigner, generatePrivateKey } from '../../ts/crypto/index.js';
import { Transport } from '../../ts/transport/index.js';

const MiB = 1024 * 1024;

async function pair(cipher?: string): Promise<{ client: Connection; server: Connection }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const cs = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => {
    cs.once('connect', r);
    cs.once('error', j);
  });
  const ss = await accepted;
  srv.close();
  const hostKey = createSigner(generatePrivateKey('ssh-ed25519'));
  const algorithms = cipher ? { cipher: [cipher] } : undefined;
  const st = new Transport(ss, { role: 'server', hostKeys: [hostKey], algorithms });
  const ct = new Transport(cs, { role: 'client', verifyHostKey: () => true, algorithms });
  await Promise.all([ct.ready, st.ready]);
  return { client: new Connection(ct, { role: 'client' }), server: new Connection(st, { role: 'server' }) };
}

/** Writes `bytes` into `w` as fast as backpressure allows. */
function pump(w: Channel, bytes: number): void {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  let sent = 0;
  const go = (): void => {
    while (sent < bytes) {
      const n = Math.min(chunk.length, bytes - sent);
      sent += n;
      if (!w.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        w.once('drain', go);
        return;
      }
    }
    w.end();
  };
  go();
}

function drain(r: Channel): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    r.on('data', (d: Buffer) => (n += d.length));
    r.once('end', () => resolve(n));
  });
}

async function oneWay(client: Connection, server: Connection, bytes: number, channels: number, upload: boolean): Promise<number> {
  const serverSide: Promise<Channel>[] = [];
  server.onChannelOpen((req) => {
    const ch = req.accept();
    serverSide.push(Promise.resolve(ch));
  });
  const opened = await Promise.all(Array.from({ length: channels }, () => client.openChannel('bench@sshwire', new Uint8Array(0))));
  const remote = await Promise.all(serverSide.splice(0));
  const per = Math.floor(bytes / channels);
  const t0 = process.hrtime.bigint();
  const done: Promise<number>[] = [];
  for (let i = 0; i < channels; i++) {
    const [src, dst] = upload ? [opened[i]!, remote[i]!] : [remote[i]!, opened[i]!];
    done.push(drain(dst));
    pump(src, per);
    // The receiver ends its side too, so CLOSE follows both EOFs.
    dst.once('end', () => dst.end());
  }
  const got = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (got !== per * channels) throw new Error(`received ${got} of ${per * channels} bytes`);
  return got / MiB / secs;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const cipher = process.argv[3];
  const { client, server } = await pair(cipher);
  const rows: [string, number][] = [];
  rows.push(['upload, 1 channel', await oneWay(client, server, mib * MiB, 1, true)]);
  rows.push(['download, 1 channel', await oneWay(client, server, mib * MiB, 1, false)]);
  rows.push(['download, 8 channels', await oneWay(client, server, mib * MiB, 8, false)]);
  console.log(`channel throughput, ${mib} MiB per run, cipher ${cipher ?? '(default)'}`);
  for (const [name, v] of rows) console.log(`  ${name.padEnd(24)} ${v.toFixed(1).padStart(8)} MiB/s`);
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
