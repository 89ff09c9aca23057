/**
 * Paramiko and AsyncSSH clients (the system python3 packages) against our
 * server: exec with exit status and stderr, and an SFTP round trip.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, python, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let r: Running;
let payload: Buffer;

beforeAll(async () => {
  fx = makeFixture('sshwire-server-py-');
  r = await startServer(fx, { authorizedClientKeys: fx.authorizedKeys, spawnCommands: { cwd: fx.root }, sftp: { root: fx.root } });
  payload = Buffer.allocUnsafe(3 * 1024 * 1024 + 17);
  randomFillSync(payload);
  writeFileSync(join(fx.dir, 'payload.bin'), payload);
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const PARAMIKO = `
import sys, paramiko
port, key, kh, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
c = paramiko.SSHClient()
c.load_host_keys(kh)
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.connect('127.0.0.1', port=port, username='tester', key_filename=key, allow_agent=False, look_for_keys=False)
i, o, e = c.exec_command('echo out; echo err >&2; exit 5')
print('exec', o.read().decode().strip(), e.read().decode().strip(), o.channel.recv_exit_status())
s = c.open_sftp()
s.put(src, 'pm.bin')
s.get('pm.bin', dst)
print('listdir', sorted(s.listdir('.')))
s.rename('pm.bin', 'pm2.bin')
print('stat', s.stat('pm2.bin').st_size)
s.close(); c.close()
`;

const ASYNCSSH = `
import sys, asyncio, asyncssh
async def main():
    port, key, kh, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    async with asyncssh.connect('127.0.0.1', port=port, username='tester', client_keys=[key], known_hosts=kh, agent_path=None) as conn:
        r = await conn.run('echo out; echo err >&2; exit 6')
        print('exec', r.stdout.strip(), r.stderr.strip(), r.exit_status)
        async with conn.start_sftp_client() as s:
            await s.put(src, 'as.bin')
            await s.get('as.bin', dst)
            print('listdir', sorted(await s.listdir('.')))
            await s.posix_rename('as.bin', 'as2.bin')
            print('stat', (await s.stat('as2.bin')).size)
asyncio.run(main())
`;

describe('Python SSH clients against the sshwire server', () => {
  it('Paramiko: exec and SFTP', async () => {
    const dst = join(fx.dir, 'pm-back.bin');
    const res = await python(PARAMIKO, [String(r.port), fx.key, r.knownHosts, join(fx.dir, 'payload.bin'), dst]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('exec out err 5');
    expect(res.stdout).toMatch(/listdir \[.*'pm\.bin'.*\]/);
    expect(res.stdout).toContain(`stat ${payload.length}`);
    expect(sha(readFileSync(dst))).toBe(sha(payload));
  });

  it('AsyncSSH: exec and SFTP', async () => {
    const dst = join(fx.dir, 'as-back.bin');
    const res = await python(ASYNCSSH, [String(r.port), fx.key, r.knownHosts, join(fx.dir, 'payload.bin'), dst]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('exec out err 6');
    expect(res.stdout).toMatch(/listdir \[.*'as\.bin'.*\]/);
    expect(res.stdout).toContain(`stat ${payload.length}`);
    expect(sha(readFileSync(dst))).toBe(sha(payload));
  });
});
