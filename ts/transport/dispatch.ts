/**
 * Message dispatch: every opened packet is inflated (when compression is
 * on), checked against the key exchange state (RFC 4253 7.1 and strict
 * kex: only kex messages while the peer is in a key exchange), and routed:
 * transport messages to their handlers, message numbers >= 50 (plus
 * UNIMPLEMENTED, SERVICE_ACCEPT and EXT_INFO) to the upper layers'
 * `onMessage` handlers. Without a handler, a want-reply GLOBAL_REQUEST gets
 * REQUEST_FAILURE and anything else UNIMPLEMENTED.
 */
import { ProtocolError } from '../errors.js';
import { MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { asSSHError } from './closing.js';
import type { CompressionState } from './compression-state.js';
import { hexdump, lenientUtf8, sanitize, type DebugSink } from './debug.js';
import { wantsReply, type GlobalReplies } from './global-replies.js';
import type { OpenedPacket } from './inbound.js';
import type { KexDriver } from './kex-driver.js';

/** Receives upper-layer messages: `type` is payload[0]; `payload` is private to the receiver, which may keep it. */
export type MessageHandler = (type: number, payload: Buffer) => void;

/** The transport's handlers for its own messages. */
export interface TransportMessages {
  disconnect(payload: Buffer): void;
  serviceRequest(payload: Buffer): void;
  serviceAccept(payload: Buffer): void;
  extInfo(payload: Buffer): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  keepaliveReply(): void;
  /** The peer reports our packet `seq` unimplemented. */
  unimplemented(seq: number): void;
  /** Client: USERAUTH_SUCCESS arrived (delayed compression starts with the next packet). */
  userauthSuccess(): void;
}

/** Transport messages whose handler takes just the payload, by message number. */
const ROUTES: Partial<Record<number, 'serviceRequest' | 'serviceAccept' | 'extInfo' | 'ping' | 'pong'>> = {
  [MSG.SERVICE_REQUEST]: 'serviceRequest',
  [MSG.SERVICE_ACCEPT]: 'serviceAccept',
  [MSG.EXT_INFO]: 'extInfo',
  [MSG.PING]: 'ping',
  [MSG.PONG]: 'pong',
};

/** What dispatch works with. */
export interface DispatchHost {
  readonly role: 'client' | 'server';
  readonly debug: DebugSink;
  /** Hexdump every received payload to `debug`. */
  readonly dump: boolean;
  readonly kex: KexDriver;
  readonly compression: CompressionState;
  readonly replies: GlobalReplies;
  readonly messages: TransportMessages;
  closing(): boolean;
  /** Queues an ordinary message. */
  queue(payload: Uint8Array): void;
}

export class Dispatcher {
  readonly #h: DispatchHost;
  #handlers: MessageHandler[] = [];

  constructor(host: DispatchHost) {
    this.#h = host;
  }

  /** Registers an upper-layer handler; returns the function that removes it. */
  onMessage(handler: MessageHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      this.#handlers = this.#handlers.filter((x) => x !== handler);
    };
  }

  /** Routes one opened packet. Throws typed errors for protocol violations. */
  dispatch(p: OpenedPacket): void {
    const h = this.#h;
    const payload = h.compression.inflate(p.payload);
    if (payload.length === 0) throw new ProtocolError('empty packet payload');
    if (h.dump) h.debug(hexdump('recv', p.seq, payload));
    const type = payload[0]!;
    if (type === MSG.DISCONNECT) return h.messages.disconnect(payload);
    this.#checkKexOrder(type);

    switch (type) {
      case MSG.IGNORE:
        return;
      case MSG.DEBUG:
        return this.#onDebug(payload);
      case MSG.UNIMPLEMENTED: {
        const r = new SSHReader(payload, 'UNIMPLEMENTED');
        r.byte();
        const seq = r.uint32();
        h.debug(`peer reports packet ${seq} unimplemented`);
        h.messages.unimplemented(seq);
        return this.deliver(type, payload, false);
      }
      case MSG.KEXINIT:
        return h.kex.onKexInit(payload, p.seq);
      case MSG.NEWKEYS:
        return h.kex.onNewKeys(payload);
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE:
        if (h.replies.take(type) === 'keepalive') return h.messages.keepaliveReply();
        return this.deliver(type, payload, true);
    }
    const route = ROUTES[type];
    if (route) return h.messages[route](payload);
    if (type >= 30 && type <= 49) {
      if (h.kex.running) return h.kex.onKexMessage(type, payload);
      return this.#sendUnimplemented(p.seq);
    }
    if (type === MSG.USERAUTH_SUCCESS && h.role === 'client') h.messages.userauthSuccess();
    if (type >= 50) return this.deliver(type, payload, true, p.seq);
    return this.#sendUnimplemented(p.seq);
  }

  /** Hands a message to the upper layers; with none registered, answers it as RFC 4254 asks. */
  deliver(type: number, payload: Buffer, answerIfUnhandled: boolean, seq = 0): void {
    const h = this.#h;
    const handlers = this.#handlers;
    if (handlers.length === 0) {
      if (!answerIfUnhandled) return;
      if (type === MSG.GLOBAL_REQUEST) {
        if (wantsReply(payload)) h.queue(Uint8Array.of(MSG.REQUEST_FAILURE));
        return;
      }
      if (type === MSG.REQUEST_SUCCESS || type === MSG.REQUEST_FAILURE) return;
      return this.#sendUnimplemented(seq);
    }
    // The common case, one handler, without copying the list.
    if (handlers.length === 1) {
      this.#call(handlers[0]!, type, payload);
      return;
    }
    for (const fn of [...handlers]) {
      this.#call(fn, type, payload);
      if (h.closing()) return;
    }
  }

  #call(fn: MessageHandler, type: number, payload: Buffer): void {
    try {
      fn(type, payload);
    } catch (err) {
      throw asSSHError(err);
    }
  }

  /**
   * While the peer is in a key exchange only kex messages may arrive (and,
   * outside the strict first exchange, IGNORE/DEBUG/UNIMPLEMENTED); before
   * the first exchange only KEXINIT and those generic messages.
   */
  #checkKexOrder(type: number): void {
    const kex = this.#h.kex;
    if (kex.peerInKex) {
      const strictNow = !kex.initialDone && kex.strict;
      const isKex = type === MSG.NEWKEYS || (type >= 30 && type <= 49) || type === MSG.KEXINIT;
      const isGeneric = type === MSG.IGNORE || type === MSG.DEBUG || type === MSG.UNIMPLEMENTED;
      if (!isKex && (strictNow || !isGeneric)) {
        throw new ProtocolError(`unexpected message ${type} during key exchange${strictNow ? ' (strict kex)' : ''}`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
    } else if (!kex.initialDone) {
      // Strict kex punishes these generic messages once it is known, by the sequence number check.
      if (type !== MSG.KEXINIT && type !== MSG.IGNORE && type !== MSG.DEBUG && type !== MSG.UNIMPLEMENTED) {
        throw new ProtocolError(`unexpected message ${type} before key exchange`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
    }
  }

  #onDebug(payload: Buffer): void {
    const r = new SSHReader(payload, 'DEBUG');
    r.byte();
    r.boolean();
    const msg = lenientUtf8.decode(r.string(4096));
    this.#h.debug(`peer debug message: ${sanitize(msg)}`);
  }

  #sendUnimplemented(seq: number): void {
    this.#h.queue(new SSHWriter(8).byte(MSG.UNIMPLEMENTED).uint32(seq).toBytes());
  }
}
