/**
 * A CHANNEL_OPEN from the peer, waiting for the application's decision:
 * `accept()` makes the channel, `reject()` refuses with an RFC 4254 reason.
 */
import { ChannelException, SSHException } from '../errors.js';
import type { Channel, ChannelRequestHandler } from './channel.js';
import { OPEN_FAILURE } from './constants.js';
import { parseTcpipOpenData, type TcpipOpenData } from './requests.js';
import type { SessionChannel } from './session.js';

/** Options for accepting a channel. */
export interface AcceptOptions {
  /** Handler for the channel's requests, installed before any can arrive. */
  onRequest?: ChannelRequestHandler;
  /** Our receive window and maximum packet for this channel (default: the connection's). */
  window?: number;
  maxPacketSize?: number;
}

/** How the connection carries out a decision. */
export interface IncomingOpenHost {
  accept(req: IncomingChannelRequest, opts: AcceptOptions): Channel;
  reject(req: IncomingChannelRequest, reasonCode: number, description: string): void;
}

export class IncomingChannelRequest {
  /** Channel type, e.g. `session`, `direct-tcpip`, `forwarded-tcpip`, `x11`. */
  readonly type: string;
  /** The type-specific data after the standard fields. */
  readonly extraData: Uint8Array;
  /** The peer's channel id, initial window and maximum packet. */
  readonly remoteId: number;
  readonly remoteWindow: number;
  readonly remoteMaxPacket: number;
  /**
   * Our id for the channel: the `localId` it has once accepted. Reserved
   * from the moment the open arrived until it is rejected (or the channel
   * closes), so it is unique among the connection's channels and known to
   * whoever decides (Paramiko's `chanid`).
   */
  readonly localId: number;
  readonly #host: IncomingOpenHost;
  #decided = false;

  constructor(host: IncomingOpenHost, type: string, remoteId: number, remoteWindow: number, remoteMaxPacket: number, extraData: Uint8Array, localId: number) {
    this.#host = host;
    this.localId = localId;
    this.type = type;
    this.remoteId = remoteId;
    this.remoteWindow = remoteWindow;
    this.remoteMaxPacket = remoteMaxPacket;
    this.extraData = extraData;
  }

  /** Whether accept or reject was already called. */
  get decided(): boolean {
    return this.#decided;
  }

  /** For `direct-tcpip` / `forwarded-tcpip`: the addresses in the extra data. Throws ProtocolError if malformed. */
  tcpip(): TcpipOpenData {
    return parseTcpipOpenData(this.extraData);
  }

  /**
   * Accepts: sends OPEN_CONFIRMATION and returns the channel (a
   * SessionChannel for `session`). Throws ChannelException if the
   * connection is gone, SSHException if already decided.
   */
  accept(opts: AcceptOptions = {}): Channel {
    this.#decide();
    return this.#host.accept(this, opts);
  }

  /** `accept()` for a session, typed as such. */
  acceptSession(opts: AcceptOptions = {}): SessionChannel {
    if (this.type !== 'session') throw new ChannelException(`channel type ${this.type} is not a session`);
    return this.accept(opts) as SessionChannel;
  }

  /** Refuses with an OPEN_FAILURE reason code (default ADMINISTRATIVELY_PROHIBITED). Does nothing once decided. */
  reject(reasonCode: number = OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, description = ''): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#host.reject(this, reasonCode, description);
  }

  #decide(): void {
    if (this.#decided) throw new SSHException(`the ${this.type} channel open was already answered`, { code: 'ERR_SSH_BAD_STATE' });
    this.#decided = true;
  }
}
