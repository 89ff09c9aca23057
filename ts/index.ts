/**
 * sshwire: a complete SSH-2 library for Node.js.
 *
 * Everything public is exported from here, for both `import` and `require`.
 */
export * from './errors.js';
export { getBackendInfo } from './crypto/index.js';
export type { BackendInfo, BackendName, PrimitiveChoice } from './crypto/types.js';
