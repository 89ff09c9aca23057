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
  /** Milliseconds for the whole version exchange. Default 30000; 0 disables. */
  bannerTimeout?: number;
  /** Milliseconds for each key exchange, from KEXINIT to both NEWKEYS. Default 60000; 0 disables. */
  kexTimeout?: number;
  /** Milliseconds to wait for SERVICE_ACCEPT or a PONG. Default 30000. */
  requestTimeout?: number;
  /**
   * Rekey after this many bytes in either direction (capped by the cipher's
   * own limit). What we send under one set of keys exceeds it by at most one
   * flushed batch: 256 KiB of payload plus the message that crossed it, and
   * packet overhead. Default 1 GiB.
   */
  rekeyBytes?: number;
  /** Rekey after this many seconds. Default 3600; 0 disables. */
  rekeySeconds?: number;
  /** Milliseconds between keepalive probes when the peer is silent; 0 (default) disables. */
  keepaliveInterval?: number;
  /** Unanswered keepalive intervals before the peer counts as dead. Default 3. */
  keepaliveCountMax?: number;
  /** Receives diagnostic lines (never keys or secrets). NODE_DEBUG=sshwire also prints them. */
  debug?: (message: string) => void;
  /** Also log every packet's payload as a hexdump (user-auth requests withheld). */
  hexdump?: boolean;
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

/** Validates options and fills in defaults. Throws SSHException (ERR_SSH_BAD_OPTION). */
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
    bannerTimeout: nonNegative('bannerTimeout', opts.bannerTimeout, 30_000),
    kexTimeout: nonNegative('kexTimeout', opts.kexTimeout, 60_000),
    requestTimeout: nonNegative('requestTimeout', opts.requestTimeout, 30_000),
    rekeyBytes,
    rekeySeconds: nonNegative('rekeySeconds', opts.rekeySeconds, 3600),
    keepaliveInterval: nonNegative('keepaliveInterval', opts.keepaliveInterval, 0),
    keepaliveCountMax,
    hexdump: opts.hexdump === true,
  };
}
