/**
 * The SSH transport layer. See README.md in this folder for the upward API
 * the auth and connection layers use.
 */
export { Transport, MAX_PACKET_LENGTH, type MessageHandler } from './transport.js';
export type { TransportOptions } from './options.js';
export { DEFAULT_VERSION, resolveOptions as resolveTransportOptions, checkDuration, MAX_TIMER_MS, type DurationRule } from './options.js';
export { loadModuliFile } from './kex/moduli.js';
export type { SessionBinding } from './kex/exchange.js';
export { HOSTBOUND_EXTENSION } from './ext-info.js';
export { gssKexNames, type GssKexAcceptor, type GssKexInitiator, type GssKexOptions } from './kex/gss.js';
export {
  DEFAULT_KEX,
  DEFAULT_HOST_KEY,
  DEFAULT_PLAIN_HOST_KEY,
  keyTypeOfHostKeyAlgorithm,
  DEFAULT_CIPHER,
  DEFAULT_MAC,
  DEFAULT_COMPRESSION,
  buildAlgorithmLists,
  negotiate,
  type AlgorithmOptions,
  type AlgorithmLists,
  type NegotiatedAlgorithms,
} from './algorithms.js';
export { MAX_PAYLOAD } from './outbound.js';
