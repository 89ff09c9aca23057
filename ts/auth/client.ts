/**
 * Client side of user authentication (RFC 4252, RFC 4256): one method at a
 * time (`UserAuthClient`), and the whole sequence Paramiko's connect runs
 * (`authenticateClient`): none, then public keys, then password, then
 * keyboard-interactive, continuing after partial success (RFC 4252 5.1).
 */
import { hash, plainAlgorithm } from '../crypto/index.js';
import type { Signer } from '../crypto/types.js';
import { abortError, AuthenticationException, BadAuthenticationType, DisconnectError, PartialAuthentication, ProtocolError, SSHException } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHWriter } from '../wire/index.js';
import { USERAUTH_SERVICE } from './constants.js';
import { AuthInbox, type AuthMessage } from './inbox.js';
import {
  decodeBanner,
  decodeFailure,
  decodeGssapiError,
  decodeGssapiString,
  encodeGssapiKeyexRequest,
  encodeGssapiRequest,
  encodeGssapiString,
  gssapiMicData,
  decodeInfoRequest,
  decodePasswordChangeRequest,
  decodePkOk,
  encodeInfoResponse,
  encodeKeyboardInteractiveRequest,
  encodeNoneRequest,
  encodePasswordRequest,
  encodePublickeyRequest,
  publickeySignedData,
  type Prompt,
} from './messages.js';
import { DEFAULT_PUBLICKEY_ALGORITHMS, signatureAlgorithmsToTry } from './signatureAlgorithms.js';
import type { AuthTransport } from './transport.js';
import { checkDuration, type GssKexInitiator, HOSTBOUND_EXTENSION, type SessionBinding } from '../transport/index.js';

/** Answers keyboard-interactive prompts: one string per prompt, in order. */
export type KeyboardInteractiveHandler = (name: string, instructions: string, prompts: Prompt[]) => string[] | Promise<string[]>;

/** Supplies a new password when the server says the old one expired (SSH_MSG_USERAUTH_PASSWD_CHANGEREQ). */
export type PasswordChangeHandler = (prompt: string, lang: string) => string | Promise<string>;

/** Receives the server's SSH_MSG_USERAUTH_BANNER text (show it to the user as is; it comes from the server). */
export type BannerHandler = (message: string, lang: string) => void;

/** What a key source learns about the session it produces signers for. */
export interface KeySourceSession {
  /** H of the first key exchange. */
  sessionId: Uint8Array;
  /** The server's host key and its signature over `sessionId` (what an agent's session-bind checks); null after GSS-API key exchange. */
  binding: SessionBinding | null;
}

/**
 * A public key to try: a Signer, or a function that produces signers when
 * first needed (an agent is asked for its keys only if publickey is allowed;
 * it is told about the session, so that it can bind the agent to it).
 */
export type KeySource = Signer | ((session: KeySourceSession) => readonly Signer[] | Promise<readonly Signer[]>);

/**
 * A GSS-API security context on the way to being established, for
 * gssapi-with-mic (RFC 4462 section 3): the key exchange's initiator
 * context without the MIC check it alone needs. Mechanism-agnostic: the
 * Kerberos 5 one is in ./gssapi/.
 */
export type GssClientContext = Omit<GssKexInitiator, 'verifyMic'>;

/** A GSS-API mechanism the client can authenticate with. */
export interface GssClientMechanism {
  /** The mechanism OID, DER-encoded (06 len ...), as gssapi-with-mic sends it. */
  readonly oid: Uint8Array;
  /** Gets credentials (a Kerberos service ticket, say) and starts a context; rejects when there are none. */
  createContext(signal?: AbortSignal): Promise<GssClientContext>;
}

/** How one attempt ended. `partial`: this method succeeded, but the server wants more. */
export interface AttemptResult {
  outcome: 'success' | 'partial' | 'failure';
  /** Methods the server allows to continue (empty on success). */
  allowed: string[];
}

export interface UserAuthClientOptions {
  username: string;
  onBanner?: BannerHandler;
  /**
   * Milliseconds to wait for each server reply, 0 to 2^31-1. Default 30 000
   * (Paramiko's auth_timeout); 0 = no limit. Another value throws
   * SSHException ERR_SSH_BAD_OPTION from the constructor.
   */
  authTimeout?: number;
  signal?: AbortSignal;
  /** Signature algorithms we are willing to send. Default DEFAULT_PUBLICKEY_ALGORITHMS (no SHA-1 ssh-rsa). */
  publicKeyAlgorithms?: readonly string[];
  /** Diagnostic lines (never secrets). */
  debug?: (message: string) => void;
}

const MAX_PASSWORD_CHANGE_ROUNDS = 3;
const MAX_KBDINT_ROUNDS = 32;

/** SHA256 fingerprint of a public key blob, for diagnostics. */
function fingerprintOf(blob: Uint8Array): string {
  return 'SHA256:' + Buffer.from(hash('sha256', blob)).toString('base64').replace(/=+$/, '');
}

function badArgument(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_ARGUMENT' });
}

/**
 * One user-authentication conversation with a server. Call `start()` once,
 * then any of the method calls, one at a time, until one returns success.
 * `close()` detaches from the transport (done for you on success).
 */
export class UserAuthClient {
  readonly username: string;
  /** Methods that succeeded, in order (partial successes included). */
  readonly methodsSucceeded: string[] = [];
  /** What the server last said it allows; null before the first FAILURE. */
  allowed: string[] | null = null;
  /** Whether the server has accepted us. */
  authenticated = false;

  readonly #transport: AuthTransport;
  readonly #inbox: AuthInbox;
  readonly #timeout: number;
  readonly #signal: AbortSignal | undefined;
  readonly #accepted: readonly string[];
  readonly #debug: (m: string) => void;
  #busy = false;
  #started = false;

  constructor(transport: AuthTransport, options: UserAuthClientOptions) {
    if (typeof options.username !== 'string' || options.username.length === 0) throw badArgument('a user name is required for authentication');
    this.username = options.username;
    this.#transport = transport;
    this.#timeout = checkDuration('authTimeout', options.authTimeout, { zero: 'no limit' }) ?? 30_000;
    this.#signal = options.signal;
    this.#accepted = options.publicKeyAlgorithms ?? DEFAULT_PUBLICKEY_ALGORITHMS;
    this.#debug = options.debug ?? (() => {});
    this.#inbox = new AuthInbox(transport);
    const onBanner = options.onBanner;
    this.#inbox.onBanner = (payload) => {
      const { message, lang } = decodeBanner(payload);
      this.#debug(`server banner received (${message.length} characters)`);
      if (!onBanner) return;
      try {
        onBanner(message, lang);
      } catch (err) {
        // A faulty display callback must not tear down the connection.
        this.#debug(`onBanner threw: ${(err as Error)?.message ?? String(err)}`);
      }
    };
  }

  /** Requests the ssh-userauth service. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#transport.requestService(USERAUTH_SERVICE);
  }

  /** The `none` method: succeeds only on servers that need no authentication; mainly learns the allowed methods. */
  none(): Promise<AttemptResult> {
    return this.#attempt('none', async () => {
      this.#transport.send(encodeNoneRequest(this.username));
      return this.#finalReply(await this.#next(), 'none');
    });
  }

  /**
   * The `password` method. If the server asks for a password change,
   * `onChange` supplies the new one; without it an AuthenticationException
   * with code ERR_SSH_PASSWORD_CHANGE is thrown.
   */
  password(password: string, onChange?: PasswordChangeHandler): Promise<AttemptResult> {
    if (typeof password !== 'string') throw badArgument('password must be a string');
    return this.#attempt('password', async () => {
      this.#transport.send(encodePasswordRequest(this.username, password));
      for (let round = 0; ; round++) {
        const m = await this.#next();
        if (m.type !== MSG.USERAUTH_PASSWD_CHANGEREQ) return this.#finalReply(m, 'password');
        const { prompt, lang } = decodePasswordChangeRequest(m.payload);
        this.#debug('server requests a password change');
        if (!onChange) {
          throw new AuthenticationException(`the server requires a password change (${prompt.slice(0, 200)}) and no passwordChangeHandler was given`, {
            code: 'ERR_SSH_PASSWORD_CHANGE',
            allowedTypes: this.allowed ?? [],
          });
        }
        if (round >= MAX_PASSWORD_CHANGE_ROUNDS) {
          throw new AuthenticationException(`the server rejected ${MAX_PASSWORD_CHANGE_ROUNDS} new passwords`, { code: 'ERR_SSH_PASSWORD_CHANGE' });
        }
        const next = await onChange(prompt, lang);
        if (typeof next !== 'string') throw badArgument('passwordChangeHandler must return the new password as a string');
        this.#transport.send(encodePasswordRequest(this.username, password, next));
      }
    });
  }

  /**
   * The `publickey` method: first asks whether the server would accept the
   * key (no signature, so an agent is not asked to sign for a key the server
   * refuses), then signs session id || request (RFC 4252 section 7). For an
   * RSA key without a server-sig-algs list, rsa-sha2-512, rsa-sha2-256 (and
   * ssh-rsa if accepted) are asked about in turn.
   */
  publickey(signer: Signer): Promise<AttemptResult> {
    return this.#attempt('publickey', async () => {
      const blob = signer.publicKeyBlob;
      const label = `${signer.keyType} ${fingerprintOf(blob)}`;
      const algorithms = signatureAlgorithmsToTry(signer, this.#transport.serverSigAlgs, this.#accepted);
      if (algorithms.length === 0) {
        const ours = signer.signatureAlgorithms.filter((a) => this.#accepted.includes(a));
        const why = ours.length === 0
          ? `${signer.signatureAlgorithms.join('/')} is not among the accepted algorithms (list it in algorithms.publicKey to use this key)`
          : `the server's server-sig-algs names none of ${ours.join(', ')}`;
        this.skippedKeys.push(`${label}: ${why}`);
        this.#debug(`skipping key ${label}: ${why}`);
        return { outcome: 'failure', allowed: this.allowed ?? [] };
      }
      // Without server-sig-algs an RSA key's algorithms are asked about in
      // turn; with it the first one is the server's choice too, and asking
      // again would only spend the server's failure budget.
      const candidates = this.#transport.serverSigAlgs === null ? algorithms : algorithms.slice(0, 1);
      let chosen: string | null = null;
      const hostKey = this.#hostBound();
      for (const alg of candidates) {
        this.#debug(`offering public key ${label} (${alg})${hostKey ? ', host-bound' : ''}`);
        this.#transport.send(encodePublickeyRequest(this.username, alg, blob, undefined, hostKey));
        const m = await this.#next();
        if (m.type === MSG.USERAUTH_PK_OK) {
          const ok = decodePkOk(m.payload);
          if (ok.algorithm !== alg || !Buffer.from(ok.blob).equals(Buffer.from(blob))) {
            throw new ProtocolError('USERAUTH_PK_OK names a different key or algorithm than was offered');
          }
          chosen = alg;
          break;
        }
        const r = this.#finalReply(m, 'publickey');
        if (r.outcome !== 'failure') return r; // a server may accept without a signature (none-like policy)
        if (!r.allowed.includes('publickey')) return r;
      }
      if (chosen === null) return { outcome: 'failure', allowed: this.allowed ?? [] };
      const sessionId = this.#transport.sessionId;
      if (!sessionId) throw new SSHException('no session id: key exchange has not completed', { code: 'ERR_SSH_INTERNAL' });
      let signature: Uint8Array;
      try {
        signature = await signer.sign(chosen, publickeySignedData(sessionId, this.username, chosen, blob, hostKey));
      } catch (err) {
        // An agent may refuse (locked, confirmation denied): try other keys.
        this.#debug(`signing with ${label} failed: ${(err as Error)?.message ?? String(err)}`);
        return { outcome: 'failure', allowed: this.allowed ?? [] };
      }
      // A certificate's signature carries the plain algorithm name (PROTOCOL.certkeys).
      const sigBlob = new SSHWriter(signature.length + chosen.length + 16).string(plainAlgorithm(chosen)).string(signature).toBytes();
      this.#transport.send(encodePublickeyRequest(this.username, chosen, blob, sigBlob, hostKey));
      return this.#finalReply(await this.#next(), 'publickey');
    });
  }

  /**
   * The server's host key when it accepts host-bound publickey requests
   * (EXT_INFO `publickey-hostbound@openssh.com` version "0", as OpenSSH
   * sends them then): agents with destination-restricted keys (`ssh-add -h`)
   * sign only requests that name the host they were bound to.
   */
  #hostBound(): Uint8Array | undefined {
    const v = this.#transport.peerExtensions?.get(HOSTBOUND_EXTENSION);
    const binding = this.#transport.sessionBinding;
    if (!v || !binding || Buffer.from(v).toString('latin1') !== '0') return undefined;
    return binding.hostKey;
  }

  /**
   * The `keyboard-interactive` method (RFC 4256). With `password` given, a
   * round of exactly one hidden prompt containing "password" is answered
   * with it (once), as Paramiko does; everything else goes to `handler`.
   * Without a handler, a round that cannot be answered ends the attempt as
   * a failure.
   */
  keyboardInteractive(handler?: KeyboardInteractiveHandler, options: { password?: string; submethods?: string } = {}): Promise<AttemptResult> {
    return this.#attempt('keyboard-interactive', async () => {
      this.#transport.send(encodeKeyboardInteractiveRequest(this.username, options.submethods ?? ''));
      let passwordUsed = false;
      for (let round = 0; ; round++) {
        const m = await this.#next();
        if (m.type !== MSG.USERAUTH_INFO_REQUEST) return this.#finalReply(m, 'keyboard-interactive');
        if (round >= MAX_KBDINT_ROUNDS) throw new ProtocolError(`more than ${MAX_KBDINT_ROUNDS} keyboard-interactive rounds`);
        const req = decodeInfoRequest(m.payload);
        let responses: string[];
        const p = req.prompts;
        if (options.password !== undefined && !passwordUsed && p.length === 1 && !p[0]!.echo && /password/i.test(p[0]!.prompt)) {
          this.#debug('answering the keyboard-interactive password prompt with the password');
          responses = [options.password];
          passwordUsed = true;
        } else if (p.length === 0 && req.name === '' && req.instructions === '') {
          // Nothing to ask and nothing to show (PAM ends with such a round): answer without the handler.
          responses = [];
        } else if (handler) {
          responses = await handler(req.name, req.instructions, p.map((x) => ({ ...x })));
          if (!Array.isArray(responses) || responses.length !== p.length || !responses.every((x) => typeof x === 'string')) {
            throw badArgument(`kbdintHandler must return ${p.length} string(s), one per prompt`);
          }
        } else if (p.length === 0) {
          responses = [];
        } else {
          this.#debug(`cannot answer ${p.length} keyboard-interactive prompt(s) without a kbdintHandler`);
          return { outcome: 'failure', allowed: this.allowed ?? [] };
        }
        this.#transport.send(encodeInfoResponse(responses));
      }
    });
  }

  /**
   * The `gssapi-with-mic` method (RFC 4462 section 3): the context is made
   * first (so a client without credentials never asks), the server picks the
   * mechanism, the context tokens go back and forth, and a MIC over the
   * session identifier proves the context belongs to this connection. What
   * went wrong on the GSS side is kept in `gssError`.
   */
  gssapiWithMic(mechanism: GssClientMechanism): Promise<AttemptResult> {
    return this.#attempt('gssapi-with-mic', async () => {
      let ctx: GssClientContext;
      try {
        ctx = await mechanism.createContext(this.#signal);
      } catch (err) {
        // No ticket, no KDC: the method fails here without asking the server, and the others go on, as with ssh.
        if (!(err instanceof SSHException) || this.#signal?.aborted) throw err;
        this.gssError = err.message;
        this.#debug(`gssapi-with-mic: ${err.message}`);
        return { outcome: 'failure', allowed: this.allowed ?? [] };
      }
      this.#transport.send(encodeGssapiRequest(this.username, [mechanism.oid]));
      let m = await this.#next();
      if (m.type !== MSG.USERAUTH_GSSAPI_RESPONSE) return this.#finalReply(m, 'gssapi-with-mic');
      const chosen = decodeGssapiString(m.payload, 'USERAUTH_GSSAPI_RESPONSE');
      if (!Buffer.from(chosen).equals(Buffer.from(mechanism.oid))) throw new ProtocolError('the server chose a GSS-API mechanism that was not offered');
      this.#transport.send(encodeGssapiString(MSG.USERAUTH_GSSAPI_TOKEN, ctx.initialToken));
      let contextFailed = false;
      while (!ctx.established && !contextFailed) {
        m = await this.#next();
        if (m.type === MSG.USERAUTH_GSSAPI_TOKEN || m.type === MSG.USERAUTH_GSSAPI_ERRTOK) {
          const errtok = m.type === MSG.USERAUTH_GSSAPI_ERRTOK;
          try {
            ctx.acceptReply(decodeGssapiString(m.payload, errtok ? 'USERAUTH_GSSAPI_ERRTOK' : 'USERAUTH_GSSAPI_TOKEN'));
            if (errtok) throw new AuthenticationException('the server sent a GSS-API error token');
          } catch (err) {
            if (!(err instanceof SSHException)) throw err;
            this.gssError = err.message;
            this.#debug(`gssapi-with-mic: ${err.message}`);
            // After an error token the server still sends FAILURE; after a
            // reply we refuse, it waits for a MIC, and the next request resets it.
            if (!errtok) return { outcome: 'failure', allowed: this.allowed ?? [] };
            contextFailed = true;
          }
        } else if (m.type === MSG.USERAUTH_GSSAPI_ERROR) {
          this.#noteGssError(m.payload);
        } else {
          return this.#finalReply(m, 'gssapi-with-mic');
        }
      }
      if (!contextFailed) {
        const sessionId = this.#transport.sessionId;
        if (!sessionId) throw new SSHException('no session id: key exchange has not completed', { code: 'ERR_SSH_INTERNAL' });
        this.#transport.send(encodeGssapiString(MSG.USERAUTH_GSSAPI_MIC, ctx.getMic(gssapiMicData(sessionId, this.username))));
      }
      for (;;) {
        m = await this.#next();
        if (m.type !== MSG.USERAUTH_GSSAPI_ERROR) return this.#finalReply(m, 'gssapi-with-mic');
        this.#noteGssError(m.payload);
      }
    });
  }

  /**
   * The `gssapi-keyex` method (RFC 4462 section 4): after a GSS-API key
   * exchange, a MIC with that exchange's context proves who we are, with no
   * further round trip. Fails at once when the key exchange was not GSS-API.
   */
  gssapiKeyex(): Promise<AttemptResult> {
    return this.#attempt('gssapi-keyex', async () => {
      const ctx = this.#transport.gssKexContext;
      const sessionId = this.#transport.sessionId;
      if (!ctx || !('initialToken' in ctx) || !sessionId) return { outcome: 'failure', allowed: this.allowed ?? [] };
      this.#transport.send(encodeGssapiKeyexRequest(this.username, ctx.getMic(gssapiMicData(sessionId, this.username, 'gssapi-keyex'))));
      return this.#finalReply(await this.#next(), 'gssapi-keyex');
    });
  }

  /** The last GSS-API failure of gssapiWithMic (local or reported by the server), for error messages. */
  gssError: string | null = null;
  /** Keys publickey could not offer, each with the reason (for the final error). */
  readonly skippedKeys: string[] = [];

  #noteGssError(payload: Uint8Array): void {
    const e = decodeGssapiError(payload);
    this.gssError = `the server's GSS-API error: ${e.message.slice(0, 300)} (major 0x${e.major.toString(16)}, minor ${e.minor})`;
    this.#debug(`gssapi-with-mic: ${this.gssError}`);
  }

  /** Detaches from the transport. */
  close(): void {
    this.#inbox.close();
  }

  async #attempt(method: string, run: () => Promise<AttemptResult>): Promise<AttemptResult> {
    if (!this.#started) throw new SSHException('call start() before authenticating', { code: 'ERR_SSH_INTERNAL' });
    if (this.authenticated) throw new SSHException('already authenticated', { code: 'ERR_SSH_INTERNAL' });
    if (this.#busy) throw new SSHException('one authentication attempt at a time', { code: 'ERR_SSH_INTERNAL' });
    if (this.#signal?.aborted) throw abortError(this.#signal);
    this.#busy = true;
    try {
      const r = await run();
      this.#debug(`${method}: ${r.outcome}${r.outcome === 'success' ? '' : `; server allows ${r.allowed.join(',') || '(nothing)'}`}`);
      if (r.outcome !== 'failure') this.methodsSucceeded.push(method);
      return r;
    } finally {
      this.#busy = false;
    }
  }

  #next(): Promise<AuthMessage> {
    return this.#inbox.next(this.#timeout, this.#signal, 'authentication reply from the server');
  }

  /** Interprets SUCCESS or FAILURE; anything else here is a protocol error. */
  #finalReply(m: AuthMessage, method: string): AttemptResult {
    if (m.type === MSG.USERAUTH_SUCCESS) {
      this.authenticated = true;
      this.allowed = [];
      this.#inbox.close();
      this.#transport.authenticated();
      return { outcome: 'success', allowed: [] };
    }
    if (m.type === MSG.USERAUTH_FAILURE) {
      const f = decodeFailure(m.payload);
      this.allowed = f.allowed;
      return { outcome: f.partial ? 'partial' : 'failure', allowed: f.allowed };
    }
    throw new ProtocolError(`unexpected message ${m.type} in reply to a ${method} authentication request`);
  }
}

/** What `authenticateClient` tries, in Paramiko's order. */
export interface ClientAuthOptions extends UserAuthClientOptions {
  /** Tried after public keys; also answers a keyboard-interactive password prompt. */
  password?: string;
  /** Public keys, in order: explicit keys first, then agent keys, then discovered key files. */
  keys?: readonly KeySource[];
  /** Answers keyboard-interactive prompts. */
  kbdintHandler?: KeyboardInteractiveHandler;
  /** Keyboard-interactive submethods hint (RFC 4256), default empty. */
  kbdintSubmethods?: string;
  passwordChangeHandler?: PasswordChangeHandler;
  /** gssapi-with-mic, tried first when the server allows it (as Paramiko and OpenSSH do). */
  gssapi?: GssClientMechanism;
}

/** Who we are, and how we got in. */
export interface ClientAuthResult {
  username: string;
  /** Methods that succeeded, in order (more than one after partial success). */
  methods: string[];
}

/**
 * Authenticates over `transport` (whose first key exchange must be done):
 * `none` first to learn the allowed methods, then each public key, the
 * password, and keyboard-interactive, each only while the server allows it.
 * After a partial success the remaining methods are tried again against the
 * new allowed list.
 *
 * Throws PartialAuthentication when some method succeeded but nothing left
 * could finish, BadAuthenticationType when the server allows none of the
 * methods we have credentials for, AuthenticationException when every
 * allowed method failed, TimeoutError when the server does not answer
 * within `authTimeout`. Passwords and keys are never logged.
 */
export async function authenticateClient(transport: AuthTransport, options: ClientAuthOptions): Promise<ClientAuthResult> {
  const ua = new UserAuthClient(transport, options);
  const debug = options.debug ?? (() => {});
  try {
    await ua.start();
    const first = await ua.none();
    if (first.outcome === 'success') return { username: ua.username, methods: ['none'] };
    let allowed = first.allowed;
    const attempted = new Set<string>();

    // Key sources are resolved once, the first time publickey is allowed.
    let signers: Signer[] | null = null;
    const usedKeys = new Set<string>();
    const loadSigners = async (): Promise<Signer[]> => {
      if (signers) return signers;
      const out: Signer[] = [];
      const seen = new Set<string>();
      for (const source of options.keys ?? []) {
        let list: readonly Signer[];
        if (typeof source === 'function') {
          try {
            list = await source({ sessionId: transport.sessionId!, binding: transport.sessionBinding ?? null });
          } catch (err) {
            // Paramiko: an unreachable agent or unreadable discovered key is logged and skipped.
            if (err instanceof SSHException || (err as NodeJS.ErrnoException)?.code) {
              debug(`key source skipped: ${(err as Error).message}`);
              continue;
            }
            throw err;
          }
        } else {
          list = [source];
        }
        for (const s of list) {
          const id = Buffer.from(s.publicKeyBlob).toString('base64');
          if (seen.has(id)) continue;
          seen.add(id);
          out.push(s);
        }
      }
      signers = out;
      return out;
    };
    // Methods tried at most once each, and only with what they need at hand.
    const usable: Record<string, boolean> = {
      'gssapi-keyex': Boolean(transport.gssKexContext),
      'gssapi-with-mic': options.gssapi !== undefined,
      password: options.password !== undefined,
      'keyboard-interactive': options.kbdintHandler !== undefined || options.password !== undefined,
    };
    let progress = true;
    /** Books one attempt's outcome; true when authentication is complete. */
    const settle = (result: AttemptResult): boolean => {
      if (result.outcome === 'success') return true;
      allowed = result.allowed;
      if (result.outcome === 'partial') progress = true;
      return false;
    };
    /** Runs `attempt` for `method` once, if we can and the server allows it now. */
    const once = async (method: string, attempt: () => Promise<AttemptResult>): Promise<boolean> => {
      if (!usable[method] || !allowed.includes(method)) return false;
      usable[method] = false;
      attempted.add(method);
      return settle(await attempt());
    };
    const done = (): ClientAuthResult => ({ username: ua.username, methods: ua.methodsSucceeded });

    while (progress) {
      progress = false;
      if (await once('gssapi-keyex', () => ua.gssapiKeyex())) return done();
      if (await once('gssapi-with-mic', () => ua.gssapiWithMic(options.gssapi!))) return done();
      if (allowed.includes('publickey') && (options.keys?.length ?? 0) > 0) {
        for (const signer of await loadSigners()) {
          if (!allowed.includes('publickey')) break;
          const id = Buffer.from(signer.publicKeyBlob).toString('base64');
          if (usedKeys.has(id)) continue;
          usedKeys.add(id);
          attempted.add('publickey');
          if (settle(await ua.publickey(signer))) return done();
        }
      }
      if (await once('password', () => ua.password(options.password!, options.passwordChangeHandler))) return done();
      const kbdint = () =>
        ua.keyboardInteractive(options.kbdintHandler, {
          ...(options.password !== undefined ? { password: options.password } : {}),
          ...(options.kbdintSubmethods !== undefined ? { submethods: options.kbdintSubmethods } : {}),
        });
      if (await once('keyboard-interactive', kbdint)) return done();
    }

    const allowedText = allowed.join(', ') || '(none)';
    if (ua.methodsSucceeded.length > 0) {
      throw new PartialAuthentication(
        `partial authentication: ${ua.methodsSucceeded.join(', ')} accepted, but the server also requires one of [${allowedText}] and no usable credentials are left`,
        allowed,
      );
    }
    if (attempted.size === 0) {
      throw new BadAuthenticationType(`no authentication method we have credentials for is allowed; the server allows [${allowedText}]`, allowed);
    }
    const gssNote = ua.gssError ? ` (gssapi-with-mic: ${ua.gssError})` : '';
    const skipNote = ua.skippedKeys.length ? `; keys not offered: ${ua.skippedKeys.join('; ')}` : '';
    throw new AuthenticationException(`authentication failed for user "${ua.username}": tried ${[...attempted].join(', ')}; the server allows [${allowedText}]${gssNote}${skipNote}`, {
      allowedTypes: allowed,
    });
  } catch (err) {
    // OpenSSH ends the connection after MaxAuthTries failures: that is an
    // authentication failure to the caller, not a transport problem.
    if (err instanceof DisconnectError && err.reason === DISCONNECT_REASON.NO_MORE_AUTH_METHODS_AVAILABLE) {
      throw new AuthenticationException(`authentication failed for user "${ua.username}": ${err.message}`, { allowedTypes: ua.allowed ?? [], cause: err });
    }
    throw err;
  } finally {
    ua.close();
  }
}
