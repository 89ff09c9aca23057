/**
 * GSS-API key exchange (RFC 4462 section 2, RFC 8732): an ephemeral
 * exchange (curve25519, NIST P-256, or a MODP group) whose server is
 * authenticated by a GSS-API context (Kerberos) instead of a host key
 * signature: the client's context token rides in KEXGSS_INIT with its public
 * value, and the server answers with its value, the reply token and a MIC
 * over the exchange hash H. A host key, if the server sends one
 * (KEXGSS_HOSTKEY), enters H but proves nothing on its own.
 *
 * Method names end in the base64 of the MD5 of the mechanism's DER OID.
 * The GSS-API contexts come from outside the transport (GssKexOptions):
 * the transport only frames tokens and MICs.
 */
import { createHash } from 'node:crypto';
import { ProtocolError, SSHException } from '../../errors.js';
import { SSHReader, SSHWriter } from '../../wire/index.js';
import { ephemeralFor, readValue, writeValue } from './ephemeral.js';
import { exchangeHash, unexpectedKexMessage, type KexContext, type KexResult, type KeyExchange } from './exchange.js';
import type { KexSpec } from './methods.js';

/** RFC 4462 section 2 message numbers. */
export const KEXGSS = { INIT: 30, CONTINUE: 31, COMPLETE: 32, HOSTKEY: 33, ERROR: 34 } as const;

/** A GSS-API initiator context for one exchange (client). */
export interface GssKexInitiator {
  /** The first context token. */
  readonly initialToken: Uint8Array;
  /** Whether the context is complete (after the acceptor's reply token, for mutual authentication). */
  readonly established: boolean;
  /** Processes a token from the acceptor; throws when it rejects or fails the context. */
  acceptReply(token: Uint8Array): void;
  /** The acceptor's MIC over H. */
  verifyMic(message: Uint8Array, mic: Uint8Array): boolean;
  /** Our MIC over `message` (the user authentication methods). */
  getMic(message: Uint8Array): Uint8Array;
}

/** A GSS-API acceptor context for one exchange (server). */
export interface GssKexAcceptor {
  /** Processes a context token from the initiator: the token to send back, if any, and whether the context is complete. Throws on failure. */
  accept(token: Uint8Array): { token: Uint8Array | null; established: boolean } | Promise<{ token: Uint8Array | null; established: boolean }>;
  /** Our MIC over `message` (H). */
  getMic(message: Uint8Array): Uint8Array;
  /** Whether `mic` is the initiator's valid MIC over `message` (the user authentication methods). */
  verifyMic(message: Uint8Array, mic: Uint8Array): boolean;
  /** The authenticated client principal (once established). */
  readonly principal: string;
  /** Where credentials the client delegated were stored, or null. */
  readonly ccFile: string | null;
}

/** The transport's GSS-API key exchange settings. */
export interface GssKexOptions {
  /** The mechanism's DER-encoded OID (Kerberos 5: 06 09 2a 86 48 86 f7 12 01 02 02). */
  oid: Uint8Array;
  /** Client: a fresh context for each exchange (rekeys included). */
  initiator?: () => GssKexInitiator;
  /** Server: a fresh acceptor for each exchange. */
  acceptor?: () => GssKexAcceptor | Promise<GssKexAcceptor>;
}

/** The exchanges offered by default, strongest first, with the method each builds on. */
const GSS_BASES: readonly [prefix: string, base: KexSpec][] = [
  ['gss-curve25519-sha256-', { kind: 'ecdh', hash: 'sha256', curve: 'x25519' }],
  ['gss-nistp256-sha256-', { kind: 'ecdh', hash: 'sha256', curve: 'nistp256' }],
  ['gss-group16-sha512-', { kind: 'dh', hash: 'sha512', group: 'group16' }],
  ['gss-group14-sha256-', { kind: 'dh', hash: 'sha256', group: 'group14' }],
];
/**
 * SHA-1 exchanges (RFC 4462): run only when listed in `algorithms.kex` by
 * full name, as the plain SHA-1 kex methods are. Paramiko's gss_kex offers
 * nothing newer than gss-group14-sha1.
 */
const LEGACY_GSS_BASES: readonly [prefix: string, base: KexSpec][] = [
  ['gss-group14-sha1-', { kind: 'dh', hash: 'sha1', group: 'group14' }],
  ['gss-group1-sha1-', { kind: 'dh', hash: 'sha1', group: 'group1' }],
];

/** The name suffix for a mechanism: base64(MD5(DER OID)). */
export function gssMechanismSuffix(oid: Uint8Array): string {
  return createHash('md5').update(oid).digest('base64');
}

/** The kex names for a mechanism, in our order of preference. */
export function gssKexNames(oid: Uint8Array): string[] {
  const suffix = gssMechanismSuffix(oid);
  return GSS_BASES.map(([prefix]) => prefix + suffix);
}

/** The spec of a gss-* name (any mechanism suffix), or undefined. */
export function gssKexSpec(name: string): Extract<KexSpec, { kind: 'gss' }> | undefined {
  for (const [prefix, base] of [...GSS_BASES, ...LEGACY_GSS_BASES]) {
    if (name.startsWith(prefix) && name.length > prefix.length) return { kind: 'gss', hash: base.hash, base: base as Extract<KexSpec, { kind: 'ecdh' | 'dh' }> };
  }
  return undefined;
}

const MAX_TOKEN = 64 * 1024;
const MAX_HOST_KEY_BLOB = 16384;
const MAX_ERROR_TEXT = 4096;

function gssFailure(message: string): SSHException {
  return new SSHException(`GSS-API key exchange: ${message}`, { code: 'ERR_SSH_GSS_KEX' });
}

/** One GSS-API key exchange, either role. */
export class GssKeyExchange implements KeyExchange {
  readonly #ctx: KexContext;
  readonly #eph: ReturnType<typeof ephemeralFor>;
  readonly #gss: GssKexOptions;
  #initiator: GssKexInitiator | null = null;
  #clientPublic: Uint8Array | null = null;
  #hostKeyBlob: Uint8Array = new Uint8Array(0);
  #peerError: string | null = null;
  #done = false;

  constructor(ctx: KexContext, gss: GssKexOptions) {
    const spec = ctx.spec;
    if (spec.kind !== 'gss') throw new ProtocolError(`${ctx.name} is not a GSS-API key exchange`);
    this.#ctx = ctx;
    this.#gss = gss;
    this.#eph = ephemeralFor({ ...ctx, spec: spec.base });
  }

  start(): void {
    if (this.#ctx.role !== 'client') return;
    if (!this.#gss.initiator) throw gssFailure('no GSS-API credentials for the client');
    this.#initiator = this.#gss.initiator();
    this.#clientPublic = this.#eph.clientPublic();
    const token = this.#initiator.initialToken;
    const w = new SSHWriter(token.length + this.#clientPublic.length + 16).byte(KEXGSS.INIT).string(token);
    this.#ctx.send(writeValue(w, this.#eph.valueEncoding, this.#clientPublic).toBytes());
  }

  handle(type: number, payload: Uint8Array): KexResult | Promise<KexResult> | null {
    if (this.#done) throw unexpectedKexMessage(this.#ctx, type, 'nothing (exchange finished)');
    return this.#ctx.role === 'server' ? this.#serverHandle(type, payload) : this.#clientHandle(type, payload);
  }

  #fields(qc: Uint8Array, qs: Uint8Array): (w: SSHWriter) => void {
    const enc = this.#eph.valueEncoding;
    return (w) => {
      writeValue(w, enc, qc);
      writeValue(w, enc, qs);
    };
  }

  #clientHandle(type: number, payload: Uint8Array): KexResult | null {
    const ctx = this.#ctx;
    const init = this.#initiator!;
    const r = new SSHReader(payload, `${ctx.name} message ${type}`);
    r.byte();
    switch (type) {
      case KEXGSS.HOSTKEY:
        this.#hostKeyBlob = Uint8Array.from(r.string(MAX_HOST_KEY_BLOB));
        r.end();
        return null;
      case KEXGSS.ERROR: {
        const major = r.uint32();
        const minor = r.uint32();
        const text = r.utf8(MAX_ERROR_TEXT);
        this.#peerError = `${text.slice(0, 300)} (major 0x${major.toString(16)}, minor ${minor})`;
        return null;
      }
      case KEXGSS.CONTINUE: {
        const token = r.string(MAX_TOKEN);
        r.end();
        if (init.established) throw new ProtocolError('KEXGSS_CONTINUE after the GSS-API context was established');
        init.acceptReply(token);
        // A Kerberos context needs no second token from us: the next message is COMPLETE.
        return null;
      }
      case KEXGSS.COMPLETE: {
        const qs = readValue(r, this.#eph.valueEncoding);
        const mic = r.string(MAX_TOKEN);
        const hasToken = r.boolean();
        const token = hasToken ? r.string(MAX_TOKEN) : null;
        r.end();
        this.#done = true;
        if (token) init.acceptReply(token);
        if (!init.established) throw gssFailure(`the server completed the exchange before the GSS-API context was established${this.#peerError ? `: ${this.#peerError}` : ''}`);
        const K = this.#eph.clientSecret(qs);
        const H = exchangeHash(ctx, ctx.spec.hash, this.#hostKeyBlob, this.#fields(this.#clientPublic!, qs), K);
        if (!init.verifyMic(H, mic)) throw gssFailure("the server's MIC over the exchange hash does not verify");
        return { hash: ctx.spec.hash, K, H, hostKeyBlob: this.#hostKeyBlob, gss: init };
      }
      default:
        throw unexpectedKexMessage(ctx, type, 'KEXGSS_HOSTKEY, KEXGSS_CONTINUE or KEXGSS_COMPLETE');
    }
  }

  async #serverHandle(type: number, payload: Uint8Array): Promise<KexResult> {
    const ctx = this.#ctx;
    if (type !== KEXGSS.INIT) throw unexpectedKexMessage(ctx, type, 'KEXGSS_INIT (30)');
    const r = new SSHReader(payload, `${ctx.name} init`);
    r.byte();
    const token = r.string(MAX_TOKEN);
    const qc = readValue(r, this.#eph.valueEncoding);
    r.end();
    this.#done = true;
    if (!this.#gss.acceptor) throw gssFailure('no GSS-API acceptor is configured');
    const acceptor = await this.#gss.acceptor();
    let step: { token: Uint8Array | null; established: boolean };
    try {
      step = await acceptor.accept(token);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.send(new SSHWriter(message.length + 32).byte(KEXGSS.ERROR).uint32(0x000d0000).uint32(0).string(message.slice(0, 300)).string('').toBytes());
      throw gssFailure(`the client's context was refused: ${message}`);
    }
    // Kerberos establishes in one round trip; a mechanism that wants more is not supported.
    if (!step.established) throw gssFailure('the GSS-API mechanism needs more than one round trip');
    // No KEXGSS_HOSTKEY, as sshd: the GSS-API context authenticates us, and
    // OpenSSH 9.2's client fails on that message ("buffer is read-only"). K_S is then empty in H.
    const hostKeyBlob = new Uint8Array(0);
    const { serverPublic, K } = this.#eph.serverRespond(qc);
    const H = exchangeHash(ctx, ctx.spec.hash, hostKeyBlob, this.#fields(qc, serverPublic), K);
    const mic = acceptor.getMic(H);
    const w = new SSHWriter(serverPublic.length + mic.length + (step.token?.length ?? 0) + 32).byte(KEXGSS.COMPLETE);
    writeValue(w, this.#eph.valueEncoding, serverPublic).string(mic).boolean(step.token !== null);
    if (step.token) w.string(step.token);
    ctx.send(w.toBytes());
    return { hash: ctx.spec.hash, K, H, hostKeyBlob, gss: acceptor };
  }
}
