/**
 * Extension negotiation (RFC 8308): the EXT_INFO a server sends after its
 * first NEWKEYS (server-sig-algs, publickey-hostbound@openssh.com,
 * ping@openssh.com), and reading the peer's.
 */
import { canServeSignature } from '../crypto/index.js';
import { ProtocolError } from '../errors.js';
import { MSG, SSHReader, SSHWriter } from '../wire/index.js';

/** Signature algorithms a server announces by default: those the crypto layer can verify, best first. */
const DEFAULT_SIG_ALGS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

/** The EXT_INFO extension by which a server says it accepts `publickey-hostbound-v00@openssh.com` requests (value "0"). */
export const HOSTBOUND_EXTENSION = 'publickey-hostbound@openssh.com';

/**
 * Our EXT_INFO (server): server-sig-algs (`sigAlgs`, or the default list),
 * publickey-hostbound@openssh.com (user authentication accepts the
 * host-bound publickey requests of destination-restricted agent keys) and
 * ping@openssh.com.
 */
export function extInfoPayload(sigAlgs: readonly string[] | undefined): Uint8Array {
  const algs = sigAlgs ?? DEFAULT_SIG_ALGS.filter((a) => canServeSignature(a));
  return new SSHWriter(256)
    .byte(MSG.EXT_INFO)
    .uint32(3)
    .string('server-sig-algs')
    .nameList(algs)
    .string(HOSTBOUND_EXTENSION)
    .string('0')
    .string('ping@openssh.com')
    .string('0')
    .toBytes();
}

/** The peer's EXT_INFO as (name, value) pairs, bounded: at most 1024 extensions, names 256 and values 64 KiB. */
export function parseExtInfo(payload: Uint8Array): [string, Uint8Array][] {
  const r = new SSHReader(payload, 'EXT_INFO');
  r.byte();
  const count = r.uint32();
  if (count > 1024) throw new ProtocolError(`EXT_INFO with ${count} extensions`);
  const out: [string, Uint8Array][] = [];
  for (let i = 0; i < count; i++) {
    const name = r.ascii(256);
    out.push([name, Uint8Array.from(r.string(64 * 1024))]);
  }
  return out;
}
