/**
 * Options of a `Transport`, their defaults and validation.
 */
import type { Signer } from '../crypto/types.js';
import { SSHException } from '../errors.js';
import type { AlgorithmOptions } from './algorithms.js';
import type { GexRequest } from './kex/exchange.js';
import type { GssKexOptions } from './kex/gss.js';
import { checkOwnVersion } from './version.js';

export interface TransportOptions {
  /** Which end of the connection we are. */
  role: 'client' | 'server';
  /**
   * GSS-API key exchange (RFC 4462 section 2): its gss-* methods go first in
   * our kex list and "null" joins the host key algorithms. The contexts
   * come from these callbacks (initiator for a client, acceptor for a server).
   */
  gssKex?: GssKexOptions;
  /** Our identification string without CR LF. Default `SSH-2.0-sshwire_0.1`. */
  version?: string;
  /** Replacement preference lists, per category. */
  algorithms?: AlgorithmOptions;
  /** Names removed from the preference lists. */
  disabledAlgorithms?: AlgorithmOptions;
  /**
   * Client (required): decides whether the server's host key is trusted
   * (known_hosts policy). The signature over the exchange is checked before
   * this is called. Return false (or throw a typed error, e.g.
   * BadHostKeyException) to refuse.
   */
  verifyHostKey?: (keyType: string, keyBlob: Uint8Array) => boolean | Promise<boolean>;
  /** Server (required): host keys; one is chosen by the negotiated host key algorithm. */
  hostKeys?: readonly Signer[];
  /** Server: services a client may request. Default `['ssh-userauth']`. */
  services?: readonly string[];
  /** Server: signature algorithms announced in EXT_INFO `server-sig-algs`. Default: every user key algorithm the crypto layer verifies. */
  serverSigAlgs?: readonly string[];
  /** Server: path to a moduli(5) file for group exchange; default the built-in RFC 3526 groups. */
  moduliFile?: string;
  /** Client: group exchange sizes to request; default min 2048, max 8192, n from the negotiated ciphers. */
  gexRequest?: GexRequest;
  /** Milliseconds for the whole version exchange, 0 to 2^31-1 (MAX_TIMER_MS). Default 30000; 0 = no limit. */
  bannerTimeout?: number;
  /** Milliseconds for each key exchange, from KEXINIT to both NEWKEYS, 0 to 2^31-1. Default 60000; 0 = no limit. */
  kexTimeout?: number;
  /** Milliseconds to wait for SERVICE_ACCEPT or a PONG, 0 to 2^31-1. Default 30000; 0 = no limit. */
  requestTimeout?: number;
  /**
   * Rekey after this many bytes in either direction (capped by the cipher's
   * own limit). What we send under one set of keys exceeds it by at most one
   * flushed batch: 256 KiB of payload plus the message that crossed it, and
   * packet overhead. Default 1 GiB.
   */
  rekeyBytes?: number;
  /** Rekey after this many seconds, 0 to 2147483 (what a timer holds). Default 3600; 0 disables. */
  rekeySeconds?: number;
  /** Milliseconds between keepalive probes when the peer is silent, 0 to 2^31-1; 0 (default) disables. */
  keepaliveInterval?: number;
  /** Unanswered keepalive intervals before the peer counts as dead. Default 3. */
  keepaliveCountMax?: number;
  /** Receives diagnostic lines (never keys or secrets). NODE_DEBUG=sshwire also prints them. */
  debug?: (message: string) => void;
  /** Also log every packet's payload as a hexdump (user-auth requests withheld). */
  hexdump?: boolean;
  /**
   * Client: after USERAUTH_SUCCESS, hold the messages behind it until an
   * upper layer registers its handler (`onMessage`: the connection layer),
   * so that what a server sends right away (a host key announcement, a
   * channel open) reaches that layer instead of the transport's default
   * answers. Only for a caller certain to attach one.
   */
  holdAfterUserauth?: boolean;
}

export const DEFAULT_VERSION = 'SSH-2.0-sshwire_0.1';
const GiB = 1024 * 1024 * 1024;

/** Options with defaults filled in. */
export interface ResolvedOptions extends TransportOptions {
  version: string;
  services: readonly string[];
  bannerTimeout: number;
  kexTimeout: number;
  requestTimeout: number;
  rekeyBytes: number;
  rekeySeconds: number;
  keepaliveInterval: number;
  keepaliveCountMax: number;
  hexdump: boolean;
}

function bad(message: string): SSHException {
  return new SSHException(message, { code: 'ERR_SSH_BAD_OPTION' });
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`${name} must be a non-negative number, got ${String(v)}`);
  return v;
}

/**
 * The longest delay a Node timer holds: 2^31-1 ms (about 24.8 days).
 * `setTimeout` / `setInterval` turn anything longer, Infinity or NaN into
 * 1 ms (with a TimeoutOverflowWarning), so a duration past it would fire at
 * once instead of never.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How `checkDuration` reads a value and reports a bad one. */
export interface DurationRule {
  /** Milliseconds per unit of the value: 1 (the default) for milliseconds, 1000 for seconds. */
  unitMs?: number;
  /** What 0 means for this option (e.g. `'no limit'`), said in the message; leave out where 0 is not special. */
  zero?: string;
  /** Makes the error for a bad value from its message. Default: SSHException with code ERR_SSH_BAD_OPTION. */
  error?: (message: string) => Error;
}

/** A value as a message shows it (strings quoted, so `"5"` is told apart from 5). */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return String(v);
  } catch {
    return typeof v;
  }
}

/**
 * The library's one rule for a duration a caller passes (an option or a
 * per-call argument) that ends up in a timer: `undefined` (not given) is
 * returned as it is; anything else must be a finite number from 0 to what a
 * timer can hold after conversion to milliseconds (MAX_TIMER_MS, so
 * 2147483 for seconds), or the rule's error is thrown (SSHException
 * ERR_SSH_BAD_OPTION by default). The message names the option and the
 * value, the unit and the range, and what 0 means when `rule.zero` says.
 * Returns the value unchanged.
 */
export function checkDuration<T extends number | undefined>(name: string, value: T, rule: DurationRule = {}): T {
  if (value === undefined) return value;
  const unitMs = rule.unitMs ?? 1;
  const max = Math.floor(MAX_TIMER_MS / unitMs);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    const unit = unitMs === 1 ? 'milliseconds' : unitMs === 1000 ? 'seconds' : `units of ${unitMs} ms`;
    const message = `${name} must be a number of ${unit} from 0 to ${max}${rule.zero ? ` (0 means ${rule.zero})` : ''}, got ${shown(value)}`;
    throw (rule.error ?? bad)(message);
  }
  return value;
}

/** Validates options (durations with `checkDuration`) and fills in defaults. Throws SSHException (ERR_SSH_BAD_OPTION). */
export function resolveOptions(opts: TransportOptions): ResolvedOptions {
  if (!opts || (opts.role !== 'client' && opts.role !== 'server')) throw bad(`role must be 'client' or 'server'`);
  const version = opts.version ?? DEFAULT_VERSION;
  checkOwnVersion(version);
  if (opts.role === 'client' && typeof opts.verifyHostKey !== 'function') {
    throw bad('the client role needs verifyHostKey(keyType, keyBlob): host keys are never accepted silently');
  }
  if (opts.role === 'server' && (!Array.isArray(opts.hostKeys) || opts.hostKeys.length === 0)) {
    throw bad('the server role needs at least one host key (hostKeys)');
  }
  const rekeyBytes = nonNegative('rekeyBytes', opts.rekeyBytes, GiB);
  if (rekeyBytes < 16 * 1024) throw bad('rekeyBytes must be at least 16 KiB');
  const keepaliveCountMax = nonNegative('keepaliveCountMax', opts.keepaliveCountMax, 3);
  if (!Number.isInteger(keepaliveCountMax) || keepaliveCountMax < 1) throw bad('keepaliveCountMax must be an integer >= 1');
  if (opts.gexRequest) {
    const { min, n, max } = opts.gexRequest;
    if (![min, n, max].every((v) => Number.isInteger(v) && v >= 1024 && v <= 16384) || !(min <= n && n <= max)) {
      throw bad('gexRequest needs integers 1024 <= min <= n <= max <= 16384');
    }
  }
  return {
    ...opts,
    version,
    services: opts.services ?? ['ssh-userauth'],
    bannerTimeout: checkDuration('bannerTimeout', opts.bannerTimeout, { zero: 'no limit' }) ?? 30_000,
    kexTimeout: checkDuration('kexTimeout', opts.kexTimeout, { zero: 'no limit' }) ?? 60_000,
    requestTimeout: checkDuration('requestTimeout', opts.requestTimeout, { zero: 'no limit' }) ?? 30_000,
    rekeyBytes,
    rekeySeconds: checkDuration('rekeySeconds', opts.rekeySeconds, { unitMs: 1000, zero: 'no rekeying by time' }) ?? 3600,
    keepaliveInterval: checkDuration('keepaliveInterval', opts.keepaliveInterval, { zero: 'no keepalive' }) ?? 0,
    keepaliveCountMax,
    hexdump: opts.hexdump === true,
  };
}
