/** Signatures from node:crypto: Ed25519, ECDSA over NIST curves, RSA PKCS#1 v1.5, DSA. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { CryptoError } from '../../errors.js';
import type { PrivateKeyMaterial, SignatureVerifier, Signer } from '../types.js';
import { EC_CURVES, b64u, ecdsaSigFromSsh, ecdsaSigToSsh, fixedWidth, rsaHashOf, type ParsedPublicKey } from '../keyblob.js';
import { ecCurveOf, signerFor } from '../signer.js';
import { bigIntToBytes, bytesToBigInt, stripLeadingZeros } from '../util.js';
import { DSA_SIGNATURE_BYTES, dsaMaterialFromPkcs8, dsaPkcs8, dsaSpki } from '../dsa.js';

function fromB64u(s: string | undefined): Uint8Array {
  if (!s) throw new CryptoError('exported key is missing a field');
  const b = Buffer.from(s, 'base64url');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function publicKeyObject(key: ParsedPublicKey): KeyObject {
  switch (key.type) {
    case 'ssh-ed25519':
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(key.publicKey) }, format: 'jwk' });
    case 'ssh-rsa':
      return createPublicKey({ key: { kty: 'RSA', n: b64u(stripLeadingZeros(key.n)), e: b64u(stripLeadingZeros(key.e)) }, format: 'jwk' });
    case 'ssh-dss':
      return createPublicKey({ key: dsaSpki(key), format: 'der', type: 'spki' });
    default: {
      const fb = EC_CURVES[key.curve].fieldBytes;
      return createPublicKey({
        key: { kty: 'EC', crv: EC_CURVES[key.curve].jwk, x: b64u(key.q.subarray(1, 1 + fb)), y: b64u(key.q.subarray(1 + fb)) },
        format: 'jwk',
      });
    }
  }
}

export function nativeVerifier(key: ParsedPublicKey): SignatureVerifier {
  let keyObject: KeyObject;
  try {
    keyObject = publicKeyObject(key);
  } catch (err) {
    // OpenSSL rejects points off the curve and the like here.
    throw new CryptoError(`${key.type} public key rejected: ${(err as Error).message}`, { cause: err });
  }
  return {
    keyType: key.type,
    verify(algorithm, data, signature) {
      try {
        if (key.type === 'ssh-ed25519') {
          return algorithm === 'ssh-ed25519' && signature.length === 64 && nodeVerify(null, data, keyObject, signature);
        }
        if (key.type === 'ssh-rsa') {
          const hash = rsaHashOf(algorithm);
          if (!hash) return false;
          // Some signers strip leading zeros; RFC 8017 wants exactly k bytes.
          const sig = fixedWidth(signature, stripLeadingZeros(key.n).length);
          return sig !== null && nodeVerify(hash, data, keyObject, sig);
        }
        if (key.type === 'ssh-dss') {
          return algorithm === 'ssh-dss' && signature.length === DSA_SIGNATURE_BYTES && nodeVerify('sha1', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature);
        }
        if (algorithm !== key.type) return false;
        const info = EC_CURVES[key.curve];
        const rs = ecdsaSigFromSsh(signature, info.fieldBytes);
        return rs !== null && nodeVerify(info.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, rs);
      } catch {
        return false;
      }
    },
  };
}

function rsaPrivateJwk(m: Extract<PrivateKeyMaterial, { type: 'ssh-rsa' }>): Record<string, string> {
  const d = bytesToBigInt(m.d);
  const p = bytesToBigInt(m.p);
  const q = bytesToBigInt(m.q);
  return {
    kty: 'RSA',
    n: b64u(stripLeadingZeros(m.n)),
    e: b64u(stripLeadingZeros(m.e)),
    d: b64u(stripLeadingZeros(m.d)),
    p: b64u(stripLeadingZeros(m.p)),
    q: b64u(stripLeadingZeros(m.q)),
    dp: b64u(bigIntToBytes(d % (p - 1n))),
    dq: b64u(bigIntToBytes(d % (q - 1n))),
    qi: b64u(stripLeadingZeros(m.iqmp)),
  };
}

function privateKeyObject(m: PrivateKeyMaterial): KeyObject {
  switch (m.type) {
    case 'ssh-ed25519':
      return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(m.publicKey), d: b64u(m.seed) }, format: 'jwk' });
    case 'ssh-rsa':
      return createPrivateKey({ key: rsaPrivateJwk(m), format: 'jwk' });
    case 'ssh-dss':
      return createPrivateKey({ key: dsaPkcs8(m), format: 'der', type: 'pkcs8' });
    default: {
      const info = EC_CURVES[ecCurveOf(m.type)];
      const fb = info.fieldBytes;
      const d = fixedWidth(m.d, fb);
      if (!d || m.q.length !== 1 + 2 * fb) throw new CryptoError(`${m.type} key material has the wrong size`);
      return createPrivateKey({
        key: { kty: 'EC', crv: info.jwk, x: b64u(m.q.subarray(1, 1 + fb)), y: b64u(m.q.subarray(1 + fb)), d: b64u(d) },
        format: 'jwk',
      });
    }
  }
}

export function nativeSigner(m: PrivateKeyMaterial): Signer {
  let keyObject: KeyObject;
  try {
    keyObject = privateKeyObject(m);
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw new CryptoError(`${m.type} private key rejected: ${(err as Error).message}`, { cause: err });
  }
  return signerFor(m, (algorithm, data) => {
    if (m.type === 'ssh-ed25519') return new Uint8Array(nodeSign(null, data, keyObject));
    if (m.type === 'ssh-rsa') return new Uint8Array(nodeSign(rsaHashOf(algorithm)!, data, keyObject));
    // IEEE P1363 for a 160-bit q is r || s at 20 bytes each: the ssh-dss blob as it is.
    if (m.type === 'ssh-dss') return new Uint8Array(nodeSign('sha1', data, { key: keyObject, dsaEncoding: 'ieee-p1363' }));
    const info = EC_CURVES[ecCurveOf(m.type)];
    return ecdsaSigToSsh(new Uint8Array(nodeSign(info.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' })));
  });
}

export function nativeGenerate(type: PrivateKeyMaterial['type'], rsaBits: number): PrivateKeyMaterial {
  if (type === 'ssh-ed25519') {
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    return { type, seed: fromB64u(jwk.d), publicKey: fromB64u(jwk.x) };
  }
  if (type === 'ssh-rsa') {
    const jwk = generateKeyPairSync('rsa', { modulusLength: rsaBits, publicExponent: 65537 }).privateKey.export({ format: 'jwk' });
    return { type, n: fromB64u(jwk.n), e: fromB64u(jwk.e), d: fromB64u(jwk.d), p: fromB64u(jwk.p), q: fromB64u(jwk.q), iqmp: fromB64u(jwk.qi) };
  }
  if (type === 'ssh-dss') {
    // ssh-keygen's only size; node exports DSA keys as DER, not JWK.
    const der = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    return dsaMaterialFromPkcs8(der);
  }
  const info = EC_CURVES[ecCurveOf(type)];
  const jwk = generateKeyPairSync('ec', { namedCurve: info.openssl }).privateKey.export({ format: 'jwk' });
  const q = new Uint8Array(1 + 2 * info.fieldBytes);
  q[0] = 4;
  q.set(fixedWidth(fromB64u(jwk.x), info.fieldBytes)!, 1);
  q.set(fixedWidth(fromB64u(jwk.y), info.fieldBytes)!, 1 + info.fieldBytes);
  return { type, d: fixedWidth(fromB64u(jwk.d), info.fieldBytes)!, q };
}
