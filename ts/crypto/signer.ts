/**
 * What the node:crypto and the pure-JS signers share: the `Signer` around a
 * backend's raw signing function, and the curve behind an ECDSA key type.
 */
import { CryptoError } from '../errors.js';
import { EC_CURVES, publicKeyBlobOf, signatureAlgorithmsFor, type EcCurve } from './keyblob.js';
import type { PrivateKeyMaterial, Signer } from './types.js';

/** The curve of an `ecdsa-sha2-<curve>` key type; CryptoError for any other type that reaches here at run time. */
export function ecCurveOf(type: `ecdsa-sha2-${EcCurve}`): EcCurve {
  const curve = type.slice('ecdsa-sha2-'.length);
  if (!type.startsWith('ecdsa-sha2-') || !Object.hasOwn(EC_CURVES, curve)) throw new CryptoError(`unsupported private key type ${JSON.stringify(type)}`);
  return curve as EcCurve;
}

/**
 * A `Signer` for `m` whose `sign` refuses algorithms the key type cannot
 * make before handing the rest to `signRaw` (which returns the SSH inner
 * signature blob).
 */
export function signerFor(m: PrivateKeyMaterial, signRaw: (algorithm: string, data: Uint8Array) => Uint8Array): Signer {
  const algorithms = signatureAlgorithmsFor(m.type);
  return {
    keyType: m.type,
    publicKeyBlob: publicKeyBlobOf(m),
    signatureAlgorithms: algorithms,
    sign(algorithm, data) {
      if (!algorithms.includes(algorithm)) throw new CryptoError(`a ${m.type} key cannot make ${algorithm} signatures`);
      return signRaw(algorithm, data);
    },
  };
}
