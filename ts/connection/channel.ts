/**
 * One SSH channel (RFC 4254 section 5) as a Node Duplex stream: the readable
 * side is CHANNEL_DATA from the peer, the writable side becomes CHANNEL_DATA
 * to the peer, `stderr` carries incoming extended data type 1.
 *
 * Flow control, receive side: the peer may send at most our window. Bytes
 * count as consumed once they have left our readable buffers (stdout and
 * stderr); when the consumed-but-not-yet-credited bytes reach an eighth of the
 * window we send WINDOW_ADJUST for them. A reader that stops reading thus
 * stops the peer, and what we buffer never exceeds the window.
 *
 * Flow control, send side: writes are queued and cut into packets no larger
 * than the peer's window and maximum packet; the connection's scheduler asks
 * each channel for one packet at a time, in rotation, while the transport
 * can take more. A write's callback runs once all of its bytes are handed to
 * the transport, so Node's writable backpressure follows the peer's window;
 * for data the transport copies later (sendGathered), once it has copied
 * them (and every gathered packet before them), so the writer may reuse its
 * buffer from then on. Writes dropped at close are called back on the same
 * terms.
 *
 * Closing: `end()` sends EOF after all pending data; `close()` sends CLOSE
 * (after pending data if the writable side still has any); `destroy()`
 * sends CLOSE at once and drops what was not sent. The channel is finished
 * when CLOSE went both ways, or when the connection ended; `exit` settles
 * then and 'channelClosed' is emitted. The stream's own 'close' comes only
 * once the reader has consumed everything received, so code that must act
 * when the peer is gone (hang up a process) listens for 'channelClosed'.
 */
import { Duplex, Readable, Writable } from 'node:stream';
import { ChannelException, ProtocolError } from '../errors.js';
import { MSG } from '../wire/index.js';
import { EXTENDED_DATA_STDERR, MAX_MAX_PACKET, MAX_WINDOW } from './constants.js';
import { channelIdMessage, channelRequestMessage } from './messages.js';
import { parseChannelRequest, type ExitSignal, type ParsedChannelRequest } from './requests.js';
import { bounded, checkWaitOptions, deferred, guarded, type Deferred, type WaitOptions } from './wait.js';

/** WINDOW_ADJUST goes out once this fraction (1/n) of the receive window has been consumed. */
const ADJUST_FRACTION = 8;

/** Data packets at least this large are handed to the transport as parts (ChannelHost.sendGathered) rather than copied here. */
const GATHER_MIN = 4096;

/** What a channel needs from its connection. */
export interface ChannelHost {
  send(payload: Uint8Array): void;
  /**
   * Optional: send a payload as parts the transport copies once into its
   * sealed batch; `onCopied` runs when the parts are no longer referenced.
   */
  sendGathered?: ((parts: readonly Uint8Array[], onCopied: (() => void) | null) => void) | undefined;
  /** The channel has something to send: put it in the send rotation. */
  schedule(ch: Channel): void;
  /** CLOSE went both ways: forget the channel id. */
  release(ch: Channel): void;
  debug(msg: string): void;
  /** Default bound on waiting for a reply, in ms (0 = none). */
  readonly requestTimeout: number;
}

/** Parameters of a channel, fixed when it opens. */
export interface ChannelInit {
  type: string;
  localId: number;
  remoteId: number;
  /** Our receive window and largest packet we accept. */
  localWindow: number;
  localMaxPacket: number;
  /** The peer's initial window and largest packet it accepts. */
  remoteWindow: number;
  remoteMaxPacket: number;
  role: 'client' | 'server';
}

/** How the channel ended: the exit status or signal the peer reported, if any. */
export interface ChannelExit {
  /** The `exit-status` value (received on the client, sent on the server); null if there was none. */
  exitStatus: number | null;
  /** The `exit-signal` report, when the process was killed by a signal. */
  exitSignal?: ExitSignal;
}

/** A CHANNEL_REQUEST from the peer, as handed to `onRequest` handlers. */
export class ChannelRequest {
  readonly type: string;
  readonly wantReply: boolean;
  /** The type-specific bytes after want-reply. */
  readonly data: Uint8Array;
  /** The parsed body for the request types RFC 4254 and OpenSSH define; null for others. */
  readonly info: ParsedChannelRequest | null;
  readonly channel: Channel;
  constructor(channel: Channel, type: string, wantReply: boolean, data: Uint8Array, info: ParsedChannelRequest | null) {
    this.channel = channel;
    this.type = type;
    this.wantReply = wantReply;
    this.data = data;
    this.info = info;
  }
}

/**
 * Answers the peer's channel requests: return (or resolve to) true to
 * accept, false or nothing to refuse. Replies go out in request order.
 */
export type ChannelRequestHandler = (req: ChannelRequest) => boolean | void | Promise<boolean | void>;

interface Outgoing {
  /** Data bytes (null for a control message). */
  data: Uint8Array | null;
  off: number;
  /** 0 for CHANNEL_DATA, else the extended data type. */
  ext: number;
  /** A ready-made message sent in order with the data (exit-status, EOF...). */
  control: Uint8Array | null;
  cb: ((err?: Error | null) => void) | null;
}

interface ReplyWaiter {
  d: Deferred<boolean>;
  abandoned: boolean;
}

const EMPTY = new Uint8Array(0);
/** Readable buffer size before `push` reports backpressure; small so credit is returned promptly. */
const READ_HWM = 64 * 1024;
const WRITE_HWM = 64 * 1024;

/** A Readable that reports each consumption (see `Channel.read`). */
class CreditingReadable extends Readable {
  readonly #onConsume: () => void;
  constructor(highWaterMark: number, onConsume: () => void) {
    super({ highWaterMark });
    this.#onConsume = onConsume;
  }
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.#onConsume();
    return chunk;
  }
  override _read(): void {
    this.#onConsume();
  }
}

/**
 * One SSH channel (RFC 4254 section 5) as a Node Duplex; Paramiko's `Channel`.
 * Reading yields the peer's CHANNEL_DATA; writing sends CHANNEL_DATA within the
 * peer's window (so write backpressure follows it); `stderr` carries extended
 * data type 1. `end()` sends EOF after pending data, `close()` CLOSE after it,
 * `destroy()` CLOSE at once, dropping unsent data. `exit` resolves once CLOSE
 * has gone both ways.
 *
 * Events besides the stream's: 'channelClosed' (err: Error | null), once,
 * in the tick after the channel finished: CLOSE went both ways (null) or
 * the connection ended (its error). Unlike 'close' it does not wait for
 * the reader to consume what was received.
 */
export class Channel extends Duplex {
  /** Our channel number, which the peer's messages carry (Paramiko's `get_id()`). */
  readonly localId: number;
  /** The peer's number for this channel, which our messages carry (Paramiko's `remote_chanid`). */
  readonly remoteId: number;
  /** The channel type from CHANNEL_OPEN: `session`, `direct-tcpip`, `forwarded-tcpip`, `x11`, `auth-agent@openssh.com`, ... */
  readonly type: string;
  /** Incoming extended data type 1 (the remote process's stderr). */
  readonly stderr: Readable;
  /** Exit status from `exit-status`, once received. */
  exitStatus: number | null = null;
  /** Exit signal from `exit-signal`, once received. */
  exitSignal: ExitSignal | undefined = undefined;
  /**
   * Send CLOSE once EOF went both ways. Right for forwarding channels; off
   * for sessions, whose server sends exit-status after its EOF.
   */
  closeOnEof: boolean;
  /** Resolves when the channel is closed (CLOSE received); rejects if the connection died first without an exit status. */
  readonly exit: Promise<ChannelExit>;

  protected readonly host: ChannelHost;
  protected readonly role: 'client' | 'server';

  // receive side
  #windowSize: number;
  #adjustThreshold: number;
  readonly #localMaxPacket: number;
  #localWindow: number;
  #received = 0;
  #credited = 0;
  #combineStderr = false;
  /** Set while buffered stderr moves to the stdout side, so the move does not count as consumption. */
  #moving = false;

  // send side
  #remoteWindow: number;
  readonly #remoteMaxPacket: number;
  #queue: Outgoing[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** exit-status / exit-signal held until the writes before them are queued (see sendRequest). */
  #afterWrites: Uint8Array[] = [];
  #stderrWriter: Writable | null = null;
  /** Gathered packets handed to the transport so far (their parts are views of written chunks). */
  #gatheredSent = 0;
  /** The last of them the transport has copied (it copies in order). */
  #gatheredCopied = 0;
  /** Write callbacks waiting until gathered packet `upTo` is copied (see #callBack), in order. */
  #waiting: { upTo: number; cbs: ((err?: Error | null) => void)[] }[] = [];

  // state
  #eofSent = false;
  #eofReceived = false;
  #closeSent = false;
  #closeReceived = false;
  #finished = false;
  #closeAfterFinal = false;
  /** _final ran: EOF is sent or queued behind the data. */
  #finalDone = false;
  readonly #exit = deferred<ChannelExit>();
  #replyWaiters: ReplyWaiter[] = [];
  #requestHandler: ChannelRequestHandler | null = null;
  /** Replies we owe the peer, in order; a handler's promise holds back the ones after it. */
  #replyChain: Promise<void> = Promise.resolve();
  #repliesPending = 0;

  constructor(host: ChannelHost, init: ChannelInit) {
    const hwm = Math.max(1, Math.min(READ_HWM, Math.floor(init.localWindow / 2)));
    super({ allowHalfOpen: true, autoDestroy: false, readableHighWaterMark: hwm, writableHighWaterMark: WRITE_HWM });
    this.host = host;
    this.role = init.role;
    this.type = init.type;
    this.localId = init.localId;
    this.remoteId = init.remoteId;
    this.#windowSize = init.localWindow;
    this.#localWindow = init.localWindow;
    // Credit the peer once an eighth of the window is consumed (OpenSSH's
    // ssh does at three packets): adjusting only at half leaves between
    // one half and the whole window in flight, and on a link with a
    // round-trip time of tens of milliseconds the window is the limit.
    this.#adjustThreshold = Math.max(1, Math.floor(init.localWindow / ADJUST_FRACTION));
    this.#localMaxPacket = init.localMaxPacket;
    this.#remoteWindow = init.remoteWindow;
    // A peer may announce any size; our packets must also fit the transport's payload limit.
    this.#remoteMaxPacket = Math.min(init.remoteMaxPacket, MAX_MAX_PACKET);
    this.closeOnEof = init.type !== 'session';
    this.exit = this.#exit.promise;
    this.stderr = new CreditingReadable(hwm, () => this.#maybeAdjust());
  }

  // ─────────────────────────── diagnostics ───────────────────────────

  /** Bytes the peer may still send before it must wait for WINDOW_ADJUST. */
  get localWindow(): number {
    return this.#localWindow;
  }
  /** The receive window we keep granting: the most the peer may have in flight. */
  get windowSize(): number {
    return this.#windowSize;
  }
  /** Bytes we may still send before the peer must grant more. */
  get remoteWindow(): number {
    return this.#remoteWindow;
  }
  /** The peer's largest data packet. */
  get remoteMaxPacket(): number {
    return this.#remoteMaxPacket;
  }
  /** Received bytes waiting in our readable buffers (stdout + stderr). */
  get bufferedBytes(): number {
    return this.readableLength + this.stderr.readableLength;
  }
  /** Bytes written but not yet handed to the transport. */
  get pendingBytes(): number {
    return this.#queuedBytes;
  }
  /** Whether our CHANNEL_EOF has been sent (or queued behind pending data). */
  get eofSent(): boolean {
    return this.#eofSent;
  }
  /** Whether the peer's CHANNEL_EOF has arrived (also set by its CLOSE or a lost connection). */
  get eofReceived(): boolean {
    return this.#eofReceived;
  }
  /** True once CLOSE went both ways (or the connection ended). */
  get isClosed(): boolean {
    return this.#finished;
  }

  // ─────────────────────────── public API ───────────────────────────

  /** Sends EOF once everything written so far has been sent (the same as `end()`). */
  eof(): void {
    this.end();
  }

  /**
   * Closes the channel: CLOSE is sent after data already written (use
   * `destroy()` to drop unsent data and close at once). `exit` resolves when
   * the peer's CLOSE arrives.
   */
  close(): void {
    if (this.#closeSent || this.#finished) return;
    if (this.#finalDone) {
      // EOF already went (or is queued behind data): CLOSE follows it.
      this.#sendCloseOrdered();
      return;
    }
    if (!this.writableEnded && this.#queuedBytes === 0 && this.writableLength === 0 && !this.#stderrPending()) {
      this.#sendClose();
      return;
    }
    // Let pending writes and the EOF go first (see _final).
    this.#closeAfterFinal = true;
    if (!this.writableEnded) this.end();
  }

  /**
   * Sends a CHANNEL_REQUEST. With `wantReply` the promise tells whether the
   * peer accepted; without, it resolves true once queued. Rejects with
   * ChannelException if the channel is closed, TimeoutError after
   * `opts.timeout` (default: the connection's request timeout), or the
   * signal's reason.
   */
  request(type: string, data: Uint8Array = EMPTY, wantReply = true, opts?: WaitOptions): Promise<boolean> {
    return this.sendRequest(type, data, wantReply, opts, false);
  }

  /** Installs the handler for the peer's CHANNEL_REQUESTs (replacing any earlier one). */
  onRequest(handler: ChannelRequestHandler | null): void {
    this.#requestHandler = handler;
  }

  /** Resolves with the exit status, or -1 when the channel ended without one (Paramiko's `recv_exit_status`). */
  async recvExitStatus(opts?: WaitOptions): Promise<number> {
    checkWaitOptions(opts, 'exit status');
    try {
      const e = await bounded(this.exit, opts, 'exit status');
      return e.exitStatus ?? -1;
    } catch (err) {
      if (this.#finished && !(opts?.signal?.aborted)) return this.exitStatus ?? -1;
      throw err;
    }
  }

  /**
   * Paramiko's `set_combine_stderr`: while true, incoming stderr goes into
   * this (stdout) stream in arrival order, and `stderr` stays empty. Turning
   * it on moves whatever stderr is buffered but unread to the stdout side
   * too. Returns the previous setting.
   */
  setCombineStderr(combine: boolean): boolean {
    const was = this.#combineStderr;
    this.#combineStderr = combine;
    if (combine && !was) {
      this.#moving = true;
      try {
        for (let chunk = this.stderr.read() as Buffer | null; chunk !== null; chunk = this.stderr.read() as Buffer | null) this.push(chunk);
      } finally {
        this.#moving = false;
      }
    }
    return was;
  }

  /** A Writable whose data goes out as extended data type 1 (server side: the process's stderr). */
  get stderrWriter(): Writable {
    if (!this.#stderrWriter) {
      this.#stderrWriter = new Writable({
        highWaterMark: WRITE_HWM,
        write: (chunk: Buffer, _enc, cb) => this.#enqueue(chunk, EXTENDED_DATA_STDERR, cb),
        writev: (chunks, cb) => this.#enqueueMany(chunks, EXTENDED_DATA_STDERR, cb),
      });
    }
    return this.#stderrWriter;
  }

  /** Writes to the stderr stream (extended data type 1); returns false when the caller should wait for 'drain' on `stderrWriter`. */
  writeStderr(data: string | Uint8Array): boolean {
    return this.stderrWriter.write(data);
  }

  // ─────────────────────────── for subclasses ───────────────────────────

  /**
   * Sends a CHANNEL_REQUEST. `ordered` requests (exit-status, exit-signal)
   * wait behind queued data so the peer sees them after the output; others
   * (signals, window changes) go out at once.
   */
  protected sendRequest(type: string, data: Uint8Array, wantReply: boolean, opts: WaitOptions | undefined, ordered: boolean): Promise<boolean> {
    if (this.#closeSent || this.#finished) {
      return Promise.reject(new ChannelException(`cannot send ${type}: channel ${this.localId} is closed`));
    }
    try {
      checkWaitOptions(opts, `channel request ${type}`);
    } catch (err) {
      return Promise.reject(err);
    }
    const payload = channelRequestMessage(this.remoteId, type, wantReply, data);
    let waiter: ReplyWaiter | null = null;
    if (wantReply) {
      waiter = { d: deferred<boolean>(), abandoned: false };
      this.#replyWaiters.push(waiter);
    }
    if (ordered && this.#writesPending()) {
      // Some writes still wait in the streams' own buffers, not yet queued
      // here: the request follows once their callbacks have run.
      this.#afterWrites.push(payload);
    } else if (ordered && this.#queueHead < this.#queue.length) {
      this.#queue.push({ data: null, off: 0, ext: 0, control: payload, cb: null });
      this.host.schedule(this);
    } else {
      try {
        this.host.send(payload);
      } catch (err) {
        // Too large for the transport: nothing was sent, so no reply will come.
        if (waiter) this.#replyWaiters.pop();
        return Promise.reject(err);
      }
    }
    if (!waiter) return Promise.resolve(true);
    const w = waiter;
    const timeout = opts?.timeout ?? this.host.requestTimeout;
    return guarded(w.d, { signal: opts?.signal, timeout }, `channel request ${type}`, () => {
      // The reply still comes and must be matched to this slot; just ignore it.
      w.abandoned = true;
    });
  }

  // ─────────────────────────── stream internals ───────────────────────────

  /**
   * Every way of consuming a Readable (read(), 'data' in flowing mode,
   * pipe, async iteration) goes through read() unless the buffer was empty,
   * and push() checks that case. `_read` alone is not enough: Node calls it
   * before taking data out of the buffer and then not again until the next
   * push, which would deadlock once the peer's window is used up.
   */
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.#maybeAdjust();
    return chunk;
  }

  override _read(): void {
    this.#maybeAdjust();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#enqueue(chunk, 0, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.#enqueueMany(chunks, 0, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const done = (): void => {
      this.#finalDone = true;
      // Node may run _final inside the last write's callback, before #afterCallbacks.
      this.#sendHeld();
      if (!this.#closeSent && !this.#finished && !this.#eofSent) {
        this.#eofSent = true;
        this.#sendOrdered(channelIdMessage(MSG.CHANNEL_EOF, this.remoteId));
      }
      if (this.#closeAfterFinal) this.#sendCloseOrdered();
      else if (this.closeOnEof && this.#eofReceived) this.#sendCloseOrdered();
      cb();
    };
    // EOF covers extended data too: let pending stderr writes go first.
    const w = this.#stderrWriter;
    if (w && !w.writableFinished && !w.destroyed) {
      w.once('finish', done);
      w.end();
    } else {
      done();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#closeSent && !this.#finished) this.#sendClose();
    this.#dropQueue();
    if (!this.stderr.destroyed) this.stderr.destroy();
    this.#stderrWriter?.destroy();
    cb(err);
  }

  #stderrPending(): boolean {
    const w = this.#stderrWriter;
    return w !== null && w.writableLength > 0;
  }

  /** Whether stdout or stderr writes have not all been called back (some may not have reached the queue). */
  #writesPending(): boolean {
    return this.writableLength > 0 || this.#stderrPending();
  }

  /** Write callbacks ran: ordered requests held for them go behind whatever is queued now. */
  #afterCallbacks(): void {
    if (this.#afterWrites.length > 0 && !this.#writesPending()) this.#sendHeld();
  }

  #sendHeld(): void {
    const held = this.#afterWrites;
    this.#afterWrites = [];
    if (this.#closeSent || this.#finished) return;
    for (const p of held) this.#sendOrdered(p);
  }

  #enqueue(chunk: Uint8Array, ext: number, cb: (err?: Error | null) => void): void {
    if (this.#closeSent || this.#finished || (this.#eofSent && ext !== 0)) {
      this.host.debug(`channel ${this.localId}: dropping ${chunk.length} bytes written after ${this.#eofSent ? 'EOF' : 'close'}`);
      cb();
      return;
    }
    if (chunk.length === 0) {
      cb();
      return;
    }
    this.#queue.push({ data: chunk, off: 0, ext, control: null, cb });
    this.#queuedBytes += chunk.length;
    this.host.schedule(this);
  }

  #enqueueMany(chunks: { chunk: Buffer }[], ext: number, cb: (err?: Error | null) => void): void {
    if (this.#closeSent || this.#finished || (this.#eofSent && ext !== 0)) {
      cb();
      return;
    }
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      const data = chunks[i]!.chunk;
      if (data.length === 0) continue;
      this.#queue.push({ data, off: 0, ext, control: null, cb: null });
      total += data.length;
    }
    if (total === 0) {
      cb();
      return;
    }
    // The callback rides on the last entry: it fires once every chunk is out.
    this.#queue[this.#queue.length - 1]!.cb = cb;
    this.#queuedBytes += total;
    this.host.schedule(this);
  }

  /** A control message that must follow the data already queued. */
  #sendOrdered(payload: Uint8Array): void {
    if (this.#queueHead < this.#queue.length) {
      this.#queue.push({ data: null, off: 0, ext: 0, control: payload, cb: null });
      this.host.schedule(this);
    } else {
      this.host.send(payload);
    }
  }

  #sendCloseOrdered(): void {
    if (this.#queueHead < this.#queue.length) {
      this.#closeAfterFinal = true;
      this.#queue.push({ data: null, off: 0, ext: 0, control: null, cb: null });
      this.host.schedule(this);
    } else {
      this.#sendClose();
    }
  }

  #sendClose(): void {
    if (this.#closeSent || this.#finished) return;
    this.#closeSent = true;
    this.host.send(channelIdMessage(MSG.CHANNEL_CLOSE, this.remoteId));
    this.#dropQueue();
    if (this.#closeReceived) this.#finish(null);
  }

  /** Completes the callbacks of writes that will never be sent (the channel is closing); see #callBack. */
  #dropQueue(): void {
    const q = this.#queue;
    const head = this.#queueHead;
    this.#queue = [];
    this.#queueHead = 0;
    if (this.#queuedBytes > 0) this.host.debug(`channel ${this.localId}: ${this.#queuedBytes} unsent bytes dropped at close`);
    this.#queuedBytes = 0;
    const cbs: ((err?: Error | null) => void)[] = [];
    for (let i = head; i < q.length; i++) {
      const cb = q[i]!.cb;
      if (cb) cbs.push(cb);
    }
    if (cbs.length > 0) this.#callBack(cbs);
  }

  /**
   * Runs the callbacks of writes that are done here (sent as a copied
   * packet, or dropped). A writer may reuse its buffer once called back, but
   * earlier pieces of the same write (or of writes sharing its callback, see
   * _writev) may sit in gathered packets the transport has not copied yet:
   * then the callbacks wait until the last gathered packet handed out so far
   * has been copied (or discarded by a closing transport).
   */
  #callBack(cbs: ((err?: Error | null) => void)[]): void {
    if (this.#gatheredCopied >= this.#gatheredSent) {
      for (const cb of cbs) cb();
      this.#afterCallbacks();
    } else {
      this.#waiting.push({ upTo: this.#gatheredSent, cbs });
    }
  }

  /** Gathered packet `seq` was copied (so were all before it): waiting callbacks it covers run, then its own writes'. */
  #onGatheredCopied(seq: number, cbs: ((err?: Error | null) => void)[] | null): void {
    if (seq > this.#gatheredCopied) this.#gatheredCopied = seq;
    this.#releaseWaiting(this.#gatheredCopied);
    if (cbs) for (const cb of cbs) cb();
    this.#afterCallbacks();
  }

  /** Runs the waiting callbacks covered by gathered packet `upTo` (all of them for Infinity). */
  #releaseWaiting(upTo: number): void {
    const w = this.#waiting;
    let i = 0;
    while (i < w.length && w[i]!.upTo <= upTo) i++;
    if (i === 0) return;
    const ready = w.splice(0, i);
    for (const { cbs } of ready) for (const cb of cbs) cb();
    this.#afterCallbacks();
  }

  /**
   * Scheduler hook: sends at most one packet. Returns true when the
   * channel still has something it could send right now.
   */
  _sendNext(): boolean {
    const q = this.#queue;
    if (this.#queueHead >= q.length || this.#closeSent) return false;
    const head = q[this.#queueHead]!;
    if (head.data === null) {
      this.#queueHead++;
      if (head.control) {
        this.host.send(head.control);
      } else {
        // A deferred CLOSE marker.
        this.#sendClose();
        return false;
      }
      this.#compact();
      return this.#queueHead < this.#queue.length;
    }
    const limit = Math.min(this.#remoteWindow, this.#remoteMaxPacket);
    if (limit <= 0) return false;
    const ext = head.ext;
    // Gather consecutive writes of the same stream into one packet.
    let n = 0;
    for (let i = this.#queueHead; i < q.length && n < limit; i++) {
      const e = q[i]!;
      if (e.data === null || e.ext !== ext) break;
      n += e.data.length - e.off;
    }
    if (n > limit) n = limit;
    const hdr = ext === 0 ? 9 : 13;
    const gather = n >= GATHER_MIN ? this.host.sendGathered : undefined;
    // Gathered: the header and views of the queued data go to the transport,
    // which copies them once into its batch; the writes' callbacks wait until
    // then, since a writer may reuse its buffer once called back.
    const payload = Buffer.allocUnsafe(gather ? hdr : hdr + n);
    const parts: Uint8Array[] | null = gather ? [payload] : null;
    payload[0] = ext === 0 ? MSG.CHANNEL_DATA : MSG.CHANNEL_EXTENDED_DATA;
    payload.writeUInt32BE(this.remoteId, 1);
    if (ext === 0) {
      payload.writeUInt32BE(n, 5);
    } else {
      payload.writeUInt32BE(ext, 5);
      payload.writeUInt32BE(n, 9);
    }
    let pos = hdr;
    let left = n;
    let done: ((err?: Error | null) => void)[] | null = null;
    while (left > 0) {
      const e = q[this.#queueHead]!;
      const data = e.data!;
      const avail = data.length - e.off;
      const take = avail <= left ? avail : left;
      const piece = take === data.length ? data : data.subarray(e.off, e.off + take);
      if (parts) parts.push(piece);
      else payload.set(piece, pos);
      pos += take;
      left -= take;
      e.off += take;
      if (e.off === data.length) {
        this.#queueHead++;
        if (e.cb) (done ??= []).push(e.cb);
      }
    }
    this.#remoteWindow -= n;
    this.#queuedBytes -= n;
    if (gather) {
      const cbs = done;
      done = null;
      const seq = ++this.#gatheredSent;
      gather(parts!, () => this.#onGatheredCopied(seq, cbs));
    } else {
      this.host.send(payload);
    }
    this.#compact();
    if (done) this.#callBack(done);
    return this.#queueHead < this.#queue.length && !this.#closeSent && (this.#queue[this.#queueHead]!.data === null || this.#remoteWindow > 0);
  }

  #compact(): void {
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #maybeAdjust(): void {
    if (this.#eofReceived || this.#closeSent || this.#finished || this.#moving) return;
    const owed = this.#received - this.#credited - this.readableLength - this.stderr.readableLength;
    if (owed < this.#adjustThreshold) return;
    this.#credited += owed;
    this.#credit(owed);
  }

  /** Grants the peer `n` more bytes of window. */
  #credit(n: number): void {
    this.#localWindow += n;
    const p = Buffer.allocUnsafe(9);
    p[0] = MSG.CHANNEL_WINDOW_ADJUST;
    p.writeUInt32BE(this.remoteId, 1);
    p.writeUInt32BE(n, 5);
    this.host.send(p);
  }

  /**
   * Raises the receive window to `size` bytes (never lowers it), crediting
   * the peer with the difference at once. For a consumer that learns it
   * needs more in flight, e.g. over a link with a long round trip.
   */
  growWindow(size: number): void {
    if (!Number.isInteger(size) || size > MAX_WINDOW) throw new RangeError(`window ${size} is not an integer up to ${MAX_WINDOW}`);
    const more = size - this.#windowSize;
    if (more <= 0 || this.#eofReceived || this.#closeSent || this.#finished) return;
    this.#windowSize = size;
    this.#adjustThreshold = Math.max(1, Math.floor(size / ADJUST_FRACTION));
    this.#credit(more);
  }

  // ─────────────────────────── from the connection ───────────────────────────

  /** CHANNEL_DATA (ext 0) or CHANNEL_EXTENDED_DATA. `data` is ours to keep. */
  _handleData(data: Buffer, ext: number): void {
    if (this.#eofReceived) throw new ProtocolError(`channel ${this.localId}: peer sent data after EOF`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    const len = data.length;
    if (len > this.#localWindow) {
      throw new ProtocolError(`channel ${this.localId}: peer sent ${len} bytes with only ${this.#localWindow} left in the window`, { code: 'ERR_SSH_WINDOW_EXCEEDED' });
    }
    if (len > this.#localMaxPacket) this.host.debug(`channel ${this.localId}: peer sent a ${len}-byte packet, above our maximum ${this.#localMaxPacket}`);
    this.#localWindow -= len;
    this.#received += len;
    if (this.#closeSent || len === 0) return;
    if (ext === 0 || (ext === EXTENDED_DATA_STDERR && this.#combineStderr)) {
      this.push(data);
    } else if (ext === EXTENDED_DATA_STDERR) {
      this.stderr.push(data);
    } else {
      // Undefined extended data types: nobody will read them, count them consumed.
      this.host.debug(`channel ${this.localId}: dropping ${len} bytes of extended data type ${ext}`);
    }
    this.#maybeAdjust();
  }

  /** Connection hook: CHANNEL_WINDOW_ADJUST granted `n` more bytes. ProtocolError if the window would pass 2^32-1. */
  _handleWindowAdjust(n: number): void {
    const next = this.#remoteWindow + n;
    if (next > MAX_WINDOW) {
      throw new ProtocolError(`channel ${this.localId}: window adjust of ${n} overflows the window (${this.#remoteWindow})`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    }
    this.#remoteWindow = next;
    if (this.#queueHead < this.#queue.length) this.host.schedule(this);
  }

  /** Connection hook: CHANNEL_EOF arrived. Ends the readable sides; sends CLOSE if `closeOnEof` and our EOF went. */
  _handleEof(): void {
    if (this.#eofReceived) return;
    this.#eofReceived = true;
    this.push(null);
    this.stderr.push(null);
    if (this.closeOnEof && this.#eofSent) this.#sendCloseOrdered();
  }

  /** Connection hook: CHANNEL_CLOSE arrived. Answers with CLOSE unless sent and finishes the channel; ProtocolError if repeated. */
  _handleClose(): void {
    if (this.#closeReceived) throw new ProtocolError(`channel ${this.localId}: duplicate CLOSE`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    this.#closeReceived = true;
    if (!this.#eofReceived) {
      this.#eofReceived = true;
      this.push(null);
      this.stderr.push(null);
    }
    if (!this.#closeSent) this.#sendClose();
    else this.#finish(null);
  }

  /**
   * Connection hook: a CHANNEL_REQUEST from the peer. The client records
   * `exit-status` / `exit-signal` itself; everything else goes to the
   * `onRequest` handler, and replies go out in request order.
   */
  _handleRequest(type: string, wantReply: boolean, data: Uint8Array): void {
    // Parsed before any handler sees it: a malformed body is the peer's protocol error.
    const info = parseChannelRequest(type, data);
    if (info?.type === 'exit-status' && this.role === 'client') {
      this.exitStatus = info.exitStatus;
      if (wantReply) this.#reply(true);
      return;
    }
    if (info?.type === 'exit-signal' && this.role === 'client') {
      const { name, coreDumped, message, lang } = info;
      this.exitSignal = { name, coreDumped, message, lang: lang ?? '' };
      if (wantReply) this.#reply(true);
      return;
    }
    const handler = this.#requestHandler;
    let result: boolean | void | Promise<boolean | void> = false;
    if (handler) {
      try {
        result = handler(new ChannelRequest(this, type, wantReply, data, info));
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        this.host.debug(`channel ${this.localId}: request handler for ${type} threw: ${(err as Error)?.message ?? String(err)}`);
        result = false;
      }
    } else {
      this.host.debug(`channel ${this.localId}: refusing ${type} (no handler)`);
    }
    if (!wantReply) {
      if (result instanceof Promise) result.catch(() => {});
      return;
    }
    if (!(result instanceof Promise) && this.#repliesPending === 0) {
      this.#reply(result === true);
      return;
    }
    this.#repliesPending++;
    const settled = Promise.resolve(result).then(
      (v) => v === true,
      (err: unknown) => {
        this.host.debug(`channel ${this.localId}: request handler for ${type} failed: ${(err as Error)?.message ?? String(err)}`);
        return false;
      },
    );
    this.#replyChain = this.#replyChain.then(async () => {
      const ok = await settled;
      this.#repliesPending--;
      this.#reply(ok);
    });
  }

  #reply(ok: boolean): void {
    if (this.#closeSent || this.#finished) return;
    this.host.send(channelIdMessage(ok ? MSG.CHANNEL_SUCCESS : MSG.CHANNEL_FAILURE, this.remoteId));
  }

  /** Connection hook: CHANNEL_SUCCESS / CHANNEL_FAILURE for our oldest request awaiting a reply; ProtocolError if none is. */
  _handleReply(ok: boolean): void {
    const w = this.#replyWaiters.shift();
    if (!w) throw new ProtocolError(`channel ${this.localId}: reply to a request that was not sent`, { code: 'ERR_SSH_CHANNEL_PROTOCOL' });
    if (!w.abandoned) w.d.resolve(ok);
  }

  /** The connection ended: finish everything, keeping the data already received readable. */
  _connectionLost(err: Error): void {
    if (this.#finished) return;
    if (!this.#eofReceived) {
      this.#eofReceived = true;
      this.push(null);
      this.stderr.push(null);
    }
    this.#closeSent = true;
    this.#dropQueue();
    // The transport is closed and copies nothing more: nothing can still read the parts.
    this.#gatheredCopied = this.#gatheredSent;
    this.#releaseWaiting(Infinity);
    this.#finish(err);
  }

  /** CLOSE went both ways (err null) or the connection ended (err set). */
  #finish(err: Error | null): void {
    if (this.#finished) return;
    this.#finished = true;
    this.host.release(this);
    // Next tick: a listener that throws must not break the connection's
    // message handling or its teardown of the other channels.
    process.nextTick(() => this.emit('channelClosed', err));
    const waiters = this.#replyWaiters;
    this.#replyWaiters = [];
    if (waiters.length > 0) {
      // Built only when someone waits: capturing a stack on every close is measurable per command.
      const reason = err ?? new ChannelException(`channel ${this.localId} closed before the reply arrived`);
      for (const w of waiters) w.d.reject(reason);
    }
    if (err && this.exitStatus === null && !this.exitSignal) {
      this.#exit.reject(err);
    } else {
      this.#exit.resolve(this.exitSignal ? { exitStatus: this.exitStatus, exitSignal: this.exitSignal } : { exitStatus: this.exitStatus });
    }
    // Finish the writable side (later writes are dropped) and emit 'close'
    // once the reader has taken everything: destroying earlier would lose
    // output still buffered.
    let exitDelivered = false;
    const tryDestroy = (): void => {
      if (exitDelivered && this.readableEnded && this.writableFinished && !this.destroyed) this.destroy();
    };
    this.once('end', tryDestroy);
    this.once('finish', tryDestroy);
    if (!this.writableEnded && !this.destroyed) this.end();
    this.#stderrWriter?.destroy();
    // After `exit` callbacks: 'close' comes last.
    const afterExit = (): void => {
      exitDelivered = true;
      tryDestroy();
    };
    void this.#exit.promise.then(afterExit, afterExit);
  }
}
