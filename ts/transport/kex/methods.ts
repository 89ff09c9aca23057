/**
 * The key exchange methods the transport knows, by wire name, and what each
 * needs from the crypto layer. Three shapes cover them all:
 *   - one round trip of ephemeral public values (ECDH, curve25519, the fixed
 *     MODP groups, and the post-quantum hybrids), RFC 5656 / 8731 / 4253 8;
 *   - group exchange, which first agrees on a group (RFC 4419).
 */
import type { HashName } from '../../crypto/types.js';
import { gssKexSpec } from './gss.js';

/** A classic elliptic-curve agreement as the crypto layer names it. */
export type CurveName = 'x25519' | 'nistp256' | 'nistp384' | 'nistp521';
/** A fixed finite-field group as the crypto layer names it. */
export type GroupName = 'group1' | 'group14' | 'group16' | 'group18';
/** A post-quantum KEM as the crypto layer names it. */
export type KemName = 'mlkem768' | 'sntrup761';

export type KexSpec =
  | { kind: 'ecdh'; hash: HashName; curve: CurveName }
  | { kind: 'hybrid'; hash: HashName; kem: KemName }
  | { kind: 'dh'; hash: HashName; group: GroupName }
  | { kind: 'gex'; hash: HashName }
  /** GSS-API key exchange (RFC 4462, RFC 8732) over an ECDH or MODP base; see gss.ts. */
  | { kind: 'gss'; hash: HashName; base: Extract<KexSpec, { kind: 'ecdh' | 'dh' }> };

/** Every kex method by wire name. */
export const KEX_METHODS: Readonly<Record<string, KexSpec>> = {
  'mlkem768x25519-sha256': { kind: 'hybrid', hash: 'sha256', kem: 'mlkem768' },
  'sntrup761x25519-sha512': { kind: 'hybrid', hash: 'sha512', kem: 'sntrup761' },
  'sntrup761x25519-sha512@openssh.com': { kind: 'hybrid', hash: 'sha512', kem: 'sntrup761' },
  'curve25519-sha256': { kind: 'ecdh', hash: 'sha256', curve: 'x25519' },
  'curve25519-sha256@libssh.org': { kind: 'ecdh', hash: 'sha256', curve: 'x25519' },
  'ecdh-sha2-nistp256': { kind: 'ecdh', hash: 'sha256', curve: 'nistp256' },
  'ecdh-sha2-nistp384': { kind: 'ecdh', hash: 'sha384', curve: 'nistp384' },
  'ecdh-sha2-nistp521': { kind: 'ecdh', hash: 'sha512', curve: 'nistp521' },
  'diffie-hellman-group-exchange-sha256': { kind: 'gex', hash: 'sha256' },
  'diffie-hellman-group16-sha512': { kind: 'dh', hash: 'sha512', group: 'group16' },
  'diffie-hellman-group18-sha512': { kind: 'dh', hash: 'sha512', group: 'group18' },
  'diffie-hellman-group14-sha256': { kind: 'dh', hash: 'sha256', group: 'group14' },
  'diffie-hellman-group14-sha1': { kind: 'dh', hash: 'sha1', group: 'group14' },
  'diffie-hellman-group1-sha1': { kind: 'dh', hash: 'sha1', group: 'group1' },
  'diffie-hellman-group-exchange-sha1': { kind: 'gex', hash: 'sha1' },
};


/** The spec of a kex name: a fixed method, or a gss-* name for any mechanism. */
export function kexSpecFor(name: string): KexSpec | undefined {
  return KEX_METHODS[name] ?? gssKexSpec(name);
}
