/** Hashes and HMAC from @noble/hashes. */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { Hash, HashName } from '../types.js';

export const JS_HASHES = { sha1, sha256, sha384, sha512 } as const;

export function jsCreateHash(name: HashName): Hash {
  const h = JS_HASHES[name].create();
  const wrapper: Hash = {
    update(data) {
      h.update(data);
      return wrapper;
    },
    digest: () => h.digest(),
  };
  return wrapper;
}

export function jsHmac(name: HashName, key: Uint8Array, parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(JS_HASHES[name], key);
  for (const p of parts) h.update(p);
  return h.digest();
}
