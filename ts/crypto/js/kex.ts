/** Key agreement from @noble/curves and bigint arithmetic: X25519, NIST ECDH, finite-field DH. */
import { nobleEd25519, nobleNist, once } from './noble.js';
import { CryptoError } from '../../errors.js';
import type { KeyAgreement } from '../types.js';
import { EC_CURVES, type EcCurve } from '../keyblob.js';
import { checkDhValue, dhExponentBytes, type DhGroup } from '../ffdh.js';
import { bigIntToBytes, bytesToBigInt, modPow } from '../util.js';
import { randomBytes } from '../random.js';

/** The @noble NIST curves by name (loaded on first use). */
export const jsCurves = once(() => {
  const { p256, p384, p521 } = nobleNist();
  return { nistp256: p256, nistp384: p384, nistp521: p521 } as const;
});

/** @param fixedPrivate a given private key instead of a fresh one (known-answer tests only). */
export function jsX25519(fixedPrivate?: Uint8Array): KeyAgreement {
  const secretKey = fixedPrivate ? Uint8Array.from(fixedPrivate) : randomBytes(32);
  return {
    publicKey: nobleEd25519().x25519.getPublicKey(secretKey),
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array) || peer.length !== 32) throw new CryptoError('X25519 public value must be 32 bytes');
      let secret: Uint8Array;
      try {
        secret = nobleEd25519().x25519.getSharedSecret(secretKey, peer);
      } catch (err) {
        throw new CryptoError('X25519 key agreement failed (low-order or invalid peer value)', { cause: err });
      }
      if (secret.every((b) => b === 0)) throw new CryptoError('X25519 shared secret is all zero (low-order peer value)');
      return secret;
    },
  };
}

export function jsEcdh(curve: EcCurve): KeyAgreement {
  const c = jsCurves()[curve];
  const fb = EC_CURVES[curve].fieldBytes;
  const secretKey = c.utils.randomSecretKey();
  return {
    publicKey: c.getPublicKey(secretKey, false),
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array) || peer.length !== 1 + 2 * fb || peer[0] !== 4) {
        throw new CryptoError(`${curve} public value must be an uncompressed point of ${1 + 2 * fb} bytes`);
      }
      try {
        // getSharedSecret returns a compressed point; the SSH secret is its x coordinate.
        return c.getSharedSecret(secretKey, peer, true).slice(1);
      } catch (err) {
        throw new CryptoError(`${curve} key agreement failed (invalid peer point)`, { cause: err });
      }
    },
  };
}

export function jsFfdh(group: DhGroup): KeyAgreement {
  const xBytes = randomBytes(dhExponentBytes(group.prime));
  xBytes[0]! |= 0x80;
  const x = bytesToBigInt(xBytes);
  xBytes.fill(0);
  const pub = modPow(group.generator, x, group.prime);
  checkDhValue(pub, group.prime, 'our DH value');
  const primeBytes = bigIntToBytes(group.prime).length;
  return {
    publicKey: bigIntToBytes(pub),
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array)) throw new CryptoError('DH public value must be a Uint8Array');
      if (peer.length > primeBytes + 1) throw new CryptoError('DH public value is longer than the prime');
      const f = checkDhValue(peer, group.prime);
      return bigIntToBytes(modPow(f, x, group.prime));
    },
  };
}
