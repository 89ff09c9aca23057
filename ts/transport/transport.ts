/**
 * The SSH transport layer (RFC 4253), client and server roles: version
 * exchange, binary packet protocol, key exchange and re-exchange, strict kex,
 * extension negotiation (RFC 8308), compression, keepalive, service requests.
 *
 * Data path: socket chunks -> ReceiveBuffer -> PacketOpener (in place,
 * batched) -> payload copies -> dispatch (transport messages handled here,
 * message numbers >= 50 handed to the upper layers). Outgoing payloads are
 * queued and sealed as one batch per tick (PacketWriter), written with one
 * socket write.
 *
 * Key exchange state: from the moment we send KEXINIT until we send NEWKEYS
 * only kex messages go out; everything else sent meanwhile is held and
 * released, in order, right after our NEWKEYS. While a kex is in progress
 * packets are opened one at a time so nothing after the peer's NEWKEYS is
 * opened with the old keys.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { canServeSignature, cipherInfo, createOpener, createSealer, hash as digest, macInfo, randomBytes } from '../crypto/index.js';
import type { PacketOpener } from '../crypto/types.js';
import { BadHostKeyException, DisconnectError, IntegrityError, NegotiationError, ProtocolError, SSHException, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../wire/index.js';
import {
  EXT_INFO_C,
  EXT_INFO_S,
  STRICT_KEX_C,
  STRICT_KEX_S,
  buildAlgorithmLists,
  negotiate,
  type AlgorithmLists,
  type KexInitLists,
  type NegotiatedAlgorithms,
} from './algorithms.js';
import { PayloadCompressor, PayloadDecompressor } from './compression.js';
import { createDebugSink, hexdump, type DebugSink } from './debug.js';
import { ReceiveBuffer, openPackets, type OpenedPacket } from './inbound.js';
import { deriveSessionKeys, type SessionKeys } from './kex/derive.js';
import { EphemeralKeyExchange } from './kex/ephemeral.js';
import type { KexContext, KexResult, KeyExchange } from './kex/exchange.js';
import { GEX_MAX_BITS, GEX_MIN_BITS, GroupExchange, preferredGexBits } from './kex/gex.js';
import type { DHGroup } from './kex/moduli.js';
import { keyTypeOfBlob, selectHostKey, signerSupports } from './kex/hostkey.js';
import { KEX_METHODS } from './kex/methods.js';
import { BUILTIN_GEX_GROUPS, loadModuliFile } from './kex/moduli.js';
import { decodeKexInit, encodeKexInit, type KexInit } from './kexinit.js';
import { resolveOptions, type ResolvedOptions, type TransportOptions } from './options.js';
import { MAX_PAYLOAD, PacketWriter } from './outbound.js';
import { VersionReader } from './version.js';

/** Largest packet_length we accept: 256 KiB of payload plus room for padding and compression overhead. */
export const MAX_PACKET_LENGTH = 256 * 1024 + 4096;
/** Packets opened per call outside key exchange. */
const OPEN_BATCH = 32;
/** Flush immediately once this much payload is queued, rather than at the end of the tick. */
const FLUSH_BYTES = 256 * 1024;
/** Held (during key exchange) payload bytes beyond which `needsDrain` turns true. */
const HOLD_LIMIT = 1024 * 1024;
/** While message dispatch is paused (async kex step), stop reading past this much buffered input. */
const PAUSED_READ_LIMIT = 2 * 1024 * 1024;
/** RFC 4344 section 3.1: rekey before 2^31 packets so sequence numbers never repeat under one key. */
const REKEY_PACKETS = 2 ** 31;

/** Receives upper-layer messages: `type` is payload[0]; `payload` is a private copy the handler may keep. */
export type MessageHandler = (type: number, payload: Buffer) => void;

const REASON_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DISCONNECT_REASON).map(([k, v]) => [v, k]));

interface KexRound {
  initial: boolean;
  ourKexInit: Uint8Array;
  ourLists: KexInitLists;
  peerKexInit: KexInit | null;
  negotiated: NegotiatedAlgorithms | null;
  exchange: KeyExchange | null;
  /** The peer guessed wrong with first_kex_packet_follows: drop its next kex packet. */
  ignoreGuess: boolean;
  /** An async step (signing, host key policy) is running. */
  busy: boolean;
  keys: SessionKeys | null;
  sentNewKeys: boolean;
  receivedNewKeys: boolean;
  timer: NodeJS.Timeout | null;
  waiters: Deferred<void>[];
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Marks the promise handled: callers that await it still see the rejection,
  // but a promise nobody awaits never becomes an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function asSSHError(err: unknown): SSHException {
  if (err instanceof SSHException) return err;
  return new SSHException(`internal error: ${(err as Error)?.message ?? String(err)}`, { code: 'ERR_SSH_INTERNAL', cause: err });
}

function disconnectReasonFor(err: SSHException): number {
  if (err instanceof DisconnectError) return err.reason;
  if (err instanceof IntegrityError) return DISCONNECT_REASON.MAC_ERROR;
  if (err instanceof NegotiationError) return DISCONNECT_REASON.KEY_EXCHANGE_FAILED;
  if (err instanceof BadHostKeyException) return DISCONNECT_REASON.HOST_KEY_NOT_VERIFIABLE;
  if (err.code === 'ERR_SSH_COMPRESSION') return DISCONNECT_REASON.COMPRESSION_ERROR;
  if (err.code === 'ERR_SSH_HOST_KEY_SIGNATURE' || err.code === 'ERR_SSH_KEX_VALUE') return DISCONNECT_REASON.KEY_EXCHANGE_FAILED;
  if (err instanceof TimeoutError) return DISCONNECT_REASON.BY_APPLICATION;
  if (err instanceof ProtocolError) return DISCONNECT_REASON.PROTOCOL_ERROR;
  return DISCONNECT_REASON.BY_APPLICATION;
}

function fingerprint(blob: Uint8Array): string {
  return 'SHA256:' + Buffer.from(digest('sha256', blob)).toString('base64').replace(/=+$/, '');
}

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false });

/** Makes text from the peer safe to log: printable, bounded. */
function sanitize(s: string, max = 512): string {
  // eslint-disable-next-line no-control-regex
  return s.slice(0, max).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

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
  /** H of the first key exchange. */
  sessionId: Uint8Array | null = null;
  /** What the last completed key exchange chose. */
  negotiated: NegotiatedAlgorithms | null = null;
  /** Client: the server's EXT_INFO `server-sig-algs`, when it sent one. */
  serverSigAlgs: string[] | null = null;
  /** Everything the peer's EXT_INFO said. */
  readonly peerExtensions = new Map<string, Uint8Array>();
  /** Bytes written to and read from the socket. */
  bytesSent = 0;
  bytesReceived = 0;

  readonly #socket: Duplex;
  readonly #opts: ResolvedOptions;
  readonly #debug: DebugSink;
  readonly #lists: AlgorithmLists;
  readonly #gexGroups: readonly DHGroup[];

  readonly #ready = deferred<void>();
  readonly #closed = deferred<Error | null>();
  #closing = false;
  #error: Error | null = null;

  // outgoing
  readonly #writer: PacketWriter;
  #flushScheduled = false;
  #holdOutgoing = true;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** socket.write() returned false and 'drain' has not come yet. */
  #socketFull = false;
  /** Held traffic during a key exchange passed HOLD_LIMIT. */
  #holdFull = false;

  // incoming
  readonly #rx = new ReceiveBuffer();
  #opener: PacketOpener;
  #recvSeq = 0;
  readonly #spans = new Uint32Array(OPEN_BATCH * 2);
  readonly #inbox: OpenedPacket[] = [];
  #inboxPos = 0;
  #pumping = false;
  #pauseCount = 0;
  #socketPaused = false;
  #rxBytesSinceKex = 0;
  #rxPacketsSinceKex = 0;
  #versionReader: VersionReader | null;
  #bannerTimer: NodeJS.Timeout | null = null;

  // key exchange
  #kex: KexRound | null = null;
  #initialKexDone = false;
  #strictKex = false;
  #sendExtInfo = false;
  #rekeyTimer: NodeJS.Timeout | null = null;
  #rekeyLimitOut = Number.MAX_SAFE_INTEGER;
  #rekeyLimitIn = Number.MAX_SAFE_INTEGER;
  /** A time-based rekey fell due before authentication; run it once authenticated. */
  #rekeyPending = false;

  // compression
  #authDone = false;
  #compressOutAlg = 'none';
  #compressInAlg = 'none';
  #compressor: PayloadCompressor | null = null;
  #decompressor: PayloadDecompressor | null = null;
  #decompressActive = false;

  // upper layers and requests
  #handlers: MessageHandler[] = [];
  #serviceWaiters: { name: string; d: Deferred<void>; timer: NodeJS.Timeout }[] = [];
  #pingWaiters: { data: string; d: Deferred<void>; timer: NodeJS.Timeout }[] = [];
  #pingCounter = 0;
  /** Who asked each outstanding want-reply GLOBAL_REQUEST, in wire order: replies come back in the same order. */
  #globalReplyOwners: ('upper' | 'keepalive')[] = [];

  // keepalive
  #keepaliveTimer: NodeJS.Timeout | null = null;
  #receivedSinceTick = false;
  #missedTicks = 0;
  #probesOutstanding = 0;

  /**
   * Starts the transport on a connected socket: sends our identification
   * and KEXINIT at once. Throws SSHException (ERR_SSH_BAD_OPTION) or
   * NegotiationError synchronously for unusable options.
   */
  constructor(socket: Duplex, options: TransportOptions) {
    super();
    this.#opts = resolveOptions(options);
    this.role = this.#opts.role;
    this.ownVersion = this.#opts.version;
    this.#socket = socket;
    this.#debug = createDebugSink(this.role, this.#opts.debug);
    const hostKeys = this.#opts.hostKeys ?? [];
    this.#lists = buildAlgorithmLists(
      this.#opts.algorithms,
      this.#opts.disabledAlgorithms,
      this.role === 'server' ? (alg) => hostKeys.some((k) => signerSupports(k, alg)) : undefined,
    );
    this.#gexGroups = this.role === 'server' && this.#opts.moduliFile ? loadModuliFile(this.#opts.moduliFile) : BUILTIN_GEX_GROUPS;
    const none = { cipher: 'none', mac: 'none', encKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
    this.#writer = new PacketWriter(createSealer(none));
    this.#opener = createOpener(none);
    this.#writer.onLaidOut = (type) => this.#onLaidOut(type);
    if (this.#opts.hexdump && this.#debug.enabled) this.#writer.dump = (seq, p) => this.#debug(hexdump('send', seq, p));
    this.#versionReader = new VersionReader(this.role === 'client');
    this.ready = this.#ready.promise;
    this.closed = this.#closed.promise;

    const s = socket as Duplex & { setNoDelay?: (v: boolean) => void };
    if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onSocketClose);
    socket.on('error', this.#onSocketError);
    socket.on('drain', this.#onDrain);

    this.#debug(`local version: ${this.ownVersion}`);
    this.#writeRaw(Buffer.from(`${this.ownVersion}\r\n`, 'latin1'));
    if (this.#opts.bannerTimeout > 0) {
      this.#bannerTimer = setTimeout(() => this.#fail(new TimeoutError(`no SSH identification from the peer within ${this.#opts.bannerTimeout} ms`)), this.#opts.bannerTimeout);
      this.#bannerTimer.unref?.();
    }
    this.#startKex();
  }

  // ───────────────────────────── public API ─────────────────────────────

  /** True when the socket's write buffer is full: pause producing until 'drain'. */
  get needsDrain(): boolean {
    return this.#socketFull || this.#holdFull;
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
    if (payload[0] === MSG.GLOBAL_REQUEST && this.#wantsReply(payload)) this.#globalReplyOwners.push('upper');
    this.#queue(payload);
  }

  /**
   * Registers a handler for every message number >= 50 (except the replies
   * to our own keepalives and PING/PONG, which the transport consumes), and
   * also UNIMPLEMENTED (3), SERVICE_ACCEPT (6) and EXT_INFO (7). Returns a
   * function that removes it. With no handler registered, GLOBAL_REQUESTs
   * wanting a reply get REQUEST_FAILURE and other messages UNIMPLEMENTED.
   */
  onMessage(handler: MessageHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  /** Client: asks for a service (normally `ssh-userauth`) and resolves on SERVICE_ACCEPT. */
  requestService(name: string): Promise<void> {
    const d = deferred<void>();
    if (this.role !== 'client') {
      d.reject(new SSHException('only a client requests services', { code: 'ERR_SSH_BAD_ARGUMENT' }));
      return d.promise;
    }
    if (this.#closing) {
      d.reject(this.#error ?? new DisconnectError('transport is closed', DISCONNECT_REASON.BY_APPLICATION));
      return d.promise;
    }
    const timer = setTimeout(() => {
      this.#serviceWaiters = this.#serviceWaiters.filter((w) => w.d !== d);
      d.reject(new TimeoutError(`no SERVICE_ACCEPT for ${name} within ${this.#opts.requestTimeout} ms`));
    }, this.#opts.requestTimeout);
    timer.unref?.();
    this.#serviceWaiters.push({ name, d, timer });
    this.#queue(new SSHWriter(64).byte(MSG.SERVICE_REQUEST).string(name).toBytes());
    return d.promise;
  }

  /** Sends DISCONNECT and closes; `closed` resolves with null. */
  disconnect(reason: number = DISCONNECT_REASON.BY_APPLICATION, description = ''): void {
    if (this.#closing) return;
    this.#debug(`disconnecting: reason ${reason} (${REASON_NAMES[reason] ?? 'unknown'}) ${sanitize(description)}`);
    this.#shutdown(null, { reason, description });
  }

  /** Starts a key re-exchange now; resolves when it completes. */
  renegotiateKeys(): Promise<void> {
    const d = deferred<void>();
    if (this.#closing) {
      d.reject(this.#error ?? new DisconnectError('transport is closed', DISCONNECT_REASON.BY_APPLICATION));
      return d.promise;
    }
    if (!this.#initialKexDone) {
      // The first exchange is already running; that is the renegotiation.
      this.#kex?.waiters.push(d);
      return d.promise;
    }
    this.#startKex();
    this.#kex!.waiters.push(d);
    return d.promise;
  }

  /** Sends SSH_MSG_IGNORE with `data` (random bytes by default). */
  sendIgnore(data?: Uint8Array): void {
    const body = data ?? randomBytes(16);
    this.#queue(new SSHWriter(body.length + 8).byte(MSG.IGNORE).string(body).toBytes());
  }

  /** Sends SSH_MSG_DEBUG. */
  sendDebug(message: string, alwaysDisplay = false): void {
    this.#queue(new SSHWriter(message.length + 16).byte(MSG.DEBUG).boolean(alwaysDisplay).string(message).string('').toBytes());
  }

  /**
   * Round trip through the peer with ping@openssh.com (only when the peer
   * announced it in EXT_INFO). Resolves when the matching PONG arrives.
   */
  ping(): Promise<void> {
    const d = deferred<void>();
    if (this.#closing) {
      d.reject(this.#error ?? new DisconnectError('transport is closed', DISCONNECT_REASON.BY_APPLICATION));
      return d.promise;
    }
    if (!this.peerSupportsPing) {
      d.reject(new SSHException('the peer did not announce ping@openssh.com', { code: 'ERR_SSH_UNSUPPORTED' }));
      return d.promise;
    }
    const data = `sshwire-ping-${++this.#pingCounter}`;
    const timer = setTimeout(() => {
      this.#pingWaiters = this.#pingWaiters.filter((w) => w.d !== d);
      d.reject(new TimeoutError(`no PONG within ${this.#opts.requestTimeout} ms`));
    }, this.#opts.requestTimeout);
    timer.unref?.();
    this.#pingWaiters.push({ data, d, timer });
    this.#queue(new SSHWriter(64).byte(MSG.PING).string(data).toBytes());
    return d.promise;
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

  /** Authentication is done: delayed compression starts, deferred rekeys may run. */
  #markAuthenticated(): void {
    if (this.#authDone) return;
    this.#authDone = true;
    this.#applyCompression();
    if (this.#rekeyPending) {
      this.#rekeyPending = false;
      // Possibly called from inside the writer's layout loop: start on the next tick.
      process.nextTick(() => {
        if (!this.#closing && !this.#kex && this.#initialKexDone) this.#startKex();
      });
    }
  }

  // ───────────────────────────── outgoing ─────────────────────────────

  #wantsReply(payload: Uint8Array): boolean {
    try {
      const r = new SSHReader(payload, 'GLOBAL_REQUEST');
      r.byte();
      r.string(1024);
      return r.boolean();
    } catch {
      return false;
    }
  }

  /** Queues an ordinary (non-kex) message, holding it during key exchange. */
  #queue(payload: Uint8Array): void {
    if (this.#closing) return;
    if (this.#holdOutgoing) {
      this.#held.push(payload);
      this.#heldBytes += payload.length;
      if (this.#heldBytes > HOLD_LIMIT) this.#holdFull = true;
      return;
    }
    this.#writer.enqueue(payload);
    this.#afterEnqueue();
  }

  /** Queues a transport message that may go out during key exchange. */
  #sendKex(payload: Uint8Array): void {
    if (this.#closing) return;
    this.#writer.enqueue(payload);
    this.#afterEnqueue();
  }

  #afterEnqueue(): void {
    if (this.#writer.queuedBytes >= FLUSH_BYTES) {
      this.#flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flushTick);
    }
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false;
    if (!this.#closing) this.#flush();
  };

  #flush(): void {
    let buf: Uint8Array | null;
    try {
      buf = this.#writer.build();
    } catch (err) {
      this.#fail(asSSHError(err));
      return;
    }
    if (buf) this.#writeRaw(buf);
    if (
      this.#initialKexDone &&
      this.#authDone &&
      !this.#kex &&
      !this.#closing &&
      (this.#writer.bytesSinceKex >= this.#rekeyLimitOut || this.#writer.packetsSinceKex >= REKEY_PACKETS)
    ) {
      this.#debug(`rekey: ${this.#writer.bytesSinceKex} bytes sent under the current keys`);
      this.#startKex();
    }
  }

  #writeRaw(buf: Uint8Array): void {
    this.bytesSent += buf.length;
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    if (!this.#socket.write(buf)) this.#socketFull = true;
  }

  readonly #onDrain = (): void => {
    if (!this.#socketFull) return;
    this.#socketFull = false;
    if (!this.#holdFull && !this.#closing) this.emit('drain');
  };

  /**
   * Moves held traffic to the writer after our NEWKEYS, flushing in
   * FLUSH_BYTES slices so a volume rekey can start again mid-way (the rest
   * then stays held for the next exchange).
   */
  #releaseHeld(): void {
    this.#holdOutgoing = false;
    const held = this.#held;
    this.#held = [];
    let i = 0;
    while (i < held.length && !this.#holdOutgoing && !this.#closing) {
      const m = held[i++]!;
      this.#heldBytes -= m.length;
      this.#writer.enqueue(m);
      if (this.#writer.queuedBytes >= FLUSH_BYTES) this.#flush();
    }
    // Anything not released waits, ahead of whatever was held meanwhile.
    if (i < held.length) this.#held = held.slice(i).concat(this.#held);
    if (this.#held.length === 0) this.#heldBytes = 0;
    this.#afterEnqueue();
    if (this.#holdFull && this.#heldBytes <= HOLD_LIMIT) {
      this.#holdFull = false;
      if (!this.#socketFull && !this.#closing) process.nextTick(() => !this.needsDrain && !this.#closing && this.emit('drain'));
    }
  }

  /** Hook from the writer: runs as each payload is laid out, in wire order. */
  #onLaidOut(type: number): void {
    // Server: compression delayed until after authentication starts with
    // the packet after USERAUTH_SUCCESS, in both directions.
    if (type === MSG.USERAUTH_SUCCESS && this.role === 'server') this.#markAuthenticated();
  }

  // ───────────────────────────── incoming ─────────────────────────────

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closing) return;
    this.bytesReceived += chunk.length;
    this.#rx.append(chunk);
    if (this.#pauseCount > 0 && this.#rx.available > PAUSED_READ_LIMIT && !this.#socketPaused) {
      this.#socketPaused = true;
      this.#socket.pause();
    }
    this.#pump();
  };

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

  /** Pauses message dispatch (async kex step); packets stay buffered. */
  #pause(): void {
    this.#pauseCount++;
  }

  #resume(): void {
    this.#pauseCount--;
    if (this.#pauseCount === 0) {
      if (this.#socketPaused) {
        this.#socketPaused = false;
        this.#socket.resume();
      }
      // Continue outside the current call stack (we may be in a promise callback).
      setImmediate(() => this.#pump());
    }
  }

  /** Processes buffered input: version line, then packets, while not paused. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closing && this.#pauseCount === 0) {
        if (this.#inboxPos < this.#inbox.length) {
          const p = this.#inbox[this.#inboxPos++]!;
          this.#dispatch(p);
          continue;
        }
        this.#inbox.length = 0;
        this.#inboxPos = 0;
        if (this.#versionReader) {
          if (!this.#readVersion()) break;
          continue;
        }
        // During key exchange open one packet at a time: the next one may
        // follow NEWKEYS and need the new keys.
        const max = this.#kex ? 1 : OPEN_BATCH;
        const inbox = this.#inbox;
        const n = openPackets(this.#rx, this.#opener, this.#recvSeq, MAX_PACKET_LENGTH, this.#spans, max, inbox);
        if (n === 0) break;
        this.#recvSeq = (this.#recvSeq + n) >>> 0;
        for (let i = 0; i < n; i++) this.#rxBytesSinceKex += inbox[i]!.wireLength;
        this.#rxPacketsSinceKex += n;
        this.#receivedSinceTick = true;
      }
    } catch (err) {
      this.#fail(asSSHError(err));
    } finally {
      this.#pumping = false;
    }
    if (
      !this.#closing &&
      this.#initialKexDone &&
      this.#authDone &&
      !this.#kex &&
      (this.#rxBytesSinceKex >= this.#rekeyLimitIn || this.#rxPacketsSinceKex >= REKEY_PACKETS)
    ) {
      this.#debug(`rekey: ${this.#rxBytesSinceKex} bytes received under the current keys`);
      this.#startKex();
    }
  }

  #readVersion(): boolean {
    const reader = this.#versionReader!;
    const r = reader.feed(this.#rx.buf.subarray(0, this.#rx.end), this.#rx.end);
    if (!r.done) return false;
    this.#versionReader = null;
    this.#rx.consume(r.consumed);
    if (this.#bannerTimer) clearTimeout(this.#bannerTimer);
    this.#bannerTimer = null;
    this.peerVersion = r.version;
    this.peerBanner = r.banner;
    for (const line of r.banner) this.#debug(`banner: ${sanitize(line)}`);
    this.#debug(`remote version: ${sanitize(r.version)}`);
    this.emit('version', r.version);
    return true;
  }

  #dispatch(p: OpenedPacket): void {
    let payload = p.payload;
    if (this.#decompressActive) {
      payload = this.#decompressor!.decompress(payload);
    }
    if (payload.length === 0) throw new ProtocolError('empty packet payload');
    if (this.#opts.hexdump && this.#debug.enabled) this.#debug(hexdump('recv', p.seq, payload));
    const type = payload[0]!;
    const kex = this.#kex;

    if (type === MSG.DISCONNECT) return this.#onDisconnect(payload);

    if (kex && kex.peerKexInit) {
      // The peer is in key exchange: only kex messages until its NEWKEYS.
      const strictNow = !this.#initialKexDone && this.#strictKex;
      const isKex = type === MSG.NEWKEYS || (type >= 30 && type <= 49) || type === MSG.KEXINIT;
      const isGeneric = type === MSG.IGNORE || type === MSG.DEBUG || type === MSG.UNIMPLEMENTED;
      if (!isKex && (strictNow || !isGeneric)) {
        throw new ProtocolError(`unexpected message ${type} during key exchange${strictNow ? ' (strict kex)' : ''}`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
    } else if (!this.#initialKexDone) {
      // Before the peer's first KEXINIT only KEXINIT and generic messages
      // (whose presence strict kex punishes once it is known, by the seq check).
      if (type !== MSG.KEXINIT && type !== MSG.IGNORE && type !== MSG.DEBUG && type !== MSG.UNIMPLEMENTED) {
        throw new ProtocolError(`unexpected message ${type} before key exchange`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
    }

    switch (type) {
      case MSG.IGNORE:
        return;
      case MSG.DEBUG:
        return this.#onDebug(payload);
      case MSG.UNIMPLEMENTED: {
        const r = new SSHReader(payload, 'UNIMPLEMENTED');
        r.byte();
        const seq = r.uint32();
        this.#debug(`peer reports packet ${seq} unimplemented`);
        this.emit('unimplemented', seq);
        return this.#deliver(type, payload, false);
      }
      case MSG.KEXINIT:
        return this.#onKexInit(payload, p.seq);
      case MSG.NEWKEYS:
        return this.#onNewKeys(payload);
      case MSG.SERVICE_REQUEST:
        return this.#onServiceRequest(payload);
      case MSG.SERVICE_ACCEPT:
        return this.#onServiceAccept(payload);
      case MSG.EXT_INFO:
        return this.#onExtInfo(payload);
      case MSG.PING:
        return this.#onPing(payload);
      case MSG.PONG:
        return this.#onPong(payload);
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE:
        if (this.#globalReplyOwners.length === 0) throw new ProtocolError(`unsolicited global request reply (${type})`);
        if (this.#globalReplyOwners.shift() === 'keepalive') {
          this.#probesOutstanding = Math.max(0, this.#probesOutstanding - 1);
          return;
        }
        return this.#deliver(type, payload, true);
    }
    if (type >= 30 && type <= 49) {
      if (kex) return this.#onKexMessage(type, payload);
      return this.#sendUnimplemented(p.seq);
    }
    // Client: delayed compression starts with the next packet either way.
    if (type === MSG.USERAUTH_SUCCESS && this.role === 'client') this.#markAuthenticated();
    if (type >= 50) return this.#deliver(type, payload, true, p.seq);
    return this.#sendUnimplemented(p.seq);
  }

  /** Hands a message to the upper layers; with none registered, answers it as RFC 4254 asks. */
  #deliver(type: number, payload: Buffer, answerIfUnhandled: boolean, seq = 0): void {
    if (this.#handlers.length === 0) {
      if (!answerIfUnhandled) return;
      if (type === MSG.GLOBAL_REQUEST) {
        if (this.#wantsReply(payload)) this.#queue(Uint8Array.of(MSG.REQUEST_FAILURE));
        return;
      }
      if (type === MSG.REQUEST_SUCCESS || type === MSG.REQUEST_FAILURE) return;
      return this.#sendUnimplemented(seq);
    }
    for (const h of [...this.#handlers]) {
      try {
        h(type, payload);
      } catch (err) {
        throw asSSHError(err);
      }
      if (this.#closing) return;
    }
  }

  #sendUnimplemented(seq: number): void {
    this.#queue(new SSHWriter(8).byte(MSG.UNIMPLEMENTED).uint32(seq).toBytes());
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

  #onDebug(payload: Buffer): void {
    const r = new SSHReader(payload, 'DEBUG');
    r.byte();
    r.boolean();
    const msg = lenientUtf8.decode(r.string(4096));
    this.#debug(`peer debug message: ${sanitize(msg)}`);
  }

  #onServiceRequest(payload: Buffer): void {
    if (this.role !== 'server') throw new ProtocolError('SERVICE_REQUEST sent to a client');
    const r = new SSHReader(payload, 'SERVICE_REQUEST');
    r.byte();
    const name = r.ascii(256);
    r.end();
    if (!this.#opts.services.includes(name)) {
      this.#fail(new DisconnectError(`service ${sanitize(name, 64)} not available`, DISCONNECT_REASON.SERVICE_NOT_AVAILABLE));
      return;
    }
    this.#debug(`service ${name} accepted`);
    this.#queue(new SSHWriter(64).byte(MSG.SERVICE_ACCEPT).string(name).toBytes());
    this.emit('service', name);
  }

  #onServiceAccept(payload: Buffer): void {
    if (this.role !== 'client') throw new ProtocolError('SERVICE_ACCEPT sent to a server');
    const r = new SSHReader(payload, 'SERVICE_ACCEPT');
    r.byte();
    const name = r.ascii(256);
    const w = this.#serviceWaiters.shift();
    if (!w) throw new ProtocolError('unsolicited SERVICE_ACCEPT');
    clearTimeout(w.timer);
    if (w.name !== name) {
      throw new ProtocolError(`SERVICE_ACCEPT for ${sanitize(name, 64)}, but ${w.name} was requested`);
    }
    this.#debug(`service ${name} accepted by server`);
    w.d.resolve();
    this.#deliver(MSG.SERVICE_ACCEPT, payload, false);
  }

  #onExtInfo(payload: Buffer): void {
    const r = new SSHReader(payload, 'EXT_INFO');
    r.byte();
    const count = r.uint32();
    if (count > 1024) throw new ProtocolError(`EXT_INFO with ${count} extensions`);
    for (let i = 0; i < count; i++) {
      const name = r.ascii(256);
      const value = r.string(64 * 1024);
      this.peerExtensions.set(name, Uint8Array.from(value));
      if (name === 'server-sig-algs' && this.role === 'client') {
        this.serverSigAlgs = Buffer.from(value).toString('latin1').split(',').filter((s) => s.length > 0);
        this.#debug(`server-sig-algs: ${sanitize(this.serverSigAlgs.join(','))}`);
      } else {
        this.#debug(`peer extension ${sanitize(name, 64)}`);
      }
    }
    this.emit('extInfo', this.peerExtensions);
    this.#deliver(MSG.EXT_INFO, payload, false);
  }

  #onPing(payload: Buffer): void {
    const r = new SSHReader(payload, 'PING');
    r.byte();
    const data = r.string();
    this.#queue(new SSHWriter(data.length + 8).byte(MSG.PONG).string(data).toBytes());
  }

  #onPong(payload: Buffer): void {
    const r = new SSHReader(payload, 'PONG');
    r.byte();
    const data = Buffer.from(r.string()).toString('latin1');
    const i = this.#pingWaiters.findIndex((w) => w.data === data);
    if (i < 0) return; // an unsolicited PONG is harmless
    const [w] = this.#pingWaiters.splice(i, 1);
    clearTimeout(w!.timer);
    w!.d.resolve();
  }

  // ───────────────────────────── key exchange ─────────────────────────────

  #ourLists(initial: boolean): KexInitLists {
    const l = this.#lists;
    const pseudo = !initial ? [] : this.role === 'client' ? [EXT_INFO_C, STRICT_KEX_C] : [EXT_INFO_S, STRICT_KEX_S];
    return {
      kex: [...l.kex, ...pseudo],
      serverHostKey: l.serverHostKey,
      cipherCS: l.cipher,
      cipherSC: l.cipher,
      macCS: l.mac,
      macSC: l.mac,
      compressionCS: l.compression,
      compressionSC: l.compression,
      languageCS: [],
      languageSC: [],
    };
  }

  /** Sends our KEXINIT and holds ordinary traffic until our NEWKEYS. */
  #startKex(): void {
    if (this.#kex || this.#closing) return;
    const initial = !this.#initialKexDone;
    const lists = this.#ourLists(initial);
    const payload = encodeKexInit(randomBytes(16), lists);
    const round: KexRound = {
      initial,
      ourKexInit: payload,
      ourLists: lists,
      peerKexInit: null,
      negotiated: null,
      exchange: null,
      ignoreGuess: false,
      busy: false,
      keys: null,
      sentNewKeys: false,
      receivedNewKeys: false,
      timer: null,
      waiters: [],
    };
    this.#kex = round;
    this.#holdOutgoing = true;
    if (this.#opts.kexTimeout > 0) {
      round.timer = setTimeout(() => {
        if (this.#kex === round) this.#fail(new TimeoutError(`key exchange did not complete within ${this.#opts.kexTimeout} ms`));
      }, this.#opts.kexTimeout);
      round.timer.unref?.();
    }
    if (initial) {
      this.#debug(`local kex: ${lists.kex.join(',')}`);
      this.#debug(`local host key algorithms: ${lists.serverHostKey.join(',')}`);
      this.#debug(`local ciphers: ${lists.cipherCS.join(',')}`);
      this.#debug(`local MACs: ${lists.macCS.join(',')}`);
      this.#debug(`local compression: ${lists.compressionCS.join(',')}`);
    } else {
      this.#debug('starting key re-exchange');
    }
    this.#sendKex(payload);
  }

  #onKexInit(payload: Buffer, seq: number): void {
    if (this.#kex?.peerKexInit) throw new ProtocolError('KEXINIT received twice in one key exchange', { code: 'ERR_SSH_KEX_SEQUENCE' });
    const peer = decodeKexInit(payload);
    if (!this.#kex) this.#startKex(); // the peer started a re-exchange
    const k = this.#kex!;
    k.peerKexInit = peer;
    if (k.initial) {
      this.#debug(`peer kex: ${sanitize(peer.kex.join(','), 2048)}`);
      this.#debug(`peer host key algorithms: ${sanitize(peer.serverHostKey.join(','), 2048)}`);
      this.#debug(`peer ciphers: ${sanitize(peer.cipherCS.join(','), 1024)} / ${sanitize(peer.cipherSC.join(','), 1024)}`);
      this.#debug(`peer MACs: ${sanitize(peer.macCS.join(','), 1024)} / ${sanitize(peer.macSC.join(','), 1024)}`);
      this.#debug(`peer compression: ${sanitize(peer.compressionCS.join(','))} / ${sanitize(peer.compressionSC.join(','))}`);
    }
    const client = this.role === 'client' ? k.ourLists : peer;
    const server = this.role === 'client' ? peer : k.ourLists;
    const neg = negotiate(client, server, (c) => cipherInfo(c)?.aead === true);
    if (k.initial) {
      this.#strictKex = neg.strictKex;
      if (this.#strictKex && seq !== 0) {
        throw new ProtocolError(`strict kex: KEXINIT was not the first packet (sequence number ${seq})`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
      this.#sendExtInfo = this.role === 'server' && peer.kex.includes(EXT_INFO_C);
    }
    neg.strictKex = this.#strictKex;
    k.negotiated = neg;
    this.#debug(
      `negotiated: kex ${neg.kex}, host key ${neg.hostKey}, cipher ${neg.cipherCS} / ${neg.cipherSC}, MAC ${neg.macCS} / ${neg.macSC}, compression ${neg.compressionCS} / ${neg.compressionSC}${k.initial ? `, strict kex ${neg.strictKex ? 'on' : 'off'}` : ''}`,
    );
    if (peer.firstKexPacketFollows) {
      // RFC 4253 7.1: the guess was right only if the peer's first kex and
      // host key algorithms are the ones negotiated.
      k.ignoreGuess = peer.kex[0] !== neg.kex || peer.serverHostKey[0] !== neg.hostKey;
      if (k.ignoreGuess) this.#debug('peer guessed the kex wrong; its next kex packet is ignored');
    }
    const spec = KEX_METHODS[neg.kex]!;
    const ctx: KexContext = {
      role: this.role,
      name: neg.kex,
      spec,
      hostKeyAlgorithm: neg.hostKey,
      clientVersion: this.role === 'client' ? this.ownVersion : this.peerVersion!,
      serverVersion: this.role === 'client' ? this.peerVersion! : this.ownVersion,
      clientKexInit: this.role === 'client' ? k.ourKexInit : peer.payload,
      serverKexInit: this.role === 'client' ? peer.payload : k.ourKexInit,
      send: (m) => this.#sendKex(m),
    };
    if (this.role === 'server') {
      ctx.hostKey = selectHostKey(this.#opts.hostKeys!, neg.hostKey);
      ctx.gexGroups = this.#gexGroups;
    } else if (spec.kind === 'gex') {
      ctx.gexRequest = this.#opts.gexRequest ?? this.#defaultGexRequest(neg);
    }
    k.exchange = spec.kind === 'gex' ? new GroupExchange(ctx) : new EphemeralKeyExchange(ctx);
    k.exchange.start();
  }

  #defaultGexRequest(neg: NegotiatedAlgorithms): { min: number; n: number; max: number } {
    let need = 0;
    for (const [c, m] of [
      [neg.cipherCS, neg.macCS],
      [neg.cipherSC, neg.macSC],
    ] as const) {
      const ci = cipherInfo(c);
      const mi = macInfo(m);
      need = Math.max(need, ci?.keyLength ?? 0, ci?.ivLength ?? 0, ci?.blockSize ?? 0, mi?.keyLength ?? 0);
    }
    const n = Math.min(GEX_MAX_BITS, Math.max(GEX_MIN_BITS, preferredGexBits(need)));
    return { min: GEX_MIN_BITS, n, max: GEX_MAX_BITS };
  }

  #onKexMessage(type: number, payload: Buffer): void {
    const k = this.#kex!;
    if (!k.exchange) throw new ProtocolError(`kex message ${type} before KEXINIT`, { code: 'ERR_SSH_KEX_SEQUENCE' });
    if (k.ignoreGuess) {
      k.ignoreGuess = false;
      this.#debug(`ignoring the peer's wrongly guessed kex packet (${type})`);
      return;
    }
    if (k.keys || k.busy) throw new ProtocolError(`unexpected kex message ${type} after the exchange finished`, { code: 'ERR_SSH_KEX_SEQUENCE' });
    const result = k.exchange.handle(type, payload);
    if (result === null) return;
    if (result instanceof Promise) {
      this.#runAsyncKexStep(k, result.then((r) => this.#acceptResult(k, r)));
    } else {
      const pending = this.#acceptResult(k, result);
      if (pending) this.#runAsyncKexStep(k, pending);
    }
  }

  /** Pauses dispatch while an async kex step runs; a failure closes the transport. */
  #runAsyncKexStep(k: KexRound, step: Promise<unknown>): void {
    k.busy = true;
    this.#pause();
    step.then(
      () => {
        k.busy = false;
        this.#resume();
      },
      (err) => {
        k.busy = false;
        this.#fail(asSSHError(err));
        this.#resume();
      },
    );
  }

  /**
   * Client: host key policy, then keys. Returns a promise only when the
   * policy answers asynchronously.
   */
  #acceptResult(k: KexRound, r: KexResult): Promise<void> | null {
    if (this.#closing || this.#kex !== k) return null;
    if (this.role === 'client') {
      const keyType = keyTypeOfBlob(r.hostKeyBlob);
      const verdict = this.#opts.verifyHostKey!(keyType, r.hostKeyBlob);
      const decide = (ok: boolean): void => {
        if (this.#closing || this.#kex !== k) return;
        if (ok !== true) {
          throw new BadHostKeyException(`host key ${keyType} ${fingerprint(r.hostKeyBlob)} was rejected`, '', fingerprint(r.hostKeyBlob), '');
        }
        this.#debug(`server host key ${keyType} ${fingerprint(r.hostKeyBlob)} accepted`);
        this.#finishExchange(k, r);
      };
      if (verdict instanceof Promise) return verdict.then(decide);
      decide(verdict);
      return null;
    }
    this.#finishExchange(k, r);
    return null;
  }

  /** Derives keys, sends NEWKEYS, switches outgoing keys, releases held traffic. */
  #finishExchange(k: KexRound, r: KexResult): void {
    const neg = k.negotiated!;
    if (!this.sessionId) this.sessionId = Uint8Array.from(r.H);
    const keys = deriveSessionKeys(r.hash, r.K, r.H, this.sessionId, neg);
    k.keys = keys;
    this.#sendKex(Uint8Array.of(MSG.NEWKEYS));
    this.#flush();
    if (this.#closing) return;
    const out = this.role === 'client' ? keys.clientToServer : keys.serverToClient;
    this.#writer.sealer = createSealer(out);
    if (this.#strictKex) this.#writer.seq = 0;
    this.#writer.bytesSinceKex = 0;
    this.#writer.packetsSinceKex = 0;
    this.#rekeyLimitOut = this.#rekeyLimit(out.cipher);
    this.#compressOutAlg = this.role === 'client' ? neg.compressionCS : neg.compressionSC;
    // Like OpenSSH, every NEWKEYS starts a fresh zlib stream (new header, empty window).
    this.#compressor?.close();
    this.#compressor = null;
    this.#applyCompression();
    k.sentNewKeys = true;
    if (k.initial && this.#sendExtInfo) this.#sendKex(this.#extInfoPayload());
    if (k.receivedNewKeys) this.#completeKex(k);
    this.#releaseHeld();
  }

  #extInfoPayload(): Uint8Array {
    const sigAlgs =
      this.#opts.serverSigAlgs ??
      ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'].filter((a) => canServeSignature(a));
    return new SSHWriter(256).byte(MSG.EXT_INFO).uint32(2).string('server-sig-algs').nameList(sigAlgs).string('ping@openssh.com').string('0').toBytes();
  }

  #rekeyLimit(cipher: string): number {
    return Math.min(this.#opts.rekeyBytes, cipherInfo(cipher)?.rekeyBytes ?? this.#opts.rekeyBytes);
  }

  #onNewKeys(payload: Buffer): void {
    const k = this.#kex;
    if (!k || !k.keys || k.receivedNewKeys) throw new ProtocolError('NEWKEYS before the key exchange finished', { code: 'ERR_SSH_KEX_SEQUENCE' });
    if (payload.length !== 1) throw new ProtocolError('malformed NEWKEYS');
    const inKeys = this.role === 'client' ? k.keys.serverToClient : k.keys.clientToServer;
    this.#opener = createOpener(inKeys);
    if (this.#strictKex) this.#recvSeq = 0;
    this.#rxBytesSinceKex = 0;
    this.#rxPacketsSinceKex = 0;
    this.#rekeyLimitIn = this.#rekeyLimit(inKeys.cipher);
    this.#compressInAlg = this.role === 'client' ? k.negotiated!.compressionSC : k.negotiated!.compressionCS;
    k.receivedNewKeys = true;
    this.#decompressor?.close();
    this.#decompressor = null;
    this.#applyCompression();
    if (k.sentNewKeys) this.#completeKex(k);
  }

  #completeKex(k: KexRound): void {
    if (k.timer) clearTimeout(k.timer);
    this.#kex = null;
    this.negotiated = k.negotiated;
    const first = !this.#initialKexDone;
    this.#initialKexDone = true;
    if (this.#rekeyTimer) clearTimeout(this.#rekeyTimer);
    if (this.#opts.rekeySeconds > 0) {
      this.#rekeyTimer = setTimeout(() => this.#timedRekey(), this.#opts.rekeySeconds * 1000);
      this.#rekeyTimer.unref?.();
    }
    this.#debug(first ? 'key exchange complete' : 'key re-exchange complete');
    for (const w of k.waiters) w.resolve();
    if (first) {
      this.#startKeepalive();
      this.#ready.resolve();
    } else {
      this.emit('rekey', this.negotiated);
    }
  }

  #timedRekey(): void {
    this.#rekeyTimer = null;
    if (this.#closing || this.#kex) return;
    if (!this.#authDone) {
      // Not before authentication (OpenSSH servers refuse it): try again when it is done.
      this.#rekeyPending = true;
      return;
    }
    this.#debug('rekey: time limit reached');
    this.#startKex();
  }

  /** Turns compression on or off per direction from the negotiated algorithm and authentication state. */
  #applyCompression(): void {
    const active = (alg: string): boolean => alg === 'zlib' || (alg === 'zlib@openssh.com' && this.#authDone);
    if (active(this.#compressOutAlg)) {
      this.#compressor ??= new PayloadCompressor();
      this.#writer.compressor = this.#compressor;
    } else {
      this.#writer.compressor = null;
    }
    if (active(this.#compressInAlg)) {
      this.#decompressor ??= new PayloadDecompressor(MAX_PACKET_LENGTH);
      this.#decompressActive = true;
    } else {
      this.#decompressActive = false;
    }
  }

  // ───────────────────────────── keepalive ─────────────────────────────

  #startKeepalive(): void {
    const interval = this.#opts.keepaliveInterval;
    if (interval <= 0) return;
    this.#keepaliveTimer = setInterval(() => this.#keepaliveTick(), interval);
    this.#keepaliveTimer.unref?.();
  }

  #keepaliveTick(): void {
    if (this.#closing) return;
    if (this.#receivedSinceTick) {
      this.#receivedSinceTick = false;
      this.#missedTicks = 0;
      return;
    }
    this.#missedTicks++;
    const max = this.#opts.keepaliveCountMax;
    if (this.#missedTicks > max || (this.#missedTicks === max && this.#probesOutstanding > 0)) {
      this.#fail(new TimeoutError(`peer did not answer ${this.#probesOutstanding} keepalive(s) within ${this.#missedTicks} × ${this.#opts.keepaliveInterval} ms`));
      return;
    }
    this.#probesOutstanding++;
    this.#globalReplyOwners.push('keepalive');
    this.#queue(new SSHWriter(40).byte(MSG.GLOBAL_REQUEST).string('keepalive@openssh.com').boolean(true).toBytes());
  }

  // ───────────────────────────── closing ─────────────────────────────

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
    for (const t of [this.#bannerTimer, this.#rekeyTimer, this.#kex?.timer ?? null]) if (t) clearTimeout(t);
    if (this.#keepaliveTimer) clearInterval(this.#keepaliveTimer);
    if (disconnect) {
      try {
        const desc = disconnect.description.slice(0, 256);
        this.#writer.enqueue(new SSHWriter(desc.length * 3 + 32).byte(MSG.DISCONNECT).uint32(disconnect.reason).string(desc).string('').toBytes());
        const buf = this.#writer.build();
        if (buf) this.#writeRaw(buf);
      } catch {
        // Best effort: the connection is going away regardless.
      }
    }
    const reason = err ?? new DisconnectError('transport closed', DISCONNECT_REASON.BY_APPLICATION);
    const kexWaiters = this.#kex?.waiters ?? [];
    this.#kex = null;
    for (const w of kexWaiters) w.reject(reason);
    for (const w of this.#serviceWaiters) {
      clearTimeout(w.timer);
      w.d.reject(reason);
    }
    for (const w of this.#pingWaiters) {
      clearTimeout(w.timer);
      w.d.reject(reason);
    }
    this.#serviceWaiters = [];
    this.#pingWaiters = [];
    this.#held = [];
    this.#ready.reject(reason);
    this.#compressor?.close();
    this.#decompressor?.close();
    this.#compressor = null;
    this.#decompressor = null;

    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onSocketClose);
    socket.off('drain', this.#onDrain);
    // Keep an error listener: a late socket error must not become an uncaught exception.
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (!socket.destroyed) socket.destroy();
      this.#closed.resolve(err);
      this.emit('close', err);
    };
    const timer = setTimeout(finish, 250);
    timer.unref?.();
    if (socket.destroyed || socket.writableEnded || !disconnect) {
      finish();
    } else {
      socket.once('finish', finish);
      socket.end();
    }
  }
}
