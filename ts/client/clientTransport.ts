/**
 * The client's transport, with the conveniences of Paramiko's Transport for
 * code written against `client.get_transport()`: `openSession`,
 * `openChannel`, `openSftpClient`, `isActive`, `isAuthenticated`,
 * `getUsername`, `getRemoteServerKey`. The channel methods need the
 * connection layer, which exists once authentication succeeded; before
 * that (or after close) they reject with ERR_SSH_NOT_CONNECTED.
 */
import { encodeTcpipOpenData, type Channel, type SessionChannel, type WaitOptions } from '../connection/index.js';
import { SSHException } from '../errors.js';
import { PublicKey } from '../keys/index.js';
import type { SFTPClient, SFTPClientOptions } from '../sftp/index.js';
import { Transport } from '../transport/index.js';
import type { SSHClientConnection } from './clientConnection.js';

/** A host and port, as Paramiko's `(address, port)` tuples. */
export type AddressPort = readonly [host: string, port: number];

/**
 * The client's Transport, as `SSHClient.getTransport()` and
 * `conn.transport` return it, with Paramiko's Transport conveniences
 * (`openSession`, `openChannel`, `openSftpClient`, `isActive`,
 * `isAuthenticated`, `getUsername`, `getRemoteServerKey`). The channel
 * methods reject with SSHException `ERR_SSH_NOT_CONNECTED` before
 * authentication and after close.
 */
export class ClientTransport extends Transport {
  #conn: SSHClientConnection | null = null;
  #serverKey: Uint8Array | null = null;

  /** @internal The connection layer on top of this transport, once authenticated. */
  _attach(conn: SSHClientConnection): void {
    this.#conn = conn;
  }

  /** @internal The host key blob the server proved it holds. */
  _setServerKey(blob: Uint8Array): void {
    this.#serverKey = Uint8Array.from(blob);
  }

  /** Whether the connection is open (Paramiko's `is_active`). */
  isActive(): boolean {
    return !this.isClosed;
  }

  /** Whether the user is authenticated and the connection open (`is_authenticated`). */
  isAuthenticated(): boolean {
    return this.#conn !== null && !this.isClosed;
  }

  /** The authenticated user, or null before authentication (`get_username`). */
  getUsername(): string | null {
    return this.#conn?.username ?? null;
  }

  /** The server's host key, once the key exchange has checked it (`get_remote_server_key`). */
  getRemoteServerKey(): PublicKey | null {
    return this.#serverKey ? PublicKey.fromBlob(this.#serverKey) : null;
  }

  /** Opens a session channel (`open_session`). */
  openSession(opts?: WaitOptions & { window?: number; maxPacketSize?: number }): Promise<SessionChannel> {
    return this.#connected().then((c) => c.openSession(opts));
  }

  /**
   * Opens a channel of `kind` (`open_channel`): `session`, or `direct-tcpip`
   * to `destAddr` as if from `srcAddr` (default 127.0.0.1 port 0); other
   * kinds are opened with no extra data. ChannelException if refused.
   */
  openChannel(kind: string, destAddr?: AddressPort, srcAddr?: AddressPort, opts?: WaitOptions): Promise<Channel> {
    let data: Uint8Array | undefined;
    if (kind === 'direct-tcpip') {
      if (!destAddr) return Promise.reject(new SSHException('a direct-tcpip channel needs destAddr', { code: 'ERR_SSH_BAD_ARGUMENT' }));
      const [originHost, originPort] = srcAddr ?? ['127.0.0.1', 0];
      data = encodeTcpipOpenData({ host: destAddr[0], port: destAddr[1], originHost, originPort });
    }
    return this.#connected().then((c) => c.connection.openChannel(kind, data, opts));
  }

  /** Starts an SFTP session (`open_sftp_client`). */
  openSftpClient(options?: SFTPClientOptions): Promise<SFTPClient> {
    return this.#connected().then((c) => c.sftp(options));
  }

  #connected(): Promise<SSHClientConnection> {
    const c = this.#conn;
    if (!c || c.isClosed) return Promise.reject(new SSHException('the transport is not authenticated or is closed', { code: 'ERR_SSH_NOT_CONNECTED' }));
    return Promise.resolve(c);
  }
}
