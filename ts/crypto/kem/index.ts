/**
 * Post-quantum KEMs for the hybrid key exchanges: `createKem('mlkem768')`
 * and `createKem('sntrup761')` return the `Kem` contract of ../types.ts on
 * the best (or the requested) backend, drawing randomness from
 * node:crypto. `kemBackends()` tells which backends serve which KEM, so
 * algorithm negotiation can drop a KEM nothing here implements.
 *
 * Backends: rust-core (wasm) serves both; @noble/post-quantum (js) serves
 * ML-KEM-768 only; node:crypto (native) serves neither on Node 20.
 */
import { CryptoError } from '../../errors.js';
import { randomBytes } from '../random.js';
import type { BackendName, Kem } from '../types.js';
import { mlkem768Js } from './noble.js';
import { KEM_SIZES, KEM_TITLES, MLKEM_MESSAGE_LENGTH, MLKEM_SEED_LENGTH, isKemName, type KemName, type MlKem768Core, type Sntrup761Core } from './params.js';
import { mlkem768Wasm, sntrup761Wasm, wasmKemDetail } from './wasm.js';
import { chosenImpl } from '../select.js';

export { KEM_NAMES, KEM_SIZES, isKemName } from './params.js';
export type { KemName, KemSizes, MlKem768Core, Sntrup761Core } from './params.js';

/** A `Kem` plus the backend serving it. */
export interface KemInstance extends Kem {
  readonly name: KemName;
  readonly backend: BackendName;
}

/** Preference order when no backend is requested. */
const PREFERENCE: readonly BackendName[] = ['wasm', 'native', 'js'];

/** How many fresh draws sntrup761 key generation tries before giving up (each fails with probability far below 2^-10). */
const SNTRUP_KEYGEN_TRIES = 8;

function mlkemCore(backend: BackendName): MlKem768Core | null {
  if (backend === 'wasm') return mlkem768Wasm();
  if (backend === 'js') return mlkem768Js();
  return null;
}

function sntrupCore(backend: BackendName): Sntrup761Core | null {
  return backend === 'wasm' ? sntrup761Wasm() : null;
}

/** Runs `use` on `length` fresh random bytes, then wipes them: they seed secret keys and shared secrets. */
function withRandom<T>(length: number, use: (random: Uint8Array) => T): T {
  const random = randomBytes(length);
  try {
    return use(random);
  } finally {
    random.fill(0);
  }
}

/** The `Kem` shell common to both KEMs: sizes from KEM_SIZES, decapsulation straight from the core. */
function kemInstance(
  name: KemName,
  backend: BackendName,
  core: Pick<MlKem768Core | Sntrup761Core, 'decapsulate'>,
  randomized: Pick<KemInstance, 'keypair' | 'encapsulate'>,
): KemInstance {
  const sizes = KEM_SIZES[name];
  return {
    name,
    backend,
    publicKeyLength: sizes.publicKeyLength,
    ciphertextLength: sizes.ciphertextLength,
    keypair: randomized.keypair,
    encapsulate: randomized.encapsulate,
    decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array) {
      return core.decapsulate(ciphertext, secretKey);
    },
  };
}

function mlkemKem(core: MlKem768Core, backend: BackendName): KemInstance {
  return kemInstance('mlkem768', backend, core, {
    keypair: () => withRandom(MLKEM_SEED_LENGTH, (seed) => core.keypairFromSeed(seed)),
    encapsulate: (publicKey) => withRandom(MLKEM_MESSAGE_LENGTH, (m) => core.encapsulateWith(publicKey, m)),
  });
}

function sntrupKem(core: Sntrup761Core, backend: BackendName): KemInstance {
  return kemInstance('sntrup761', backend, core, {
    keypair() {
      for (let i = 0; i < SNTRUP_KEYGEN_TRIES; i++) {
        const pair = withRandom(core.keypairRandomLength, (random) => core.keypairFromRandom(random));
        if (pair) return pair;
      }
      throw new CryptoError(`sntrup761 key generation drew ${SNTRUP_KEYGEN_TRIES} non-invertible polynomials in a row; the random source is suspect`);
    },
    encapsulate: (publicKey) => withRandom(core.encapsulateRandomLength, (random) => core.encapsulateWith(publicKey, random)),
  });
}

function instantiate(name: KemName, backend: BackendName): KemInstance | null {
  if (name === 'mlkem768') {
    const core = mlkemCore(backend);
    return core ? mlkemKem(core, backend) : null;
  }
  const core = sntrupCore(backend);
  return core ? sntrupKem(core, backend) : null;
}

/**
 * The KEM `name` on `backend`, or, when none is given, on the backend
 * getBackendInfo() reports for it (SSHWIRE_BACKEND honoured where it can
 * serve). Returns null when that backend (or, without one, every backend)
 * cannot serve it; throws CryptoError for an unknown name or backend.
 */
export function createKem(name: KemName, backend?: BackendName): KemInstance | null {
  if (!isKemName(name)) throw new CryptoError(`unknown KEM ${JSON.stringify(name)}`);
  if (backend !== undefined) {
    if (!PREFERENCE.includes(backend)) throw new CryptoError(`unknown crypto backend ${JSON.stringify(backend)}`);
    return instantiate(name, backend);
  }
  // The load-time choice (select.ts) first: it honours SSHWIRE_BACKEND and is what getBackendInfo() reports.
  const chosen = chosenImpl(name) as BackendName | undefined;
  const order = chosen ? [chosen, ...PREFERENCE.filter((b) => b !== chosen)] : PREFERENCE;
  for (const b of order) {
    const kem = instantiate(name, b);
    if (kem) return kem;
  }
  return null;
}

/** Backends able to serve `name`, best first (empty: drop the algorithm from negotiation). */
export function kemBackends(name: KemName): BackendName[] {
  if (!isKemName(name)) throw new CryptoError(`unknown KEM ${JSON.stringify(name)}`);
  return PREFERENCE.filter((b) => (name === 'mlkem768' ? mlkemCore(b) : sntrupCore(b)) !== null);
}

/** Whether `name` is available at all, or on `backend` when given. */
export function isKemAvailable(name: KemName, backend?: BackendName): boolean {
  const backends = kemBackends(name);
  return backend === undefined ? backends.length > 0 : backends.includes(backend);
}

/** Per KEM and backend: available or not, and why (for getBackendInfo()). */
export function kemSupport(): Record<KemName, Record<BackendName, { available: boolean; detail: string }>> {
  const wasmMl = mlkem768Wasm() !== null;
  const wasmNtru = sntrup761Wasm() !== null;
  const noNative = 'node:crypto has no ML-KEM or NTRU Prime on this Node version';
  return {
    mlkem768: {
      wasm: { available: wasmMl, detail: wasmKemDetail('mlkem768') },
      native: { available: false, detail: noNative },
      js: { available: true, detail: '@noble/post-quantum ml_kem768' },
    },
    sntrup761: {
      wasm: { available: wasmNtru, detail: wasmKemDetail('sntrup761') },
      native: { available: false, detail: noNative },
      js: { available: false, detail: `no pure-JS ${KEM_TITLES.sntrup761}` },
    },
  };
}
