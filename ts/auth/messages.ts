/**
 * Encoding and decoding of the user authentication messages (RFC 4252
 * sections 5-8, RFC 4256 section 3). Every length read is bounded by LIMITS.
 */
import { ProtocolError } from '../errors.js';
import { MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { CONNECTION_SERVICE, LIMITS } from './constants.js';

/** A keyboard-interactive prompt: the text to show, and whether to echo what the user types. */
export interface Prompt {
  /** Text shown to the user. */
  prompt: string;
  /** Whether the answer may be shown as it is typed (false for secrets). */
  echo: boolean;
}

/** SSH_MSG_USERAUTH_INFO_REQUEST. */
export interface InfoRequest {
  name: string;
  instructions: string;
  lang: string;
  prompts: Prompt[];
}

/** SSH_MSG_USERAUTH_FAILURE. */
export interface Failure {
  allowed: string[];
  partial: boolean;
}

/** The start of every USERAUTH_REQUEST: byte 50, user name, service, method. */
function requestHead(username: string, method: string, extra = 64): SSHWriter {
  return new SSHWriter(username.length * 3 + method.length + extra + 32)
    .byte(MSG.USERAUTH_REQUEST)
    .string(username)
    .string(CONNECTION_SERVICE)
    .string(method);
}

export function encodeNoneRequest(username: string): Uint8Array {
  return requestHead(username, 'none').toBytes();
}

export function encodePasswordRequest(username: string, password: string, newPassword?: string): Uint8Array {
  const w = requestHead(username, 'password', (password.length + (newPassword?.length ?? 0)) * 3 + 16).boolean(newPassword !== undefined).string(password);
  if (newPassword !== undefined) w.string(newPassword);
  return w.toBytes();
}

/** OpenSSH's publickey variant that also names the server's host key (PROTOCOL section 3.1), so agents can check where a signature goes. */
export const PUBLICKEY_HOSTBOUND = 'publickey-hostbound-v00@openssh.com';

/**
 * A publickey request; with `signature` (the full SSH signature blob) it is
 * the signed one. With `hostKey` it is the `publickey-hostbound-v00@openssh.com`
 * form, which carries the server's host key after the user's key.
 */
export function encodePublickeyRequest(username: string, algorithm: string, blob: Uint8Array, signature?: Uint8Array, hostKey?: Uint8Array): Uint8Array {
  const w = requestHead(username, hostKey ? PUBLICKEY_HOSTBOUND : 'publickey', blob.length + (signature?.length ?? 0) + (hostKey?.length ?? 0) + algorithm.length + 24)
    .boolean(signature !== undefined)
    .string(algorithm)
    .string(blob);
  if (hostKey) w.string(hostKey);
  if (signature) w.string(signature);
  return w.toBytes();
}

/**
 * The data a publickey signature covers (RFC 4252 section 7): the session
 * identifier as a string, then the request exactly as sent, with the
 * has-signature flag TRUE and without the signature itself (so, for the
 * host-bound form, with the host key).
 */
export function publickeySignedData(sessionId: Uint8Array, username: string, algorithm: string, blob: Uint8Array, hostKey?: Uint8Array): Uint8Array {
  const w = new SSHWriter(sessionId.length + blob.length + (hostKey?.length ?? 0) + username.length * 3 + 128)
    .string(sessionId)
    .byte(MSG.USERAUTH_REQUEST)
    .string(username)
    .string(CONNECTION_SERVICE)
    .string(hostKey ? PUBLICKEY_HOSTBOUND : 'publickey')
    .boolean(true)
    .string(algorithm)
    .string(blob);
  if (hostKey) w.string(hostKey);
  return w.toBytes();
}

export function encodeKeyboardInteractiveRequest(username: string, submethods: string): Uint8Array {
  return requestHead(username, 'keyboard-interactive', submethods.length + 16).string('').string(submethods).toBytes();
}

export function encodeInfoResponse(responses: readonly string[]): Uint8Array {
  const w = new SSHWriter(64 + responses.reduce((n, r) => n + r.length * 3 + 4, 0)).byte(MSG.USERAUTH_INFO_RESPONSE).uint32(responses.length);
  for (const r of responses) w.string(r);
  return w.toBytes();
}

export function encodeFailure(allowed: readonly string[], partial: boolean): Uint8Array {
  return new SSHWriter(64).byte(MSG.USERAUTH_FAILURE).nameList(allowed).boolean(partial).toBytes();
}

export function encodeBanner(message: string, lang = ''): Uint8Array {
  return new SSHWriter(message.length * 3 + 16).byte(MSG.USERAUTH_BANNER).string(message).string(lang).toBytes();
}

export function encodePkOk(algorithm: string, blob: Uint8Array): Uint8Array {
  return new SSHWriter(blob.length + algorithm.length + 16).byte(MSG.USERAUTH_PK_OK).string(algorithm).string(blob).toBytes();
}

export function encodeInfoRequest(req: InfoRequest): Uint8Array {
  const w = new SSHWriter(256).byte(MSG.USERAUTH_INFO_REQUEST).string(req.name).string(req.instructions).string(req.lang).uint32(req.prompts.length);
  for (const p of req.prompts) w.string(p.prompt).boolean(p.echo);
  return w.toBytes();
}

export function decodeFailure(payload: Uint8Array): Failure {
  const r = new SSHReader(payload, 'USERAUTH_FAILURE');
  r.byte();
  const allowed = r.nameList(LIMITS.text);
  const partial = r.boolean();
  return { allowed, partial };
}

export function decodeBanner(payload: Uint8Array): { message: string; lang: string } {
  const r = new SSHReader(payload, 'USERAUTH_BANNER');
  r.byte();
  const message = r.utf8(LIMITS.text);
  // Some servers omit the language tag; the message is what matters.
  const lang = r.remaining > 0 ? r.ascii(LIMITS.name) : '';
  return { message, lang };
}

export function decodePkOk(payload: Uint8Array): { algorithm: string; blob: Uint8Array } {
  const r = new SSHReader(payload, 'USERAUTH_PK_OK');
  r.byte();
  const algorithm = r.ascii(LIMITS.name);
  const blob = r.string(LIMITS.blob);
  r.end();
  return { algorithm, blob };
}

export function decodePasswordChangeRequest(payload: Uint8Array): { prompt: string; lang: string } {
  const r = new SSHReader(payload, 'USERAUTH_PASSWD_CHANGEREQ');
  r.byte();
  const prompt = r.utf8(LIMITS.text);
  const lang = r.remaining > 0 ? r.ascii(LIMITS.name) : '';
  return { prompt, lang };
}

export function decodeInfoRequest(payload: Uint8Array): InfoRequest {
  const r = new SSHReader(payload, 'USERAUTH_INFO_REQUEST');
  r.byte();
  const name = r.utf8(LIMITS.text);
  const instructions = r.utf8(LIMITS.text);
  const lang = r.ascii(LIMITS.name);
  const count = r.uint32();
  if (count > LIMITS.prompts) throw new ProtocolError(`USERAUTH_INFO_REQUEST with ${count} prompts (limit ${LIMITS.prompts})`);
  const prompts: Prompt[] = [];
  for (let i = 0; i < count; i++) prompts.push({ prompt: r.utf8(LIMITS.text), echo: r.boolean() });
  r.end();
  return { name, instructions, lang, prompts };
}

export function decodeInfoResponse(payload: Uint8Array): string[] {
  const r = new SSHReader(payload, 'USERAUTH_INFO_RESPONSE');
  r.byte();
  const count = r.uint32();
  if (count > LIMITS.prompts) throw new ProtocolError(`USERAUTH_INFO_RESPONSE with ${count} responses (limit ${LIMITS.prompts})`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r.utf8(LIMITS.secret));
  r.end();
  return out;
}

/** A USERAUTH_REQUEST as the server sees it; method-specific fields are left in `reader`. */
export interface DecodedRequest {
  username: string;
  service: string;
  method: string;
  reader: SSHReader;
}

export function decodeRequestHead(payload: Uint8Array): DecodedRequest {
  const reader = new SSHReader(payload, 'USERAUTH_REQUEST');
  reader.byte();
  const username = reader.utf8(LIMITS.name);
  const service = reader.ascii(LIMITS.name);
  const method = reader.ascii(LIMITS.name);
  return { username, service, method, reader };
}

// ───────────── gssapi-with-mic (RFC 4462 section 3) ─────────────

/** A gssapi-with-mic request offering `mechanisms` (each a DER-encoded OID). */
export function encodeGssapiRequest(username: string, mechanisms: readonly Uint8Array[]): Uint8Array {
  const w = requestHead(username, 'gssapi-with-mic', mechanisms.reduce((n, m) => n + m.length + 4, 8)).uint32(mechanisms.length);
  for (const m of mechanisms) w.string(m);
  return w.toBytes();
}

/** The mechanism OIDs of a gssapi-with-mic request, from its method-specific fields. */
export function decodeGssapiMechanisms(r: SSHReader): Uint8Array[] {
  const count = r.uint32();
  if (count > LIMITS.gssMechanisms) throw new ProtocolError(`gssapi-with-mic request offering ${count} mechanisms (limit ${LIMITS.gssMechanisms})`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(r.string(LIMITS.name));
  r.end();
  return out;
}

/** SSH_MSG_USERAUTH_GSSAPI_RESPONSE, TOKEN, ERRTOK and MIC: a message number and one string. */
export function encodeGssapiString(type: number, data: Uint8Array): Uint8Array {
  return new SSHWriter(data.length + 8).byte(type).string(data).toBytes();
}

export function decodeGssapiString(payload: Uint8Array, what: string): Uint8Array {
  const r = new SSHReader(payload, what);
  r.byte();
  const data = r.string(LIMITS.gssToken);
  r.end();
  return data;
}

/** SSH_MSG_USERAUTH_GSSAPI_ERROR: the peer's GSS status and message. */
export function decodeGssapiError(payload: Uint8Array): { major: number; minor: number; message: string } {
  const r = new SSHReader(payload, 'USERAUTH_GSSAPI_ERROR');
  r.byte();
  const major = r.uint32();
  const minor = r.uint32();
  const message = r.utf8(LIMITS.text);
  return { major, minor, message };
}

/**
 * What the MIC covers (RFC 4462 section 3.5): the session identifier, then
 * a USERAUTH_REQUEST head for this user, service and method.
 */
export function gssapiMicData(sessionId: Uint8Array, username: string, method: 'gssapi-with-mic' | 'gssapi-keyex' = 'gssapi-with-mic'): Uint8Array {
  return new SSHWriter(sessionId.length + username.length * 3 + 64)
    .string(sessionId)
    .byte(MSG.USERAUTH_REQUEST)
    .string(username)
    .string(CONNECTION_SERVICE)
    .string(method)
    .toBytes();
}

/** A gssapi-keyex request (RFC 4462 section 4): the MIC over gssapiMicData(..., 'gssapi-keyex') with the key exchange's context. */
export function encodeGssapiKeyexRequest(username: string, mic: Uint8Array): Uint8Array {
  return requestHead(username, 'gssapi-keyex', mic.length + 8).string(mic).toBytes();
}
