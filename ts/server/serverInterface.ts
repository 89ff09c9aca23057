/**
 * The server's policy (Paramiko's ServerInterface, camelCase): the library
 * runs the protocol and asks these methods for every decision. Each may
 * return a promise. A request whose check is missing is decided by the
 * defaults described on each method; anything else is denied.
 *
 * Every method receives, as its last argument, the SSHServerConnection the
 * request came from (Paramiko keeps one ServerInterface per connection; with
 * one shared object, this argument tells connections apart — or pass a
 * factory `(conn) => ServerInterface` as `server`).
 */
import type { AuthServerInterface } from '../auth/index.js';
import type { SessionChannel } from '../connection/index.js';
import type { SSHServerConnection } from './serverConnection.js';

type MaybePromise<T> = T | Promise<T>;

/** checkChannelRequest / checkChannelDirectTcpipRequest results (Paramiko's OPEN_* constants). */
export const OPEN_SUCCEEDED = 0;
/** Refuses the open: administratively prohibited (RFC 4254 reason code 1). */
export const OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED = 1;
/** Refuses the open: connect failed (reason code 2). */
export const OPEN_FAILED_CONNECT_FAILED = 2;
/** Refuses the open: unknown channel type (reason code 3). */
export const OPEN_FAILED_UNKNOWN_CHANNEL_TYPE = 3;
/** Refuses the open: resource shortage (reason code 4). */
export const OPEN_FAILED_RESOURCE_SHORTAGE = 4;

/** An address and port, as Paramiko's `(host, port)` tuples. */
export type HostPort = [host: string, port: number];

/**
 * The server's policy (Paramiko's `ServerInterface` in camelCase), given as
 * `listen({ server })`: asked about every channel open, session request and
 * global request, and (AuthServerInterface) every login. Each method may return
 * a promise and gets the SSHServerConnection as its last argument; a missing
 * method takes the default its comment states.
 */
export interface ServerInterface extends AuthServerInterface {
  /**
   * Whether a channel of `kind` may open. Default: `session` channels are
   * allowed, `direct-tcpip` goes to checkChannelDirectTcpipRequest, others
   * are refused. `chanid` is the channel's id: its `localId` once accepted,
   * unique among the connection's open channels.
   */
  checkChannelRequest?(kind: string, chanid: number, conn: SSHServerConnection): MaybePromise<number>;
  /** Default: allowed when the server runs commands (processFactory or spawnCommands). */
  checkChannelExecRequest?(channel: SessionChannel, command: string, conn: SSHServerConnection): MaybePromise<boolean>;
  /** Default: allowed when the server runs commands. */
  checkChannelShellRequest?(channel: SessionChannel, conn: SSHServerConnection): MaybePromise<boolean>;
  /** Default: allowed when the server runs commands (and authorized_keys does not say no-pty). */
  checkChannelPtyRequest?(
    channel: SessionChannel, term: string, width: number, height: number, pixelWidth: number, pixelHeight: number,
    modes: Record<string, number>, conn: SSHServerConnection,
  ): MaybePromise<boolean>;
  /** Default: allowed when a handler serves the name (setSubsystemHandler, `sftp`, or processFactory). */
  checkChannelSubsystemRequest?(channel: SessionChannel, name: string, conn: SSHServerConnection): MaybePromise<boolean>;
  /** Default: allowed once a pty was granted. */
  checkChannelWindowChangeRequest?(
    channel: SessionChannel, width: number, height: number, pixelWidth: number, pixelHeight: number, conn: SSHServerConnection,
  ): MaybePromise<boolean>;
  /** Default: the variable matches the server's `acceptEnv` patterns. */
  checkChannelEnvRequest?(channel: SessionChannel, name: string, value: string, conn: SSHServerConnection): MaybePromise<boolean>;
  /**
   * Default: denied. Granting makes a proxy X display for the session on
   * 127.0.0.1 and ::1 (port 6000 + N, N from 10 up, as sshd) with the client's
   * fake cookie in a private Xauthority file; each X client that connects
   * becomes an `x11` channel to the client. The session's process sees it
   * as `proc.x11Display` / `proc.x11AuthPath`, spawned commands as
   * `DISPLAY` / `XAUTHORITY`.
   */
  checkChannelX11Request?(
    channel: SessionChannel, singleConnection: boolean, authProtocol: string, authCookie: string, screen: number, conn: SSHServerConnection,
  ): MaybePromise<boolean>;
  /**
   * Default: denied. Granting makes a private agent socket for the
   * connection (AgentServerProxy) whose connections are relayed to the
   * client's agent; the session's process sees it as `proc.agentPath`, and
   * spawned commands as `SSH_AUTH_SOCK`.
   */
  checkChannelForwardAgentRequest?(channel: SessionChannel, conn: SSHServerConnection): MaybePromise<boolean>;
  /**
   * A `direct-tcpip` channel (the client's local forwarding): OPEN_SUCCEEDED
   * makes the server connect to `destination` and relay. Default: refused.
   * `chanid` is the channel's id, as for checkChannelRequest.
   */
  checkChannelDirectTcpipRequest?(chanid: number, origin: HostPort, destination: HostPort, conn: SSHServerConnection): MaybePromise<number>;
  /**
   * `tcpip-forward` (the client's remote forwarding): true to listen on
   * `address:port` (port 0: any free port), a number to listen on that port
   * instead, false to refuse. Default: refused.
   */
  checkPortForwardRequest?(address: string, port: number, conn: SSHServerConnection): MaybePromise<boolean | number>;
  /** The client cancelled a forwarding (the listener is closed by the server). */
  cancelPortForwardRequest?(address: string, port: number, conn: SSHServerConnection): MaybePromise<void>;
  /** Any other global request: true, or bytes to return with REQUEST_SUCCESS; false refuses. Default: refused. */
  checkGlobalRequest?(kind: string, data: Uint8Array, conn: SSHServerConnection): MaybePromise<boolean | Uint8Array>;
}
