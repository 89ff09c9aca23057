/**
 * `sshwire serve`: the embedded server for trying things out. The host key
 * is generated once and kept in the sshwire config directory (so clients
 * can pin it); a client key is kept there too, and a one-time password is
 * printed at every start. Commands run as local processes; SFTP serves the
 * root directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { AUTH_FAILED, AUTH_SUCCESSFUL } from '../auth/index.js';
import { PrivateKey } from '../keys/index.js';
import { listen, type SSHServer } from '../server.js';

export interface ServeFlags {
  root?: string;
  port?: string;
  host?: string;
  user?: string;
  stateDir?: string;
  verbose?: boolean;
}

/** Loads `path`, or generates an ed25519 key there (mode 0600). */
function persistentKey(path: string): PrivateKey {
  if (existsSync(path)) return PrivateKey.fromFile(path);
  const k = PrivateKey.generate('ed25519');
  k.comment = 'sshwire';
  k.writePrivateKeyFile(path);
  writeFileSync(`${path}.pub`, `${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')} sshwire\n`, { mode: 0o644 });
  return k;
}

export function defaultStateDir(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'sshwire');
}

/** Starts the server and prints how to reach it; resolves with it (it runs until closed). */
export async function serve(flags: ServeFlags, out: (line: string) => void = (l) => console.log(l)): Promise<SSHServer> {
  const state = resolve(flags.stateDir ?? defaultStateDir());
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const hostKey = persistentKey(join(state, 'host_ed25519'));
  const clientKeyPath = join(state, 'client_ed25519');
  const clientKey = persistentKey(clientKeyPath);
  const clientBlob = Buffer.from(clientKey.publicKeyBlob);
  const user = flags.user ?? userInfo().username;
  const password = randomBytes(12).toString('base64url');
  const root = resolve(flags.root ?? process.cwd());
  const host = flags.host ?? '127.0.0.1';
  const server = await listen({
    host,
    port: Number(flags.port ?? 0),
    hostKeys: [hostKey],
    server: {
      checkAuthPublickey: (u, key) => (u === user && clientBlob.equals(key.blob) ? AUTH_SUCCESSFUL : AUTH_FAILED),
      checkAuthPassword: (u, pw) => (u === user && pw === password ? AUTH_SUCCESSFUL : AUTH_FAILED),
      checkChannelEnvRequest: () => true,
    },
    spawnCommands: { cwd: root },
    sftp: { root },
    ...(flags.verbose ? { debug: (m: string) => process.stderr.write(`${m}\n`) } : {}),
  });
  server.on('error', (err: Error, conn: { remoteAddress: string } | null) => {
    process.stderr.write(`sshwire: ${conn ? conn.remoteAddress + ': ' : ''}${err.name}: ${err.message}\n`);
  });
  const { port } = server.address();
  const knownHosts = join(state, 'known_hosts');
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const hostPattern = port === 22 ? shown : `[${shown}]:${port}`;
  writeFileSync(knownHosts, `${hostPattern} ${hostKey.keyType} ${Buffer.from(hostKey.publicKeyBlob).toString('base64')}\n`);
  const opts = `-p ${port} -o UserKnownHostsFile=${knownHosts}`;
  out(`sshwire server listening on ${host}:${port}, serving ${root}`);
  out(`host key: ${hostKey.keyType} ${hostKey.fingerprint}`);
  out(`user ${user}: one-time password ${password}  (or key ${clientKeyPath})`);
  out('');
  out(`  ssh ${opts} -i ${clientKeyPath} ${user}@${shown}`);
  out(`  sftp -P ${port} -o UserKnownHostsFile=${knownHosts} -i ${clientKeyPath} ${user}@${shown}`);
  out(`  ssh ${opts} ${user}@${shown}      # password login`);
  out('');
  out('Ctrl-C stops the server.');
  return server;
}
