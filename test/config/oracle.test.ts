/**
 * Compare lookups with OpenSSH itself: `ssh -G -F <file> <host>` prints the
 * effective configuration without touching the network.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SSHConfig, type SSHConfigDict } from '../../ts/config/index.js';
import { sshG } from './helpers.js';

let dir: string;
let configPath: string;

function sshGHere(host: string, extra: string[] = []): Map<string, string[]> {
  return sshG(configPath, host, extra);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sshcfg-oracle-'));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', '10-web.conf'), [
    'Host web*',
    '  User webops',
    '  IdentityFile /keys/web_%h',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'conf.d', '20-db.conf'), [
    'Match originalhost db* !user root',
    '  Port 5022',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'only-when-active.conf'), 'User fromcond\nHost never-matches-here\n');
  configPath = join(dir, 'config');
  writeFileSync(configPath, [
    '# a non-trivial config',
    'Host bastion',
    '  HostName 192.0.2.10',
    '  User jump',
    '  Port=2222',
    '  IdentityFile "/keys/with space/bastion"',
    '',
    'Host !bastion *.internal *.corp',
    '  ProxyJump bastion',
    '  ProxyCommand ignored-because-proxyjump-came-first',
    '',
    'Host short*',
    '  HostName %h.internal',
    '',
    'Match host *.internal user deploy',
    '  IdentityFile /keys/deploy_%r',
    '',
    'Match exec "test %n = viaexec"',
    '  ProxyCommand nc -X connect -x proxy:3128 "%h" %p # raw %%',
    '  User execuser',
    '',
    'Host legacy',
    '  ProxyCommand none',
    '  ProxyJump blocked-by-none',
    '',
    'Host *',
    `Include ${join(dir, 'conf.d')}/*.conf`,
    '',
    'Host cond*',
    `  Include ${join(dir, 'only-when-active.conf')}`,
    '  Port 7000',
    '',
    'Host *',
    '  IdentityFile ~/.ssh/id_ed25519',
    '  IdentityFile /keys/%r@%h:%p',
    '  UserKnownHostsFile ~/.ssh/kh_%h /etc/kh_%n',
    '  ControlPath ~/.ssh/cm-%C',
    '  Port 22',
    '',
    'Match final host web*.example.com',
    '  IdentityFile /keys/final-only',
    '',
  ].join('\n'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Compare the keys both sides print: hostname, user, port, identityfile list, proxy settings, expanded paths. */
function compare(host: string, opts: { user?: string } = {}): void {
  const g = sshGHere(host, opts.user !== undefined ? ['-l', opts.user] : []);
  const cfg = SSHConfig.fromPath(configPath);
  const expanded: SSHConfigDict = cfg.lookupSync(host, opts);
  // ssh -G prints IdentityFile and ProxyCommand as written, so compare those unexpanded.
  const raw: SSHConfigDict = cfg.lookupSync(host, { ...opts, expandTokens: false });

  expect(expanded.hostname, `${host}: hostname`).toBe(g.get('hostname')![0]);
  expect(expanded.user ?? (opts.user ?? execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()), `${host}: user`).toBe(g.get('user')![0]);
  expect(String(expanded.port), `${host}: port`).toBe(g.get('port')![0]);
  expect(raw.identityFiles, `${host}: identityfile`).toEqual(g.get('identityfile'));
  expect(raw.get('proxycommand'), `${host}: proxycommand`).toBe(g.get('proxycommand')?.[0]);
  expect(raw.get('proxyjump'), `${host}: proxyjump`).toBe(g.get('proxyjump')?.[0]);
  // ssh -G does expand these two.
  expect(expanded.get('userknownhostsfile'), `${host}: userknownhostsfile`).toBe(g.get('userknownhostsfile')![0]);
  expect(expanded.get('controlpath'), `${host}: controlpath`).toBe(g.get('controlpath')![0]);
}

describe('agreement with OpenSSH `ssh -G`', () => {
  const hosts = [
    'bastion',
    'app.internal',
    'shorty',
    'viaexec',
    'legacy',
    'web1',
    'web2.example.com',
    'db1',
    'cond1',
    'other',
    'APP.Corp',
  ];
  for (const host of hosts) {
    it(host, () => compare(host));
  }
  it('shorty as deploy (Match user)', () => compare('shorty', { user: 'deploy' }));
  it('db1 as root (negated Match user)', () => compare('db1', { user: 'root' }));
  it('db1 as deploy', () => compare('db1', { user: 'deploy' }));
});
