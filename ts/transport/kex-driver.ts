/**
 * The key exchange round driver: our KEXINIT, negotiation, the method's
 * messages, host key policy, NEWKEYS in both directions, and when the next
 * round starts (the peer's KEXINIT, `renegotiateKeys()`, volume and time
 * limits, which wait for authentication as OpenSSH does).
 *
 * From the moment we send KEXINIT until we send NEWKEYS only kex messages go
 * out (the send queue holds the rest); outgoing keys switch right after our
 * NEWKEYS, incoming keys when the peer's NEWKEYS is dispatched.
 */
import { cipherInfo, createOpener, createSealer, macInfo, randomBytes } from '../crypto/index.js';
import { BadHostKeyException, ProtocolError, TimeoutError } from '../errors.js';
import { MSG } from '../wire/index.js';
import { EXT_INFO_C, EXT_INFO_S, NULL_HOST_KEY_ALGORITHM, STRICT_KEX_C, STRICT_KEX_S, negotiate, type AlgorithmLists, type KexInitLists, type NegotiatedAlgorithms } from './algorithms.js';
import { asSSHError } from './closing.js';
import type { CompressionState } from './compression-state.js';
import { sanitize, type DebugSink } from './debug.js';
import { deferred, rejected, type Deferred } from './deferred.js';
import { extInfoPayload } from './ext-info.js';
import { deriveSessionKeys, type SessionKeys } from './kex/derive.js';
import { EphemeralKeyExchange } from './kex/ephemeral.js';
import type { KexContext, KexResult, KeyExchange, SessionBinding } from './kex/exchange.js';
import { GEX_MAX_BITS, GEX_MIN_BITS, GroupExchange, preferredGexBits } from './kex/gex.js';
import { fingerprint, keyTypeOfBlob, selectHostKey } from './kex/hostkey.js';
import { GssKeyExchange, type GssKexAcceptor, type GssKexInitiator } from './kex/gss.js';
import { kexSpecFor } from './kex/methods.js';
import type { DHGroup } from './kex/moduli.js';
import { decodeKexInit, encodeKexInit, type KexInit } from './kexinit.js';
import type { ResolvedOptions } from './options.js';
import type { ReceivePump } from './receive-pump.js';
import type { SendQueue } from './send-queue.js';

/** RFC 4344 section 3.1: rekey before 2^31 packets so sequence numbers never repeat under one key. */
const REKEY_PACKETS = 2 ** 31;

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

/** What the kex driver works with. */
export interface KexHost {
  readonly role: 'client' | 'server';
  readonly opts: ResolvedOptions;
  readonly debug: DebugSink;
  readonly lists: AlgorithmLists;
  readonly gexGroups: readonly DHGroup[];
  readonly ownVersion: string;
  readonly send: SendQueue;
  readonly receive: ReceivePump;
  readonly compression: CompressionState;
  peerVersion(): string | null;
  closing(): boolean;
  fail(err: Error): void;
  /** A round completed: the first one (ready), or a re-exchange. */
  completed(first: boolean, negotiated: NegotiatedAlgorithms): void;
}

export class KexDriver {
  /** H of the first key exchange. */
  sessionId: Uint8Array | null = null;
  /** The first exchange's host key and its signature over the session identifier (none after GSS-API key exchange). */
  sessionBinding: SessionBinding | null = null;
  /**
   * The GSS-API context of the first key exchange when it was GSS-API: the
   * one bound to the session identifier, which gssapi-keyex signs with (as
   * sshd keeps it); later exchanges' contexts are not kept.
   */
  gssContext: GssKexInitiator | GssKexAcceptor | null = null;
  /** What the last completed key exchange chose. */
  negotiated: NegotiatedAlgorithms | null = null;
  /** The host key algorithms the peer offered in the first key exchange. */
  peerHostKeyAlgorithms: readonly string[] = [];
  initialDone = false;

  readonly #h: KexHost;
  #round: KexRound | null = null;
  #strictKex = false;
  #sendExtInfo = false;
  #rekeyTimer: NodeJS.Timeout | null = null;
  #rekeyLimitOut = Number.MAX_SAFE_INTEGER;
  #rekeyLimitIn = Number.MAX_SAFE_INTEGER;
  /** Bytes and packets received under the current incoming keys. */
  #rxBytes = 0;
  #rxPackets = 0;
  /** A time-based rekey fell due before authentication; run it once authenticated. */
  #rekeyPending = false;
  /**
   * The outgoing volume limit was reached after our NEWKEYS but before the
   * peer's: traffic is held and the next exchange starts once this one completes.
   */
  #volumeDue = false;

  constructor(host: KexHost) {
    this.#h = host;
  }

  /** A round is running. */
  get running(): boolean {
    return this.#round !== null;
  }

  /** The peer's KEXINIT of the running round has arrived: only kex messages may follow until its NEWKEYS. */
  get peerInKex(): boolean {
    return this.#round?.peerKexInit != null;
  }

  /** Strict kex was negotiated in the first exchange. */
  get strict(): boolean {
    return this.#strictKex;
  }

  /** Starts a re-exchange now (or joins the first); resolves when it completes. */
  renegotiate(): Promise<void> {
    const d = deferred<void>();
    if (!this.initialDone) {
      // The first exchange is already running; that is the renegotiation.
      this.#round?.waiters.push(d);
      return d.promise;
    }
    this.start();
    if (!this.#round) return rejected(new ProtocolError('key exchange could not start'));
    this.#round.waiters.push(d);
    return d.promise;
  }

  /** Sends our KEXINIT and holds ordinary traffic until our NEWKEYS. */
  start(): void {
    const h = this.#h;
    if (this.#round || h.closing()) return;
    const initial = !this.initialDone;
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
    this.#round = round;
    h.send.holding = true;
    if (h.opts.kexTimeout > 0) {
      round.timer = setTimeout(() => {
        if (this.#round === round) h.fail(new TimeoutError(`key exchange did not complete within ${h.opts.kexTimeout} ms`));
      }, h.opts.kexTimeout);
      round.timer.unref?.();
    }
    if (initial) {
      h.debug(`local kex: ${lists.kex.join(',')}`);
      h.debug(`local host key algorithms: ${lists.serverHostKey.join(',')}`);
      h.debug(`local ciphers: ${lists.cipherCS.join(',')}`);
      h.debug(`local MACs: ${lists.macCS.join(',')}`);
      h.debug(`local compression: ${lists.compressionCS.join(',')}`);
    } else {
      h.debug('starting key re-exchange');
    }
    h.send.sendKex(payload);
  }

  /** KEXINIT from the peer (`seq`: its sequence number, which strict kex checks). */
  onKexInit(payload: Buffer, seq: number): void {
    const h = this.#h;
    if (this.#round?.peerKexInit) throw new ProtocolError('KEXINIT received twice in one key exchange', { code: 'ERR_SSH_KEX_SEQUENCE' });
    const peer = decodeKexInit(payload);
    if (!this.#round) this.start(); // the peer started a re-exchange
    const k = this.#round!;
    k.peerKexInit = peer;
    if (k.initial) {
      h.debug(`peer kex: ${sanitize(peer.kex.join(','), 2048)}`);
      h.debug(`peer host key algorithms: ${sanitize(peer.serverHostKey.join(','), 2048)}`);
      h.debug(`peer ciphers: ${sanitize(peer.cipherCS.join(','), 1024)} / ${sanitize(peer.cipherSC.join(','), 1024)}`);
      h.debug(`peer MACs: ${sanitize(peer.macCS.join(','), 1024)} / ${sanitize(peer.macSC.join(','), 1024)}`);
      h.debug(`peer compression: ${sanitize(peer.compressionCS.join(','))} / ${sanitize(peer.compressionSC.join(','))}`);
    }
    const isClient = h.role === 'client';
    const neg = negotiate(isClient ? k.ourLists : peer, isClient ? peer : k.ourLists, (c) => cipherInfo(c)?.aead === true);
    if (k.initial) {
      this.peerHostKeyAlgorithms = peer.serverHostKey;
      this.#strictKex = neg.strictKex;
      if (this.#strictKex && seq !== 0) {
        throw new ProtocolError(`strict kex: KEXINIT was not the first packet (sequence number ${seq})`, { code: 'ERR_SSH_KEX_SEQUENCE' });
      }
      this.#sendExtInfo = h.role === 'server' && peer.kex.includes(EXT_INFO_C);
    }
    neg.strictKex = this.#strictKex;
    k.negotiated = neg;
    h.debug(
      `negotiated: kex ${neg.kex}, host key ${neg.hostKey}, cipher ${neg.cipherCS} / ${neg.cipherSC}, MAC ${neg.macCS} / ${neg.macSC}, compression ${neg.compressionCS} / ${neg.compressionSC}${k.initial ? `, strict kex ${neg.strictKex ? 'on' : 'off'}` : ''}`,
    );
    if (peer.firstKexPacketFollows) {
      // RFC 4253 7.1: the guess was wrong when the two sides' preferred
      // (first) kex or host key algorithms differ, even if the peer's first
      // choice is what gets negotiated: the peer then sees the mismatch too
      // and sends its real first kex packet again (OpenSSH's proposals_match).
      k.ignoreGuess = peer.kex[0] !== k.ourLists.kex[0] || peer.serverHostKey[0] !== k.ourLists.serverHostKey[0];
      if (k.ignoreGuess) h.debug('peer guessed the kex wrong; its next kex packet is ignored');
    }
    const spec = kexSpecFor(neg.kex)!;
    const peerVersion = h.peerVersion()!;
    const ctx: KexContext = {
      role: h.role,
      name: neg.kex,
      spec,
      hostKeyAlgorithm: neg.hostKey,
      clientVersion: isClient ? h.ownVersion : peerVersion,
      serverVersion: isClient ? peerVersion : h.ownVersion,
      clientKexInit: isClient ? k.ourKexInit : peer.payload,
      serverKexInit: isClient ? peer.payload : k.ourKexInit,
      send: (m) => h.send.sendKex(m),
    };
    if (!isClient) {
      if (neg.hostKey !== NULL_HOST_KEY_ALGORITHM) ctx.hostKey = selectHostKey(h.opts.hostKeys!, neg.hostKey);
      ctx.gexGroups = h.gexGroups;
    } else if (spec.kind === 'gex') {
      ctx.gexRequest = h.opts.gexRequest ?? defaultGexRequest(neg);
    }
    if (spec.kind === 'gss') {
      if (!h.opts.gssKex) throw new ProtocolError(`${neg.kex} was negotiated without GSS-API key exchange configured`);
      k.exchange = new GssKeyExchange(ctx, h.opts.gssKex);
    } else {
      k.exchange = spec.kind === 'gex' ? new GroupExchange(ctx) : new EphemeralKeyExchange(ctx);
    }
    k.exchange.start();
  }

  /** A kex method message (30 to 49); outside a round the caller answers UNIMPLEMENTED. */
  onKexMessage(type: number, payload: Buffer): void {
    const k = this.#round!;
    if (!k.exchange) throw new ProtocolError(`kex message ${type} before KEXINIT`, { code: 'ERR_SSH_KEX_SEQUENCE' });
    if (k.ignoreGuess) {
      k.ignoreGuess = false;
      this.#h.debug(`ignoring the peer's wrongly guessed kex packet (${type})`);
      return;
    }
    if (k.keys || k.busy) throw new ProtocolError(`unexpected kex message ${type} after the exchange finished`, { code: 'ERR_SSH_KEX_SEQUENCE' });
    const result = k.exchange.handle(type, payload);
    if (result === null) return;
    if (result instanceof Promise) {
      this.#runAsyncStep(k, result.then((r) => this.#acceptResult(k, r)));
    } else {
      const pending = this.#acceptResult(k, result);
      if (pending) this.#runAsyncStep(k, pending);
    }
  }

  /** NEWKEYS from the peer: incoming keys switch now. */
  onNewKeys(payload: Buffer): void {
    const h = this.#h;
    const k = this.#round;
    if (!k || !k.keys || k.receivedNewKeys) throw new ProtocolError('NEWKEYS before the key exchange finished', { code: 'ERR_SSH_KEX_SEQUENCE' });
    if (payload.length !== 1) throw new ProtocolError('malformed NEWKEYS');
    const inKeys = h.role === 'client' ? k.keys.serverToClient : k.keys.clientToServer;
    h.receive.opener = createOpener(inKeys);
    if (this.#strictKex) h.receive.seq = 0;
    this.#rxBytes = 0;
    this.#rxPackets = 0;
    this.#rekeyLimitIn = this.#rekeyLimit(inKeys.cipher);
    k.receivedNewKeys = true;
    h.compression.newIncoming(h.role === 'client' ? k.negotiated!.compressionSC : k.negotiated!.compressionCS);
    if (k.sentNewKeys) this.#complete(k);
  }

  /** Counts packets opened under the current incoming keys. */
  received(packets: number, bytes: number): void {
    this.#rxPackets += packets;
    this.#rxBytes += bytes;
  }

  /**
   * After each flush and pump run: starts a rekey when either direction
   * reached its volume limit (or holds outgoing traffic until it can start).
   */
  checkVolume(): void {
    const h = this.#h;
    if (!this.initialDone || !h.compression.authDone || h.closing()) return;
    const w = h.send.writer;
    const sendDue = w.bytesSinceKex >= this.#rekeyLimitOut || w.packetsSinceKex >= REKEY_PACKETS;
    const k = this.#round;
    if (k) {
      // Our keys are new but the exchange still waits for the peer's
      // NEWKEYS, so the next cannot start yet: hold traffic rather than
      // overrun the limit by a window of it; `#complete` starts the next.
      if (sendDue && k.sentNewKeys) {
        h.send.holding = true;
        this.#volumeDue = true;
      }
      return;
    }
    if (sendDue) {
      h.debug(`rekey: ${w.bytesSinceKex} bytes sent under the current keys`);
      this.start();
    } else if (this.#rxBytes >= this.#rekeyLimitIn || this.#rxPackets >= REKEY_PACKETS) {
      h.debug(`rekey: ${this.#rxBytes} bytes received under the current keys`);
      this.start();
    }
  }

  /** Authentication is done: a time-based rekey that fell due meanwhile runs now. */
  authenticated(): void {
    if (!this.#rekeyPending) return;
    this.#rekeyPending = false;
    // Possibly called from inside the writer's layout loop: start on the next tick.
    process.nextTick(() => {
      if (!this.#h.closing() && !this.#round && this.initialDone) this.start();
    });
  }

  /** Closing: timers stop, waiters of the running round fail with `err`. */
  close(err: Error): void {
    if (this.#rekeyTimer) clearTimeout(this.#rekeyTimer);
    const k = this.#round;
    this.#round = null;
    if (!k) return;
    if (k.timer) clearTimeout(k.timer);
    for (const w of k.waiters) w.reject(err);
  }

  #ourLists(initial: boolean): KexInitLists {
    const l = this.#h.lists;
    const pseudo = !initial ? [] : this.#h.role === 'client' ? [EXT_INFO_C, STRICT_KEX_C] : [EXT_INFO_S, STRICT_KEX_S];
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

  /** Pauses dispatch while an async kex step runs; a failure closes the transport. */
  #runAsyncStep(k: KexRound, step: Promise<unknown>): void {
    const h = this.#h;
    k.busy = true;
    h.receive.pause();
    step.then(
      () => {
        k.busy = false;
        h.receive.resume();
      },
      (err) => {
        k.busy = false;
        h.fail(asSSHError(err));
        h.receive.resume();
      },
    );
  }

  /** Client: host key policy, then keys. Returns a promise only when the policy answers asynchronously. */
  #acceptResult(k: KexRound, r: KexResult): Promise<void> | null {
    const h = this.#h;
    if (h.closing() || this.#round !== k) return null;
    if (h.role === 'client' && r.gss) {
      // The server proved itself through the GSS-API context (its MIC over H), not a host key signature.
      h.debug(`server authenticated by GSS-API key exchange${r.hostKeyBlob.length ? ` (host key ${keyTypeOfBlob(r.hostKeyBlob)} ${fingerprint(r.hostKeyBlob)} not checked)` : ''}`);
    } else if (h.role === 'client') {
      const keyType = keyTypeOfBlob(r.hostKeyBlob);
      const verdict = h.opts.verifyHostKey!(keyType, r.hostKeyBlob);
      const decide = (ok: boolean): void => {
        if (h.closing() || this.#round !== k) return;
        if (ok !== true) {
          throw new BadHostKeyException(`host key ${keyType} ${fingerprint(r.hostKeyBlob)} was rejected`, '', fingerprint(r.hostKeyBlob), '');
        }
        h.debug(`server host key ${keyType} ${fingerprint(r.hostKeyBlob)} accepted`);
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
    const h = this.#h;
    const neg = k.negotiated!;
    if (!this.sessionId) {
      this.sessionId = Uint8Array.from(r.H);
      if (r.signature && r.hostKeyBlob.length > 0) this.sessionBinding = { hostKey: Uint8Array.from(r.hostKeyBlob), signature: Uint8Array.from(r.signature) };
    }
    if (r.gss && k.initial) this.gssContext = r.gss;
    const keys = deriveSessionKeys(r.hash, r.K, r.H, this.sessionId, neg);
    k.keys = keys;
    h.send.sendKex(Uint8Array.of(MSG.NEWKEYS));
    h.send.flush();
    if (h.closing()) return;
    const out = h.role === 'client' ? keys.clientToServer : keys.serverToClient;
    const w = h.send.writer;
    w.sealer = createSealer(out);
    if (this.#strictKex) w.seq = 0;
    w.bytesSinceKex = 0;
    w.packetsSinceKex = 0;
    this.#rekeyLimitOut = this.#rekeyLimit(out.cipher);
    h.compression.newOutgoing(h.role === 'client' ? neg.compressionCS : neg.compressionSC);
    k.sentNewKeys = true;
    if (k.initial && this.#sendExtInfo) h.send.sendKex(extInfoPayload(h.opts.serverSigAlgs));
    if (k.receivedNewKeys) this.#complete(k);
    h.send.releaseHeld();
  }

  #rekeyLimit(cipher: string): number {
    const limit = this.#h.opts.rekeyBytes;
    return Math.min(limit, cipherInfo(cipher)?.rekeyBytes ?? limit);
  }

  #complete(k: KexRound): void {
    const h = this.#h;
    if (k.timer) clearTimeout(k.timer);
    this.#round = null;
    this.negotiated = k.negotiated;
    const first = !this.initialDone;
    this.initialDone = true;
    if (this.#rekeyTimer) clearTimeout(this.#rekeyTimer);
    if (h.opts.rekeySeconds > 0) {
      this.#rekeyTimer = setTimeout(() => this.#timedRekey(), h.opts.rekeySeconds * 1000);
      this.#rekeyTimer.unref?.();
    }
    h.debug(first ? 'key exchange complete' : 'key re-exchange complete');
    for (const w of k.waiters) w.resolve();
    h.completed(first, k.negotiated!);
    if (this.#volumeDue) {
      this.#volumeDue = false;
      this.checkVolume();
    }
  }

  #timedRekey(): void {
    const h = this.#h;
    this.#rekeyTimer = null;
    if (h.closing() || this.#round) return;
    if (!h.compression.authDone) {
      // Not before authentication (OpenSSH servers refuse it): try again when it is done.
      this.#rekeyPending = true;
      return;
    }
    h.debug('rekey: time limit reached');
    this.start();
  }
}

/** The client's group-exchange request: enough bits for the strongest negotiated cipher or MAC. */
function defaultGexRequest(neg: NegotiatedAlgorithms): { min: number; n: number; max: number } {
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
