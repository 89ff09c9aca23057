/**
 * Options checked before anything is opened. A client builds its
 * transport after the TCP connect and its connection layer after the
 * login, and each validates its options only then; running the same
 * validation here first makes a bad value fail at once, without touching
 * the network. The rules stay with the layers that own them.
 */
import { type ConnectionOptions, resolveConnectionOptions } from '../connection/index.js';
import { buildAlgorithmLists, type TransportOptions } from '../transport/index.js';
import { resolveOptions } from '../transport/options.js';

/**
 * Throws what building the transport and the connection layer on these
 * options would throw: SSHException `ERR_SSH_BAD_OPTION` (rekeyBytes,
 * rekeySeconds, keepaliveInterval, keepaliveCountMax, timeouts, window,
 * maxPacketSize, requestTimeout, ...) or NegotiationError (a category of
 * algorithms left with nothing usable).
 */
export function checkClientOptions(transport: TransportOptions, connection: ConnectionOptions): void {
  resolveOptions(transport);
  buildAlgorithmLists(transport.algorithms, transport.disabledAlgorithms);
  resolveConnectionOptions(connection);
}
