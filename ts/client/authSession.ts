/**
 * Authentication step by step, for flows `connect()` does not script
 * (Paramiko's Transport.auth_none / auth_password / auth_publickey /
 * auth_interactive): `startClient()` connects through key exchange with
 * the host key checked, then the caller picks each method in turn, learns
 * what the server still allows after a partial success, and takes the
 * connection once in.
 */
import { type AttemptResult, type KeyboardInteractiveHandler, type PasswordChangeHandler, UserAuthClient } from '../auth/index.js';
import { certifiedSigner } from '../crypto/index.js';
import { AuthenticationException, BadAuthenticationType, SSHException } from '../errors.js';
import { PrivateKey } from '../keys/index.js';
import type { SSHClientConnection } from './clientConnection.js';
import type { ClientTransport } from './clientTransport.js';
import { type ConnectOptions, type PreparedClient, prepareClient } from './connect.js';
import { openClientTransport } from './establish.js';
import { type KeyInput, loadKey } from './identities.js';

/**
 * A connection whose key exchange is done and whose user authentication
 * is the caller's to run. Each `auth*` call resolves with the methods the
 * server still wants (empty once authenticated: then `connection()`), and
 * rejects with AuthenticationException (its `allowedTypes` say what may be
 * tried next) when the server refuses, or BadAuthenticationType when the
 * server has said it does not allow that method.
 */
export class ClientAuthSession {
  /** The transport: key exchange done and the host key checked. */
  readonly transport: ClientTransport;
  /** The user authenticating: connect()'s `username`, else the config's User, else the local user name. */
  readonly username: string;
  readonly #ua: UserAuthClient;
  readonly #prepared: PreparedClient;
  readonly #passphrase: string | undefined;
  #connection: SSHClientConnection | null = null;

  /** @internal Use startClient(). */
  constructor(transport: ClientTransport, ua: UserAuthClient, prepared: PreparedClient, passphrase: string | undefined) {
    this.transport = transport;
    this.username = ua.username;
    this.#ua = ua;
    this.#prepared = prepared;
    this.#passphrase = passphrase;
  }

  /** What the server last said it allows; null until a method has been refused or partially accepted. */
  get allowed(): readonly string[] | null {
    return this.#ua.allowed;
  }

  /** Whether the server has accepted us. */
  get authenticated(): boolean {
    return this.#connection !== null;
  }

  /**
   * The `none` method: succeeds (resolving []) only on servers that need no
   * authentication; otherwise rejects with BadAuthenticationType listing
   * the methods the server allows (Paramiko's auth_none).
   */
  async authNone(): Promise<string[]> {
    const r = await this.#ua.none();
    if (r.outcome === 'failure') throw new BadAuthenticationType(`the server allows [${r.allowed.join(', ')}] for ${this.username}`, r.allowed);
    return this.#settled(r);
  }

  /** The `password` method; `onPasswordChange` answers a server that demands a new password. */
  authPassword(password: string, onPasswordChange?: PasswordChangeHandler): Promise<string[]> {
    return this.#step('password', () => this.#ua.password(password, onPasswordChange));
  }

  /**
   * The `publickey` method with one key (a PrivateKey, an agent key or
   * other Signer, key text, or a file path; a file's `-cert.pub` and a
   * loaded certificate are used, as the certificate).
   */
  authPublickey(key: KeyInput, passphrase: string | undefined = this.#passphrase): Promise<string[]> {
    const signer = loadKey(key, passphrase);
    const cert = signer instanceof PrivateKey ? signer.certificate : undefined;
    return this.#step('publickey', () => this.#ua.publickey(cert ? certifiedSigner(signer, cert.publicKeyBlob) : signer));
  }

  /** The `keyboard-interactive` method, `handler` answering each round of prompts (Paramiko's auth_interactive). */
  authInteractive(handler: KeyboardInteractiveHandler, submethods = ''): Promise<string[]> {
    return this.#step('keyboard-interactive', () => this.#ua.keyboardInteractive(handler, { submethods }));
  }

  /**
   * keyboard-interactive answering every prompt with `password` (Paramiko's
   * auth_interactive_dumb, for servers that ask for the password that way).
   */
  authInteractivePassword(password: string): Promise<string[]> {
    return this.#step('keyboard-interactive', () => this.#ua.keyboardInteractive(undefined, { password }));
  }

  /** The authenticated connection (run, exec, shell, sftp, forwarding). Throws until authentication is complete. */
  connection(): SSHClientConnection {
    if (!this.#connection) throw new SSHException('not authenticated yet', { code: 'ERR_SSH_NOT_CONNECTED' });
    return this.#connection;
  }

  /** Closes the connection (authenticated or not). */
  close(): void {
    this.#ua.close();
    if (this.#connection) void this.#connection.close();
    else this.transport.disconnect();
  }

  /** `await using`: closes the session and resolves once the transport has closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.transport.closed.catch(() => {});
  }

  async #step(method: string, attempt: () => Promise<AttemptResult>): Promise<string[]> {
    if (this.#connection) throw new SSHException('already authenticated', { code: 'ERR_SSH_BAD_ARGUMENT' });
    const allowed = this.#ua.allowed;
    if (allowed && !allowed.includes(method)) throw new BadAuthenticationType(`the server does not allow ${method}; it allows [${allowed.join(', ')}]`, [...allowed]);
    const r = await attempt();
    if (r.outcome === 'failure') throw new AuthenticationException(`${method} authentication failed for user "${this.username}"; the server allows [${r.allowed.join(', ')}]`, { allowedTypes: r.allowed });
    return this.#settled(r);
  }

  #settled(r: AttemptResult): string[] {
    if (r.outcome === 'partial') return r.allowed;
    // Attach the connection layer in this tick: the server may speak as soon as it has accepted us.
    const connection = this.#prepared.connectionLayer(this.transport);
    this.#connection = this.#prepared.finish(this.transport, connection, { username: this.username, methods: [...this.#ua.methodsSucceeded] });
    return [];
  }
}

/**
 * Connects (socket, key exchange, host key check, within `readyTimeout`)
 * without authenticating, and returns the session to authenticate step by
 * step. Takes connect()'s options; the credential options (password,
 * keys, agent) are not used, except `passphrase` for keys given later.
 */
export async function startClient(options: ConnectOptions): Promise<ClientAuthSession> {
  const prepared = await prepareClient({ ...options, clientKeys: null });
  const transport = await openClientTransport(prepared.params);
  const ua = new UserAuthClient(transport, {
    ...prepared.params.auth,
    username: prepared.params.username,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    await ua.start();
  } catch (err) {
    transport.disconnect();
    throw err;
  }
  return new ClientAuthSession(transport, ua, prepared, options.passphrase);
}
