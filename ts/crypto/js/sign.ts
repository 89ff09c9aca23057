/** Signatures from @noble/curves (Ed25519, ECDSA), js/rsa.ts (RSA) and js/dsa.ts (DSA). */
import { nobleEd25519 } from './noble.js';
import { CryptoError } from '../../errors.js';
import type { PrivateKeyMaterial, SignatureVerifier, Signer } from '../types.js';
import { EC_CURVES, ecdsaSigFromSsh, ecdsaSigToSsh, fixedWidth, rsaHashOf, type ParsedPublicKey } from '../keyblob.js';
import { ecCurveOf, signerFor } from '../signer.js';
import { jsCurves } from './kex.js';
import { rsaSign, rsaVerify } from './rsa.js';
import { dsaSign, dsaVerify } from './dsa.js';
import { randomBytes } from '../random.js';

export function jsVerifier(key: ParsedPublicKey): SignatureVerifier {
  if (key.type !== 'ssh-ed25519' && key.type !== 'ssh-rsa' && key.type !== 'ssh-dss') {
    try {
      jsCurves()[key.curve].Point.fromBytes(key.q).assertValidity();
    } catch (err) {
      throw new CryptoError(`${key.type} public key rejected: not a point on the curve`, { cause: err });
    }
  }
  return {
    keyType: key.type,
    verify(algorithm, data, signature) {
      try {
        if (key.type === 'ssh-ed25519') {
          // zip215: false = strict RFC 8032 decoding, as OpenSSH's ref10 code verifies.
          return algorithm === 'ssh-ed25519' && signature.length === 64 && nobleEd25519().ed25519.verify(signature, data, key.publicKey, { zip215: false });
        }
        if (key.type === 'ssh-rsa') {
          const hash = rsaHashOf(algorithm);
          return hash !== undefined && rsaVerify(key.n, key.e, hash, data, signature);
        }
        if (key.type === 'ssh-dss') return algorithm === 'ssh-dss' && dsaVerify(key, data, signature);
        if (algorithm !== key.type) return false;
        const rs = ecdsaSigFromSsh(signature, EC_CURVES[key.curve].fieldBytes);
        // lowS: false — OpenSSL and OpenSSH do not normalise s.
        return rs !== null && jsCurves()[key.curve].verify(rs, data, key.q, { lowS: false, prehash: true });
      } catch {
        return false;
      }
    },
  };
}

export function jsSigner(m: PrivateKeyMaterial): Signer {
  if (m.type === 'ssh-ed25519') {
    if (m.seed.length !== 32 || m.publicKey.length !== 32) throw new CryptoError('ssh-ed25519 key material has the wrong size');
    return signerFor(m, (_alg, data) => nobleEd25519().ed25519.sign(data, m.seed));
  }
  if (m.type === 'ssh-rsa') return signerFor(m, (alg, data) => rsaSign(m, rsaHashOf(alg)!, data));
  if (m.type === 'ssh-dss') return signerFor(m, (_alg, data) => dsaSign(m, data));
  const curve = ecCurveOf(m.type);
  const d = fixedWidth(m.d, EC_CURVES[curve].fieldBytes);
  if (!d) throw new CryptoError(`${m.type} key material has the wrong size`);
  return signerFor(m, (_alg, data) => ecdsaSigToSsh(jsCurves()[curve].sign(data, d, { prehash: true, lowS: false })));
}

/** Ed25519 and ECDSA key generation (RSA generation is native only). */
export function jsGenerate(type: 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521'): PrivateKeyMaterial {
  if (type === 'ssh-ed25519') {
    const seed = randomBytes(32);
    return { type, seed, publicKey: nobleEd25519().ed25519.getPublicKey(seed) };
  }
  const c = jsCurves()[ecCurveOf(type)];
  const d = c.utils.randomSecretKey();
  return { type, d, q: c.getPublicKey(d, false) };
}
