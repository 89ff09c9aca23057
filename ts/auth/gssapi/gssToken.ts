/**
 * The GSS-API initial context token framing (RFC 2743 3.1, RFC 1964 1.1,
 * RFC 4121 4.1) around the Kerberos 5 mechanism's context tokens.
 */
import { ProtocolError } from '../../errors.js';
import { DER_CLASS, DerReader, derOid, derTlv } from '../../wire/der.js';

const { APPLICATION } = DER_CLASS;

/** The Kerberos 5 GSS-API mechanism (RFC 1964). */
export const KRB5_MECH_OID = '1.2.840.113554.1.2.2';

/** RFC 1964 1.1 / RFC 4121 4.1 TOK_ID values of context tokens. */
export const GSS_TOK_ID = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

/** The DER of {@link KRB5_MECH_OID} (06 09 2a 86 48 86 f7 12 01 02 02), as SSH's gssapi-with-mic carries it. */
export const encodeMechOid = (): Buffer => derOid(KRB5_MECH_OID);

/** A context token: [APPLICATION 0] IMPLICIT { mech OID, TOK_ID (2 bytes, big-endian), body } (RFC 2743 3.1). */
export function wrapInitialToken(tokId: number, body: Uint8Array): Buffer {
  if (!Number.isInteger(tokId) || tokId < 0 || tokId > 0xffff) throw new ProtocolError(`GSS-API token: bad TOK_ID ${tokId}`);
  return derTlv(APPLICATION, true, 0, [encodeMechOid(), Buffer.from([tokId >> 8, tokId & 0xff]), body]);
}

/**
 * Splits a context token made by {@link wrapInitialToken}. The framing must
 * span the whole token; the mechanism must be `expectedOid` (Kerberos 5
 * unless told otherwise; null accepts any). `body` is a copy.
 */
export function unwrapInitialToken(token: Uint8Array, expectedOid: string | null = KRB5_MECH_OID): { oid: string; tokId: number; body: Buffer } {
  const what = 'GSS-API context token';
  const r = new DerReader(token, what);
  const t = r.expect(APPLICATION, 0, true, what);
  r.end(what);
  const inner = r.children(t);
  const oid = inner.oid('mechanism OID');
  if (expectedOid !== null && oid !== expectedOid) throw new ProtocolError(`${what}: mechanism ${oid}, expected ${expectedOid}`);
  const rest = t.value.subarray(t.value.length - inner.remaining);
  if (rest.length < 2) throw new ProtocolError(`${what}: truncated TOK_ID`);
  return { oid, tokId: (rest[0]! << 8) | rest[1]!, body: Buffer.from(rest.subarray(2)) };
}
