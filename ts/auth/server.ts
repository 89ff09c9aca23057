/**
 * Server side of user authentication (RFC 4252, RFC 4256). The library runs
 * the protocol; an `AuthServerInterface` (Paramiko's ServerInterface auth
 * methods, camelCase, any of which may return a promise) makes every
 * decision. Signatures are verified here before the policy is asked, so a
 * policy only decides whether the key is authorized for the user.
 */
import { canServeSignature, createVerifier, hash, plainAlgorithm } from '../crypto/index.js';
import { AuthenticationException, DisconnectError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHReader } from '../wire/index.js';
import { AUTH_FAILED, AUTH_PARTIALLY_SUCCESSFUL, AUTH_SUCCESSFUL, type AuthResult, CONNECTION_SERVICE, LIMITS } from './constants.js';
import {
  decodeGssapiMechanisms,
  decodeGssapiString,
  decodeInfoResponse,
  decodeRequestHead,
  encodeGssapiString,
  gssapiMicData,
  encodeBanner,
  encodeFailure,
  encodeInfoRequest,
  encodePkOk,
  publickeySignedData,
  PUBLICKEY_HOSTBOUND,
  type Prompt,
} from './messages.js';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from './signatureAlgorithms.js';
import type { AuthTransport } from './transport.js';
import { checkDuration, keyTypeOfHostKeyAlgorithm, type GssKexAcceptor } from '../transport/index.js';

/** A client's public key, as handed to `checkAuthPublickey`. */
export interface PublicKeyInfo {
  /**
   * Key type from the blob, e.g. `ssh-ed25519`, `ssh-rsa`, or for an
   * OpenSSH user certificate `ssh-ed25519-cert-v01@openssh.com`. A
   * certificate reaches the policy only once it is a user certificate
   * inside its validity whose CA signature verifies; whether that CA is
   * trusted, and for which principals, is the policy's decision
   * (`PublicKey.fromBlob(blob).certificate`), or the `cert-authority`
   * lines of `authorizedClientKeys`.
   */
  keyType: string;
  /** The SSH public key blob (compare it with authorized keys); for a certificate, the certificate. */
  blob: Uint8Array;
  /** Signature algorithm the client uses, e.g. `rsa-sha2-512` (`rsa-sha2-512-cert-v01@openssh.com` for a certificate). */
  algorithm: string;
  /** `SHA256:...`, as ssh-keygen -l prints. */
  fingerprint: string;
  /** False when the client only asks whether the key would be accepted (no signature yet). */
  signed: boolean;
}

/**
 * Keyboard-interactive questions for the client (Paramiko's InteractiveQuery).
 * Prompts are `(text, echo)`; echo false hides what the user types.
 */
export class InteractiveQuery {
  /** Title of the request, shown by clients that show one; may be empty. */
  name: string;
  /** Text shown before the prompts; may be empty. */
  instructions: string;
  /** The questions, in order (see `addPrompt`); the client answers each. */
  readonly prompts: Prompt[] = [];

  constructor(name = '', instructions = '', ...prompts: (string | Prompt | [string, boolean])[]) {
    this.name = name;
    this.instructions = instructions;
    for (const p of prompts) {
      if (typeof p === 'string') this.addPrompt(p);
      else if (Array.isArray(p)) this.addPrompt(p[0], p[1]);
      else this.addPrompt(p.prompt, p.echo);
    }
  }

  /** Adds a prompt; `echo` (default true) says whether the answer may be shown as typed. */
  addPrompt(prompt: string, echo = true): this {
    this.prompts.push({ prompt, echo });
    return this;
  }
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Authentication policy (the auth part of Paramiko's ServerInterface). Every
 * method is optional; a missing check means the method always fails, and
 * without `getAllowedAuths` the allowed methods are those with a check.
 */
export interface AuthServerInterface {
  /** Methods `username` may use, as a list or a comma-separated string. Asked again after each partial success. */
  getAllowedAuths?(username: string): MaybePromise<string | readonly string[]>;
  /** The `none` method: AUTH_SUCCESSFUL lets the user in without credentials. */
  checkAuthNone?(username: string): MaybePromise<AuthResult>;
  /**
   * The `password` method (Paramiko's `check_auth_password`): whether
   * `password` is right for `username`. AUTH_FAILED counts toward
   * `maxAuthTries`. Password-change requests always fail. When absent,
   * `password` always fails.
   */
  checkAuthPassword?(username: string, password: string): MaybePromise<AuthResult>;
  /**
   * Whether `key` may log in as `username`. Called for queries (answer
   * AUTH_SUCCESSFUL to send PK_OK) and, after the signature has verified,
   * for the real request.
   */
  checkAuthPublickey?(username: string, key: PublicKeyInfo): MaybePromise<AuthResult>;
  /** Starts keyboard-interactive: return the questions, or AUTH_FAILED. */
  checkAuthInteractive?(username: string, submethods: string): MaybePromise<InteractiveQuery | AuthResult>;
  /** The answers to the last query: a result, or another query for one more round. */
  checkAuthInteractiveResponse?(responses: string[], username: string): MaybePromise<InteractiveQuery | AuthResult>;
  /** A banner to send before authentication, or null. */
  getBanner?(): MaybePromise<string | { message: string; lang?: string } | null>;
  /**
   * gssapi-with-mic (Paramiko's check_auth_gssapi_with_mic): called once the
   * client's GSS-API context is established and its MIC has verified, so
   * `gssAuthenticated` is AUTH_SUCCESSFUL. `principal` is who Kerberos
   * vouches for (e.g. "alice@EXAMPLE.COM"): deciding whether that principal
   * may log in as `username` is the policy's job (a .k5login-style check).
   * `ccFile` is a credential cache holding credentials the client
   * delegated, or null.
   */
  checkAuthGssapiWithMic?(username: string, gssAuthenticated: AuthResult, ccFile: string | null, principal: string): MaybePromise<AuthResult>;
  /**
   * gssapi-keyex (Paramiko's check_auth_gssapi_keyex): the client proved
   * itself with the context of a GSS-API key exchange; the arguments are
   * those of checkAuthGssapiWithMic, which is asked instead when this is
   * missing.
   */
  checkAuthGssapiKeyex?(username: string, gssAuthenticated: AuthResult, ccFile: string | null, principal: string): MaybePromise<AuthResult>;
  /** Paramiko's enable_auth_gssapi: false turns gssapi-with-mic off. Default true when checkAuthGssapiWithMic exists. */
  enableAuthGssapi?(): MaybePromise<boolean>;
}

/**
 * One GSS-API acceptor context for a gssapi-with-mic exchange: the key
 * exchange's acceptor context without the MIC it alone makes
 * (mechanism-agnostic; Kerberos 5 is in ./gssapi/).
 */
export type GssServerContext = Omit<GssKexAcceptor, 'getMic'>;

/** A GSS-API mechanism the server accepts. */
export interface GssServerMechanism {
  /** The mechanism OID, DER-encoded. */
  readonly oid: Uint8Array;
  /**
   * A fresh acceptor context for one gssapi-with-mic attempt. Rejecting with an
   * SSHException (no keytab, say) fails only this method; other errors end the connection.
   */
  createContext(): MaybePromise<GssServerContext>;
}

export interface ServerAuthOptions {
  server: AuthServerInterface;
  /** Failed attempts before the client is disconnected (OpenSSH MaxAuthTries). Default 6. */
  maxAuthTries?: number;
  /** Milliseconds the client has to finish authenticating (OpenSSH LoginGraceTime), 0 to 2^31-1. Default 120 000; 0 = no limit. */
  authTimeout?: number;
  /** Banner text sent before the first reply (overrides `server.getBanner`). */
  banner?: string;
  /** Signature algorithms accepted for publickey. Default DEFAULT_PUBLICKEY_ALGORITHMS (no SHA-1 ssh-rsa). */
  publicKeyAlgorithms?: readonly string[];
  /** The GSS-API mechanism for gssapi-with-mic (used when the policy has checkAuthGssapiWithMic). */
  gssapi?: GssServerMechanism;
  debug?: (message: string) => void;
}

/** Who logged in, and how. */
export interface ServerAuthResult {
  username: string;
  /** Methods that succeeded, in order. */
  methods: string[];
}

const KNOWN_METHODS = ['publickey', 'password', 'keyboard-interactive', 'gssapi-with-mic', 'gssapi-keyex', 'none'] as const;

function fingerprintOf(blob: Uint8Array): string {
  return 'SHA256:' + Buffer.from(hash('sha256', blob)).toString('base64').replace(/=+$/, '');
}


function isResult(v: unknown): v is AuthResult {
  return v === AUTH_SUCCESSFUL || v === AUTH_FAILED || v === AUTH_PARTIALLY_SUCCESSFUL;
}

/** Printable, bounded text from the client for diagnostics. */
function clean(s: string, max = 64): string {
  // eslint-disable-next-line no-control-regex
  return s.slice(0, max).replace(/[\x00-\x1f\x7f]/g, '?');
}

/**
 * Runs user authentication for one server-side transport. Construct it as
 * soon as the transport exists; `result` resolves when a user is in and
 * rejects (after disconnecting the client) on too many failures, the
 * timeout, a protocol error, or when the transport closes first.
 */
/**
 * The server's attempt and time limits with their defaults (6 failed
 * attempts, 120 000 ms; 0 = no time limit), checked: SSHException
 * ERR_SSH_BAD_OPTION for a `maxAuthTries` that is not an integer >= 1 or an
 * `authTimeout` outside 0..2^31-1 ms (`checkDuration`). `listen()` calls it up
 * front so a bad value fails there rather than in every connection.
 */
export function serverAuthLimits(options: Pick<ServerAuthOptions, 'maxAuthTries' | 'authTimeout'>): { maxTries: number; timeout: number } {
  const maxTries = options.maxAuthTries ?? 6;
  if (!Number.isInteger(maxTries) || maxTries < 1) throw new SSHException('maxAuthTries must be an integer >= 1', { code: 'ERR_SSH_BAD_OPTION' });
  const timeout = checkDuration('authTimeout', options.authTimeout, { zero: 'no limit' }) ?? 120_000;
  return { maxTries, timeout };
}

export class UserAuthServer {
  readonly result: Promise<ServerAuthResult>;

  readonly #transport: AuthTransport;
  readonly #policy: AuthServerInterface;
  readonly #maxTries: number;
  readonly #accepted: ReadonlySet<string>;
  readonly #banner: string | undefined;
  readonly #debug: (m: string) => void;
  #resolve!: (r: ServerAuthResult) => void;
  #reject!: (e: Error) => void;
  #settled = false;
  #unsubscribe: (() => void) | null;
  #timer: NodeJS.Timeout | null = null;
  /** Requests are handled strictly one after another. */
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #username: string | null = null;
  #failures = 0;
  #bannerSent = false;
  #methods: string[] = [];
  /** Set while a keyboard-interactive exchange waits for INFO_RESPONSE. */
  #kbdint: { prompts: number } | null = null;
  /** Set while a gssapi-with-mic exchange waits for a context token or the MIC. */
  #gss: { ctx: GssServerContext; established: boolean } | null = null;
  readonly #gssMechanism: GssServerMechanism | undefined;

  constructor(transport: AuthTransport, options: ServerAuthOptions) {
    if (!options || typeof options.server !== 'object' || options.server === null) {
      throw new SSHException('server authentication needs a policy object (server)', { code: 'ERR_SSH_BAD_OPTION' });
    }
    const { maxTries, timeout } = serverAuthLimits(options);
    this.#transport = transport;
    this.#policy = options.server;
    this.#maxTries = maxTries;
    this.#accepted = new Set(options.publicKeyAlgorithms ?? DEFAULT_PUBLICKEY_ALGORITHMS);
    this.#banner = options.banner;
    this.#gssMechanism = options.gssapi;
    this.#debug = options.debug ?? (() => {});
    this.result = new Promise<ServerAuthResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever owns this may attach to `result` later; an unobserved failure must not crash the process.
    this.result.catch(() => {});
    this.#unsubscribe = transport.onMessage(this.#onMessage);
    if (timeout > 0) {
      this.#timer = setTimeout(() => {
        this.#abort(new TimeoutError(`client did not authenticate within ${timeout} ms`), DISCONNECT_REASON.BY_APPLICATION, 'authentication timeout');
      }, timeout);
      this.#timer.unref?.();
    }
    transport.closed.then(
      (err) => this.#settle(null, err ?? new DisconnectError('connection closed before authentication finished', DISCONNECT_REASON.CONNECTION_LOST)),
      () => {},
    );
  }

  readonly #onMessage = (type: number, payload: Buffer): void => {
    if (this.#settled) return; // RFC 4252 5.1: requests after success are ignored
    if (type < MSG.USERAUTH_REQUEST) return;
    const gssMessage = type === MSG.USERAUTH_GSSAPI_TOKEN || type === MSG.USERAUTH_GSSAPI_MIC || type === MSG.USERAUTH_GSSAPI_ERRTOK || type === MSG.USERAUTH_GSSAPI_EXCHANGE_COMPLETE;
    if (type !== MSG.USERAUTH_REQUEST && type !== MSG.USERAUTH_INFO_RESPONSE && !gssMessage) {
      this.#abort(new ProtocolError(`client sent message ${type} before authenticating`), DISCONNECT_REASON.PROTOCOL_ERROR, 'unexpected message before authentication');
      return;
    }
    if (++this.#pending > LIMITS.inbox) {
      this.#abort(new ProtocolError('client sent too many authentication requests without waiting for replies'), DISCONNECT_REASON.PROTOCOL_ERROR, 'too many requests');
      return;
    }
    this.#chain = this.#chain.then(async () => {
      this.#pending--;
      if (this.#settled) return;
      try {
        if (type === MSG.USERAUTH_REQUEST) await this.#onRequest(payload);
        // 61 is INFO_RESPONSE in keyboard-interactive and GSSAPI_TOKEN in gssapi-with-mic.
        else if (this.#gss && gssMessage) await this.#onGssMessage(type, payload);
        else if (type === MSG.USERAUTH_INFO_RESPONSE) await this.#onInfoResponse(payload);
        else throw new ProtocolError(`GSS-API message ${type} without a gssapi-with-mic exchange`);
      } catch (err) {
        if (err instanceof ProtocolError) {
          this.#abort(err, DISCONNECT_REASON.PROTOCOL_ERROR, err.message);
        } else {
          // A policy callback threw: the client is refused, not the process.
          const e = err instanceof SSHException ? err : new SSHException(`authentication policy failed: ${(err as Error)?.message ?? String(err)}`, { code: 'ERR_SSH_AUTH_POLICY', cause: err });
          this.#abort(e, DISCONNECT_REASON.BY_APPLICATION, 'internal error during authentication');
        }
      }
    });
  };

  async #sendBannerOnce(): Promise<void> {
    if (this.#bannerSent) return;
    this.#bannerSent = true;
    let banner: string | { message: string; lang?: string } | null | undefined = this.#banner;
    if (banner === undefined && this.#policy.getBanner) banner = await this.#policy.getBanner();
    if (banner === null || banner === undefined) return;
    const b = typeof banner === 'string' ? { message: banner, lang: '' } : banner;
    if (b.message.length > 0) this.#transport.send(encodeBanner(b.message, b.lang ?? ''));
  }

  async #allowed(username: string): Promise<string[]> {
    const p = this.#policy;
    if (p.getAllowedAuths) {
      const v = await p.getAllowedAuths(username);
      const list = typeof v === 'string' ? v.split(',') : [...v];
      return list.map((s) => s.trim()).filter((s) => s.length > 0 && s !== 'none');
    }
    const out: string[] = [];
    if (p.checkAuthPublickey) out.push('publickey');
    if (p.checkAuthPassword) out.push('password');
    if (p.checkAuthInteractive) out.push('keyboard-interactive');
    if (await this.#gssEnabled()) out.unshift('gssapi-with-mic');
    if (this.#keyexAcceptor() && (p.checkAuthGssapiKeyex || p.checkAuthGssapiWithMic)) out.unshift('gssapi-keyex');
    return out;
  }

  async #onRequest(payload: Buffer): Promise<void> {
    const head = decodeRequestHead(payload);
    const { username, service, reader } = head;
    // The host-bound form of publickey (ssh with destination-restricted agent keys) counts as publickey.
    const hostBound = head.method === PUBLICKEY_HOSTBOUND;
    const method = hostBound ? 'publickey' : head.method;
    if (this.#username !== null && this.#username !== username) {
      // OpenSSH refuses a change of user mid-authentication; so do we.
      throw new ProtocolError('change of user name during authentication is not allowed');
    }
    this.#username = username;
    if (service !== CONNECTION_SERVICE) {
      this.#abort(new ProtocolError(`client asked for unknown service ${clean(service)}`), DISCONNECT_REASON.SERVICE_NOT_AVAILABLE, 'service not available');
      return;
    }
    // A new request abandons an unfinished keyboard-interactive (RFC 4256 3.4) or GSS-API (RFC 4462 3.4) exchange.
    this.#kbdint = null;
    this.#gss = null;
    await this.#sendBannerOnce();
    this.#debug(`auth request: user ${clean(username)}, method ${clean(head.method)}`);
    const allowed = await this.#allowed(username);
    if (method !== 'none' && !allowed.includes(method)) {
      return this.#reply(method, AUTH_FAILED, allowed, { count: (KNOWN_METHODS as readonly string[]).includes(method) });
    }
    switch (method) {
      case 'none': {
        const r = this.#policy.checkAuthNone ? await this.#policy.checkAuthNone(username) : AUTH_FAILED;
        return this.#reply(method, r, allowed, { count: false });
      }
      case 'password':
        return this.#password(username, reader, allowed);
      case 'publickey':
        return this.#publickey(username, reader, allowed, hostBound);
      case 'keyboard-interactive':
        return this.#keyboardInteractive(username, reader, allowed);
      case 'gssapi-with-mic':
        return this.#gssapiStart(reader, allowed);
      case 'gssapi-keyex':
        return this.#gssapiKeyex(username, reader, allowed);
      default:
        return this.#reply(method, AUTH_FAILED, allowed, { count: false });
    }
  }

  async #password(username: string, r: SSHReader, allowed: string[]): Promise<void> {
    const change = r.boolean();
    const password = r.utf8(LIMITS.secret);
    if (change) r.utf8(LIMITS.secret);
    r.end();
    // Password changes are not offered by this server: an attempt to change fails.
    if (change || !this.#policy.checkAuthPassword) return this.#reply('password', AUTH_FAILED, allowed);
    return this.#reply('password', await this.#policy.checkAuthPassword(username, password), allowed);
  }

  async #publickey(username: string, r: SSHReader, allowed: string[], hostBound: boolean): Promise<void> {
    const signed = r.boolean();
    const algorithm = r.ascii(LIMITS.name);
    const blob = Uint8Array.from(r.string(LIMITS.blob));
    const hostKey = hostBound ? Uint8Array.from(r.string(LIMITS.blob)) : undefined;
    const sigBlob = signed ? r.string(LIMITS.blob) : null;
    r.end();
    if (hostKey) {
      const ours = this.#transport.sessionBinding?.hostKey;
      if (!ours || !Buffer.from(ours).equals(hostKey)) {
        this.#debug('publickey: a host-bound request names a host key other than the one this connection was made with');
        return this.#reply('publickey', AUTH_FAILED, allowed);
      }
    }
    let keyType: string;
    try {
      keyType = new SSHReader(blob, 'public key').ascii(LIMITS.name);
    } catch {
      return this.#reply('publickey', AUTH_FAILED, allowed);
    }
    if (!this.#accepted.has(algorithm) || !canServeSignature(algorithm) || keyTypeOfHostKeyAlgorithm(algorithm) !== keyType || !this.#policy.checkAuthPublickey) {
      this.#debug(`publickey: algorithm ${clean(algorithm)} for a ${clean(keyType)} key is not accepted`);
      return this.#reply('publickey', AUTH_FAILED, allowed);
    }
    const info: PublicKeyInfo = { keyType, blob, algorithm, fingerprint: fingerprintOf(blob), signed };
    if (!sigBlob) {
      const verdict = await this.#policy.checkAuthPublickey(username, info);
      if (verdict === AUTH_SUCCESSFUL || verdict === AUTH_PARTIALLY_SUCCESSFUL) {
        this.#debug(`publickey: ${info.fingerprint} acceptable, PK_OK`);
        this.#transport.send(encodePkOk(algorithm, blob));
        return;
      }
      return this.#reply('publickey', AUTH_FAILED, allowed);
    }
    if (!this.#verifySignature(username, algorithm, blob, sigBlob, hostKey)) {
      this.#debug(`publickey: signature by ${info.fingerprint} does not verify`);
      return this.#reply('publickey', AUTH_FAILED, allowed);
    }
    return this.#reply('publickey', await this.#policy.checkAuthPublickey(username, info), allowed);
  }

  #verifySignature(username: string, algorithm: string, blob: Uint8Array, sigBlob: Uint8Array, hostKey: Uint8Array | undefined): boolean {
    const sessionId = this.#transport.sessionId;
    if (!sessionId) return false;
    try {
      const sr = new SSHReader(sigBlob, 'publickey signature');
      const sigAlg = sr.ascii(LIMITS.name);
      const sig = sr.string(LIMITS.blob);
      sr.end();
      // A certificate's signature carries the plain algorithm name.
      if (sigAlg !== plainAlgorithm(algorithm)) return false;
      return createVerifier(blob).verify(algorithm, publickeySignedData(sessionId, username, algorithm, blob, hostKey), sig);
    } catch {
      // A malformed key or signature blob is a failed attempt, not a crash.
      return false;
    }
  }

  async #keyboardInteractive(username: string, r: SSHReader, allowed: string[]): Promise<void> {
    r.ascii(LIMITS.name); // language tag, deprecated
    const submethods = r.utf8(LIMITS.name);
    r.end();
    if (!this.#policy.checkAuthInteractive) return this.#reply('keyboard-interactive', AUTH_FAILED, allowed);
    return this.#interactiveStep(await this.#policy.checkAuthInteractive(username, submethods), allowed);
  }

  async #onInfoResponse(payload: Buffer): Promise<void> {
    if (!this.#kbdint) throw new ProtocolError('USERAUTH_INFO_RESPONSE without a keyboard-interactive request');
    const expected = this.#kbdint.prompts;
    this.#kbdint = null;
    const responses = decodeInfoResponse(payload);
    if (responses.length !== expected) throw new ProtocolError(`USERAUTH_INFO_RESPONSE has ${responses.length} answers for ${expected} prompts`);
    const username = this.#username!;
    const allowed = await this.#allowed(username);
    if (!this.#policy.checkAuthInteractiveResponse) return this.#reply('keyboard-interactive', AUTH_FAILED, allowed);
    return this.#interactiveStep(await this.#policy.checkAuthInteractiveResponse(responses, username), allowed);
  }

  #interactiveStep(v: InteractiveQuery | AuthResult, allowed: string[]): Promise<void> | void {
    if (v instanceof InteractiveQuery) {
      if (v.prompts.length > LIMITS.prompts) throw new SSHException(`an InteractiveQuery may have at most ${LIMITS.prompts} prompts`, { code: 'ERR_SSH_BAD_ARGUMENT' });
      this.#kbdint = { prompts: v.prompts.length };
      this.#transport.send(encodeInfoRequest({ name: v.name, instructions: v.instructions, lang: '', prompts: v.prompts }));
      return;
    }
    return this.#reply('keyboard-interactive', v, allowed);
  }

  /** The acceptor context of a GSS-API key exchange on this transport, if there was one. */
  #keyexAcceptor(): GssKexAcceptor | null {
    const ctx = this.#transport.gssKexContext;
    return ctx && !('initialToken' in ctx) ? ctx : null;
  }

  async #gssapiKeyex(username: string, r: SSHReader, allowed: string[]): Promise<void> {
    const mic = r.string(LIMITS.gssToken);
    r.end();
    const ctx = this.#keyexAcceptor();
    const p = this.#policy;
    const sessionId = this.#transport.sessionId;
    if (!ctx || !sessionId || !(p.checkAuthGssapiKeyex || p.checkAuthGssapiWithMic)) return this.#reply('gssapi-keyex', AUTH_FAILED, allowed);
    if (!ctx.verifyMic(gssapiMicData(sessionId, username, 'gssapi-keyex'), mic)) {
      this.#debug(`gssapi-keyex: the MIC of ${clean(ctx.principal, 256)} does not verify`);
      return this.#reply('gssapi-keyex', AUTH_FAILED, allowed);
    }
    const verdict = p.checkAuthGssapiKeyex
      ? await p.checkAuthGssapiKeyex(username, AUTH_SUCCESSFUL, ctx.ccFile, ctx.principal)
      : await p.checkAuthGssapiWithMic!(username, AUTH_SUCCESSFUL, ctx.ccFile, ctx.principal);
    return this.#reply('gssapi-keyex', verdict, allowed);
  }

  async #gssEnabled(): Promise<boolean> {
    const p = this.#policy;
    if (!this.#gssMechanism || !p.checkAuthGssapiWithMic) return false;
    return p.enableAuthGssapi ? (await p.enableAuthGssapi()) === true : true;
  }

  async #gssapiStart(r: SSHReader, allowed: string[]): Promise<void> {
    const offered = decodeGssapiMechanisms(r);
    const mech = this.#gssMechanism;
    if (!mech || !(await this.#gssEnabled()) || !offered.some((o) => Buffer.from(o).equals(Buffer.from(mech.oid)))) {
      this.#debug('gssapi-with-mic: no mechanism in common');
      return this.#reply('gssapi-with-mic', AUTH_FAILED, allowed);
    }
    let ctx: GssServerContext;
    try {
      ctx = await mech.createContext();
    } catch (err) {
      // No keytab, say: this method fails, the connection and the other methods go on.
      if (!(err instanceof SSHException) || err instanceof ProtocolError) throw err;
      this.#debug(`gssapi-with-mic unavailable: ${err.message}`);
      return this.#reply('gssapi-with-mic', AUTH_FAILED, allowed);
    }
    this.#gss = { ctx, established: false };
    this.#transport.send(encodeGssapiString(MSG.USERAUTH_GSSAPI_RESPONSE, mech.oid));
  }

  async #onGssMessage(type: number, payload: Buffer): Promise<void> {
    const gss = this.#gss!;
    const username = this.#username!;
    const allowed = await this.#allowed(username);
    const fail = (why: string): Promise<void> => {
      this.#gss = null;
      this.#debug(`gssapi-with-mic: ${why}`);
      return this.#reply('gssapi-with-mic', AUTH_FAILED, allowed);
    };
    if (type === MSG.USERAUTH_GSSAPI_TOKEN) {
      if (gss.established) throw new ProtocolError('USERAUTH_GSSAPI_TOKEN after the GSS-API context was established');
      const token = decodeGssapiString(payload, 'USERAUTH_GSSAPI_TOKEN');
      let step: { token: Uint8Array | null; established: boolean };
      try {
        step = await gss.ctx.accept(token);
      } catch (err) {
        // A token that does not decode or verify fails the method, as a refused ticket does; the SSH message itself was sound.
        if (!(err instanceof SSHException)) throw err;
        return fail(`context rejected: ${err.message}`);
      }
      if (step.token) this.#transport.send(encodeGssapiString(MSG.USERAUTH_GSSAPI_TOKEN, step.token));
      gss.established = step.established;
      return;
    }
    if (type === MSG.USERAUTH_GSSAPI_ERRTOK) return fail('the client sent an error token');
    // Without a MIC nothing binds the context to this connection: refused, as OpenSSH does.
    if (type === MSG.USERAUTH_GSSAPI_EXCHANGE_COMPLETE) return fail('EXCHANGE_COMPLETE without a MIC is not accepted');
    if (!gss.established) throw new ProtocolError('USERAUTH_GSSAPI_MIC before the GSS-API context was established');
    const mic = decodeGssapiString(payload, 'USERAUTH_GSSAPI_MIC');
    const sessionId = this.#transport.sessionId;
    if (!sessionId || !gss.ctx.verifyMic(gssapiMicData(sessionId, username), mic)) return fail(`the MIC of ${clean(gss.ctx.principal, 256)} does not verify`);
    this.#gss = null;
    this.#debug(`gssapi-with-mic: ${clean(gss.ctx.principal, 256)} authenticated by Kerberos`);
    return this.#reply('gssapi-with-mic', await this.#policy.checkAuthGssapiWithMic!(username, AUTH_SUCCESSFUL, gss.ctx.ccFile, gss.ctx.principal), allowed);
  }

  /** Sends SUCCESS or FAILURE for a finished attempt and keeps count of failures. */
  async #reply(method: string, verdict: AuthResult, allowed: string[], opts: { count?: boolean } = {}): Promise<void> {
    if (!isResult(verdict)) throw new SSHException(`policy returned ${String(verdict)} for ${method}; expected AUTH_SUCCESSFUL, AUTH_FAILED or AUTH_PARTIALLY_SUCCESSFUL`, { code: 'ERR_SSH_AUTH_POLICY' });
    const username = this.#username!;
    if (verdict === AUTH_SUCCESSFUL) {
      this.#methods.push(method);
      this.#debug(`user ${clean(username)} authenticated (${this.#methods.join(', ')})`);
      this.#transport.send(Uint8Array.of(MSG.USERAUTH_SUCCESS));
      // The transport starts delayed compression itself once SUCCESS is laid out; calling
      // authenticated() here would compress SUCCESS itself (the packet is only queued).
      this.#settle({ username, methods: [...this.#methods] }, null);
      return;
    }
    if (verdict === AUTH_PARTIALLY_SUCCESSFUL) {
      this.#methods.push(method);
      const next = await this.#allowed(username);
      this.#debug(`partial success with ${method}; next: ${next.join(',')}`);
      this.#transport.send(encodeFailure(next, true));
      return;
    }
    if (opts.count !== false) {
      this.#failures++;
      if (this.#failures >= this.#maxTries) {
        this.#abort(
          new AuthenticationException(`too many authentication failures for user ${clean(username)}`, { code: 'ERR_SSH_AUTH_TRIES', allowedTypes: allowed }),
          DISCONNECT_REASON.NO_MORE_AUTH_METHODS_AVAILABLE,
          'Too many authentication failures',
        );
        return;
      }
    }
    this.#transport.send(encodeFailure(allowed, false));
  }

  #abort(err: Error, reason: number, description: string): void {
    if (this.#settled) return;
    this.#debug(`authentication aborted: ${err.message}`);
    this.#settle(null, err);
    this.#transport.disconnect(reason, description);
  }

  #settle(result: ServerAuthResult | null, err: Error | null): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (result) {
      // Keep listening, silently: RFC 4252 5.1 says later auth requests are ignored.
      this.#resolve(result);
    } else {
      this.#unsubscribe?.();
      this.#unsubscribe = null;
      this.#reject(err!);
    }
  }
}
