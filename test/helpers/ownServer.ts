/** Connecting our client to one of our own test servers on 127.0.0.1. */
import type { ConnectOptions } from '../../ts/index.js';

/** Options for `connect()` to our server listening on `port`: no host key check, config, agent or keys unless `extra` says so. */
export function ownServerLogin(port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port, username: 'tester', knownHosts: null, config: false, agent: false, clientKeys: null, ...extra };
}
