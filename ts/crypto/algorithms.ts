/**
 * Static facts about the SSH ciphers and MACs sshwire knows, by wire name.
 * Whether a backend can actually serve one is decided in `select.ts`.
 */
import type { CipherInfo, MacInfo } from './types.js';

const GiB = 1024 * 1024 * 1024;

/**
 * Rekey volume for a cipher. RFC 4344 section 3.2 asks for a rekey every
 * 2^(L/4) blocks of an L-bit block cipher; for AES that is 2^32 blocks
 * (64 GiB), which we cap at the 1 GiB RFC 4253 section 9 recommends. For
 * 64-bit blocks 2^16 blocks (512 KiB) would mean constant rekeying, so 3DES
 * gets 64 MiB: 2^23 blocks, far under the 2^32-block birthday bound (Sweet32).
 */
function rekeyFor(blockBits: number): number {
  if (blockBits >= 128) return Math.min(2 ** (blockBits / 4) * (blockBits / 8), GiB);
  return 64 * 1024 * 1024;
}

function cipher(name: string, keyLength: number, ivLength: number, blockSize: number, aead: boolean, rekeyBytes: number): CipherInfo {
  return Object.freeze({ name, keyLength, ivLength, blockSize, aead, tagLength: aead ? 16 : 0, rekeyBytes });
}

const CIPHERS: ReadonlyMap<string, CipherInfo> = new Map(
  [
    // `none` protects nothing; its rekey volume is irrelevant (kex replaces it at once).
    cipher('none', 0, 0, 8, false, Number.MAX_SAFE_INTEGER),
    // ChaCha20 has no block-size birthday problem; OpenSSH applies 1 GiB to 8-byte "blocks".
    cipher('chacha20-poly1305@openssh.com', 64, 0, 8, true, GiB),
    cipher('aes128-gcm@openssh.com', 16, 12, 16, true, rekeyFor(128)),
    cipher('aes256-gcm@openssh.com', 32, 12, 16, true, rekeyFor(128)),
    cipher('aes128-ctr', 16, 16, 16, false, rekeyFor(128)),
    cipher('aes192-ctr', 24, 16, 16, false, rekeyFor(128)),
    cipher('aes256-ctr', 32, 16, 16, false, rekeyFor(128)),
    cipher('aes128-cbc', 16, 16, 16, false, rekeyFor(128)),
    cipher('aes192-cbc', 24, 16, 16, false, rekeyFor(128)),
    cipher('aes256-cbc', 32, 16, 16, false, rekeyFor(128)),
    cipher('3des-cbc', 24, 8, 8, false, rekeyFor(64)),
  ].map((c) => [c.name, c]),
);

function mac(name: string, keyLength: number, length: number, etm: boolean): MacInfo {
  return Object.freeze({ name, keyLength, length, etm });
}

const MACS: ReadonlyMap<string, MacInfo> = new Map(
  [
    mac('none', 0, 0, false),
    // UMAC (RFC 4418, OpenSSH's umac.c): 16-byte AES-128 key, 8- or 16-byte tag.
    mac('umac-64-etm@openssh.com', 16, 8, true),
    mac('umac-128-etm@openssh.com', 16, 16, true),
    mac('umac-64@openssh.com', 16, 8, false),
    mac('umac-128@openssh.com', 16, 16, false),
    mac('hmac-sha2-256-etm@openssh.com', 32, 32, true),
    mac('hmac-sha2-512-etm@openssh.com', 64, 64, true),
    mac('hmac-sha1-etm@openssh.com', 20, 20, true),
    mac('hmac-sha2-256', 32, 32, false),
    mac('hmac-sha2-512', 64, 64, false),
    mac('hmac-sha1', 20, 20, false),
  ].map((m) => [m.name, m]),
);

/** True for the UMAC family (not an HMAC: no entry in MAC_HASH). */
export function isUmac(name: string): boolean {
  return name.startsWith('umac-');
}

/** The hash behind each HMAC. */
export const MAC_HASH: Readonly<Record<string, 'sha1' | 'sha256' | 'sha512'>> = {
  'hmac-sha2-256-etm@openssh.com': 'sha256',
  'hmac-sha2-512-etm@openssh.com': 'sha512',
  'hmac-sha1-etm@openssh.com': 'sha1',
  'hmac-sha2-256': 'sha256',
  'hmac-sha2-512': 'sha512',
  'hmac-sha1': 'sha1',
};

/** Facts about a cipher by wire name (including `none`), or undefined if unknown. */
export function cipherInfo(name: string): CipherInfo | undefined {
  return CIPHERS.get(name);
}

/** Facts about a MAC by wire name (including `none`), or undefined if unknown. */
export function macInfo(name: string): MacInfo | undefined {
  return MACS.get(name);
}

/** Every known cipher wire name. */
export function cipherNames(): string[] {
  return [...CIPHERS.keys()];
}

/** Every known MAC wire name. */
export function macNames(): string[] {
  return [...MACS.keys()];
}
