/**
 * Turning the client command-line options (`-p`, `-i`, `-l`, `-F`,
 * `--accept-new`) into `connect()` options. Everything else — User,
 * Port, IdentityFile, HostName, ProxyJump, known hosts — comes from
 * ~/.ssh/config and ~/.ssh/known_hosts, as with OpenSSH.
 */
import { AutoAddPolicy, type ConnectOptions } from '../client.js';
import type { Target } from './target.js';

export interface ClientFlags {
  port?: string;
  identity?: string[];
  login?: string;
  config?: string;
  acceptNew?: boolean;
  password?: boolean;
  verbose?: boolean;
}

/** connect() options for a target and the flags given. */
export function connectOptions(target: Target, flags: ClientFlags, password?: string): ConnectOptions {
  const o: ConnectOptions = { host: target.host };
  const user = target.user ?? flags.login;
  if (user) o.username = user;
  if (flags.port !== undefined) o.port = Number(flags.port);
  if (flags.identity && flags.identity.length > 0) o.clientKeys = flags.identity;
  if (flags.config !== undefined) o.config = flags.config === 'none' ? false : flags.config;
  if (flags.acceptNew) o.hostKeyPolicy = new AutoAddPolicy();
  if (password !== undefined) o.password = password;
  if (flags.verbose) o.debug = (m) => process.stderr.write(`debug: ${m}\n`);
  return o;
}
