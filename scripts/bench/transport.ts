/**
 * Transport benchmark: handshakes per second per kex method (our client and
 * server in one process over 127.0.0.1), and bulk packet throughput per
 * cipher (32 KiB test messages, client to server). Prints a table only.
 */
import { canServeCipher } from '../../ts/crypto/index.js';
import { canServeKex, DEFAULT_KEX } from '../../ts/transport/algorithms.js';
import type { Transport } from '../../ts/transport/index.js';
import { closeBoth, transportPair } from '../../test/helpers/pair.js';

async function handshakes(kex: string, seconds: number): Promise<number> {
  const start = Date.now();
  let n = 0;
  while (Date.now() - start < seconds * 1000) {
    const { client, server } = await transportPair({ client: { algorithms: { kex: [kex] }, gexRequest: { min: 2048, n: 2048, max: 2048 } }, server: { algorithms: { kex: [kex] } } });
    await Promise.all([client.ready, server.ready]);
    await closeBoth(client, server);
    n++;
  }
  return n / ((Date.now() - start) / 1000);
}

async function throughput(cipher: string, mac: string | undefined, totalBytes: number): Promise<number> {
  const algorithms = { cipher: [cipher], ...(mac ? { mac: [mac] } : {}) };
  const { client, server } = await transportPair({ client: { algorithms }, server: { algorithms } });
  await Promise.all([client.ready, server.ready]);
  const size = 32 * 1024;
  const count = Math.ceil(totalBytes / size);
  const msg = new Uint8Array(size).fill(7);
  msg[0] = 200;
  const start = process.hrtime.bigint();
  const done = new Promise<void>((resolve) => {
    let got = 0;
    server.onMessage((type) => type === 200 && ++got === count && resolve());
  });
  let sent = 0;
  const pump = (t: Transport) => {
    while (sent < count) {
      t.send(msg);
      sent++;
      if (t.needsDrain) return void t.once('drain', () => pump(t));
    }
  };
  pump(client);
  await done;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await closeBoth(client, server);
  return (count * size) / secs / 1e6;
}

const rows: string[][] = [['measure', 'algorithm', 'result']];
for (const kex of [...DEFAULT_KEX, 'diffie-hellman-group14-sha1'].filter(canServeKex)) {
  rows.push(['handshakes/s', kex, (await handshakes(kex, 1.5)).toFixed(1)]);
}
for (const [cipher, mac] of [
  ['chacha20-poly1305@openssh.com', undefined],
  ['aes128-gcm@openssh.com', undefined],
  ['aes256-gcm@openssh.com', undefined],
  ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
  ['aes256-ctr', 'hmac-sha2-512-etm@openssh.com'],
  ['aes128-ctr', 'hmac-sha2-256'],
] as [string, string | undefined][]) {
  if (!canServeCipher(cipher)) continue;
  rows.push(['MB/s client->server', mac ? `${cipher} + ${mac}` : cipher, (await throughput(cipher, mac, 128 * 1024 * 1024)).toFixed(0)]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
