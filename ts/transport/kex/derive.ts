/**
 * Key derivation after a key exchange (RFC 4253 section 7.2):
 *   key = HASH(K || H || X || session_id), extended by HASH(K || H || key so far)
 * until it is long enough. K is passed in its wire encoding (mpint for the
 * classic methods, string for the post-quantum hybrids).
 */
import { cipherInfo, createHash, macInfo } from '../../crypto/index.js';
import type { DirectionKeys, HashName } from '../../crypto/types.js';
import { NegotiationError } from '../../errors.js';
import type { NegotiatedAlgorithms } from '../algorithms.js';

/** Derives `length` bytes of key material for letter `letter` ('A'..'F'). */
export function deriveKey(hash: HashName, K: Uint8Array, H: Uint8Array, letter: string, sessionId: Uint8Array, length: number): Uint8Array {
  const first = createHash(hash).update(K).update(H).update(Uint8Array.of(letter.charCodeAt(0))).update(sessionId).digest();
  if (first.length >= length) return first.subarray(0, length);
  const out = new Uint8Array(Math.ceil(length / first.length) * first.length);
  out.set(first, 0);
  let have = first.length;
  while (have < length) {
    const next = createHash(hash).update(K).update(H).update(out.subarray(0, have)).digest();
    out.set(next, have);
    have += next.length;
  }
  return out.subarray(0, length);
}

/** Keys for both directions from a finished exchange. */
export interface SessionKeys {
  clientToServer: DirectionKeys;
  serverToClient: DirectionKeys;
}

function direction(hash: HashName, K: Uint8Array, H: Uint8Array, sessionId: Uint8Array, cipher: string, mac: string, letters: [string, string, string]): DirectionKeys {
  const c = cipherInfo(cipher);
  if (!c) throw new NegotiationError(`unknown cipher ${cipher}`);
  const m = c.aead ? undefined : macInfo(mac);
  if (!c.aead && !m) throw new NegotiationError(`unknown MAC ${mac}`);
  return {
    cipher,
    mac: c.aead ? 'none' : mac,
    iv: deriveKey(hash, K, H, letters[0], sessionId, c.ivLength),
    encKey: deriveKey(hash, K, H, letters[1], sessionId, c.keyLength),
    macKey: m ? deriveKey(hash, K, H, letters[2], sessionId, m.keyLength) : new Uint8Array(0),
  };
}

/** Derives both directions' keys for the negotiated algorithms. */
export function deriveSessionKeys(hash: HashName, K: Uint8Array, H: Uint8Array, sessionId: Uint8Array, negotiated: NegotiatedAlgorithms): SessionKeys {
  return {
    clientToServer: direction(hash, K, H, sessionId, negotiated.cipherCS, negotiated.macCS, ['A', 'C', 'E']),
    serverToClient: direction(hash, K, H, sessionId, negotiated.cipherSC, negotiated.macSC, ['B', 'D', 'F']),
  };
}
