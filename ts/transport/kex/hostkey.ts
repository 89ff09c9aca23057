/**
 * The host key's part in a key exchange: the server signs the exchange hash
 * H with the key matching the negotiated host key algorithm, the client
 * checks that signature (RFC 4253 section 8, RFC 8332 for rsa-sha2-*).
 * Whether the key itself is trusted is the caller's policy (`verifyHostKey`).
 */
import { createVerifier, hash, plainAlgorithm } from '../../crypto/index.js';
import type { Signer } from '../../crypto/types.js';
import { NegotiationError, ProtocolError } from '../../errors.js';
import { SSHReader, SSHWriter } from '../../wire/index.js';
import { keyTypeOfHostKeyAlgorithm } from '../algorithms.js';

/** The key type named at the start of a public key blob. */
export function keyTypeOfBlob(blob: Uint8Array): string {
  return new SSHReader(blob, 'host key').ascii(64);
}

/** Whether `signer` can sign with host key algorithm `alg`. */
export function signerSupports(signer: Signer, alg: string): boolean {
  return signer.keyType === keyTypeOfHostKeyAlgorithm(alg) && signer.signatureAlgorithms.includes(alg);
}

/** Picks the host key for the negotiated algorithm. */
export function selectHostKey(hostKeys: readonly Signer[], alg: string): Signer {
  const key = hostKeys.find((k) => signerSupports(k, alg));
  if (!key) throw new NegotiationError(`no host key can sign with negotiated algorithm ${alg}`);
  return key;
}

/** Signs H and returns the SSH signature blob: string algorithm, string signature. */
export async function signExchangeHash(signer: Signer, alg: string, H: Uint8Array): Promise<Uint8Array> {
  const sig = await signer.sign(alg, H);
  // A certificate's signature carries the plain algorithm name (PROTOCOL.certkeys).
  const name = plainAlgorithm(alg);
  return new SSHWriter(sig.length + name.length + 8).string(name).string(sig).toBytes();
}

/**
 * Checks the server's signature over H: right algorithm, a key of the right
 * type, and a valid signature. Throws ProtocolError otherwise (code
 * ERR_SSH_HOST_KEY_SIGNATURE), or the crypto layer's typed error for an
 * unparsable key.
 */
export function verifyExchangeSignature(alg: string, keyBlob: Uint8Array, H: Uint8Array, signatureBlob: Uint8Array): void {
  const keyType = keyTypeOfBlob(keyBlob);
  if (keyType !== keyTypeOfHostKeyAlgorithm(alg)) {
    throw new ProtocolError(`server host key is ${keyType}, but ${alg} was negotiated`, { code: 'ERR_SSH_HOST_KEY_SIGNATURE' });
  }
  const r = new SSHReader(signatureBlob, 'host key signature');
  const sigAlg = r.ascii(64);
  const sig = r.string();
  r.end();
  if (sigAlg !== plainAlgorithm(alg)) {
    throw new ProtocolError(`server signed the exchange with ${sigAlg}, but ${alg} was negotiated`, { code: 'ERR_SSH_HOST_KEY_SIGNATURE' });
  }
  const verifier = createVerifier(keyBlob);
  if (!verifier.verify(alg, H, sig)) {
    throw new ProtocolError(`server host key signature (${alg}) does not verify`, { code: 'ERR_SSH_HOST_KEY_SIGNATURE' });
  }
}

/** OpenSSH's SHA256 fingerprint of a key blob, for log lines and errors. */
export function fingerprint(blob: Uint8Array): string {
  return 'SHA256:' + Buffer.from(hash('sha256', blob)).toString('base64').replace(/=+$/, '');
}
