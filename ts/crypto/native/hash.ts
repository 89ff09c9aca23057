/** Hashes and HMAC from node:crypto. */
import { createHash, createHmac } from 'node:crypto';
import type { Hash, HashName } from '../types.js';

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function nativeCreateHash(name: HashName): Hash {
  const h = createHash(name);
  const wrapper: Hash = {
    update(data) {
      h.update(data);
      return wrapper;
    },
    digest: () => view(h.digest()),
  };
  return wrapper;
}

export function nativeHmac(name: HashName, key: Uint8Array, parts: Uint8Array[]): Uint8Array {
  const h = createHmac(name, key);
  for (const p of parts) h.update(p);
  return view(h.digest());
}
