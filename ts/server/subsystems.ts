/**
 * Subsystem handlers (Paramiko's SubsystemHandler / set_subsystem_handler):
 * code that takes over a session channel when the client asks for a named
 * subsystem. When the handler finishes, the channel is closed.
 */
import type { SessionChannel } from '../connection/index.js';
import type { SSHServerConnection } from './serverConnection.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * Paramiko's SubsystemHandler shape. Given as a class, one instance is made
 * per request; given as an object, that one instance serves every request
 * (on every connection), so it must keep per-request state elsewhere.
 */
export interface SubsystemHandlerInstance {
  /**
   * Serves subsystem `name` on `channel` (Paramiko's `start_subsystem`). When
   * it returns or its promise settles, `finishSubsystem` runs if present, else
   * the channel is closed.
   */
  startSubsystem(name: string, conn: SSHServerConnection, channel: SessionChannel): MaybePromise<void>;
  /** Cleanup; the default closes the channel. */
  finishSubsystem?(): MaybePromise<void>;
}

/**
 * A subsystem handler: a function taking the channel (called per request), a
 * class built as `new Handler(channel, name, conn)` with `startSubsystem`
 * (one instance per request), or an object with `startSubsystem` (that
 * same object for every request, concurrent ones included).
 */
export type SubsystemHandler =
  | ((channel: SessionChannel, info: { name: string; connection: SSHServerConnection }) => MaybePromise<void>)
  | (new (channel: SessionChannel, name: string, conn: SSHServerConnection) => SubsystemHandlerInstance)
  | SubsystemHandlerInstance;

function isClass(h: unknown): h is new (channel: SessionChannel, name: string, conn: SSHServerConnection) => SubsystemHandlerInstance {
  return typeof h === 'function' && typeof (h as { prototype?: { startSubsystem?: unknown } }).prototype?.startSubsystem === 'function';
}

/** Runs `handler` on `channel`; resolves when it is done and the channel is closing. */
export async function runSubsystem(handler: SubsystemHandler, name: string, conn: SSHServerConnection, channel: SessionChannel): Promise<void> {
  let instance: SubsystemHandlerInstance | null = null;
  try {
    if (isClass(handler)) {
      instance = new handler(channel, name, conn);
      await instance.startSubsystem(name, conn, channel);
    } else if (typeof handler === 'function') {
      await (handler as (c: SessionChannel, i: { name: string; connection: SSHServerConnection }) => MaybePromise<void>)(channel, { name, connection: conn });
    } else {
      instance = handler;
      await handler.startSubsystem(name, conn, channel);
    }
  } finally {
    if (instance?.finishSubsystem) await instance.finishSubsystem();
    else channel.close();
  }
}
