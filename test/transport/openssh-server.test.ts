/**
 * Interop: OpenSSH 9.2's ssh client against our server Transport. A tiny
 * server accepts ssh-userauth and answers every auth request with FAILURE
 * (or, for the compression case, SUCCESS and then refuses the channel), and
 * the client's -vvv log shows what was negotiated.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canServeCipher, canServeMac } from '../../ts/crypto/index.js';
import { canServeKex } from '../../ts/transport/algorithms.js';
import { Transport } from '../../ts/transport/index.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { allHostKeys } from '../helpers/pair.js';
import { mapLimit } from '../helpers/sshd.js';

const query = (what: string) => execFileSync('ssh', ['-Q', what], { encoding: 'utf8' }).trim().split('\n');
const ourKex = query('kex').filter(canServeKex);
const ourCiphers = query('cipher').filter(canServeCipher);
const ourMacs = query('mac').filter(canServeMac);
const ourHostKeys = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

let listener: net.Server;
let port = 0;
const closedErrors: (Error | null)[] = [];

/** Our test server: FAILURE for every auth request except user "compress", which succeeds; channels are refused. */
function serve(sock: net.Socket): void {
  const t = new Transport(sock, {
    role: 'server',
    hostKeys: allHostKeys(),
    algorithms: { kex: ourKex, serverHostKey: ourHostKeys, cipher: ourCiphers, mac: ourMacs, compression: ['none', 'zlib@openssh.com', 'zlib'] },
  });
  t.onMessage((type, payload) => {
    if (type === MSG.USERAUTH_REQUEST) {
      const r = new SSHReader(payload);
      r.byte();
      const user = r.utf8();
      if (user === 'compress') t.send(Uint8Array.of(MSG.USERAUTH_SUCCESS));
      else t.send(new SSHWriter().byte(MSG.USERAUTH_FAILURE).nameList(['publickey']).boolean(false).toBytes());
    } else if (type === MSG.CHANNEL_OPEN) {
      const r = new SSHReader(payload);
      r.byte();
      r.string();
      const sender = r.uint32();
      t.send(new SSHWriter().byte(MSG.CHANNEL_OPEN_FAILURE).uint32(sender).uint32(1).string('sshwire transport test').string('').toBytes());
    } else if (type === MSG.GLOBAL_REQUEST) {
      const r = new SSHReader(payload);
      r.byte();
      r.string();
      if (r.boolean()) t.send(Uint8Array.of(MSG.REQUEST_FAILURE));
    }
  });
  t.closed.then((e) => closedErrors.push(e));
}

beforeAll(async () => {
  listener = net.createServer(serve);
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

/** Runs ssh -vvv with extra -o options; resolves with its stderr. */
function ssh(options: string[], user = 'root', killAfterMs = 0): Promise<string> {
  const args = [
    '-vvv', '-F', '/dev/null', '-p', String(port),
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'PubkeyAuthentication=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'ConnectTimeout=10',
    ...options.flatMap((o) => ['-o', o]),
    `${user}@127.0.0.1`, 'true',
  ];
  return new Promise((resolve) => {
    const child = execFile('ssh', args, { timeout: 20_000 }, (_err, _stdout, stderr) => resolve(stderr));
    if (killAfterMs > 0) setTimeout(() => child.kill('SIGTERM'), killAfterMs);
  });
}

describe('OpenSSH ssh client against our server', () => {
  const cases: { label: string; options: string[]; expect: RegExp[] }[] = [];
  for (const kex of ourKex) cases.push({ label: `kex ${kex}`, options: [`KexAlgorithms=${kex}`], expect: [new RegExp(`kex: algorithm: ${kex.replace(/[.@]/g, '\\$&')}\\b`)] });
  for (const c of ourCiphers) cases.push({ label: `cipher ${c}`, options: [`Ciphers=${c}`], expect: [new RegExp(`server->client cipher: ${c.replace(/[.@]/g, '\\$&')} `), new RegExp(`client->server cipher: ${c.replace(/[.@]/g, '\\$&')} `)] });
  for (const m of ourMacs) cases.push({ label: `mac ${m}`, options: ['Ciphers=aes128-ctr', `MACs=${m}`], expect: [new RegExp(`server->client cipher: aes128-ctr MAC: ${m.replace(/[.@]/g, '\\$&')} `)] });
  for (const h of ourHostKeys) cases.push({ label: `host key ${h}`, options: [`HostKeyAlgorithms=${h}`], expect: [new RegExp(`kex: host key algorithm: ${h}\\b`)] });

  it('completes the kex and reaches user auth for every algorithm forced alone', async () => {
    const failures: string[] = [];
    await mapLimit(cases, 4, async (c) => {
      const log = await ssh(c.options);
      const wanted = [...c.expect, /will use strict KEX ordering/, /SSH2_MSG_SERVICE_ACCEPT received/, /Authentications that can continue: publickey/];
      for (const re of wanted) if (!re.test(log)) failures.push(`${c.label}: missing ${re} in\n${log.split('\n').slice(-15).join('\n')}`);
    });
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(32);
    // OpenSSH 9.2 offers the UMAC family by default: each must be among the forced cases.
    for (const m of ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com']) expect(cases.map((c) => c.label)).toContain(`mac ${m}`);
  });

  it('delayed compression (zlib@openssh.com) both ways after auth', async () => {
    const log = await ssh(['Compression=yes'], 'compress');
    expect(log).toMatch(/compression: zlib@openssh.com/);
    expect(log).toMatch(/Authenticated to .* using "none"/);
    expect(log).toMatch(/compress outgoing: raw data \d+, compressed \d+/);
    expect(log).toMatch(/compress incoming: raw data \d+, compressed \d+/);
    // The channel refusal travelled compressed from us and was read by ssh.
    expect(log).toMatch(/open failed: administratively prohibited: sshwire transport test/);
  });

  it('rekeys initiated by the ssh client (RekeyLimit by time) are handled', async () => {
    // -N: no session, ssh just stays connected and rekeys every second.
    const log = await ssh(['Compression=yes', 'RekeyLimit=default 1s', 'SessionType=none'], 'compress', 2500);
    const newkeys = log.match(/SSH2_MSG_NEWKEYS received/g) ?? [];
    expect(newkeys.length).toBeGreaterThanOrEqual(2); // the initial exchange and at least one rekey
    expect(log).not.toMatch(/Disconnecting|Connection closed by/);
  });
});
