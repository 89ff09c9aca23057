/**
 * Service requests (RFC 4253 section 10): the client asks for a service
 * (normally ssh-userauth) and waits for SERVICE_ACCEPT; the server accepts
 * the names in its `services` option and disconnects on any other.
 */
import { DisconnectError, ProtocolError, TimeoutError } from '../errors.js';
import { DISCONNECT_REASON, MSG, SSHReader, SSHWriter } from '../wire/index.js';
import { sanitize, type DebugSink } from './debug.js';
import { rejectWaits, timedWait, type TimedWait } from './deferred.js';

/** What service handling needs from the transport. */
export interface ServiceHooks {
  debug: DebugSink;
  queue(payload: Uint8Array): void;
  fail(err: Error): void;
}

type ServiceWait = TimedWait<void> & { name: string };

/** Client side: outstanding requests, answered in order. */
export class ServiceRequests {
  #waits: ServiceWait[] = [];
  readonly #hooks: ServiceHooks;
  readonly #timeout: number;

  constructor(timeout: number, hooks: ServiceHooks) {
    this.#timeout = timeout;
    this.#hooks = hooks;
  }

  /** Sends SERVICE_REQUEST; the promise resolves on the matching SERVICE_ACCEPT. */
  request(name: string): Promise<void> {
    const base = timedWait<void>(
      this.#timeout,
      (w) => (this.#waits = this.#waits.filter((x) => x !== w)),
      () => new TimeoutError(`no SERVICE_ACCEPT for ${name} within ${this.#timeout} ms`),
    );
    const w: ServiceWait = Object.assign(base, { name });
    this.#waits.push(w);
    this.#hooks.queue(new SSHWriter(64).byte(MSG.SERVICE_REQUEST).string(name).toBytes());
    return w.d.promise;
  }

  /** Handles SERVICE_ACCEPT; throws ProtocolError when it answers nothing we asked. */
  accepted(payload: Uint8Array): void {
    const r = new SSHReader(payload, 'SERVICE_ACCEPT');
    r.byte();
    const name = r.ascii(256);
    const w = this.#waits.shift();
    if (!w) throw new ProtocolError('unsolicited SERVICE_ACCEPT');
    clearTimeout(w.timer);
    if (w.name !== name) {
      throw new ProtocolError(`SERVICE_ACCEPT for ${sanitize(name, 64)}, but ${w.name} was requested`);
    }
    this.#hooks.debug(`service ${name} accepted by server`);
    w.d.resolve();
  }

  /** Closing: every outstanding request fails with `err`. */
  rejectAll(err: Error): void {
    rejectWaits(this.#waits, err);
    this.#waits = [];
  }
}

/**
 * Server side: accepts SERVICE_REQUEST for a name in `services` (queues
 * SERVICE_ACCEPT, returns the name) or disconnects (returns null).
 */
export function serveServiceRequest(payload: Uint8Array, services: readonly string[], hooks: ServiceHooks): string | null {
  const r = new SSHReader(payload, 'SERVICE_REQUEST');
  r.byte();
  const name = r.ascii(256);
  r.end();
  if (!services.includes(name)) {
    hooks.fail(new DisconnectError(`service ${sanitize(name, 64)} not available`, DISCONNECT_REASON.SERVICE_NOT_AVAILABLE));
    return null;
  }
  hooks.debug(`service ${name} accepted`);
  hooks.queue(new SSHWriter(64).byte(MSG.SERVICE_ACCEPT).string(name).toBytes());
  return name;
}
