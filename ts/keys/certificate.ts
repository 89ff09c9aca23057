/**
 * OpenSSH certificates (PROTOCOL.certkeys): a public key, signed by a CA key
 * together with its serial, type, key id, principals, validity window,
 * critical options and extensions.
 */
import { CERT_KEY_TYPES, certifiedKeyType, createVerifier } from '../crypto/index.js';
import { KeyFormatError } from '../errors.js';
import { SSHReader } from '../wire/index.js';
import { asKeyFormat, encodePublicBlob, keyTypeForSignatureAlgorithm, readPublicFields, type PublicParts } from './keyTypes.js';

/** Certificate key type → the plain key type it certifies (the crypto layer's table). */
export { CERT_KEY_TYPES };

/** `Certificate.type` of a user certificate (PROTOCOL.certkeys). */
export const SSH_CERT_TYPE_USER = 1;
/** `Certificate.type` of a host certificate (PROTOCOL.certkeys). */
export const SSH_CERT_TYPE_HOST = 2;

/** The greatest uint64: a `validBefore` meaning "forever". */
export const CERT_FOREVER = 0xffffffffffffffffn;

export function isCertificateType(keyType: string): boolean {
  return certifiedKeyType(keyType) !== undefined;
}

/** A parsed OpenSSH certificate. */
export interface Certificate {
  /** Certificate key type, e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  readonly certKeyType: string;
  /** Plain key type of the certified key, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The random nonce the CA put first in the signed data (defeats hash-collision attacks). */
  readonly nonce: Uint8Array;
  /** The certified key's public parts. */
  readonly key: PublicParts;
  /** The certified key's plain public key blob. */
  readonly keyBlob: Uint8Array;
  /** The CA-assigned serial number (uint64; 0 when the CA set none). KRLs revoke by it. */
  readonly serial: bigint;
  /** 1 = user certificate, 2 = host certificate. */
  readonly type: number;
  /** The CA's free-form key identifier (`ssh-keygen -I`), which sshd logs; KRLs can revoke by it. */
  readonly keyId: string;
  /** Empty means "any principal"; OpenSSH accepts that only for host certificates. */
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; CERT_FOREVER for no limit. */
  readonly validBefore: bigint;
  /** Critical options by name → value (the inner string, or '' for flag options). */
  readonly criticalOptions: ReadonlyMap<string, string>;
  /** Extensions by name → value ('' for flag extensions such as permit-pty). */
  readonly extensions: ReadonlyMap<string, string>;
  /** The CA's public key blob. */
  readonly signatureKey: Uint8Array;
  /** The CA signature's algorithm, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  readonly signatureAlgorithm: string;
  /** The CA signature's inner blob. */
  readonly signature: Uint8Array;
  /** The bytes the CA signed: the blob up to and including the signature key. */
  readonly signedData: Uint8Array;
}

const MAX_FIELD = 64 * 1024;

/** An option's data is normally one nested string; anything else is kept as its bytes in latin1. */
function optionValue(data: Uint8Array): string {
  if (data.length === 0) return '';
  try {
    const inner = new SSHReader(data, 'certificate option');
    const value = inner.utf8();
    inner.end();
    return value;
  } catch {
    return Buffer.from(data).toString('latin1');
  }
}

/** Option/extension lists: (string name, string data) pairs, data usually a nested string. */
function readOptions(buf: Uint8Array, what: string): Map<string, string> {
  const r = new SSHReader(buf, what);
  const out = new Map<string, string>();
  while (r.remaining > 0) {
    const name = r.utf8(1024);
    // A repeated option would make its meaning ambiguous (OpenSSH refuses it too).
    if (out.has(name)) throw new KeyFormatError(`certificate ${what} repeat "${name}"`);
    const data = r.string();
    out.set(name, optionValue(data));
  }
  return out;
}

/** Parse a certificate blob. Throws KeyFormatError on a malformed one. */
export function parseCertificate(blob: Uint8Array): Certificate {
  return asKeyFormat('certificate', () => {
    const r = new SSHReader(blob, 'certificate');
    const certKeyType = r.ascii(256);
    const keyType = certifiedKeyType(certKeyType);
    if (!keyType) throw new KeyFormatError(`unsupported certificate type "${certKeyType}"`);
    const nonce = r.string(MAX_FIELD).slice();
    const key = readPublicFields(r, keyType);
    const serial = r.uint64();
    const type = r.uint32();
    if (type !== SSH_CERT_TYPE_USER && type !== SSH_CERT_TYPE_HOST) throw new KeyFormatError(`certificate type ${type} is neither user (1) nor host (2)`);
    const keyId = r.utf8(MAX_FIELD);
    const principalReader = new SSHReader(r.string(MAX_FIELD), 'certificate principals');
    const principals: string[] = [];
    while (principalReader.remaining > 0) principals.push(principalReader.utf8(1024));
    const validAfter = r.uint64();
    const validBefore = r.uint64();
    const criticalOptions = readOptions(r.string(MAX_FIELD), 'critical options');
    const extensions = readOptions(r.string(MAX_FIELD), 'extensions');
    r.string(MAX_FIELD); // reserved
    const signatureKey = r.string(MAX_FIELD).slice();
    const signedData = blob.slice(0, r.position);
    const sigReader = new SSHReader(r.string(MAX_FIELD), 'certificate signature');
    const signatureAlgorithm = sigReader.ascii(256);
    const signature = sigReader.string().slice();
    sigReader.end();
    r.end();
    const caType = new SSHReader(signatureKey, 'CA key').ascii(256);
    if (isCertificateType(caType)) throw new KeyFormatError('certificate is signed by a certificate, not a plain CA key');
    return {
      certKeyType, keyType, nonce, key, keyBlob: encodePublicBlob(key), serial, type, keyId, principals,
      validAfter, validBefore, criticalOptions, extensions, signatureKey, signatureAlgorithm, signature, signedData,
    };
  });
}

/** true when the CA signature over the certificate verifies with its signature key. */
export function verifyCertificateSignature(cert: Certificate): boolean {
  const caType = new SSHReader(cert.signatureKey, 'CA key').ascii(256);
  if (keyTypeForSignatureAlgorithm(cert.signatureAlgorithm) !== caType) return false;
  try {
    return createVerifier(cert.signatureKey).verify(cert.signatureAlgorithm, cert.signedData, cert.signature);
  } catch {
    // an unusable CA key (unsupported type, bad point) cannot have made a valid signature
    return false;
  }
}

/**
 * The critical options a user certificate may carry and sshwire enforces
 * (OpenSSH's PROTOCOL.certkeys). The spec says a certificate with a critical
 * option the implementation does not recognise must be refused; host
 * certificates have none defined, so any makes one unusable. `verify-required`
 * is refused too: only FIDO signatures carry the user-verification flag it
 * demands, and sshwire does not support FIDO keys.
 */
const USER_CRITICAL_OPTIONS: ReadonlySet<string> = new Set(['force-command', 'source-address']);

/** Why a certificate was refused by `checkCertificate`, or null when it is acceptable. */
export function checkCertificate(
  cert: Certificate,
  opts: { type?: 'user' | 'host'; principal?: string; now?: Date; trustedCa?: (caBlob: Uint8Array) => boolean } = {},
): string | null {
  if (opts.type && cert.type !== (opts.type === 'user' ? SSH_CERT_TYPE_USER : SSH_CERT_TYPE_HOST)) {
    return `certificate is not a ${opts.type} certificate`;
  }
  for (const name of cert.criticalOptions.keys()) {
    if (cert.type !== SSH_CERT_TYPE_USER || !USER_CRITICAL_OPTIONS.has(name)) return `certificate has an unsupported critical option "${name}"`;
  }
  const now = BigInt(Math.floor((opts.now ?? new Date()).getTime() / 1000));
  if (now < cert.validAfter) return 'certificate is not yet valid';
  if (now >= cert.validBefore) return 'certificate has expired';
  if (opts.principal !== undefined) {
    if (cert.principals.length === 0) {
      if (cert.type === SSH_CERT_TYPE_USER) return 'certificate lacks a principal list';
    } else if (!cert.principals.includes(opts.principal)) {
      return `principal "${opts.principal}" is not listed in the certificate`;
    }
  }
  if (opts.trustedCa && !opts.trustedCa(cert.signatureKey)) return 'certificate is not signed by a trusted CA';
  if (!verifyCertificateSignature(cert)) return 'certificate signature does not verify';
  return null;
}
