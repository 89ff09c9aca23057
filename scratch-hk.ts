import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from './ts/client.js';
import { startSshd } from './test/helpers/sshd.js';
import { makeKey } from './test/auth/system.js';
import { makeTempDir } from './test/keys/helpers.js';
const tmp = makeTempDir('hk-');
const key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
const sshd = await startSshd({ authorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()] });
const name = `[127.0.0.1]:${sshd.port}`;
const [t, b] = sshd.hostPublicKeys['ssh-ed25519']!.split(/\s+/);
const file = join(tmp.dir, 'kh');
writeFileSync(file, `${name} ${t} ${b}\n`);
const conn = await connect({ host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: key, agent: false, lookForKeys: false, config: false, knownHosts: file, updateHostKeys: true,
  algorithms: { serverHostKey: ['ssh-ed25519'] },
  debug: (m) => { if (!/local|peer/.test(m)) console.log('DBG', m.slice(0, 200)); },
  serverHostKeysHandler: (u) => console.log('handler', u.host, 'added', u.added.map(k => k.keyType), 'removed', u.removed.length, 'retained', u.retained.length, 'recorded', u.recorded) });
await new Promise((r) => setTimeout(r, 1000));
conn.close(); await conn.closed; await sshd.stop(); tmp.cleanup();
