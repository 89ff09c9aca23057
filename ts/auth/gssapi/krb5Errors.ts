/**
 * Kerberos error codes (RFC 4120 section 7.5.9) as readable names, and the
 * typed errors that carry them.
 */
import { AuthenticationException } from '../../errors.js';
import type { KrbError } from './krb5Types.js';

/** The codes a client or service meets in practice. */
export const KRB_ERR = {
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_TKT_NYV: 33,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_NOT_US: 35,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_BADKEYVER: 44,
  KRB_AP_ERR_NOKEY: 45,
  KRB_AP_ERR_INAPP_CKSUM: 50,
  KRB_ERR_GENERIC: 60,
  KDC_ERR_WRONG_REALM: 68,
} as const;

const NAMES = new Map<number, string>(Object.entries(KRB_ERR).map(([k, v]) => [v, k]));

/** "KDC_ERR_S_PRINCIPAL_UNKNOWN (7)", or "Kerberos error 99" for codes not in the table. */
export function krbErrorName(code: number): string {
  const name = NAMES.get(code);
  return name ? `${name} (${code})` : `Kerberos error ${code}`;
}

/**
 * A Kerberos exchange failed: a KDC or service answered with KRB-ERROR, or
 * a message failed its checks. `krbErrorCode` is the RFC 4120 code when
 * there is one. Code 'ERR_KRB5'.
 */
export class Krb5Error extends AuthenticationException {
  /** The RFC 4120 error code (see KRB_ERR), or undefined when the failure was not a KRB-ERROR. */
  readonly krbErrorCode: number | undefined;
  constructor(message: string, krbErrorCode?: number, options?: { cause?: unknown }) {
    super(message, { code: 'ERR_KRB5', cause: options?.cause });
    this.name = 'Krb5Error';
    this.krbErrorCode = krbErrorCode;
  }
}

/** The error for a KRB-ERROR a peer sent, with its text when it gave one. */
export function fromKrbError(what: string, e: KrbError): Krb5Error {
  const text = e.eText ? `: ${e.eText.slice(0, 200)}` : '';
  return new Krb5Error(`${what}: ${krbErrorName(e.errorCode)}${text}`, e.errorCode);
}
