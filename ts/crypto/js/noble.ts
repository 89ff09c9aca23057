/**
 * The @noble modules, each loaded on first use.
 *
 * They back the pure-JS fallbacks (SSHWIRE_BACKEND=js, FIPS mode, no wasm),
 * which most processes never touch. Imported eagerly they cost ~3 MB of V8
 * heap in every process, and on bulk transfers that is enough to tip V8
 * into a mark-compact every few MiB (node:crypto's per-packet buffers count
 * against the old generation's slack; docs/PERFORMANCE.md, "V8's
 * collections on the bulk path"). `require` of these ES modules is
 * synchronous on Node 20.19+, so callers stay synchronous.
 */
import { createRequire } from 'node:module';
import type * as Ed25519 from '@noble/curves/ed25519.js';
import type * as Nist from '@noble/curves/nist.js';
import type * as Aes from '@noble/ciphers/aes.js';
import type * as Chacha from '@noble/ciphers/chacha.js';
import type * as Poly1305 from '@noble/ciphers/_poly1305.js';
import type * as Argon2 from '@noble/hashes/argon2.js';
import type * as Hmac from '@noble/hashes/hmac.js';
import type * as Legacy from '@noble/hashes/legacy.js';
import type * as Sha2 from '@noble/hashes/sha2.js';
import type * as MlKem from '@noble/post-quantum/ml-kem.js';

const load = createRequire(import.meta.url);

/** `make()`'s value, computed on the first call and kept. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

function lazy<T>(id: string): () => T {
  return once(() => load(id) as T);
}

export const nobleEd25519 = lazy<typeof Ed25519>('@noble/curves/ed25519.js');
export const nobleNist = lazy<typeof Nist>('@noble/curves/nist.js');
export const nobleAes = lazy<typeof Aes>('@noble/ciphers/aes.js');
export const nobleChacha = lazy<typeof Chacha>('@noble/ciphers/chacha.js');
export const noblePoly1305 = lazy<typeof Poly1305>('@noble/ciphers/_poly1305.js');
export const nobleArgon2 = lazy<typeof Argon2>('@noble/hashes/argon2.js');
export const nobleHmac = lazy<typeof Hmac>('@noble/hashes/hmac.js');
export const nobleLegacy = lazy<typeof Legacy>('@noble/hashes/legacy.js');
export const nobleSha2 = lazy<typeof Sha2>('@noble/hashes/sha2.js');
export const nobleMlKem = lazy<typeof MlKem>('@noble/post-quantum/ml-kem.js');
