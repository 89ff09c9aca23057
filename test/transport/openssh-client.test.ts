/**
 * Interop: our client Transport against OpenSSH 9.2's sshd (Debian's
 * /usr/sbin/sshd, started privately). A missing sshd fails, never skips.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canServeCipher, canServeMac } from '../../ts/crypto/index.js';
import { canServeKex } from '../../ts/transport/algorithms.js';
import { Transport, type AlgorithmOptions, type NegotiatedAlgorithms } from '../../ts/transport/index.js';
import { MSG, SSHWriter } from '../../ts/wire/index.js';
import { connectTo, mapLimit, startSshd, type Sshd } from '../helpers/sshd.js';
import { authenticate, authorizedKeyLine } from '../helpers/userauth.js';

const query = (what: string) => execFileSync('ssh', ['-Q', what], { encoding: 'utf8' }).trim().split('\n');

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd({ authorizedKeys: [authorizedKeyLine()], config: ['RekeyLimit 1M'] });
});
afterAll(async () => {
  await sshd?.stop();
});

async function connect(algorithms: AlgorithmOptions, extra: Partial<import('../../ts/transport/index.js').TransportOptions> = {}) {
  const sock = await connectTo(sshd.port);
  const hostKeys: string[] = [];
  const t = new Transport(sock, {
    role: 'client',
    algorithms,
    verifyHostKey: (type) => {
      hostKeys.push(type);
      return true;
    },
    ...extra,
  });
  return { t, hostKeys };
}

/** Kex, SERVICE_REQUEST ssh-userauth, SERVICE_ACCEPT; returns what was negotiated. */
async function handshake(algorithms: AlgorithmOptions): Promise<NegotiatedAlgorithms> {
  const { t } = await connect(algorithms);
  try {
    await t.ready;
    await t.requestService('ssh-userauth');
    expect(t.serverSigAlgs).toContain('rsa-sha2-512');
    return t.negotiated!;
  } finally {
    t.disconnect();
    await t.closed;
  }
}

describe('our client against OpenSSH sshd', () => {
  const cases: { label: string; algorithms: AlgorithmOptions; check: (n: NegotiatedAlgorithms) => void }[] = [];
  for (const kex of query('kex').filter(canServeKex)) cases.push({ label: `kex ${kex}`, algorithms: { kex: [kex] }, check: (n) => expect(n.kex).toBe(kex) });
  for (const cipher of query('cipher').filter(canServeCipher)) cases.push({ label: `cipher ${cipher}`, algorithms: { cipher: [cipher] }, check: (n) => expect([n.cipherCS, n.cipherSC]).toEqual([cipher, cipher]) });
  for (const mac of query('mac').filter(canServeMac)) cases.push({ label: `mac ${mac}`, algorithms: { cipher: ['aes128-ctr'], mac: [mac] }, check: (n) => expect([n.macCS, n.macSC]).toEqual([mac, mac]) });
  for (const hk of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
    cases.push({ label: `host key ${hk}`, algorithms: { serverHostKey: [hk] }, check: (n) => expect(n.hostKey).toBe(hk) });
  }
  for (const comp of ['zlib@openssh.com', 'none']) cases.push({ label: `compression ${comp}`, algorithms: { compression: [comp] }, check: (n) => expect(n.compressionCS).toBe(comp) });

  it(`completes ${cases.length} handshakes, each algorithm forced alone (kex, SERVICE_ACCEPT, strict kex)`, async () => {
    // sshd 9.2 serves the UMAC family: each must be among the forced cases.
    for (const m of ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com']) expect(cases.map((c) => c.label)).toContain(`mac ${m}`);
    const results = await mapLimit(cases, 4, async (c) => {
      try {
        const n = await handshake(c.algorithms);
        c.check(n);
        expect(n.strictKex).toBe(true);
        return `${c.label}: ok`;
      } catch (err) {
        return `${c.label}: FAILED ${(err as Error).message}`;
      }
    });
    expect(results.filter((r) => r.includes('FAILED'))).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(30);
  });

  it('rekeys: ours several times, and sshd-initiated after RekeyLimit 1M, with zlib@openssh.com on', async () => {
    const { t } = await connect({ compression: ['zlib@openssh.com'] }, { rekeyBytes: 1024 * 1024 * 1024 });
    try {
      await t.ready;
      await authenticate(t);
      let rekeys = 0;
      t.on('rekey', () => rekeys++);
      for (let i = 0; i < 3; i++) await t.renegotiateKeys();
      expect(rekeys).toBe(3);
      // sshd counts what it receives: 3 MiB of incompressible IGNORE data makes it start a rekey itself.
      const { randomBytes } = await import('node:crypto');
      for (let i = 0; i < 100; i++) t.sendIgnore(randomBytes(30_000));
      const deadline = Date.now() + 10_000;
      while (rekeys < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(rekeys).toBeGreaterThanOrEqual(4);
      // The session still works both ways: a global request gets its reply.
      const reply = new Promise<number>((resolve) => t.onMessage((type) => (type === MSG.REQUEST_FAILURE || type === MSG.REQUEST_SUCCESS) && resolve(type)));
      t.send(new SSHWriter().byte(MSG.GLOBAL_REQUEST).string('nothing@sshwire').boolean(true).toBytes());
      expect(await reply).toBe(MSG.REQUEST_FAILURE);
      expect(sshd.log()).toMatch(/rekex triggered|KEXINIT sent/);
    } finally {
      t.disconnect();
      await t.closed;
    }
  });

  it('keepalive against sshd: replies keep the connection up', async () => {
    // Unanswered, 4 probes 100 ms apart end the connection by about 500 ms; answered, it is still up
    // at 1 s (each reply may take up to 400 ms, so a loaded machine does not end it).
    const { t } = await connect({}, { keepaliveInterval: 100, keepaliveCountMax: 4 });
    try {
      await t.ready;
      await authenticate(t);
      await new Promise((r) => setTimeout(r, 1000));
      expect(t.isClosed).toBe(false);
    } finally {
      t.disconnect();
      await t.closed;
    }
  });
});
