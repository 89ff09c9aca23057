/**
 * PEM private keys (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
 * OpenSSL's traditional `DSA PRIVATE KEY`, PKCS#8
 * `PRIVATE KEY` / `ENCRYPTED PRIVATE KEY`, with or without the legacy
 * `Proc-Type: 4,ENCRYPTED` / `DEK-Info` headers). OpenSSL, through
 * node:crypto, does the ASN.1 and the decryption; this file turns its JWK
 * export (PKCS#8 DER for DSA, which has no JWK form) into
 * PrivateKeyMaterial and its errors into typed ones.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { PrivateKeyMaterial } from '../crypto/types.js';
import { dsaMaterialFromPkcs8 } from '../crypto/dsa.js';
import { KeyFormatError, PasswordRequiredException } from '../errors.js';
import { WRONG_PASSPHRASE } from './keyCiphers.js';
import { checkRsaMaterial } from './opensshFormat.js';
import { ECDSA_CURVES, type EcdsaKeyType, padTo } from './keyTypes.js';

/** true when the PEM text is encrypted (PKCS#8 EncryptedPrivateKeyInfo or legacy OpenSSL headers). */
export function isEncryptedPem(text: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(text);
}

function b64url(s: string | undefined, what: string): Uint8Array {
  if (s === undefined) throw new KeyFormatError(`PEM key is missing ${what}`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** PrivateKeyMaterial from a node KeyObject holding a private key. */
export function materialFromKeyObject(key: KeyObject): PrivateKeyMaterial {
  const kind = key.asymmetricKeyType;
  if (kind === 'dsa') return dsaMaterialFromPkcs8(key.export({ format: 'der', type: 'pkcs8' }));
  const jwk = key.export({ format: 'jwk' });
  if (kind === 'ed25519') {
    return { type: 'ssh-ed25519', seed: b64url(jwk.d, 'd'), publicKey: b64url(jwk.x, 'x') };
  }
  if (kind === 'ec') {
    const type = (Object.keys(ECDSA_CURVES) as EcdsaKeyType[]).find((t) => ECDSA_CURVES[t].jwkName === jwk.crv);
    if (!type) throw new KeyFormatError(`unsupported EC curve ${jwk.crv ?? '(none)'}`);
    const n = ECDSA_CURVES[type].fieldBytes;
    const q = new Uint8Array(1 + 2 * n);
    q[0] = 4;
    q.set(padTo(b64url(jwk.x, 'x'), n, 'EC x'), 1);
    q.set(padTo(b64url(jwk.y, 'y'), n, 'EC y'), 1 + n);
    return { type, d: padTo(b64url(jwk.d, 'd'), n, 'EC private scalar'), q };
  }
  if (kind === 'rsa') {
    const m = {
      type: 'ssh-rsa' as const,
      n: b64url(jwk.n, 'n'), e: b64url(jwk.e, 'e'), d: b64url(jwk.d, 'd'),
      p: b64url(jwk.p, 'p'), q: b64url(jwk.q, 'q'), iqmp: b64url(jwk.qi, 'qi'),
    };
    checkRsaMaterial(m);
    return m;
  }
  throw new KeyFormatError(`unsupported private key algorithm "${kind ?? 'unknown'}"`);
}

/**
 * Parse a PEM private key. Throws PasswordRequiredException for an encrypted
 * key without a passphrase or with a wrong one, KeyFormatError otherwise.
 */
export function parsePemPrivateKey(text: string, passphrase: Uint8Array | undefined): PrivateKeyMaterial {
  const encrypted = isEncryptedPem(text);
  if (encrypted && passphrase === undefined) throw new PasswordRequiredException('private key is encrypted: a passphrase is required');
  if (encrypted && passphrase!.length === 0) throw new PasswordRequiredException(WRONG_PASSPHRASE);
  let key: KeyObject;
  try {
    // An unencrypted key ignores the passphrase; pass one anyway so OpenSSL never waits on a prompt.
    key = createPrivateKey({ key: text, format: 'pem', passphrase: Buffer.from(passphrase ?? new Uint8Array(0)) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'ERR_MISSING_PASSPHRASE') throw new PasswordRequiredException('private key is encrypted: a passphrase is required');
    // A wrong passphrase surfaces as "bad decrypt", or, when the garbage
    // happens to unpad cleanly, as an ASN.1 error: like OpenSSH, blame the passphrase.
    if (encrypted) throw new PasswordRequiredException(WRONG_PASSPHRASE);
    throw new KeyFormatError(`cannot parse PEM private key: ${err.message ?? String(e)}`, { cause: e });
  }
  try {
    return materialFromKeyObject(key);
  } catch (e) {
    if (e instanceof KeyFormatError) throw e;
    throw new KeyFormatError(`cannot read PEM private key: ${(e as Error).message}`, { cause: e });
  }
}
