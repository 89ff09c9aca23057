/**
 * X11 forwarding, OpenSSH's way (RFC 4254 section 6.3): a session asks with
 * `x11-req`, giving the server a fake cookie; the server runs an X display
 * of its own and, for each X client that connects to it, opens an `x11`
 * channel to us. We check that the client presented the fake cookie,
 * replace it with the real one for the local display, connect to that
 * display and relay. The real cookie never leaves this machine, and a
 * channel with the wrong cookie is closed before it reaches the display.
 *
 * Opens of type `x11` are refused until a session on this connection has
 * asked for forwarding.
 */
import * as net from 'node:net';
import { hostname, homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Channel, Connection, IncomingChannelRequest, X11Options } from '../connection/index.js';
import { OPEN_FAILURE, relay } from '../connection/index.js';
import {
  MIT_MAGIC_COOKIE,
  X11_SETUP_MAX,
  displayAddress,
  findXauth,
  parseDisplay,
  parseX11OpenData,
  parseX11Setup,
  parseXauthority,
  rewriteX11Setup,
  type X11Display,
  type X11Origin,
} from '../connection/x11.js';
import { SSHException } from '../errors.js';
import { acceptOnConnect } from './forwardRelay.js';
import { handleChannelOpens } from './incomingOpens.js';

/** How long connecting to the local display may take. */
const DISPLAY_CONNECT_TIMEOUT = 10_000;
/** How long an X client behind the server may take to send its connection setup. */
const SETUP_TIMEOUT = 30_000;

/** Where X11 forwarding sends X clients (connect()'s x11 options). */
export interface X11ForwardingSetup {
  /** The local display; default $DISPLAY. */
  display?: string;
  /** The Xauthority file with the display's cookie; default $XAUTHORITY, else ~/.Xauthority. */
  authPath?: string;
  /** Ask the server to forward only the first X connection of each session. */
  singleConnection?: boolean;
  debug?: (message: string) => void;
}

/** Settled by the first request: the display, the real cookie (empty: none found) and the fake one given to the server. */
interface X11Target {
  display: X11Display;
  realName: string;
  realData: Buffer;
  fake: Buffer;
}

/** One forwarder per connection: the server's x11 channels do not say which session they serve. */
const forwarders = new WeakMap<Connection, X11Forwarder>();

/** `conn`'s forwarder, made with `setup` if it has none yet (else the existing one). */
export function x11ForwarderFor(conn: Connection, setup: X11ForwardingSetup = {}): X11Forwarder {
  let f = forwarders.get(conn);
  if (!f) {
    f = new X11Forwarder(conn, setup);
    forwarders.set(conn, f);
  }
  return f;
}

export class X11Forwarder {
  readonly #setup: X11ForwardingSetup;
  readonly #debug: (message: string) => void;
  #target: X11Target | null = null;

  constructor(conn: Connection, setup: X11ForwardingSetup) {
    this.#setup = setup;
    this.#debug = setup.debug ?? (() => {});
    handleChannelOpens(conn, 'x11', (req) => this.#onOpen(req));
  }

  /**
   * The parameters of an `x11-req` for one session, and from now on the
   * server's x11 channels are welcome. Throws ERR_SSH_BAD_OPTION with no
   * display, or ERR_SSH_BAD_OPTION / ProtocolError for an unreadable
   * Xauthority file (a missing one means the display needs no cookie).
   */
  request(): X11Options {
    const t = (this.#target ??= this.#settle());
    return { authProtocol: MIT_MAGIC_COOKIE, authCookie: t.fake.toString('hex'), screen: t.display.screen, singleConnection: this.#setup.singleConnection ?? false };
  }

  #settle(): X11Target {
    const name = this.#setup.display ?? process.env.DISPLAY;
    if (!name) throw new SSHException('X11 forwarding needs a display: pass x11Display or set DISPLAY', { code: 'ERR_SSH_BAD_OPTION' });
    const display = parseDisplay(name);
    const authPath = this.#setup.authPath ?? process.env.XAUTHORITY ?? join(homedir(), '.Xauthority');
    let file: Buffer | null = null;
    try {
      file = readFileSync(authPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SSHException(`cannot read ${authPath}: ${(err as Error).message}`, { code: 'ERR_SSH_BAD_OPTION', cause: err });
    }
    const entry = file ? findXauth(parseXauthority(file), display, hostname()) : undefined;
    if (!entry) this.#debug(`X11 forwarding: no cookie for display ${name} in ${authPath}; X clients will connect without one`);
    // A fake cookie as long as the real one (16 bytes when there is none), as OpenSSH makes it.
    const fake = randomBytes(entry ? Math.max(entry.data.length, 16) : 16);
    return { display, realName: entry ? entry.name : '', realData: entry ? entry.data : Buffer.alloc(0), fake };
  }

  #onOpen(req: IncomingChannelRequest): void {
    const t = this.#target;
    if (!t) {
      req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, 'X11 forwarding was not requested');
      return;
    }
    let origin: X11Origin = { originHost: '?', originPort: 0 };
    try {
      origin = parseX11OpenData(req.extraData);
    } catch {
      // Some servers leave the originator out; it is only used in messages.
    }
    const sock = net.connect({ ...displayAddress(t.display), allowHalfOpen: true });
    acceptOnConnect(req, sock, DISPLAY_CONNECT_TIMEOUT, {
      claim: () => true,
      connected: (s, ch) => this.#spoofCheck(t, s, ch, origin),
      failed: (err) => this.#debug(`X11 forwarding: cannot reach the local display: ${err.message}`),
    });
  }

  /** Reads the X client's setup from `ch`; with the fake cookie it goes on to the display with the real one, else both ends close. */
  #spoofCheck(t: X11Target, sock: net.Socket, ch: Channel, origin: X11Origin): void {
    let held: Buffer = Buffer.alloc(0);
    const drop = (why: string): void => {
      cleanup();
      this.#debug(`X11 forwarding: connection from ${origin.originHost}:${origin.originPort} rejected: ${why}`);
      sock.destroy();
      ch.destroy();
    };
    const onData = (chunk: Buffer): void => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      let setup;
      try {
        setup = parseX11Setup(held);
      } catch (err) {
        return drop((err as Error).message);
      }
      if (!setup) {
        if (held.length >= X11_SETUP_MAX) drop('setup too long');
        return;
      }
      const genuine = setup.authName === MIT_MAGIC_COOKIE && setup.authData.length === t.fake.length && timingSafeEqual(setup.authData, t.fake);
      if (!genuine) return drop('wrong authentication');
      cleanup();
      ch.pause();
      const rest = held.subarray(setup.length);
      if (rest.length > 0) ch.unshift(rest);
      sock.write(rewriteX11Setup(held.subarray(0, setup.length), setup, t.realName, t.realData));
      relay(sock, ch, (err) => {
        if (err) this.#debug(`X11 forwarding: ${err.message}`);
      });
    };
    const onEnd = (): void => drop('closed before its setup');
    const timer = setTimeout(() => drop(`no setup within ${SETUP_TIMEOUT} ms`), SETUP_TIMEOUT);
    timer.unref?.();
    const onSockError = (err: Error): void => drop(`display: ${err.message}`);
    function cleanup(): void {
      clearTimeout(timer);
      ch.off('data', onData);
      ch.off('end', onEnd);
      ch.off('close', onEnd);
      sock.off('error', onSockError);
    }
    sock.on('error', onSockError);
    ch.on('data', onData);
    ch.on('end', onEnd);
    ch.on('close', onEnd);
  }
}
