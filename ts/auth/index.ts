/**
 * User authentication (RFC 4252, RFC 4256), client and server roles.
 * Sits above the transport; works with `Signer`s and callbacks, never with
 * key files or agents directly (ts/client.ts wires those in).
 */
export {
  AUTH_SUCCESSFUL,
  AUTH_PARTIALLY_SUCCESSFUL,
  AUTH_FAILED,
  USERAUTH_SERVICE,
  CONNECTION_SERVICE,
  type AuthResult,
  type AuthMethod,
} from './constants.js';
export type { Prompt, InfoRequest } from './messages.js';
export type { AuthTransport } from './transport.js';
export { DEFAULT_PUBLICKEY_ALGORITHMS, signatureAlgorithmsToTry } from './signatureAlgorithms.js';
export {
  UserAuthClient,
  authenticateClient,
  type AttemptResult,
  type BannerHandler,
  type ClientAuthOptions,
  type ClientAuthResult,
  type GssClientContext,
  type GssClientMechanism,
  type KeySource,
  type KeyboardInteractiveHandler,
  type PasswordChangeHandler,
  type UserAuthClientOptions,
} from './client.js';
export {
  UserAuthServer,
  InteractiveQuery,
  serverAuthLimits,
  type AuthServerInterface,
  type GssServerContext,
  type GssServerMechanism,
  type PublicKeyInfo,
  type ServerAuthOptions,
  type ServerAuthResult,
} from './server.js';
