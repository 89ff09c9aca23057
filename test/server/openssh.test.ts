/**
 * OpenSSH's `ssh` client against our server (spawnCommands: real local
 * processes): exec with exit statuses and stderr, a pty shell, environment
 * passing, and every cipher, MAC and kex the OpenSSH 9.2 client offers by
 * default, each forced alone.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAlgorithmLists } from '../../ts/transport/index.js';
import { bounded, makeFixture, ssh, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let r: Running;

beforeAll(async () => {
  fx = makeFixture();
  r = await startServer(fx, {
    authorizedClientKeys: fx.authorizedKeys,
    spawnCommands: { cwd: fx.root },
    acceptEnv: ['LANG', 'LC_*', 'SSHWIRE_*'],
  });
});

afterAll(async () => {
  await r?.server.close();
  fx?.cleanup();
});

/** The algorithm lists `ssh` offers with no configuration. */
function opensshDefaults(): Record<'ciphers' | 'macs' | 'kexalgorithms', string[]> {
  const out = execFileSync('ssh', ['-G', '-F', '/dev/null', 'example.invalid'], { encoding: 'utf8' });
  const get = (k: string): string[] => out.split('\n').find((l) => l.startsWith(`${k} `))!.slice(k.length + 1).split(',');
  return { ciphers: get('ciphers'), macs: get('macs'), kexalgorithms: get('kexalgorithms') };
}

describe('OpenSSH ssh against the sshwire server', () => {
  it('runs commands and reports exit statuses and stderr', async () => {
    const ok = await ssh(fx, r, ['echo out; echo err >&2; exit 0']);
    expect(ok).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
    const fail = await ssh(fx, r, ['exit 42']);
    expect(fail.code).toBe(42);
    const cwd = await ssh(fx, r, ['pwd']);
    expect(cwd.stdout.trim()).toBe(fx.root);
  });

  it('feeds stdin to the command and returns a large output intact', async () => {
    const input = 'x'.repeat(3_000_000);
    const res = await ssh(fx, r, ['wc -c; head -c 5000000 /dev/zero | tr "\\0" y']);
    expect(res.code).toBe(0);
    const big = await ssh(fx, r, ['cat'], { input });
    expect(big.stdout).toBe(input);
    expect(res.stdout.startsWith('0\n')).toBe(true);
    expect(res.stdout.length).toBe(2 + 5_000_000);
  });

  it('moves bulk data both ways under each UMAC MAC (aes128-ctr)', async () => {
    const input = 'u'.repeat(1_500_000);
    for (const mac of ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com']) {
      const res = await ssh(fx, r, ['cat; head -c 700000 /dev/zero | tr "\\0" v'], { input, extra: ['-c', 'aes128-ctr', '-m', mac] });
      expect(res.code, mac).toBe(0);
      expect(res.stdout.length, mac).toBe(input.length + 700_000);
      expect(res.stdout === input + 'v'.repeat(700_000), mac).toBe(true);
    }
  }, 60_000);

  it('works with delayed compression (zlib@openssh.com, ssh -C)', async () => {
    const res = await ssh(fx, r, ['head -c 200000 /dev/zero | tr "\\0" z; echo; exit 3'], { extra: ['-C'] });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('z'.repeat(200000) + '\n');
  });

  it('reports a signal death as exit-signal', async () => {
    const res = await ssh(fx, r, ['kill -TERM $$']);
    // ssh exits 255 when the remote command was killed by a signal.
    expect(res.code).toBe(255);
    expect(res.stderr).not.toMatch(/refused|denied|timed out/i);
  });

  it('passes SendEnv/SetEnv variables that acceptEnv allows, and drops others', async () => {
    const res = await ssh(fx, r, ['echo "$SSHWIRE_A|$SSHWIRE_B|$OTHER_X"'], {
      env: { ...process.env, SSH_AUTH_SOCK: '', SSHWIRE_A: 'alpha', OTHER_X: 'nope' },
      extra: ['-o', 'SendEnv=SSHWIRE_A OTHER_X', '-o', 'SetEnv=SSHWIRE_B=beta'],
    });
    expect(res.stdout).toBe('alpha|beta|\n');
  });

  it('gives ssh -tt a pseudo-terminal shell', async () => {
    const res = await ssh(fx, r, [], { input: 'tty; echo "TERM=$TERM"; exit 7\n', extra: ['-tt', '-o', 'SetEnv=TERM=vt220'] });
    expect(res.code).toBe(7);
    expect(res.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(res.stdout).toMatch(/TERM=\S+/);
  });

  describe('every default algorithm of the OpenSSH client, forced alone', () => {
    const defaults = opensshDefaults();
    const served = buildAlgorithmLists(undefined, undefined);

    it('serves all of them, the UMAC family included', () => {
      const missing = [
        ...defaults.ciphers.filter((c) => !served.cipher.includes(c)),
        ...defaults.macs.filter((m) => !served.mac.includes(m)),
        ...defaults.kexalgorithms.filter((k) => !served.kex.includes(k)),
      ];
      expect(missing).toEqual([]);
      expect(defaults.macs.filter((m) => m.startsWith('umac-')).length).toBe(4);
      expect(defaults.kexalgorithms).toContain('sntrup761x25519-sha512@openssh.com');
    });

    const cases: { what: string; opts: string[]; expectOk: boolean }[] = [
      ...defaults.ciphers.map((c) => ({ what: `cipher ${c}`, opts: ['-c', c], expectOk: served.cipher.includes(c) })),
      // MACs only matter with a non-AEAD cipher.
      ...defaults.macs.map((m) => ({ what: `mac ${m}`, opts: ['-c', 'aes128-ctr', '-m', m], expectOk: served.mac.includes(m) })),
      ...defaults.kexalgorithms.map((k) => ({ what: `kex ${k}`, opts: ['-o', `KexAlgorithms=${k}`], expectOk: served.kex.includes(k) })),
    ];

    it(`negotiates each of ${cases.length} algorithms and runs a command`, async () => {
      const results = await bounded(
        cases.map((c) => async () => {
          const res = await ssh(fx, r, ['echo ok'], { extra: c.opts });
          return { what: c.what, expectOk: c.expectOk, ok: res.code === 0 && res.stdout === 'ok\n', stderr: res.stderr };
        }),
        4,
      );
      const wrong = results.filter((x) => x.ok !== x.expectOk).map((x) => `${x.what}: ${x.ok ? 'worked' : 'failed'} (${x.stderr.trim()})`);
      expect(wrong).toEqual([]);
    }, 240_000);
  });
});
