/** Hashes and HMAC from @noble/hashes. */
import { nobleHmac, nobleLegacy, nobleSha2, once } from './noble.js';
import type { Hash, HashName } from '../types.js';

/** The @noble hash functions by name (loaded on first use). */
export const jsHashes = once(() => {
  const { sha256, sha384, sha512 } = nobleSha2();
  return { sha1: nobleLegacy().sha1, sha256, sha384, sha512 } as const;
});

export function jsCreateHash(name: HashName): Hash {
  const h = jsHashes()[name].create();
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
  const h = nobleHmac().hmac.create(jsHashes()[name], key);
  for (const p of parts) h.update(p);
  return h.digest();
}
