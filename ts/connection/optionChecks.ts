/**
 * Options checked before anything is opened. A client builds its transport
 * after the TCP connect and its connection layer after the login, a server
 * both per accepted connection, and each layer validates its options only
 * then; running the same validation first makes a bad value fail at once,
 * without touching the network. The rules stay with the layers that own them.
 */
import { buildAlgorithmLists, resolveTransportOptions, type TransportOptions } from '../transport/index.js';
import { type ConnectionOptions, resolveConnectionOptions } from './connection.js';

/**
 * Throws what building the transport and the connection layer on these
 * options would throw: SSHException `ERR_SSH_BAD_OPTION` (rekeyBytes,
 * rekeySeconds, keepalive, timeouts, window, maxPacketSize, requestTimeout,
 * ...) or NegotiationError (a category of algorithms left with nothing
 * usable; `hostKeyUsable` filters host key algorithms as the server's
 * Transport does by its keys).
 */
export function checkLayerOptions(transport: TransportOptions, connection: ConnectionOptions, hostKeyUsable?: (alg: string) => boolean): void {
  resolveTransportOptions(transport);
  buildAlgorithmLists(transport.algorithms, transport.disabledAlgorithms, hostKeyUsable);
  resolveConnectionOptions(connection);
}
