/**
 * Helpers for auth tests over our own transport pair: a ready client/server
 * Transport, a server policy built from plain data, and signers.
 */
import { createSigner, generatePrivateKey } from '../../ts/crypto/index.js';
import type { Signer } from '../../ts/crypto/types.js';
import type { Transport, TransportOptions } from '../../ts/transport/index.js';
import { transportPair } from '../helpers/pair.js';

export type UserKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

const cache = new Map<string, Signer>();

/** A user key signer; `n` picks a distinct key of the same type. */
export function userKey(type: UserKeyType, n = 0): Signer {
  const id = `${type}/${n}`;
  let s = cache.get(id);
  if (!s) {
    s = createSigner(generatePrivateKey(type, type === 'ssh-rsa' ? 2048 : undefined));
    cache.set(id, s);
  }
  return s;
}

/** Wraps a signer so that its signatures come back asynchronously, as an agent's do; records what was signed with. */
export function asyncSigner(inner: Signer, log: string[] = []): Signer {
  return {
    keyType: inner.keyType,
    publicKeyBlob: inner.publicKeyBlob,
    signatureAlgorithms: inner.signatureAlgorithms,
    async sign(alg: string, data: Uint8Array) {
      log.push(alg);
      await new Promise((r) => setTimeout(r, 5));
      return inner.sign(alg, data);
    },
  };
}

/** Both transports of a pair after the first key exchange. */
export async function readyPair(opts: { client?: Partial<TransportOptions>; server?: Partial<TransportOptions> } = {}): Promise<{ client: Transport; server: Transport }> {
  const { client, server } = await transportPair(opts);
  await Promise.all([client.ready, server.ready]);
  return { client, server };
}

export function sameBlob(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
