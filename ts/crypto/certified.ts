/**
 * OpenSSH certificates as far as signatures are concerned (PROTOCOL.certkeys):
 * a certificate algorithm is a plain signature algorithm with
 * `-cert-v01@openssh.com` appended; the key blob sent is the certificate,
 * and the signature is the certified key's, under the plain algorithm name.
 * Whether a certificate is trusted (its CA, validity, principals) is decided
 * by the keys layer, not here.
 */
import { KeyFormatError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { asKeyBlob, readPublicKeyFields } from './keyblob.js';
import type { SignatureVerifier, Signer } from './types.js';

export const CERT_SUFFIX = '-cert-v01@openssh.com';

/** Certificate key type → the key type it certifies. */
export const CERT_KEY_TYPES: Readonly<Record<string, string>> = Object.fromEntries(
  ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa', 'ssh-dss'].map((t) => [`${t}${CERT_SUFFIX}`, t]),
);

/** Whether a key type (or algorithm) name is a certificate's. */
export function isCertName(name: string): boolean {
  return name.endsWith(CERT_SUFFIX);
}

/** `rsa-sha2-512-cert-v01@openssh.com` → `rsa-sha2-512`; plain names are returned as they are. */
export function plainAlgorithm(alg: string): string {
  return isCertName(alg) ? alg.slice(0, -CERT_SUFFIX.length) : alg;
}

/** The certificate form of a plain signature algorithm. */
export function certAlgorithm(alg: string): string {
  return isCertName(alg) ? alg : `${alg}${CERT_SUFFIX}`;
}

/** The plain key type a certificate key type certifies, or undefined for anything else. */
export function certifiedKeyType(certKeyType: string): string | undefined {
  return Object.hasOwn(CERT_KEY_TYPES, certKeyType) ? CERT_KEY_TYPES[certKeyType] : undefined;
}

/**
 * The plain public key blob of the key a certificate certifies (the CA's
 * signature is not checked here). KeyFormatError on a malformed blob.
 */
export function certifiedKeyBlob(certBlob: Uint8Array): Uint8Array {
  return asKeyBlob(() => {
    const r = new SSHReader(certBlob, 'certificate');
    const certType = r.ascii(256);
    const keyType = certifiedKeyType(certType);
    if (!keyType) throw new KeyFormatError(`unsupported certificate type ${JSON.stringify(certType)}`);
    r.string(64 * 1024); // nonce
    const start = r.position;
    readPublicKeyFields(r, keyType);
    return new SSHWriter(r.position - start + keyType.length + 8).string(keyType).raw(certBlob.subarray(start, r.position)).toBytes();
  });
}

/**
 * `signer` presenting `certBlob` (a certificate of its key): the blob and key
 * type become the certificate's, each algorithm gains its certificate form,
 * and signing uses the plain algorithm. The caller checks that the
 * certificate is for this key.
 */
export function certifiedSigner(signer: Signer, certBlob: Uint8Array): Signer {
  const keyType = new SSHReader(certBlob, 'certificate').ascii(256);
  if (certifiedKeyType(keyType) !== signer.keyType) throw new KeyFormatError(`a ${keyType} certificate cannot certify a ${signer.keyType} key`);
  return {
    keyType,
    publicKeyBlob: certBlob,
    signatureAlgorithms: signer.signatureAlgorithms.map(certAlgorithm),
    sign: (algorithm, data) => signer.sign(plainAlgorithm(algorithm), data),
  };
}

/**
 * A verifier for `blob`, built by `build`; for a certificate blob, one over
 * the certified key that takes the certificate algorithms (and refuses the
 * plain ones: the algorithm must match the blob sent).
 */
export function certAwareVerifier(blob: Uint8Array, build: (plainBlob: Uint8Array) => SignatureVerifier): SignatureVerifier {
  const type = asKeyBlob(() => new SSHReader(blob, 'public key blob').ascii(256));
  if (!isCertName(type)) return build(blob);
  const inner = build(certifiedKeyBlob(blob));
  return {
    keyType: type,
    verify: (algorithm, data, signature) => isCertName(algorithm) && inner.verify(plainAlgorithm(algorithm), data, signature),
  };
}
