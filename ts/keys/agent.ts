/**
 * A client for the OpenSSH agent protocol (draft-miller-ssh-agent) over a
 * unix socket, normally `$SSH_AUTH_SOCK`: list keys, sign with them, and
 * add or remove keys. Agent keys are `Signer`s whose signatures the agent makes.
 *
 * Requests go one at a time over one connection (the protocol answers in
 * order); each has a timeout, after which the connection is dropped because
 * a late answer would be taken for the next request's.
 */
import { connect, type Socket } from 'node:net';
import type { Signer } from '../crypto/types.js';
import { certAlgorithm, plainAlgorithm } from '../crypto/index.js';
import { KeyFormatError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { checkDuration } from '../transport/index.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { type AgentDestination, encodeAgentDestinations, RESTRICT_DESTINATION } from './agentDestinations.js';
import { fingerprintSha256 } from './fingerprint.js';
import type { HostKeys } from './knownHosts.js';
import { signatureAlgorithmsFor } from './keyTypes.js';
import { writeCertifiedPrivateFields, writePrivateFields } from './opensshFormat.js';
import { type PrivateKey, privateMaterialOf } from './privateKey.js';
import { PublicKey } from './publicKey.js';

// Message numbers (draft-miller-ssh-agent section 6.1).
export const SSH_AGENT_FAILURE = 5;
export const SSH_AGENT_SUCCESS = 6;
export const SSH_AGENTC_REQUEST_IDENTITIES = 11;
export const SSH_AGENT_IDENTITIES_ANSWER = 12;
export const SSH_AGENTC_SIGN_REQUEST = 13;
export const SSH_AGENT_SIGN_RESPONSE = 14;
export const SSH_AGENTC_ADD_IDENTITY = 17;
export const SSH_AGENTC_REMOVE_IDENTITY = 18;
export const SSH_AGENTC_REMOVE_ALL_IDENTITIES = 19;
export const SSH_AGENTC_LOCK = 22;
export const SSH_AGENTC_UNLOCK = 23;
export const SSH_AGENTC_ADD_ID_CONSTRAINED = 25;
export const SSH_AGENTC_EXTENSION = 27;
/** An agent's "unknown or failed extension" reply (OpenSSH's agent answers plain FAILURE). */
const SSH_AGENT_EXTENSION_FAILURE = 28;
/** Older failure codes OpenSSH also treats as failure. */
const OTHER_FAILURES = new Set([SSH_AGENT_EXTENSION_FAILURE, 30, 102]);

export const SSH_AGENT_CONSTRAIN_LIFETIME = 1;
export const SSH_AGENT_CONSTRAIN_CONFIRM = 2;
export const SSH_AGENT_CONSTRAIN_EXTENSION = 255;

/** Sign-request flags selecting the RSA signature hash. */
export const SSH_AGENT_RSA_SHA2_256 = 0x02;
export const SSH_AGENT_RSA_SHA2_512 = 0x04;

/** Largest reply accepted; the agent's own limit is 256 KiB too. */
export const MAX_AGENT_REPLY = 256 * 1024;
/** Default per-request timeout; generous because an agent may ask the user to confirm (ssh-add -c). */
export const DEFAULT_AGENT_TIMEOUT = 30_000;

function agentError(message: string, cause?: unknown): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_AGENT', ...(cause === undefined ? {} : { cause }) });
}

/** Runs `f` at `deadline` (a Date.now() time); no timer for an infinite one (timeout 0). */
function deadlineTimer(deadline: number, f: () => void): NodeJS.Timeout | undefined {
  return Number.isFinite(deadline) ? setTimeout(f, Math.max(0, deadline - Date.now())) : undefined;
}

/** Flags for a sign request of `algorithm`. */
export function signFlagsFor(algorithm: string): number {
  const plain = plainAlgorithm(algorithm);
  if (plain === 'rsa-sha2-256') return SSH_AGENT_RSA_SHA2_256;
  if (plain === 'rsa-sha2-512') return SSH_AGENT_RSA_SHA2_512;
  return 0;
}

/** Options for AgentClient. */
export interface AgentClientOptions {
  /**
   * Per-request timeout in milliseconds (connect included), 0 to 2^31-1.
   * Default 30 s; 0 = no limit. Another value throws SSHException
   * ERR_SSH_BAD_OPTION from the constructor.
   */
  timeout?: number;
}

/** Constraints on a key added to the agent. */
export interface AgentConstraints {
  /** Seconds after which the agent forgets the key. */
  lifetime?: number;
  /** Ask the user before each use (needs ssh-askpass on the agent's side). */
  confirm?: boolean;
  /**
   * Where the key may be used (`ssh-add -h`, OpenSSH 8.9+ agents): only
   * for logins to these hosts, and through agent forwarding only along
   * these hops. A string is `ssh-add -h` syntax, `[user@]host` or
   * `gateway>[user@]host`, its hosts' keys looked up in `knownHosts`.
   */
  destinations?: readonly (string | AgentDestination)[];
  /**
   * Where string `destinations` find their host keys (`ssh-add -H`);
   * default `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
   */
  knownHosts?: HostKeys;
}

/** A key held by an agent (Paramiko's AgentKey): a Signer whose signatures the agent makes. */
export class AgentKey implements Signer {
  /** The key type from the agent's blob, e.g. `ssh-ed25519` (the certificate type for a certificate). */
  readonly keyType: string;
  /** The public key (or certificate) blob as the agent listed it; it names the key in sign requests. */
  readonly publicKeyBlob: Uint8Array;
  /**
   * Algorithms `sign` accepts, best first (RSA: rsa-sha2-512, rsa-sha2-256, ssh-rsa);
   * for a certificate, their `-cert-v01@openssh.com` forms.
   */
  readonly signatureAlgorithms: readonly string[];
  /** The comment the agent holds for the key (typically the key file path or its comment). */
  readonly comment: string;
  /** The parsed public key (or certificate), carrying `comment`. */
  readonly publicKey: PublicKey;
  readonly #agent: AgentClient;

  constructor(agent: AgentClient, publicKey: PublicKey) {
    this.#agent = agent;
    this.publicKey = publicKey;
    this.keyType = publicKey.keyType;
    this.publicKeyBlob = publicKey.publicKeyBlob;
    this.comment = publicKey.comment;
    // A certificate the agent holds signs as its key, offered under the certificate algorithms.
    const plain = signatureAlgorithmsFor(publicKey.baseKeyType);
    this.signatureAlgorithms = publicKey.certificate ? plain.map(certAlgorithm) : plain;
  }

  /** `SHA256:…` of `publicKeyBlob`, as `ssh-keygen -l` prints. */
  get fingerprint(): string {
    return fingerprintSha256(this.publicKeyBlob);
  }

  /** The key type name, same as `keyType` (Paramiko's `AgentKey.get_name`). */
  getName(): string {
    return this.keyType;
  }

  /** Ask the agent to sign; returns the inner signature blob. Rejects if the agent signs with another algorithm. */
  async sign(algorithm: string, data: Uint8Array): Promise<Uint8Array> {
    if (!this.signatureAlgorithms.includes(algorithm)) {
      throw new KeyFormatError(`a ${this.keyType} key cannot make ${algorithm} signatures`);
    }
    const sig = await this.#agent.sign(this.publicKeyBlob, data, signFlagsFor(algorithm));
    const r = new SSHReader(sig, 'agent signature');
    try {
      const got = r.ascii(256);
      const blob = r.string().slice();
      r.end();
      if (got !== plainAlgorithm(algorithm)) throw agentError(`agent signed with ${got} instead of ${plainAlgorithm(algorithm)}`);
      return blob;
    } catch (e) {
      if (e instanceof ProtocolError) throw agentError(`agent returned a malformed signature: ${e.message}`, e);
      throw e;
    }
  }
}

/** A connection to an ssh-agent. */
export class AgentClient {
  /** Path of the agent's unix socket. */
  readonly socketPath: string;
  /**
   * Per-request timeout in milliseconds, connect included (0: none). When it runs out the request
   * rejects with TimeoutError and the connection is dropped (the next request reconnects).
   */
  readonly timeout: number;
  #socket: Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #waiter: ((err: Error | null) => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Removes #attach's listeners from the current socket. */
  #detach: () => void = () => {};

  /** `socketPath` defaults to `$SSH_AUTH_SOCK`; no connection is made until the first request. */
  constructor(socketPath: string | undefined = process.env.SSH_AUTH_SOCK, opts: AgentClientOptions = {}) {
    if (!socketPath) throw agentError('no agent socket: SSH_AUTH_SOCK is not set');
    this.socketPath = socketPath;
    this.timeout = checkDuration('timeout', opts.timeout, { zero: 'no limit' }) ?? DEFAULT_AGENT_TIMEOUT;
  }

  /** The keys the agent holds, with comments. Keys of types sshwire does not support are left out. */
  async listIdentities(): Promise<AgentKey[]> {
    const reply = await this.#request(new Uint8Array([SSH_AGENTC_REQUEST_IDENTITIES]), SSH_AGENT_IDENTITIES_ANSWER, 'list identities');
    return this.#parse('identities answer', reply, (r) => {
      const count = r.uint32();
      // each key needs at least two 4-byte lengths: a bound on count before looping
      if (count > r.remaining / 8) throw new ProtocolError(`agent claims ${count} keys in ${r.remaining} bytes`);
      const keys: AgentKey[] = [];
      for (let i = 0; i < count; i++) {
        const blob = r.string();
        const comment = r.utf8();
        try {
          keys.push(new AgentKey(this, PublicKey.fromBlob(blob, comment)));
        } catch (e) {
          if (!(e instanceof KeyFormatError)) throw e;
        }
      }
      r.end();
      return keys;
    });
  }

  /** Paramiko's name: the agent's keys. */
  getKeys(): Promise<AgentKey[]> {
    return this.listIdentities();
  }

  /** Ask the agent to sign `data` with the key `keyBlob`; returns the SSH-encoded signature (`string alg, string blob`). */
  async sign(keyBlob: Uint8Array, data: Uint8Array, flags = 0): Promise<Uint8Array> {
    const w = new SSHWriter(keyBlob.length + data.length + 32).byte(SSH_AGENTC_SIGN_REQUEST).string(keyBlob).string(data).uint32(flags);
    const reply = await this.#request(w.toBytes(), SSH_AGENT_SIGN_RESPONSE, 'sign');
    return this.#parse('sign response', reply, (r) => {
      const sig = r.string().slice();
      r.end();
      return sig;
    });
  }

  /**
   * Tells the agent which SSH session this connection to it serves
   * (OpenSSH's `session-bind@openssh.com` extension, as ssh does before
   * using agent keys): the server's host key, the session identifier and
   * the server's signature over it, which the agent verifies. An agent
   * holding destination-restricted keys (`ssh-add -h`) signs with them only
   * for a bound connection, and only host-bound authentication requests to
   * the host the key is restricted to. `forwarding` says the binding is for
   * an agent forwarded to that host rather than for authenticating to it.
   * Rejects with SSHException ERR_SSH_AGENT when the agent refuses (an
   * agent without the extension, a signature that does not verify). The
   * binding lasts as long as this connection to the agent.
   */
  async bindSession(hostKey: Uint8Array, sessionId: Uint8Array, signature: Uint8Array, forwarding = false): Promise<void> {
    const w = new SSHWriter(hostKey.length + sessionId.length + signature.length + 64)
      .byte(SSH_AGENTC_EXTENSION)
      .string('session-bind@openssh.com')
      .string(hostKey)
      .string(sessionId)
      .string(signature)
      .boolean(forwarding);
    await this.#request(w.toBytes(), SSH_AGENT_SUCCESS, 'session-bind');
  }

  /**
   * Give the agent a private key (what `ssh-add` does); a key with a
   * certificate loaded is added a second time with its certificate.
   */
  async addIdentity(key: PrivateKey, comment: string = key.comment, constraints: AgentConstraints = {}): Promise<void> {
    const destinations = constraints.destinations ? encodeAgentDestinations(constraints.destinations, constraints.knownHosts) : null;
    await this.#add((w) => writePrivateFields(w, privateMaterialOf(key)), comment, constraints, destinations);
    // As ssh-add: a key with a certificate goes in twice, plain and certified.
    const cert = key.certificate;
    if (cert) await this.#add((w) => writeCertifiedPrivateFields(w, privateMaterialOf(key), cert.publicKeyBlob), comment, constraints, destinations);
  }

  async #add(writeKey: (w: SSHWriter) => void, comment: string, constraints: AgentConstraints, destinations: Uint8Array | null): Promise<void> {
    const constrained = constraints.lifetime !== undefined || constraints.confirm === true || destinations !== null;
    const w = new SSHWriter(4096).byte(constrained ? SSH_AGENTC_ADD_ID_CONSTRAINED : SSH_AGENTC_ADD_IDENTITY);
    writeKey(w);
    w.string(comment);
    if (constraints.lifetime !== undefined) w.byte(SSH_AGENT_CONSTRAIN_LIFETIME).uint32(constraints.lifetime);
    if (constraints.confirm) w.byte(SSH_AGENT_CONSTRAIN_CONFIRM);
    if (destinations) w.byte(SSH_AGENT_CONSTRAIN_EXTENSION).string(RESTRICT_DESTINATION).string(destinations);
    const msg = w.toBytes();
    w.bytes().fill(0);
    try {
      await this.#request(msg, SSH_AGENT_SUCCESS, 'add identity');
    } finally {
      msg.fill(0);
    }
  }

  /** Remove one key. */
  async removeIdentity(keyBlob: Uint8Array): Promise<void> {
    await this.#request(new SSHWriter().byte(SSH_AGENTC_REMOVE_IDENTITY).string(keyBlob).toBytes(), SSH_AGENT_SUCCESS, 'remove identity');
  }

  /** Remove every key. */
  async removeAll(): Promise<void> {
    await this.#request(new Uint8Array([SSH_AGENTC_REMOVE_ALL_IDENTITIES]), SSH_AGENT_SUCCESS, 'remove all identities');
  }

  /** Lock the agent with a passphrase. */
  async lock(passphrase: string): Promise<void> {
    await this.#request(new SSHWriter().byte(SSH_AGENTC_LOCK).string(passphrase).toBytes(), SSH_AGENT_SUCCESS, 'lock');
  }

  /** Unlock the agent. */
  async unlock(passphrase: string): Promise<void> {
    await this.#request(new SSHWriter().byte(SSH_AGENTC_UNLOCK).string(passphrase).toBytes(), SSH_AGENT_SUCCESS, 'unlock');
  }

  /** Close the connection (a later request reconnects). */
  close(): void {
    this.#drop(agentError('agent connection closed'));
  }

  /** Same as `close()`, for `using agent = new AgentClient()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #parse<T>(what: string, body: Uint8Array, fn: (r: SSHReader) => T): T {
    try {
      return fn(new SSHReader(body, `agent ${what}`));
    } catch (e) {
      if (e instanceof ProtocolError) throw agentError(`malformed agent ${what}: ${e.message}`, e);
      throw e;
    }
  }

  /** Queue a request; resolves with the reply body (after its type byte) when the type is `expect`. */
  #request(payload: Uint8Array, expect: number, what: string): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#exchange(payload, expect, what));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #exchange(payload: Uint8Array, expect: number, what: string): Promise<Uint8Array> {
    const deadline = this.timeout === 0 ? Number.POSITIVE_INFINITY : Date.now() + this.timeout;
    const socket = await this.#connected(deadline);
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    frame.set(payload, 4);
    socket.write(frame);
    frame.fill(0);
    const reply = await this.#readFrame(deadline, what);
    const type = reply[0]!;
    if (type === expect) return reply.subarray(1);
    if (type === SSH_AGENT_FAILURE || OTHER_FAILURES.has(type)) throw agentError(`agent refused the ${what} request`);
    this.#drop(agentError('unexpected agent reply'));
    throw agentError(`agent answered the ${what} request with message type ${type}`);
  }

  #connected(deadline: number): Promise<Socket> {
    if (this.#socket && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      const timer = deadlineTimer(deadline, () => {
        socket.destroy();
        reject(new TimeoutError(`timed out connecting to the agent at ${this.socketPath}`));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(agentError(`cannot connect to the agent at ${this.socketPath}: ${err.message}`, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        this.#attach(socket);
        resolve(socket);
      });
    });
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    this.#buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      if (this.#socket !== socket) return;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      if (this.#buffer.length >= 4 && this.#buffer.readUInt32BE(0) > MAX_AGENT_REPLY) {
        this.#drop(agentError(`agent reply of ${this.#buffer.readUInt32BE(0)} bytes exceeds ${MAX_AGENT_REPLY}`));
        return;
      }
      if (!this.#waiter) {
        // nothing was asked: an agent speaking out of turn cannot be trusted to stay in step
        this.#drop(agentError('agent sent data without a request'));
        return;
      }
      this.#waiter(null);
    };
    const onError = (err: Error): void => {
      if (this.#socket === socket) this.#drop(agentError(`agent connection failed: ${err.message}`, err));
    };
    const onClose = (): void => {
      if (this.#socket === socket) this.#drop(agentError('agent closed the connection'));
    };
    socket.on('data', onData).on('error', onError).on('close', onClose);
    this.#detach = () => socket.off('data', onData).off('error', onError).off('close', onClose);
  }

  /**
   * Hands the connection to the agent over to the caller, paused, with
   * whatever was bound to it (`bindSession`) still in force: how a
   * forwarded agent channel gets a connection bound for forwarding. Returns
   * undefined when there is no live, idle connection (never connected, a
   * request in flight, or dropped after an error). This client's next
   * request opens a new connection.
   */
  release(): Socket | undefined {
    const socket = this.#socket;
    if (!socket || socket.destroyed || this.#waiter || this.#buffer.length > 0) return undefined;
    this.#socket = undefined;
    this.#detach();
    socket.pause();
    return socket;
  }

  /** Drop the connection and fail whatever waits on it. */
  #drop(err: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#buffer = Buffer.alloc(0);
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => undefined); // a late error from a dropped socket has no one to tell
      socket.destroy();
    }
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(err);
  }

  #readFrame(deadline: number, what: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      const tryTake = (): boolean => {
        if (this.#buffer.length < 4) return false;
        const len = this.#buffer.readUInt32BE(0);
        if (len === 0) {
          this.#drop(agentError('agent sent an empty reply'));
          return false;
        }
        if (this.#buffer.length < 4 + len) return false;
        const body = Uint8Array.from(this.#buffer.subarray(4, 4 + len));
        this.#buffer = this.#buffer.subarray(4 + len);
        finish(null, body);
        return true;
      };
      const timer = deadlineTimer(deadline, () => {
        this.#waiter = undefined;
        this.#drop(agentError('agent request timed out'));
        reject(new TimeoutError(`agent did not answer the ${what} request within ${this.timeout} ms`));
      });
      const finish = (err: Error | null, body?: Uint8Array): void => {
        clearTimeout(timer);
        this.#waiter = undefined;
        if (err) reject(err);
        else resolve(body!);
      };
      if (!socket) {
        finish(agentError('agent connection is closed'));
        return;
      }
      this.#waiter = (err) => {
        if (err) finish(err);
        else tryTake();
      };
      tryTake();
    });
  }
}

/** Paramiko's name for the agent client. */
export class Agent extends AgentClient {}
