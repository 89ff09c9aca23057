/**
 * Algorithm preference lists (what we offer in KEXINIT) and negotiation
 * (RFC 4253 section 7.1: for each category the first algorithm on the
 * client's list that the server also lists).
 */
import * as crypto from '../crypto/index.js';
import { createKem as createKemDirect } from '../crypto/kem/index.js';
import type { Kem } from '../crypto/types.js';
import { NegotiationError } from '../errors.js';
import { kexSpecFor, type KemName, type KexSpec } from './kex/methods.js';
import { zlibAvailable } from './compression.js';

/** Pseudo kex names that signal extensions, never chosen as a method. */
export const EXT_INFO_C = 'ext-info-c';
export const EXT_INFO_S = 'ext-info-s';
export const STRICT_KEX_C = 'kex-strict-c-v00@openssh.com';
export const STRICT_KEX_S = 'kex-strict-s-v00@openssh.com';
/** The host key algorithm of GSS-API key exchange without a host key. */
export const NULL_HOST_KEY_ALGORITHM = 'null';
const NULL_HOST_KEY = new Set([NULL_HOST_KEY_ALGORITHM]);
const PSEUDO_KEX = new Set([EXT_INFO_C, EXT_INFO_S, STRICT_KEX_C, STRICT_KEX_S]);

/** Default preferences, in the order OpenSSH 10 uses. */
export const DEFAULT_KEX: readonly string[] = [
  'mlkem768x25519-sha256',
  'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];

/** The plain host key (and user key signature) algorithms sshwire uses by default, best first. */
export const DEFAULT_PLAIN_HOST_KEY: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

/**
 * As OpenSSH: the certificate algorithms first, then the plain ones. A
 * server offers a certificate algorithm only for a host key it holds a
 * certificate for; a client falls back to the certified key's known_hosts
 * line when no `@cert-authority` line vouches for the certificate.
 */
export const DEFAULT_HOST_KEY: readonly string[] = [...DEFAULT_PLAIN_HOST_KEY.map(crypto.certAlgorithm), ...DEFAULT_PLAIN_HOST_KEY];

export const DEFAULT_CIPHER: readonly string[] = [
  'chacha20-poly1305@openssh.com',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export const DEFAULT_MAC: readonly string[] = [
  'umac-64-etm@openssh.com',
  'umac-128-etm@openssh.com',
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'umac-64@openssh.com',
  'umac-128@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-sha1',
];

export const DEFAULT_COMPRESSION: readonly string[] = ['none', 'zlib@openssh.com', 'zlib'];

/** The public key type a host key (signature) algorithm is made with. */
export function keyTypeOfHostKeyAlgorithm(alg: string): string {
  const plain = crypto.plainAlgorithm(alg);
  const keyType = plain === 'rsa-sha2-256' || plain === 'rsa-sha2-512' ? 'ssh-rsa' : plain;
  return plain === alg ? keyType : crypto.certAlgorithm(keyType);
}

/** User-facing algorithm selection, as in the public API (`algorithms` / `disabledAlgorithms`). */
export interface AlgorithmOptions {
  kex?: string[];
  serverHostKey?: string[];
  cipher?: string[];
  mac?: string[];
  compression?: string[];
}

/** The lists we put in our KEXINIT (same lists for both directions). */
export interface AlgorithmLists {
  kex: string[];
  serverHostKey: string[];
  cipher: string[];
  mac: string[];
  compression: string[];
}

const kemCache = new Map<KemName, boolean>();

/**
 * Creates a KEM through the crypto layer (its index re-export once present,
 * else ts/crypto/kem directly); null when it cannot serve this KEM here.
 */
export function createKemIfAvailable(name: KemName): Kem | null {
  const factory = (crypto as unknown as { createKem?: (n: string) => Kem | null }).createKem ?? createKemDirect;
  if (typeof factory !== 'function') return null;
  try {
    return factory(name);
  } catch {
    return null;
  }
}

/** Whether a KEM can serve here (checked once by creating one). */
export function kemAvailable(name: KemName): boolean {
  let ok = kemCache.get(name);
  if (ok === undefined) {
    ok = createKemIfAvailable(name) !== null;
    kemCache.set(name, ok);
  }
  return ok;
}

/** Whether we can run a kex method at all. */
export function canServeKex(name: string): boolean {
  const spec = kexSpecFor(name);
  if (!spec) return false;
  return canServeSpec(spec);
}

function canServeSpec(spec: KexSpec): boolean {
  switch (spec.kind) {
    case 'ecdh':
      return crypto.canServeKeyAgreement(spec.curve);
    case 'hybrid':
      return crypto.canServeKeyAgreement('x25519') && kemAvailable(spec.kem);
    case 'dh':
      return crypto.canServeKeyAgreement(spec.group);
    case 'gex':
      return crypto.canServeKeyAgreement('gex');
    case 'gss':
      return canServeSpec(spec.base);
  }
}

function pick(defaults: readonly string[], replace: string[] | undefined, disabled: string[] | undefined, usable: (n: string) => boolean): string[] {
  const base = replace ?? defaults;
  const off = new Set(disabled ?? []);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of base) {
    if (off.has(name) || seen.has(name) || !usable(name)) continue;
    seen.add(name);
    out.push(name);
  }
  return out;
}

/**
 * Our offer: the defaults (or the user's replacement lists), minus disabled
 * names, minus anything the crypto layer cannot serve. Legacy kex (SHA-1,
 * group1) and `ssh-rsa` are not in the defaults, so they appear only when the
 * user lists them. `hostKeyUsable` narrows
 * host key algorithms further (the server offers only what its keys can sign).
 */
export function buildAlgorithmLists(
  algorithms: AlgorithmOptions | undefined,
  disabled: AlgorithmOptions | undefined,
  hostKeyUsable: (alg: string) => boolean = () => true,
): AlgorithmLists {
  const lists: AlgorithmLists = {
    kex: pick(DEFAULT_KEX, algorithms?.kex, disabled?.kex, (n) => !PSEUDO_KEX.has(n) && canServeKex(n)),
    serverHostKey: pick(DEFAULT_HOST_KEY, algorithms?.serverHostKey, disabled?.serverHostKey, (n) => crypto.canServeSignature(n) && hostKeyUsable(n)),
    cipher: pick(DEFAULT_CIPHER, algorithms?.cipher, disabled?.cipher, (n) => crypto.canServeCipher(n)),
    mac: pick(DEFAULT_MAC, algorithms?.mac, disabled?.mac, (n) => crypto.canServeMac(n)),
    compression: pick(DEFAULT_COMPRESSION, algorithms?.compression, disabled?.compression, (n) => n === 'none' || ((n === 'zlib' || n === 'zlib@openssh.com') && zlibAvailable())),
  };
  for (const [category, list] of Object.entries(lists) as [keyof AlgorithmLists, string[]][]) {
    if (list.length === 0) throw new NegotiationError(`no usable ${category} algorithm is left to offer (check algorithms/disabledAlgorithms)`);
  }
  return lists;
}

/** The ten name-lists of a KEXINIT. */
export interface KexInitLists {
  kex: string[];
  serverHostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressionCS: string[];
  compressionSC: string[];
  languageCS: string[];
  languageSC: string[];
}

/** What negotiation chose. */
export interface NegotiatedAlgorithms {
  kex: string;
  hostKey: string;
  cipherCS: string;
  cipherSC: string;
  macCS: string;
  macSC: string;
  compressionCS: string;
  compressionSC: string;
  strictKex: boolean;
}

function choose(category: string, client: string[], server: string[], skip?: Set<string>): string {
  const serverSet = new Set(server);
  for (const name of client) {
    if (skip?.has(name)) continue;
    if (serverSet.has(name)) return name;
  }
  throw new NegotiationError(`no matching ${category} algorithm; client offered [${client.join(',')}], server offered [${server.join(',')}]`);
}

/**
 * RFC 4253 section 7.1 negotiation. `isAead` says whether a cipher carries its
 * own integrity (then the MAC lists are not negotiated for that direction).
 */
export function negotiate(client: KexInitLists, server: KexInitLists, isAead: (cipher: string) => boolean): NegotiatedAlgorithms {
  const kex = choose('kex', client.kex, server.kex, PSEUDO_KEX);
  // "null" (no host key) is only for GSS-API key exchange, which authenticates the server without one (RFC 4462 5).
  const hostKey = choose('host key', client.serverHostKey, server.serverHostKey, kexSpecFor(kex)?.kind === 'gss' ? undefined : NULL_HOST_KEY);
  const cipherCS = choose('cipher (client to server)', client.cipherCS, server.cipherCS);
  const cipherSC = choose('cipher (server to client)', client.cipherSC, server.cipherSC);
  const macCS = isAead(cipherCS) ? 'none' : choose('MAC (client to server)', client.macCS, server.macCS);
  const macSC = isAead(cipherSC) ? 'none' : choose('MAC (server to client)', client.macSC, server.macSC);
  const compressionCS = choose('compression (client to server)', client.compressionCS, server.compressionCS);
  const compressionSC = choose('compression (server to client)', client.compressionSC, server.compressionSC);
  const strictKex = client.kex.includes(STRICT_KEX_C) && server.kex.includes(STRICT_KEX_S);
  return { kex, hostKey, cipherCS, cipherSC, macCS, macSC, compressionCS, compressionSC, strictKex };
}
