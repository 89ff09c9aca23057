/** A TCP listener that counts and drops connections, to show a client refused its options before connecting. */
import * as net from 'node:net';
import { afterEach, beforeEach } from 'vitest';

/**
 * Starts a counting listener on 127.0.0.1 before each test of the calling
 * suite and closes it after. Read `port` and `accepted` inside tests; a
 * connect that gets as far as TCP fails fast, with some other error.
 */
export function useCountingServer(): { readonly port: number; readonly accepted: number } {
  const state = { server: null as net.Server | null, port: 0, accepted: 0 };
  beforeEach(async () => {
    state.accepted = 0;
    const server = net.createServer((s) => {
      state.accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    state.server = server;
    state.port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await new Promise((r) => state.server?.close(r));
  });
  return {
    get port() {
      return state.port;
    },
    get accepted() {
      return state.accepted;
    },
  };
}
