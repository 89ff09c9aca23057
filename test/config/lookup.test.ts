import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigParseError, TimeoutError } from '../../ts/errors.js';
import { ConfigSyntaxError, SSHConfig, type LookupOptions } from '../../ts/config/index.js';

/** Fixed local facts so token expansion is deterministic. */
const LOCAL: LookupOptions = { localUser: 'alice', homeDir: '/home/alice', localHostname: 'ws1.corp.example', uid: 1000, env: { PROJ: 'proj' } };

const look = (text: string, host: string, extra: LookupOptions = {}) =>
  SSHConfig.fromText(text).lookupSync(host, { ...LOCAL, ...extra });

describe('precedence', () => {
  it('first obtained value wins, specific blocks before generic', () => {
    const cfg = `
Host web1
  User deploy
  Port 2201
Host web*
  User www
  Port 2200
  Compression yes
Host *
  User nobody
  Compression no
  ServerAliveInterval 30
`;
    const d = look(cfg, 'web1');
    expect(d.get('user')).toBe('deploy');
    expect(d.asInt('port')).toBe(2201);
    expect(d.asBool('compression')).toBe(true);
    expect(d.asInt('serveraliveinterval')).toBe(30);
    const d2 = look(cfg, 'web2');
    expect(d2.get('user')).toBe('www');
    expect(d2.port).toBe(2200);
    const d3 = look(cfg, 'db');
    expect(d3.user).toBe('nobody');
    expect(d3.asBool('compression')).toBe(false);
    expect(d3.has('port')).toBe(false);
    expect(d3.port).toBe(22);
  });

  it('options before any Host line apply to every host', () => {
    const d = look('User top\nHost x\n  User late\n', 'x');
    expect(d.user).toBe('top');
  });

  it('caller user and port override the file (like ssh -l / -p)', () => {
    const cfg = 'Host x\n  User fileuser\n  Port 2222\nMatch user bob\n  Compression yes\n';
    const d = look(cfg, 'x', { user: 'bob', port: 2022 });
    expect(d.user).toBe('bob');
    expect(d.port).toBe(2022);
    expect(d.asBool('compression')).toBe(true);
  });

  it('keywords are case-insensitive and keys come back lowercase', () => {
    const d = look('HOST x\n  pOrT 2000\n  IDENTITYFILE /k\n', 'x');
    expect(d.get('Port')).toBe('2000');
    expect([...d.keys()].sort()).toEqual(['hostname', 'identityfile', 'port']);
  });

  it('maps deprecated keyword spellings to the current ones', () => {
    const d = look('PubkeyAcceptedKeyTypes ssh-ed25519\n', 'x');
    expect(d.get('pubkeyacceptedalgorithms')).toBe('ssh-ed25519');
  });

  it('HostName defaults to the looked-up name', () => {
    expect(look('Port 1\n', 'plain').hostname).toBe('plain');
    expect(look('Host a\n  HostName 10.0.0.1\n', 'a').hostname).toBe('10.0.0.1');
  });
});

describe('Host patterns', () => {
  it('supports wildcards, several patterns and negation', () => {
    const cfg = `
Host !bastion.example.com *.example.com other
  ProxyJump bastion.example.com
Host 10.0.0.?
  User ip
`;
    expect(look(cfg, 'db.example.com').get('proxyjump')).toBe('bastion.example.com');
    expect(look(cfg, 'other').get('proxyjump')).toBe('bastion.example.com');
    expect(look(cfg, 'bastion.example.com').has('proxyjump')).toBe(false);
    expect(look(cfg, '10.0.0.5').user).toBe('ip');
    expect(look(cfg, '10.0.0.55').user).toBeUndefined();
  });

  it('a line of only negations never matches', () => {
    expect(look('Host !a\n  User u\n', 'b').user).toBeUndefined();
  });

  it('treats commas in Host as literal characters (as OpenSSH does)', () => {
    expect(look('Host a,b\n  User u\n', 'a').user).toBeUndefined();
  });

  it('matches Host patterns case-sensitively against the name as given', () => {
    const cfg = 'Host FOO\n  User upper\nHost foo\n  Port 2\nHost *\n  HostName %h.Example.COM\n';
    const d = look(cfg, 'FOO');
    expect(d.user).toBe('upper');
    expect(d.has('port')).toBe(false);
    // The final hostname is lowercased, as ssh does.
    expect(d.hostname).toBe('foo.example.com');
  });
});

describe('Match', () => {
  it('host matches the HostName-substituted name, originalhost the given one', () => {
    const cfg = `
Host short
  HostName %h.internal.example
Match host *.internal.example
  User internal
Match originalhost short
  Port 2022
Match host short
  Compression yes
`;
    const d = look(cfg, 'short');
    expect(d.hostname).toBe('short.internal.example');
    expect(d.user).toBe('internal');
    expect(d.port).toBe(2022);
    expect(d.has('compression')).toBe(false);
  });

  it('user, localuser, negation and pattern lists', () => {
    const cfg = `
Match user root,admin* !localuser mallory
  RequestTTY yes
Match !user root
  ForwardAgent no
Match localuser alice
  ForwardX11 yes
`;
    const asRoot = look(cfg, 'h', { user: 'root' });
    expect(asRoot.get('requesttty')).toBe('yes');
    expect(asRoot.has('forwardagent')).toBe(false);
    expect(asRoot.get('forwardx11')).toBe('yes');
    const mallory = look(cfg, 'h', { user: 'admin2', localUser: 'mallory' });
    expect(mallory.has('requesttty')).toBe(false);
    expect(mallory.get('forwardagent')).toBe('no');
    expect(mallory.has('forwardx11')).toBe(false);
  });

  it('Match user sees a User set earlier in the file; default is the local user', () => {
    const cfg = 'Host x\n  User bob\nMatch user bob\n  Port 1\nMatch user alice\n  Port 2\n';
    expect(look(cfg, 'x').port).toBe(1);
    expect(look(cfg, 'y').port).toBe(2);
  });

  it('Match all, and all after canonical/final', () => {
    const cfg = 'Match final all\n  User fin\nMatch all\n  Port 99\n';
    const d = look(cfg, 'h');
    expect(d.port).toBe(99);
    expect(d.user).toBe('fin');
  });

  it('final and canonical blocks apply in the second pass only, after first-pass values', () => {
    const cfg = `
Match canonical
  IdentityFile /canon
Match final
  IdentityFile /final
  User finaluser
Match !final
  IdentityFile /notfinal
Host x
  User firstpass
`;
    const d = look(cfg, 'x');
    expect(d.identityFiles).toEqual(['/notfinal', '/canon', '/final']);
    // "User firstpass" was obtained in the first pass, so the final pass cannot override it.
    expect(d.user).toBe('firstpass');
  });

  it('the final pass matches Host against the final hostname', () => {
    const cfg = `
Host alias
  HostName real.example.com
Host real.example.com
  User realuser
Match final
  Compression yes
`;
    const d = look(cfg, 'alias');
    expect(d.user).toBe('realuser');
    // Without a final pass the real name's block never applies.
    expect(look('Host alias\n  HostName real.example.com\nHost real.example.com\n  User realuser\n', 'alias').user).toBeUndefined();
  });

  it('without Match final there is a single pass', () => {
    const d = look('Match canonical\n  User c\n', 'h');
    expect(d.user).toBeUndefined();
  });

  it('exec runs through /bin/sh with tokens and its exit status decides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sshcfg-exec-'));
    try {
      const marker = join(dir, 'ran');
      const cfg = `
Match exec "test %h = yes-host"
  User via-exec
Match !exec "exit 3"
  Port 2300
Match exec "test %n = never" exec "touch ${marker}"
  Compression yes
Match originalhost nomatch exec "touch ${marker}"
  Compression yes
`;
      const d = look(cfg, 'yes-host');
      expect(d.user).toBe('via-exec');
      expect(d.port).toBe(2300);
      expect(d.has('compression')).toBe(false);
      // Commands after a failed criterion are not run.
      expect(existsSync(marker)).toBe(false);
      expect(look(cfg, 'other').user).toBeUndefined();
      // ...and the same command does run when reached.
      look(`Match exec "touch ${marker}"\n  User x\n`, 'h');
      expect(existsSync(marker)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('async lookup runs exec without blocking and agrees with lookupSync', async () => {
    const cfg = 'Match exec "test %r = alice"\n  Port 7\n';
    const d = await SSHConfig.fromText(cfg).lookup('h', LOCAL);
    expect(d.port).toBe(7);
  });

  it('allowExec: false runs nothing and counts exec as failed', () => {
    const cfg = 'Match exec "exit 0"\n  User ran\nMatch !exec "exit 0"\n  Port 5\n';
    const d = look(cfg, 'h', { allowExec: false });
    expect(d.user).toBeUndefined();
    expect(d.port).toBe(5);
  });

  it('exec that runs too long is killed and raises TimeoutError', async () => {
    // "exec" so the shell is the sleep itself: the sync runner can only kill the process it started.
    const cfg = 'Host *\nMatch exec "exec sleep 5"\n  User slow\n';
    expect(() => look(cfg, 'h', { execTimeoutMs: 100 })).toThrow(TimeoutError);
    await expect(SSHConfig.fromText(cfg).lookup('h', { ...LOCAL, execTimeoutMs: 100 })).rejects.toThrow(/line 2: .*sleep 5/);
  });
});

describe('token expansion', () => {
  const host = 'target';
  const hostname = 'target.example.com';
  const expectedC = createHash('sha1').update('ws1.corp.example' + hostname + '2222' + 'bob').digest('hex');

  it('expands each token in IdentityFile', () => {
    const cfg = `
Host target
  HostName %h.example.com
  User bob
  Port 2222
  IdentityFile /k/%%-%h-%p-%r-%u-%l-%L-%d-%n-%i-%C-%k
`;
    const d = look(cfg, host);
    expect(d.identityFiles).toEqual([
      `/k/%-${hostname}-2222-bob-alice-ws1.corp.example-ws1-/home/alice-target-1000-${expectedC}-target`,
    ]);
  });

  it('uses HostKeyAlias for %k and the local user for %r when no User is set', () => {
    const d = look('HostKeyAlias kalias\nControlPath /s/%k-%r\n', 'h');
    expect(d.get('controlpath')).toBe('/s/kalias-alice');
  });

  it('expands ~ and ${VAR} in paths', () => {
    const cfg = 'IdentityFile ~/.ssh/id_${PROJ}\nUserKnownHostsFile ~/kh1 "/with space/kh2"\nCertificateFile ~\n';
    const d = look(cfg, 'h');
    expect(d.identityFiles).toEqual(['/home/alice/.ssh/id_proj']);
    expect(d.getAll('userknownhostsfile')).toEqual(['/home/alice/kh1', '/with space/kh2']);
    expect(d.certificateFiles).toEqual(['/home/alice']);
  });

  it('HostName accepts %h only', () => {
    expect(look('HostName %h.lan\n', 'box').hostname).toBe('box.lan');
    expect(() => look('HostName %u.lan\n', 'box')).toThrow(/line 1: .*%u/);
  });

  it('ProxyCommand and ProxyJump get %h %n %p %r and %% only', () => {
    const cfg = 'Host j\n  HostName real\n  Port 2200\n  User u\n  ProxyCommand ssh -W %h:%p %r@gw # %n %%\n';
    expect(look(cfg, 'j').proxyCommand).toBe('ssh -W real:2200 u@gw # j %');
    expect(() => look('ProxyCommand nc %d\n', 'x')).toThrow(ConfigSyntaxError);
    expect(look('ProxyJump %r@jump\n', 'x').get('proxyjump')).toBe('alice@jump');
  });

  it('leaves runtime tokens in LocalCommand and KnownHostsCommand for the client', () => {
    const d = look('LocalCommand echo %T %h\nKnownHostsCommand /bin/kh %H %f %u\n', 'x');
    expect(d.get('localcommand')).toBe('echo %T x');
    expect(d.get('knownhostscommand')).toBe('/bin/kh %H %f alice');
  });

  it('reports unknown tokens, a trailing %, and unset variables with file and line', () => {
    const cases: [string, RegExp][] = [
      ['Port 22\nIdentityFile /a/%Q\n', /line 2: .*%Q/],
      ['ControlPath /a/%\n', /line 1: .*trailing %/],
      ['IdentityFile ${NOPE_NOT_SET}/x\n', /line 1: .*NOPE_NOT_SET/],
    ];
    for (const [cfg, re] of cases) {
      let err: unknown;
      try {
        look(cfg, 'x');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigParseError);
      expect(String((err as Error).message)).toMatch(re);
    }
  });

  it('expandTokens: false returns values as written', () => {
    const d = look('IdentityFile ~/.ssh/id_%h\n', 'x', { expandTokens: false });
    expect(d.identityFiles).toEqual(['~/.ssh/id_%h']);
  });
});

describe('values', () => {
  it('accumulates multi-valued keywords (de-duplicated) and keeps first-wins for the rest', () => {
    const cfg = `
Host x
  IdentityFile /k1
  LocalForward 8080 localhost:80
  SendEnv LANG LC_*
  DynamicForward 1080
  RemoteForward 9000 localhost:9000
  UserKnownHostsFile /kh1
Host *
  IdentityFile /k2
  IdentityFile /k1
  CertificateFile /c1
  CertificateFile /c2
  LocalForward 8081 localhost:81
  SendEnv FOO
  SendEnv -LC_*
  UserKnownHostsFile /kh2
  SetEnv A=1 "B=two words"
  SetEnv C=3
`;
    const d = look(cfg, 'x');
    expect(d.identityFiles).toEqual(['/k1', '/k2']);
    expect(d.certificateFiles).toEqual(['/c1', '/c2']);
    expect(d.getAll('localforward')).toEqual(['8080 localhost:80', '8081 localhost:81']);
    expect(d.getAll('remoteforward')).toEqual(['9000 localhost:9000']);
    expect(d.getAll('dynamicforward')).toEqual(['1080']);
    expect(d.getAll('sendenv')).toEqual(['LANG', 'FOO']);
    expect(d.getAll('userknownhostsfile')).toEqual(['/kh1']);
    // OpenSSH 9.2 keeps only the first SetEnv line (checked against ssh -G).
    expect(d.getAll('setenv')).toEqual(['A=1', 'B=two words']);
    expect(d.isMultiValued('identityfile')).toBe(true);
    expect(d.get('identityfile')).toBe('/k1');
    expect(d.toObject()['identityfile']).toEqual(['/k1', '/k2']);
    expect(d.toObject()['port']).toBeUndefined();
  });

  it('handles quoted values and "=" syntax', () => {
    const cfg = 'Host=q\n  User = "first last"\n  IdentityFile="/path with/space"\n  Port=2022\n  IdentityFile e\\ f\n';
    const d = look(cfg, 'q');
    expect(d.user).toBe('first last');
    expect(d.identityFiles).toEqual(['/path with/space', 'e f']);
    expect(d.port).toBe(2022);
  });

  it('ProxyCommand keeps its raw text; ProxyCommand none is dropped and blocks ProxyJump', () => {
    const cfg = `
Host raw
  ProxyCommand sh -c "nc '%h' %p"
Host none
  ProxyCommand none
Host *
  ProxyJump jump
  ProxyCommand later
`;
    expect(look(cfg, 'raw').proxyCommand).toBe(`sh -c "nc 'raw' 22"`);
    expect(look(cfg, 'raw').has('proxyjump')).toBe(false);
    const n = look(cfg, 'none');
    expect(n.has('proxycommand')).toBe(false);
    expect(n.has('proxyjump')).toBe(false);
    const other = look(cfg, 'other');
    expect(other.get('proxyjump')).toBe('jump');
    expect(other.has('proxycommand')).toBe(false);
    expect(other.proxyJumpHops()).toEqual([{ host: 'jump' }]);
  });

  it('asBool / asInt', () => {
    const d = look('PasswordAuthentication no\nCompression yes\nServerAliveInterval 60\nForwardAgent true\nLogLevel DEBUG\n', 'x');
    expect(d.asBool('passwordauthentication')).toBe(false);
    expect(d.asBool('compression')).toBe(true);
    expect(d.asBool('forwardagent')).toBe(true);
    expect(d.asBool('missing')).toBe(false);
    expect(d.asBool('missing', true)).toBe(true);
    expect(d.asInt('serveraliveinterval')).toBe(60);
    expect(d.asInt('missing')).toBeUndefined();
    expect(d.asInt('missing', 5)).toBe(5);
    expect(() => d.asInt('loglevel')).toThrow(ConfigParseError);
  });

  it('keeps unknown keywords unless strict', () => {
    expect(look('FutureOption a b\n', 'x').getAll('futureoption')).toEqual(['a', 'b']);
    expect(() => SSHConfig.fromText('FutureOption a\n', { strict: true })).toThrow(/line 1: bad configuration option/);
  });

  it('getHostnames lists every Host pattern', () => {
    const cfg = SSHConfig.fromText('Host a b\nHost *.x !c\nMatch host z\nHost a\n');
    expect([...cfg.getHostnames()].sort()).toEqual(['!c', '*.x', 'a', 'b']);
  });

  it('parse() appends: earlier text wins', () => {
    const cfg = new SSHConfig().parse('Host x\n  User one\n').parse('Host *\n  User two\n  Port 3\n');
    const d = cfg.lookupSync('x', LOCAL);
    expect(d.user).toBe('one');
    expect(d.port).toBe(3);
  });
});

describe('malformed input', () => {
  const cases: [string, number, RegExp][] = [
    ['Host x\n  User "abc\n', 2, /unterminated quote/],
    ['Host x\nMatch foo bar\n', 2, /unsupported Match criterion "foo"/],
    ['Match host\n', 1, /missing argument for Match host/],
    ['Match all host x\n', 1, /cannot be combined/],
    ['\n\nPort abc\n', 3, /bad port/],
    ['Port 1 2\n', 1, /garbage at end of line/],
    ['Host x\n  User\n', 2, /no argument/],
    ['Host\n', 1, /no argument/],
    ['IdentityFile ""\n', 1, /empty argument/],
    ['SetEnv NOEQUALS\n', 1, /SetEnv/],
    ['CanonicalizeHostname maybe\n', 1, /bad value/],
    ['ProxyJump host:99999\n', 1, /port/],
    ['Match\t#nothing\n', 1, /no argument|at least one/],
  ];
  for (const [text, line, re] of cases) {
    it(`${JSON.stringify(text)} -> line ${line}`, () => {
      let err: unknown;
      try {
        SSHConfig.fromText(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigSyntaxError);
      expect(err).toBeInstanceOf(ConfigParseError);
      expect((err as ConfigSyntaxError).line).toBe(line);
      expect((err as ConfigSyntaxError).file).toBe('(config text)');
      expect((err as Error).message).toMatch(re);
    });
  }
});
