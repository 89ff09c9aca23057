/**
 * Names and sizes of the post-quantum KEMs sshwire's hybrid key exchanges
 * use: ML-KEM-768 (FIPS 203) for `mlkem768x25519-sha256`, and Streamlined
 * NTRU Prime sntrup761 for `sntrup761x25519-sha512@openssh.com`.
 */

export type KemName = 'mlkem768' | 'sntrup761';

export interface KemSizes {
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  readonly ciphertextLength: number;
  readonly sharedSecretLength: number;
}

export const KEM_SIZES: Readonly<Record<KemName, KemSizes>> = {
  mlkem768: { publicKeyLength: 1184, secretKeyLength: 2400, ciphertextLength: 1088, sharedSecretLength: 32 },
  sntrup761: { publicKeyLength: 1158, secretKeyLength: 1763, ciphertextLength: 1039, sharedSecretLength: 32 },
};

export const KEM_NAMES: readonly KemName[] = ['mlkem768', 'sntrup761'];

/** Human-readable algorithm names for error messages. */
export const KEM_TITLES: Readonly<Record<KemName, string>> = {
  mlkem768: 'ML-KEM-768',
  sntrup761: 'sntrup761',
};

export function isKemName(name: unknown): name is KemName {
  return name === 'mlkem768' || name === 'sntrup761';
}

/** ML-KEM key generation seed d || z. */
export const MLKEM_SEED_LENGTH = 64;
/** ML-KEM encapsulation message m. */
export const MLKEM_MESSAGE_LENGTH = 32;

/** A key pair as the KEM objects hand it out. */
export interface KemKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** An encapsulation result. */
export interface KemEncapsulation {
  ciphertext: Uint8Array;
  sharedSecret: Uint8Array;
}

/**
 * Deterministic ML-KEM-768 (FIPS 203 KeyGen_internal / Encaps_internal /
 * Decaps_internal): every backend implements this, the `Kem` objects add
 * randomness on top, and the tests compare backends through it.
 */
export interface MlKem768Core {
  /** Key pair from the 64-byte seed d || z. */
  keypairFromSeed(seed: Uint8Array): KemKeyPair;
  /** Encapsulation with the 32-byte message m. Throws CryptoError if ek fails the modulus check. */
  encapsulateWith(publicKey: Uint8Array, m: Uint8Array): KemEncapsulation;
  /** Decapsulation with implicit rejection (a bad ciphertext gives J(z || c), not an error). */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * Deterministic sntrup761 with the randomness convention of
 * rust-core/src/sntrup761/mod.rs: the bytes the reference implementation
 * would draw from randombytes(), in order.
 */
export interface Sntrup761Core {
  /** Minimum bytes key generation consumes (one attempt at g): 6279. */
  readonly keypairRandomLength: number;
  /** Bytes encapsulation consumes: 3044. */
  readonly encapsulateRandomLength: number;
  /**
   * Key pair from caller randomness. Returns null when every g the bytes
   * allowed was not invertible mod 3 (rare): supply more or fresh bytes.
   */
  keypairFromRandom(random: Uint8Array): KemKeyPair | null;
  encapsulateWith(publicKey: Uint8Array, random: Uint8Array): KemEncapsulation;
  /** Decapsulation with implicit rejection; never fails for well-sized input. */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}
