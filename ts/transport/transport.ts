/**
 * The SSH transport layer (RFC 4253), client and server roles: version
 * exchange, binary packet protocol, key exchange and re-exchange, strict kex,
 * extension negotiation (RFC 8308), compression, keepalive, service requests.
 *
 * `Transport` is the coordinator behind the upward API (README.md in this
 * folder); the work is done by the pieces it wires together:
 *
 *   socket 'data' -> ReceivePump (receive-pump.ts: ReceiveBuffer, batched
 *   openPackets) -> Dispatcher (dispatch.ts) -> KexDriver (kex-driver.ts),
 *   the handlers below, or the upper layers' onMessage handlers.
 *
 *   send() -> SendQueue (send-queue.ts: held during kex, one PacketWriter
 *   batch and one socket write per tick) -> socket.
 *
 * Keepalive (keepalive.ts), global-request reply matching
 * (global-replies.ts), service requests (services.ts), ping (ping.ts),
 * compression state (compression-state.ts) and closing (closing.ts) each
 * live in their own file.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { createOpener, createSealer, randomBytes } from '../crypto/index.js';
import { DisconnectError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { buildAlgorithmLists, canServeKex, NULL_HOST_KEY_ALGORITHM, type NegotiatedAlgorithms } from './algorithms.js';
import type { SessionBinding } from './kex/exchange.js';
import { gssKexNames, type GssKexAcceptor, type GssKexInitiator } from './kex/gss.js';
import { REASON_NAMES, asSSHError, closeSocket, disconnectPayload, disconnectReasonFor } from './closing.js';
import { CompressionState } from './compression-state.js';
import { createDebugSink, hexdump, lenientUtf8, sanitize, type DebugSink } from './debug.js';
import { deferred, rejected } from './deferred.js';
import { Dispatcher, type MessageHandler } from './dispatch.js';
import { parseExtInfo } from './ext-info.js';
import { GlobalReplies, wantsReply } from './global-replies.js';
import { signerSupports } from './kex/hostkey.js';
import { BUILTIN_GEX_GROUPS, loadModuliFile } from './kex/moduli.js';
import { KexDriver } from './kex-driver.js';
import { Keepalive } from './keepalive.js';
import { resolveOptions, type ResolvedOptions, type TransportOptions } from './options.js';
import { MAX_PAYLOAD, PacketWriter } from './outbound.js';
import { Pings } from './ping.js';
import { MAX_PACKET_LENGTH, ReceivePump, type PeerVersion } from './receive-pump.js';
import { SendQueue } from './send-queue.js';
import { socketFeedOf } from './socket-feed.js';
import { ServiceRequests, serveServiceRequest, type ServiceHooks } from './services.js';

export { MAX_PACKET_LENGTH } from './receive-pump.js';
export type { MessageHandler } from './dispatch.js';

export class Transport extends EventEmitter {
  readonly role: 'client' | 'server';
  /** Resolves when the first key exchange is complete. */
  readonly ready: Promise<void>;
  /** Resolves once the transport is closed and the socket destroyed: null for a clean local close, else the error. */
  readonly closed: Promise<Error | null>;
  /** Our identification string. */
  readonly ownVersion: string;
  /** The peer's identification string, once received. */
  peerVersion: string | null = null;
  /** Lines the server sent before its identification (client role). */
  peerBanner: string[] = [];
  /** Client: the server's EXT_INFO `server-sig-algs`, when it sent one. */
  serverSigAlgs: string[] | null = null;
  /** Everything the peer's EXT_INFO said. */
  readonly peerExtensions = new Map<string, Uint8Array>();

  readonly #socket: Duplex;
  readonly #opts: ResolvedOptions;
  readonly #debug: DebugSink;
  readonly #ready = deferred<void>();
  readonly #closed = deferred<Error | null>();
  #closing = false;
  #error: Error | null = null;
  readonly #hostKeyAlgorithms: readonly string[];
  /** Dispatch is paused after USERAUTH_SUCCESS until the next onMessage (holdAfterUserauth). */
  #heldAfterAuth = false;
  #bannerTimer: NodeJS.Timeout | null = null;

  readonly #send: SendQueue;
  readonly #receive: ReceivePump;
  readonly #compression: CompressionState;
  readonly #kex: KexDriver;
  readonly #dispatcher: Dispatcher;
  readonly #replies = new GlobalReplies();
  readonly #keepalive: Keepalive;
  readonly #services: ServiceRequests;
  readonly #serviceHooks: ServiceHooks;
  readonly #pings: Pings;

  /**
   * Starts the transport on a connected socket: sends our identification
   * and KEXINIT at once. Throws SSHException (ERR_SSH_BAD_OPTION) or
   * NegotiationError synchronously for unusable options.
   */
  constructor(socket: Duplex, options: TransportOptions) {
    super();
    const opts = (this.#opts = resolveOptions(options));
    this.role = opts.role;
    this.ownVersion = opts.version;
    this.#socket = socket;
    const debug = (this.#debug = createDebugSink(this.role, opts.debug));
    const hostKeys = opts.hostKeys ?? [];
    const lists = buildAlgorithmLists(
      opts.algorithms,
      opts.disabledAlgorithms,
      this.role === 'server' ? (alg) => hostKeys.some((k) => signerSupports(k, alg)) : undefined,
    );
    this.#hostKeyAlgorithms = [...lists.serverHostKey];
    if (opts.gssKex) {
      const off = new Set(opts.disabledAlgorithms?.kex ?? []);
      lists.kex = [...gssKexNames(opts.gssKex.oid).filter((n) => canServeKex(n) && !off.has(n)), ...lists.kex];
      lists.serverHostKey = [...lists.serverHostKey, NULL_HOST_KEY_ALGORITHM];
    }
    const gexGroups = this.role === 'server' && opts.moduliFile ? loadModuliFile(opts.moduliFile) : BUILTIN_GEX_GROUPS;
    const none = { cipher: 'none', mac: 'none', encKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
    const closing = (): boolean => this.#closing;
    const fail = (err: Error): void => this.#fail(err);
    const queue = (payload: Uint8Array): void => this.#send.queue(payload);

    const writer = new PacketWriter(createSealer(none));
    // Server: compression delayed until after authentication starts with the
    // packet after USERAUTH_SUCCESS, in both directions.
    if (this.role === 'server') writer.onLaidOut = (type) => type === MSG.USERAUTH_SUCCESS && this.#markAuthenticated();
    if (opts.hexdump && debug.enabled) writer.dump = (seq, p) => debug(hexdump('send', seq, p));
    this.#send = new SendQueue(socket, writer, {
      closing,
      fail,
      afterFlush: () => this.#kex.checkVolume(),
      drained: () => this.emit('drain'),
    });
    this.#compression = new CompressionState(writer, MAX_PACKET_LENGTH);
    this.#receive = new ReceivePump(socket, createOpener(none), this.role === 'client', {
      closing,
      fail,
      inKex: () => this.#kex.running,
      version: (v) => this.#onVersion(v),
      received: (n, bytes) => {
        this.#kex.received(n, bytes);
        this.#keepalive.received();
      },
      dispatch: (p) => this.#dispatcher.dispatch(p),
      afterPump: () => this.#kex.checkVolume(),
    });
    this.#kex = new KexDriver({
      role: this.role,
      opts,
      debug,
      lists,
      gexGroups,
      ownVersion: this.ownVersion,
      send: this.#send,
      receive: this.#receive,
      compression: this.#compression,
      peerVersion: () => this.peerVersion,
      closing,
      fail,
      completed: (first, negotiated) => {
        if (first) {
          this.#keepalive.start();
          this.#ready.resolve();
        } else {
          this.emit('rekey', negotiated);
        }
      },
    });
    this.#keepalive = new Keepalive(opts.keepaliveInterval, opts.keepaliveCountMax, {
      closing,
      fail,
      probe: () => {
        this.#replies.expect('keepalive');
        queue(new SSHWriter(40).byte(MSG.GLOBAL_REQUEST).string('keepalive@openssh.com').boolean(true).toBytes());
      },
    });
    this.#serviceHooks = { debug, queue, fail };
    this.#services = new ServiceRequests(opts.requestTimeout, this.#serviceHooks);
    this.#pings = new Pings(opts.requestTimeout, queue);
    this.#dispatcher = new Dispatcher({
      role: this.role,
      debug,
      dump: opts.hexdump && debug.enabled,
      kex: this.#kex,
      compression: this.#compression,
      replies: this.#replies,
      closing,
      queue,
      messages: {
        disconnect: (p) => this.#onDisconnect(p),
        serviceRequest: (p) => this.#onServiceRequest(p),
        serviceAccept: (p) => this.#onServiceAccept(p),
        extInfo: (p) => this.#onExtInfo(p),
        ping: (p) => this.#pings.pinged(p),
        pong: (p) => this.#pings.ponged(p),
        keepaliveReply: () => this.#keepalive.replied(),
        unimplemented: (seq) => this.emit('unimplemented', seq),
        userauthSuccess: () => {
          this.#markAuthenticated();
          if (this.#opts.holdAfterUserauth && this.role === 'client' && !this.#heldAfterAuth) {
            this.#heldAfterAuth = true;
            this.#receive.pause();
          }
        },
      },
    });
    this.ready = this.#ready.promise;
    this.closed = this.#closed.promise;

    const s = socket as Duplex & { setNoDelay?: (v: boolean) => void };
    if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
    // A socket made with our reused-buffer onread hook feeds the pump directly (socket-feed.ts).
    const feed = socketFeedOf(socket);
    if (feed) feed.attach(this.#receive.onData);
    else socket.on('data', this.#receive.onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onSocketClose);
    socket.on('error', this.#onSocketError);
    socket.on('drain', this.#send.onDrain);

    debug(`local version: ${this.ownVersion}`);
    this.#send.writeRaw(Buffer.from(`${this.ownVersion}\r\n`, 'latin1'));
    if (opts.bannerTimeout > 0) {
      this.#bannerTimer = setTimeout(() => this.#fail(new TimeoutError(`no SSH identification from the peer within ${opts.bannerTimeout} ms`)), opts.bannerTimeout);
      this.#bannerTimer.unref?.();
    }
    this.#kex.start();
  }

  // ───────────────────────────── public API ─────────────────────────────

  /** After a GSS-API first key exchange: its context (gssapi-keyex user authentication signs with it), else null. */
  get gssKexContext(): GssKexInitiator | GssKexAcceptor | null {
    return this.#kex.gssContext;
  }

  /** The session identifier: H of the first key exchange (null before it completes). */
  get sessionId(): Uint8Array | null {
    return this.#kex.sessionId;
  }

  /**
   * The first key exchange's server host key and the server's signature
   * over the session identifier: what ssh-agent's `session-bind@openssh.com`
   * takes. Null before that exchange, and after a GSS-API one.
   */
  get sessionBinding(): SessionBinding | null {
    return this.#kex.sessionBinding;
  }

  /** The host key algorithms this side offers in key exchange, in its order of preference. */
  get hostKeyAlgorithms(): readonly string[] {
    return this.#hostKeyAlgorithms;
  }

  /** The host key algorithms the peer offered in the first key exchange (empty before it). */
  get peerHostKeyAlgorithms(): readonly string[] {
    return this.#kex.peerHostKeyAlgorithms;
  }

  /** What the last completed key exchange chose. */
  get negotiated(): NegotiatedAlgorithms | null {
    return this.#kex.negotiated;
  }

  /** Bytes written to the socket. */
  get bytesSent(): number {
    return this.#send.bytesSent;
  }

  /** Bytes read from the socket. */
  get bytesReceived(): number {
    return this.#receive.bytesReceived;
  }

  /** True when the socket's write buffer is full: pause producing until 'drain'. */
  get needsDrain(): boolean {
    return this.#send.needsDrain;
  }

  /** Whether the transport is closed or closing. */
  get isClosed(): boolean {
    return this.#closing;
  }

  /** Whether the peer announced ping@openssh.com in EXT_INFO. */
  get peerSupportsPing(): boolean {
    return this.peerExtensions.has('ping@openssh.com');
  }

  /**
   * Queues a message (payload[0] is the message number). It goes out at the
   * end of the current tick, batched with others; during a key exchange it is
   * held until the exchange completes. The transport keeps the reference, so
   * do not modify `payload` afterwards. Ignored once the transport is closed.
   */
  send(payload: Uint8Array): void {
    if (this.#closing) return;
    if (!(payload instanceof Uint8Array) || payload.length === 0) {
      throw new SSHException('send() needs a non-empty Uint8Array payload', { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    if (payload.length > MAX_PAYLOAD) {
      throw new SSHException(`payload of ${payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD}`, { code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    }
    if (payload[0] === MSG.GLOBAL_REQUEST && wantsReply(payload)) this.#replies.expect('upper');
    this.#send.queue(payload);
  }

  /**
   * @internal Like `send`, for bulk data: the payload is the concatenation of
   * `parts` (the first non-empty), copied once straight into the sealed
   * batch instead of being joined first. The transport keeps the references
   * until then; `onCopied` runs once they are no longer used (after the
   * flush that copied them, or when the transport closes), so the caller may
   * reuse the memory only from then on.
   */
  sendGathered(parts: readonly Uint8Array[], onCopied: (() => void) | null): void {
    if (this.#closing) {
      if (onCopied) process.nextTick(onCopied);
      return;
    }
    let length = 0;
    for (const p of parts) length += p.length;
    if (parts.length === 0 || parts[0]!.length === 0) {
      throw new SSHException('sendGathered() needs a non-empty first part', { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    if (length > MAX_PAYLOAD) {
      throw new SSHException(`payload of ${length} bytes exceeds the maximum of ${MAX_PAYLOAD}`, { code: 'ERR_SSH_PAYLOAD_TOO_LARGE' });
    }
    this.#send.queueGathered(parts, onCopied);
  }

  /**
   * Registers a handler for every message number >= 50 (except the replies
   * to our own keepalives and PING/PONG, which the transport consumes), and
   * also UNIMPLEMENTED (3), SERVICE_ACCEPT (6) and EXT_INFO (7). Returns a
   * function that removes it. With no handler registered, GLOBAL_REQUESTs
   * wanting a reply get REQUEST_FAILURE and other messages UNIMPLEMENTED.
   */
  onMessage(handler: MessageHandler): () => void {
    const remove = this.#dispatcher.onMessage(handler);
    if (this.#heldAfterAuth) {
      this.#heldAfterAuth = false;
      this.#receive.resume();
    }
    return remove;
  }

  /** Client: asks for a service (normally `ssh-userauth`) and resolves on SERVICE_ACCEPT. */
  requestService(name: string): Promise<void> {
    if (this.role !== 'client') return rejected(new SSHException('only a client requests services', { code: 'ERR_SSH_BAD_ARGUMENT' }));
    if (this.#closing) return rejected(this.#closedError());
    return this.#services.request(name);
  }

  /** Sends DISCONNECT and closes; `closed` resolves with null. */
  disconnect(reason: number = DISCONNECT_REASON.BY_APPLICATION, description = ''): void {
    if (this.#closing) return;
    this.#debug(`disconnecting: reason ${reason} (${REASON_NAMES[reason] ?? 'unknown'}) ${sanitize(description)}`);
    this.#shutdown(null, { reason, description });
  }

  /** Starts a key re-exchange now; resolves when it completes. */
  renegotiateKeys(): Promise<void> {
    if (this.#closing) return rejected(this.#closedError());
    return this.#kex.renegotiate();
  }

  /** Sends SSH_MSG_IGNORE with `data` (random bytes by default). */
  sendIgnore(data?: Uint8Array): void {
    const body = data ?? randomBytes(16);
    this.#send.queue(new SSHWriter(body.length + 8).byte(MSG.IGNORE).string(body).toBytes());
  }

  /** Sends SSH_MSG_DEBUG. */
  sendDebug(message: string, alwaysDisplay = false): void {
    this.#send.queue(new SSHWriter(message.length + 16).byte(MSG.DEBUG).boolean(alwaysDisplay).string(message).string('').toBytes());
  }

  /**
   * Round trip through the peer with ping@openssh.com (only when the peer
   * announced it in EXT_INFO). Resolves when the matching PONG arrives.
   */
  ping(): Promise<void> {
    if (this.#closing) return rejected(this.#closedError());
    if (!this.peerSupportsPing) return rejected(new SSHException('the peer did not announce ping@openssh.com', { code: 'ERR_SSH_UNSUPPORTED' }));
    return this.#pings.ping();
  }

  /**
   * Tells the transport user authentication succeeded, so delayed
   * compression (zlib@openssh.com) starts. The transport already does this
   * itself when USERAUTH_SUCCESS goes out (server) or comes in (client); this
   * call is for upper layers that want to be explicit. A server must call it
   * only after queueing USERAUTH_SUCCESS.
   */
  authenticated(): void {
    this.#markAuthenticated();
  }

  // ───────────────────────────── internals ─────────────────────────────

  /** Authentication is done: delayed compression starts, deferred rekeys may run. */
  #markAuthenticated(): void {
    if (this.#compression.authenticated()) this.#kex.authenticated();
  }

  #closedError(): Error {
    return this.#error ?? new DisconnectError('transport is closed', DISCONNECT_REASON.BY_APPLICATION);
  }

  #onVersion(v: PeerVersion): void {
    if (this.#bannerTimer) clearTimeout(this.#bannerTimer);
    this.#bannerTimer = null;
    this.peerVersion = v.version;
    this.peerBanner = v.banner;
    for (const line of v.banner) this.#debug(`banner: ${sanitize(line)}`);
    this.#debug(`remote version: ${sanitize(v.version)}`);
    this.emit('version', v.version);
  }

  #onDisconnect(payload: Buffer): void {
    const r = new SSHReader(payload, 'DISCONNECT');
    r.byte();
    const reason = r.uint32();
    let description = '';
    try {
      description = lenientUtf8.decode(r.string(4096));
    } catch {
      // A truncated description still means the peer is leaving.
    }
    const text = sanitize(description);
    this.#debug(`peer disconnected: reason ${reason} (${REASON_NAMES[reason] ?? 'unknown'}): ${text}`);
    this.#fail(new DisconnectError(`peer disconnected (${REASON_NAMES[reason] ?? `reason ${reason}`}): ${text}`, reason), false);
  }

  #onServiceRequest(payload: Buffer): void {
    if (this.role !== 'server') throw new ProtocolError('SERVICE_REQUEST sent to a client');
    const name = serveServiceRequest(payload, this.#opts.services, this.#serviceHooks);
    if (name !== null) this.emit('service', name);
  }

  #onServiceAccept(payload: Buffer): void {
    if (this.role !== 'client') throw new ProtocolError('SERVICE_ACCEPT sent to a server');
    this.#services.accepted(payload);
    this.#dispatcher.deliver(MSG.SERVICE_ACCEPT, payload, false);
  }

  #onExtInfo(payload: Buffer): void {
    for (const [name, value] of parseExtInfo(payload)) {
      this.peerExtensions.set(name, value);
      if (name === 'server-sig-algs' && this.role === 'client') {
        this.serverSigAlgs = Buffer.from(value).toString('latin1').split(',').filter((s) => s.length > 0);
        this.#debug(`server-sig-algs: ${sanitize(this.serverSigAlgs.join(','))}`);
      } else {
        this.#debug(`peer extension ${sanitize(name, 64)}`);
      }
    }
    this.emit('extInfo', this.peerExtensions);
    this.#dispatcher.deliver(MSG.EXT_INFO, payload, false);
  }

  readonly #onEnd = (): void => {
    this.#fail(new DisconnectError('connection closed by peer', DISCONNECT_REASON.CONNECTION_LOST), false);
  };

  readonly #onSocketClose = (): void => {
    this.#fail(new DisconnectError('connection closed', DISCONNECT_REASON.CONNECTION_LOST), false);
  };

  readonly #onSocketError = (err: Error): void => {
    const e = new DisconnectError(`connection error: ${err.message}`, DISCONNECT_REASON.CONNECTION_LOST);
    Object.defineProperty(e, 'cause', { value: err, enumerable: false, configurable: true, writable: true });
    this.#fail(e, false);
  };

  /**
   * Fatal error: tell the peer (unless the error came from the peer or the
   * socket), tear down, and resolve `closed` with the error.
   */
  #fail(err: Error, notifyPeer = true): void {
    if (this.#closing) return;
    const e = err instanceof SSHException ? err : asSSHError(err);
    this.#debug(`closing: ${e.name}: ${e.message}`);
    const canTalk = notifyPeer && this.peerVersion !== null;
    this.#shutdown(e, canTalk ? { reason: disconnectReasonFor(e), description: e.message } : null);
  }

  #shutdown(err: Error | null, disconnect: { reason: number; description: string } | null): void {
    this.#closing = true;
    this.#error = err;
    if (this.#bannerTimer) clearTimeout(this.#bannerTimer);
    this.#keepalive.stop();
    if (disconnect) {
      try {
        const w = this.#send.writer;
        w.enqueue(disconnectPayload(disconnect.reason, disconnect.description));
        const buf = w.build();
        if (buf) this.#send.writeBatch(buf);
      } catch {
        // Best effort: the connection is going away regardless.
      }
    }
    const reason = err ?? new DisconnectError('transport closed', DISCONNECT_REASON.BY_APPLICATION);
    this.#kex.close(reason);
    this.#services.rejectAll(reason);
    this.#pings.rejectAll(reason);
    this.#send.dropHeld();
    this.#ready.reject(reason);
    this.#compression.close();

    const socket = this.#socket;
    socket.off('data', this.#receive.onData);
    socketFeedOf(socket)?.detach();
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onSocketClose);
    socket.off('drain', this.#send.onDrain);
    // The error listener stays: a late socket error must not become an uncaught exception.
    closeSocket(socket, disconnect !== null, () => {
      this.#closed.resolve(err);
      this.emit('close', err);
    });
  }
}
