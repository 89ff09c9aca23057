/**
 * Kerberos 5 cryptography for GSS-API (RFC 3961 simplified profile, RFC 3962
 * AES-CTS-HMAC-SHA1-96, RFC 8009 AES-CTS-HMAC-SHA2), on node:crypto only.
 */
export type { Krb5Enctype } from './enctypes.js';
export { krb5Enctype, krb5EnctypeForChecksum } from './enctypes.js';
export { nfold } from './nfold.js';

/**
 * The enctypes we offer, most preferred first: AES-256 before AES-128, and
 * the long-deployed SHA-1 family (18, 17) ahead of RFC 8009's (20, 19), which
 * many KDCs still do not issue keys for.
 */
export const KRB5_ENCTYPES: readonly number[] = Object.freeze([18, 17, 20, 19]);
