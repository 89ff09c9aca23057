/** Key agreement from node:crypto: X25519, NIST ECDH, finite-field DH. */
import { createDiffieHellman, createECDH, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes as nodeRandomBytes } from 'node:crypto';
import { CryptoError } from '../../errors.js';
import type { KeyAgreement } from '../types.js';
import { EC_CURVES, type EcCurve } from '../keyblob.js';
import { checkDhValue, dhExponentBytes, type DhGroup } from '../ffdh.js';
import { bigIntToBytes, stripLeadingZeros } from '../util.js';

/** DER SubjectPublicKeyInfo header for a raw X25519 key (RFC 8410). */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** DER PKCS#8 header for a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** @param fixedPrivate a given private key instead of a fresh one (known-answer tests only). */
export function nativeX25519(fixedPrivate?: Uint8Array): KeyAgreement {
  const privateKey = fixedPrivate
    ? createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, fixedPrivate]), format: 'der', type: 'pkcs8' })
    : generateKeyPairSync('x25519').privateKey;
  const publicKey = createPublicKey(privateKey);
  const pub = u8(publicKey.export({ format: 'der', type: 'spki' })).slice(X25519_SPKI_PREFIX.length);
  return {
    publicKey: pub,
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array) || peer.length !== 32) throw new CryptoError('X25519 public value must be 32 bytes');
      let secret: Uint8Array;
      try {
        const peerKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peer]), format: 'der', type: 'spki' });
        secret = u8(diffieHellman({ privateKey, publicKey: peerKey }));
      } catch (err) {
        throw new CryptoError('X25519 key agreement failed (invalid peer value)', { cause: err });
      }
      // RFC 7748 section 6.1 / RFC 8731 section 3: an all-zero result means a low-order point.
      if (secret.every((b) => b === 0)) throw new CryptoError('X25519 shared secret is all zero (low-order peer value)');
      return secret;
    },
  };
}

export function nativeEcdh(curve: EcCurve): KeyAgreement {
  const info = EC_CURVES[curve];
  const ecdh = createECDH(info.openssl);
  const pub = u8(ecdh.generateKeys());
  return {
    publicKey: pub,
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array) || peer.length !== 1 + 2 * info.fieldBytes || peer[0] !== 4) {
        throw new CryptoError(`${curve} public value must be an uncompressed point of ${1 + 2 * info.fieldBytes} bytes`);
      }
      try {
        // OpenSSL checks the point is on the curve; the secret is the x coordinate, fixed width.
        return u8(ecdh.computeSecret(peer));
      } catch (err) {
        throw new CryptoError(`${curve} key agreement failed (invalid peer point)`, { cause: err });
      }
    },
  };
}

export function nativeFfdh(group: DhGroup): KeyAgreement {
  const primeBytes = bigIntToBytes(group.prime);
  const dh = createDiffieHellman(primeBytes, bigIntToBytes(group.generator));
  // A short exponent (see dhExponentBytes) with its top bit set so it is never tiny.
  const x = nodeRandomBytes(dhExponentBytes(group.prime));
  x[0]! |= 0x80;
  dh.setPrivateKey(x);
  const pub = stripLeadingZeros(u8(dh.generateKeys()));
  checkDhValue(pub, group.prime, 'our DH value');
  return {
    publicKey: pub,
    computeSecret(peer) {
      if (!(peer instanceof Uint8Array)) throw new CryptoError('DH public value must be a Uint8Array');
      if (peer.length > primeBytes.length + 1) throw new CryptoError('DH public value is longer than the prime');
      checkDhValue(peer, group.prime);
      try {
        return stripLeadingZeros(u8(dh.computeSecret(peer)));
      } catch (err) {
        throw new CryptoError('DH key agreement failed (invalid peer value)', { cause: err });
      }
    },
  };
}
