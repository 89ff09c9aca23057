/**
 * The SSH connection protocol (RFC 4254), client and server roles, over a
 * Transport: channel multiplexing, global requests, channel opens in both
 * directions.
 *
 * Incoming messages 80-100 are dispatched here; data messages take a fast
 * path (fixed offsets, no reader object) and are handed to the channel as
 * views of the transport's private payload copy, never copied again.
 *
 * Outgoing data is scheduled across channels: channels with data and window
 * sit in a rotation, each gets one packet per turn, and the rotation stops
 * while the transport's socket is backed up (`needsDrain`), resuming on
 * 'drain'. One busy channel therefore never starves the others, and nothing
 * piles up in memory beyond the writers' own highWaterMarks.
 */
import { EventEmitter } from 'node:events';
import { abortError, ChannelException, ProtocolError, SSHException } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { Channel, type ChannelHost } from './channel.js';
import {
  DEFAULT_MAX_CHANNELS_CLIENT,
  DEFAULT_MAX_CHANNELS_SERVER,
  DEFAULT_MAX_PACKET,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_WINDOW,
  LIMITS,
  MAX_MAX_PACKET,
  MAX_WINDOW,
  OPEN_FAILURE,
  OPEN_FAILURE_NAMES,
} from './constants.js';
import { IncomingChannelRequest, type AcceptOptions, type IncomingOpenHost } from './incoming.js';
import { channelOpenMessage, openConfirmationMessage } from './messages.js';
import { SessionChannel } from './session.js';
import type { ConnectionTransport } from './transport.js';
import { checkDuration } from '../transport/index.js';
import { checkWaitOptions, deferred, guarded, type Deferred, type WaitOptions } from './wait.js';

export interface ConnectionOptions {
  role: 'client' | 'server';
  /** Receive window of each channel we open or accept. Default 2 MiB. */
  window?: number;
  /** Largest data packet we accept on a channel. Default 32 KiB. */
  maxPacketSize?: number;
  /** Most channels open at once (both directions). Default 1024 for servers, 65536 for clients. */
  maxChannels?: number;
  /** Default ms to wait for a channel open, channel request or global request reply, 0 to 2^31-1; 0 = no limit. Default 60000. */
  requestTimeout?: number;
  /** Receives diagnostic lines. */
  debug?(msg: string): void;
}

/** Answer to a global request: true/false, or bytes to send with REQUEST_SUCCESS. */
export type GlobalRequestResult = boolean | Uint8Array;
export type GlobalRequestHandler = (name: string, data: Uint8Array) => GlobalRequestResult | Promise<GlobalRequestResult>;
export type ChannelOpenHandler = (req: IncomingChannelRequest) => void;

/** Which connection each channel belongs to (see connectionOf). */
const owners = new WeakMap<Channel, Connection>();

/** The connection `ch` was opened on (undefined for a channel made outside one). */
export function connectionOf(ch: Channel): Connection | undefined {
  return owners.get(ch);
}

/** Options of waits that send a request. */
export interface RequestOptions extends WaitOptions {
  wantReply?: boolean;
}

interface PendingOpen {
  type: string;
  d: Deferred<Channel>;
  abandoned: boolean;
  window: number;
  maxPacket: number;
}

interface GlobalWaiter {
  d: Deferred<{ ok: boolean; data: Uint8Array }>;
  abandoned: boolean;
}

const EMPTY = new Uint8Array(0);

function bad(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_OPTION' });
}

function checkRange(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  return v;
}

/** ConnectionOptions with their defaults filled in. */
export interface ResolvedConnectionOptions {
  role: 'client' | 'server';
  window: number;
  maxPacketSize: number;
  maxChannels: number;
  requestTimeout: number;
}

/**
 * Validates connection options and fills in defaults, as the Connection
 * constructor does: for checking options up front (a server's listen())
 * rather than at each connection. Throws SSHException (ERR_SSH_BAD_OPTION).
 */
export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  if (options?.role !== 'client' && options?.role !== 'server') throw bad(`role must be 'client' or 'server'`);
  const role = options.role;
  return {
    role,
    window: checkRange('window', options.window, DEFAULT_WINDOW, 1, MAX_WINDOW),
    maxPacketSize: checkRange('maxPacketSize', options.maxPacketSize, DEFAULT_MAX_PACKET, 1, MAX_MAX_PACKET),
    maxChannels: checkRange('maxChannels', options.maxChannels, role === 'server' ? DEFAULT_MAX_CHANNELS_SERVER : DEFAULT_MAX_CHANNELS_CLIENT, 1, 2 ** 32),
    requestTimeout: checkDuration('requestTimeout', options.requestTimeout, { zero: 'no limit' }) ?? DEFAULT_REQUEST_TIMEOUT,
  };
}

/**
 * The SSH connection protocol (RFC 4254) over an authenticated transport:
 * multiplexes channels, opens them in both directions, sends and answers
 * global requests. The channel side of Paramiko's `Transport` (`open_session`,
 * `open_channel`, `global_request`). Emits 'close' (the error, or null for a
 * local close) once torn down.
 */
export class Connection extends EventEmitter {
  /** Which end this is: `'client'` or `'server'`. */
  readonly role: 'client' | 'server';
  /** The transport the connection's messages go through. */
  readonly transport: ConnectionTransport;
  /** Resolves once the connection is gone: null for a local close, else the error. Everything pending has been failed by then. */
  readonly closed: Promise<Error | null>;
  /** Default receive window, in bytes, of each channel opened or accepted here (a per-open `window` overrides it). */
  readonly window: number;
  /** Default largest data packet, in bytes, we accept on a channel (a per-open `maxPacketSize` overrides it). */
  readonly maxPacketSize: number;
  /**
   * Most channels open or being opened at once, both directions. Beyond it our
   * opens reject with ChannelException (RESOURCE_SHORTAGE) and the peer's are refused.
   */
  readonly maxChannels: number;
  /** Default ms to wait for a channel open, channel request or global request reply (a call's `timeout` overrides it); 0 = no limit. */
  readonly requestTimeout: number;

  readonly #debug: (msg: string) => void;
  readonly #channels = new Map<number, Channel>();
  readonly #opening = new Map<number, PendingOpen>();
  /** Ids reserved for the peer's opens not yet accepted or rejected (IncomingChannelRequest.localId). */
  readonly #undecided = new Set<number>();
  #nextId = 0;
  #globalWaiters: GlobalWaiter[] = [];
  #globalHandler: GlobalRequestHandler | null = null;
  #openHandler: ChannelOpenHandler | null = null;
  #globalReplyChain: Promise<void> = Promise.resolve();
  #globalRepliesPending = 0;
  #noMoreSessions = false;
  readonly #sendable = new Set<Channel>();
  #pumping = false;
  #isClosed = false;
  #error: Error | null = null;
  readonly #unsubscribe: () => void;
  readonly #host: ChannelHost;
  readonly #openHost: IncomingOpenHost;

  constructor(transport: ConnectionTransport, options: ConnectionOptions) {
    super();
    const resolved = resolveConnectionOptions(options);
    this.role = resolved.role;
    this.transport = transport;
    this.window = resolved.window;
    this.maxPacketSize = resolved.maxPacketSize;
    this.maxChannels = resolved.maxChannels;
    this.requestTimeout = resolved.requestTimeout;
    const sink = options.debug;
    this.#debug = sink ? (m) => sink(`connection: ${m}`) : () => {};
    this.#host = {
      send: (p) => this.transport.send(p),
      sendGathered: typeof transport.sendGathered === 'function' ? (parts, onCopied) => this.transport.sendGathered!(parts, onCopied) : undefined,
      schedule: (ch) => this.#schedule(ch),
      release: (ch) => this.#release(ch),
      debug: this.#debug,
      requestTimeout: this.requestTimeout,
    };
    this.#openHost = {
      accept: (req, opts) => this.#acceptOpen(req, opts),
      reject: (req, code, desc) => this.#rejectOpen(req, code, desc),
    };
    this.#unsubscribe = transport.onMessage(this.#onMessage);
    transport.on('drain', this.#onDrain);
    this.closed = transport.closed.then(
      (err) => {
        this.#teardown(this.#error ?? err);
        return this.#error ?? err;
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new SSHException(String(err));
        this.#teardown(e);
        return e;
      },
    );
  }

  /** Channels currently open or being opened. */
  get channelCount(): number {
    return this.#channels.size + this.#opening.size + this.#undecided.size;
  }

  /** Whether the connection is closed or closing. */
  get isClosed(): boolean {
    return this.#isClosed || this.transport.isClosed;
  }

  // ─────────────────────────── public API ───────────────────────────

  /** Opens a `session` channel. */
  openSession(opts?: WaitOptions & { window?: number; maxPacketSize?: number }): Promise<SessionChannel> {
    return this.openChannel('session', EMPTY, opts) as Promise<SessionChannel>;
  }

  /**
   * Opens a channel of any type. Rejects with ChannelException (with the
   * peer's `reasonCode`) on OPEN_FAILURE, TimeoutError after `opts.timeout`
   * (default: the connection's requestTimeout), or the signal's reason. A
   * channel whose open was given up on is closed as soon as it is confirmed.
   */
  openChannel(type: string, extraData: Uint8Array = EMPTY, opts?: WaitOptions & { window?: number; maxPacketSize?: number }): Promise<Channel> {
    if (this.isClosed) return Promise.reject(this.#closedError());
    if (this.channelCount >= this.maxChannels) {
      return Promise.reject(new ChannelException(`cannot open ${type}: ${this.maxChannels} channels already open`, OPEN_FAILURE.RESOURCE_SHORTAGE));
    }
    if (opts?.signal?.aborted) return Promise.reject(abortError(opts.signal));
    let window: number;
    let maxPacket: number;
    try {
      checkWaitOptions(opts, `opening ${type} channel`);
      window = checkRange('window', opts?.window, this.window, 1, MAX_WINDOW);
      maxPacket = checkRange('maxPacketSize', opts?.maxPacketSize, this.maxPacketSize, 1, MAX_MAX_PACKET);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#allocId();
    const pending: PendingOpen = { type, d: deferred<Channel>(), abandoned: false, window, maxPacket };
    const payload = channelOpenMessage(type, id, window, maxPacket, extraData);
    try {
      this.transport.send(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#opening.set(id, pending);
    return guarded(pending.d, { signal: opts?.signal, timeout: opts?.timeout ?? this.requestTimeout }, `opening ${type} channel`, () => {
      pending.abandoned = true;
    });
  }

  /**
   * Sends a GLOBAL_REQUEST. With a reply wanted, resolves `{ ok, data }`
   * (data: what followed REQUEST_SUCCESS, e.g. the bound port of
   * `tcpip-forward`); without, resolves `{ ok: true }` once queued.
   */
  globalRequest(name: string, data: Uint8Array = EMPTY, opts?: RequestOptions): Promise<{ ok: boolean; data: Uint8Array }> {
    if (this.isClosed) return Promise.reject(this.#closedError());
    const wantReply = opts?.wantReply ?? true;
    if (opts?.signal?.aborted) return Promise.reject(abortError(opts.signal));
    try {
      checkWaitOptions(opts, `global request ${name}`);
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      this.transport.send(new SSHWriter(16 + name.length + data.length).byte(MSG.GLOBAL_REQUEST).string(name).boolean(wantReply).raw(data).toBytes());
    } catch (err) {
      return Promise.reject(err);
    }
    if (!wantReply) return Promise.resolve({ ok: true, data: EMPTY });
    const w: GlobalWaiter = { d: deferred(), abandoned: false };
    this.#globalWaiters.push(w);
    return guarded(w.d, { signal: opts?.signal, timeout: opts?.timeout ?? this.requestTimeout }, `global request ${name}`, () => {
      w.abandoned = true;
    });
  }

  /** Installs the handler that answers the peer's global requests. Without one, all are refused. */
  onGlobalRequest(handler: GlobalRequestHandler | null): void {
    this.#globalHandler = handler;
  }

  /**
   * Installs the handler for the peer's channel opens. It must call
   * `req.accept()` or `req.reject()` (now or later). Without a handler,
   * every open is refused with ADMINISTRATIVELY_PROHIBITED.
   */
  onChannelOpen(handler: ChannelOpenHandler | null): void {
    this.#openHandler = handler;
  }

  /** Disconnects (BY_APPLICATION). Open channels end; pending waits reject with ChannelException. */
  close(): void {
    if (this.#isClosed) return;
    this.transport.disconnect(DISCONNECT_REASON.BY_APPLICATION, 'closed by application');
  }

  // ─────────────────────────── channel ids and scheduling ───────────────────────────

  #allocId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0;
      if (!this.#channels.has(id) && !this.#opening.has(id) && !this.#undecided.has(id)) return id;
    }
  }

  #schedule(ch: Channel): void {
    this.#sendable.add(ch);
    this.#pump();
  }

  readonly #onDrain = (): void => {
    this.#pump();
  };

  /** Sends packets round-robin across channels until the transport backs up or nobody can send. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const t = this.transport;
      const set = this.#sendable;
      while (set.size > 0 && !t.needsDrain && !t.isClosed) {
        for (const ch of set) {
          if (t.needsDrain || t.isClosed) break;
          if (!ch._sendNext()) set.delete(ch);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #release(ch: Channel): void {
    if (this.#channels.get(ch.localId) === ch) this.#channels.delete(ch.localId);
    this.#sendable.delete(ch);
    this.#debug(`channel ${ch.localId} (${ch.type}) closed`);
  }

  #makeChannel(type: string, localId: number, remoteId: number, window: number, maxPacket: number, remoteWindow: number, remoteMaxPacket: number): Channel {
    const init = { type, localId, remoteId, localWindow: window, localMaxPacket: maxPacket, remoteWindow, remoteMaxPacket, role: this.role };
    const ch = type === 'session' ? new SessionChannel(this.#host, init) : new Channel(this.#host, init);
    this.#channels.set(localId, ch);
    owners.set(ch, this);
    return ch;
  }

  // ─────────────────────────── incoming messages ───────────────────────────

  #channel(id: number, what: string): Channel {
    const ch = this.#channels.get(id);
    if (!ch) throw new ProtocolError(`${what} for unknown channel ${id}`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    return ch;
  }

  readonly #onMessage = (type: number, payload: Buffer): void => {
    if (type < MSG.GLOBAL_REQUEST || type > MSG.CHANNEL_FAILURE || this.#isClosed) return;
    switch (type) {
      case MSG.CHANNEL_DATA: {
        if (payload.length < 9 || payload.readUInt32BE(5) !== payload.length - 9) throw new ProtocolError('malformed CHANNEL_DATA');
        this.#channel(payload.readUInt32BE(1), 'CHANNEL_DATA')._handleData(payload.subarray(9), 0);
        return;
      }
      case MSG.CHANNEL_EXTENDED_DATA: {
        if (payload.length < 13 || payload.readUInt32BE(9) !== payload.length - 13) throw new ProtocolError('malformed CHANNEL_EXTENDED_DATA');
        const ext = payload.readUInt32BE(5);
        if (ext === 0) throw new ProtocolError('CHANNEL_EXTENDED_DATA with data type 0');
        this.#channel(payload.readUInt32BE(1), 'CHANNEL_EXTENDED_DATA')._handleData(payload.subarray(13), ext);
        return;
      }
      case MSG.CHANNEL_WINDOW_ADJUST: {
        if (payload.length !== 9) throw new ProtocolError('malformed CHANNEL_WINDOW_ADJUST');
        this.#channel(payload.readUInt32BE(1), 'CHANNEL_WINDOW_ADJUST')._handleWindowAdjust(payload.readUInt32BE(5));
        return;
      }
      case MSG.CHANNEL_EOF:
      case MSG.CHANNEL_CLOSE:
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE: {
        if (payload.length !== 5) throw new ProtocolError(`malformed channel message ${type}`);
        const ch = this.#channel(payload.readUInt32BE(1), `message ${type}`);
        if (type === MSG.CHANNEL_EOF) ch._handleEof();
        else if (type === MSG.CHANNEL_CLOSE) ch._handleClose();
        else ch._handleReply(type === MSG.CHANNEL_SUCCESS);
        return;
      }
      case MSG.CHANNEL_REQUEST: {
        const r = new SSHReader(payload, 'CHANNEL_REQUEST', 1);
        const ch = this.#channel(r.uint32(), 'CHANNEL_REQUEST');
        const name = r.ascii(LIMITS.name);
        const wantReply = r.boolean();
        ch._handleRequest(name, wantReply, r.rest());
        return;
      }
      case MSG.CHANNEL_OPEN:
        return this.#onOpen(payload);
      case MSG.CHANNEL_OPEN_CONFIRMATION:
        return this.#onOpenConfirmation(payload);
      case MSG.CHANNEL_OPEN_FAILURE:
        return this.#onOpenFailure(payload);
      case MSG.GLOBAL_REQUEST:
        return this.#onGlobalRequest(payload);
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE: {
        const w = this.#globalWaiters.shift();
        if (!w) throw new ProtocolError('reply to a global request that was not sent');
        if (!w.abandoned) w.d.resolve({ ok: type === MSG.REQUEST_SUCCESS, data: type === MSG.REQUEST_SUCCESS ? payload.subarray(1) : EMPTY });
        return;
      }
      default:
        // 101-127 are reserved for the connection protocol but undefined.
        this.#debug(`ignoring message ${type}`);
    }
  };

  #onOpen(payload: Buffer): void {
    const r = new SSHReader(payload, 'CHANNEL_OPEN', 1);
    const type = r.ascii(LIMITS.name);
    const remoteId = r.uint32();
    const remoteWindow = r.uint32();
    const remoteMaxPacket = r.uint32();
    const extra = r.rest();
    if (remoteMaxPacket === 0) throw new ProtocolError(`CHANNEL_OPEN ${type} with a maximum packet size of 0`);
    const refuse = (code: number, desc: string): void => {
      this.#debug(`refusing ${type} channel from the peer: ${desc}`);
      this.#sendOpenFailure(remoteId, code, desc);
    };
    if (this.channelCount >= this.maxChannels) return refuse(OPEN_FAILURE.RESOURCE_SHORTAGE, `too many channels (${this.maxChannels})`);
    if (type === 'session' && this.#noMoreSessions) return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'no more sessions');
    const handler = this.#openHandler;
    if (!handler) return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `${type} channels are not accepted`);
    // The id is reserved now, so that whoever decides (a server policy's
    // checkChannelRequest) knows the channel's localId beforehand.
    const localId = this.#allocId();
    this.#undecided.add(localId);
    const req = new IncomingChannelRequest(this.#openHost, type, remoteId, remoteWindow, remoteMaxPacket, extra, localId);
    try {
      handler(req);
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      this.#debug(`channel open handler threw: ${(err as Error)?.message ?? String(err)}`);
      req.reject(OPEN_FAILURE.CONNECT_FAILED, 'internal error');
    }
  }

  #acceptOpen(req: IncomingChannelRequest, opts: AcceptOptions): Channel {
    const id = req.localId;
    this.#undecided.delete(id);
    if (this.isClosed) throw this.#closedError();
    const window = checkRange('window', opts.window, this.window, 1, MAX_WINDOW);
    const maxPacket = checkRange('maxPacketSize', opts.maxPacketSize, this.maxPacketSize, 1, MAX_MAX_PACKET);
    const ch = this.#makeChannel(req.type, id, req.remoteId, window, maxPacket, req.remoteWindow, req.remoteMaxPacket);
    if (opts.onRequest) ch.onRequest(opts.onRequest);
    this.transport.send(openConfirmationMessage(req.remoteId, id, window, maxPacket));
    this.#debug(`accepted ${req.type} channel ${id} (peer ${req.remoteId})`);
    return ch;
  }

  #rejectOpen(req: IncomingChannelRequest, code: number, desc: string): void {
    this.#undecided.delete(req.localId);
    if (this.isClosed) return;
    this.#sendOpenFailure(req.remoteId, code, desc);
  }

  #sendOpenFailure(remoteId: number, code: number, desc: string): void {
    this.transport.send(new SSHWriter(32 + desc.length * 3).byte(MSG.CHANNEL_OPEN_FAILURE).uint32(remoteId).uint32(code).string(desc).string('').toBytes());
  }

  #onOpenConfirmation(payload: Buffer): void {
    const r = new SSHReader(payload, 'CHANNEL_OPEN_CONFIRMATION', 1);
    const localId = r.uint32();
    const remoteId = r.uint32();
    const remoteWindow = r.uint32();
    const remoteMaxPacket = r.uint32();
    const pending = this.#opening.get(localId);
    if (!pending) throw new ProtocolError(`CHANNEL_OPEN_CONFIRMATION for channel ${localId}, which we did not open`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    if (remoteMaxPacket === 0) throw new ProtocolError(`CHANNEL_OPEN_CONFIRMATION with a maximum packet size of 0`);
    this.#opening.delete(localId);
    const ch = this.#makeChannel(pending.type, localId, remoteId, pending.window, pending.maxPacket, remoteWindow, remoteMaxPacket);
    if (pending.abandoned) {
      this.#debug(`closing channel ${localId}: its opener gave up`);
      ch.destroy();
      return;
    }
    pending.d.resolve(ch);
  }

  #onOpenFailure(payload: Buffer): void {
    const r = new SSHReader(payload, 'CHANNEL_OPEN_FAILURE', 1);
    const localId = r.uint32();
    const code = r.uint32();
    let desc = '';
    try {
      desc = new TextDecoder('utf-8', { fatal: false }).decode(r.string(LIMITS.text));
    } catch {
      // A missing description still carries the reason code.
    }
    const pending = this.#opening.get(localId);
    if (!pending) throw new ProtocolError(`CHANNEL_OPEN_FAILURE for channel ${localId}, which we did not open`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    this.#opening.delete(localId);
    // eslint-disable-next-line no-control-regex
    const text = desc.slice(0, 256).replace(/[\x00-\x1f\x7f]/g, '?');
    const reasonName = OPEN_FAILURE_NAMES[code] ?? `reason ${code}`;
    pending.d.reject(new ChannelException(`opening a ${pending.type} channel failed: ${reasonName}${text ? `: ${text}` : ''}`, code));
  }

  #onGlobalRequest(payload: Buffer): void {
    const r = new SSHReader(payload, 'GLOBAL_REQUEST', 1);
    const name = r.ascii(LIMITS.name);
    const wantReply = r.boolean();
    const data = r.rest();
    let result: GlobalRequestResult | Promise<GlobalRequestResult> = false;
    if (name === 'no-more-sessions@openssh.com' && this.role === 'server') {
      this.#noMoreSessions = true;
      result = true;
    } else if (this.#globalHandler) {
      try {
        result = this.#globalHandler(name, data);
      } catch (err) {
        this.#debug(`global request handler for ${name} threw: ${(err as Error)?.message ?? String(err)}`);
        result = false;
      }
    } else {
      this.#debug(`refusing global request ${name} (no handler)`);
    }
    if (!wantReply) {
      if (result instanceof Promise) result.catch(() => {});
      return;
    }
    if (!(result instanceof Promise) && this.#globalRepliesPending === 0) {
      this.#sendGlobalReply(result);
      return;
    }
    this.#globalRepliesPending++;
    const settled = Promise.resolve(result).catch((err: unknown) => {
      this.#debug(`global request handler for ${name} failed: ${(err as Error)?.message ?? String(err)}`);
      return false as GlobalRequestResult;
    });
    this.#globalReplyChain = this.#globalReplyChain.then(async () => {
      const v = await settled;
      this.#globalRepliesPending--;
      this.#sendGlobalReply(v);
    });
  }

  #sendGlobalReply(v: GlobalRequestResult): void {
    if (this.isClosed) return;
    if (v instanceof Uint8Array) {
      const p = new Uint8Array(1 + v.length);
      p[0] = MSG.REQUEST_SUCCESS;
      p.set(v, 1);
      this.transport.send(p);
    } else {
      this.transport.send(Uint8Array.of(v === true ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE));
    }
  }

  // ─────────────────────────── closing ───────────────────────────

  #closedError(): Error {
    return this.#error ?? new ChannelException('the connection is closed');
  }

  #teardown(err: Error | null): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#error = err;
    this.#unsubscribe();
    this.transport.off('drain', this.#onDrain);
    this.#sendable.clear();
    const reason = err ?? new ChannelException('the connection is closed');
    for (const ch of [...this.#channels.values()]) ch._connectionLost(reason);
    this.#channels.clear();
    for (const p of this.#opening.values()) p.d.reject(reason);
    this.#opening.clear();
    const waiters = this.#globalWaiters;
    this.#globalWaiters = [];
    for (const w of waiters) w.d.reject(reason);
    this.#debug(`closed${err ? `: ${err.message}` : ''}`);
    this.emit('close', err);
  }
}
