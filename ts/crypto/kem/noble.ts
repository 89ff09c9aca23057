/**
 * Pure-JS ML-KEM-768 on @noble/post-quantum, the fallback when rust-core
 * cannot be loaded. There is no JS sntrup761: a peer that offers only
 * sntrup761x25519-sha512 then negotiates another key exchange.
 */
import { nobleMlKem } from '../js/noble.js';
import { CryptoError } from '../../errors.js';
import { expectLength } from '../util.js';
import { KEM_SIZES, MLKEM_MESSAGE_LENGTH, MLKEM_SEED_LENGTH, type KemEncapsulation, type KemKeyPair, type MlKem768Core } from './params.js';

/** Runs a noble call, turning its plain Errors into CryptoError. */
function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw new CryptoError(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

const nobleMlKem768: MlKem768Core = {
  keypairFromSeed(seed: Uint8Array): KemKeyPair {
    expectLength(seed, MLKEM_SEED_LENGTH, 'ML-KEM-768 seed (d || z)');
    const { publicKey, secretKey } = guarded('ML-KEM-768 key generation failed', () => nobleMlKem().ml_kem768.keygen(seed));
    return { publicKey, secretKey };
  },

  encapsulateWith(publicKey: Uint8Array, m: Uint8Array): KemEncapsulation {
    expectLength(publicKey, KEM_SIZES.mlkem768.publicKeyLength, 'ML-KEM-768 public key');
    expectLength(m, MLKEM_MESSAGE_LENGTH, 'ML-KEM-768 message');
    const { cipherText, sharedSecret } = guarded('invalid ML-KEM-768 public key', () => nobleMlKem().ml_kem768.encapsulate(publicKey, m));
    return { ciphertext: cipherText, sharedSecret };
  },

  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
    expectLength(ciphertext, KEM_SIZES.mlkem768.ciphertextLength, 'ML-KEM-768 ciphertext');
    expectLength(secretKey, KEM_SIZES.mlkem768.secretKeyLength, 'ML-KEM-768 secret key');
    return guarded('invalid ML-KEM-768 secret key', () => nobleMlKem().ml_kem768.decapsulate(ciphertext, secretKey));
  },
};

/** The @noble/post-quantum ML-KEM-768. */
export function mlkem768Js(): MlKem768Core {
  return nobleMlKem768;
}
