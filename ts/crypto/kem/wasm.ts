/**
 * ML-KEM-768 and sntrup761 on rust-core (rust-core/ABI.md, "Post-quantum
 * KEMs"). Each call copies its inputs into the module's shared I/O buffer,
 * runs one export, copies the outputs back, and zeroes the part of the
 * buffer it used, since seeds, secret keys and shared secrets pass through it.
 */
import { CryptoError } from '../../errors.js';
import { expectLength } from '../util.js';
import { wasmCore, wasmUnavailableReason, type CoreInstance } from '../wasm/instance.js';
import {
  KEM_SIZES,
  MLKEM_MESSAGE_LENGTH,
  MLKEM_SEED_LENGTH,
  type KemEncapsulation,
  type KemKeyPair,
  type MlKem768Core,
  type Sntrup761Core,
} from './params.js';

const MLKEM_EXPORTS = ['sw_io_ptr', 'sw_io_cap', 'sw_mlkem768_keypair', 'sw_mlkem768_encaps', 'sw_mlkem768_decaps'] as const;
const SNTRUP_EXPORTS = [
  'sw_io_ptr',
  'sw_io_cap',
  'sw_sntrup761_keypair_rand_len',
  'sw_sntrup761_enc_rand_len',
  'sw_sntrup761_keypair',
  'sw_sntrup761_enc',
  'sw_sntrup761_dec',
] as const;

/** rust-core return codes the KEM exports use. */
const BAD_ARGUMENT = -3;
const NEED_MORE = -4;

type Fn = (...args: number[]) => number;

/** The shared I/O buffer: lays buffers out back to back and wipes them after each call. */
class IoBuffer {
  readonly #core: CoreInstance;
  readonly #ptr: number;
  readonly #cap: number;

  constructor(core: CoreInstance) {
    this.#core = core;
    this.#ptr = core.fn('sw_io_ptr')() >>> 0;
    this.#cap = core.fn('sw_io_cap')() >>> 0;
  }

  /**
   * Copies `inputs` in, reserves `outputLengths` bytes after them, calls
   * `invoke` with the addresses (inputs first, then outputs), and returns
   * the return code and copies of the outputs.
   */
  run(inputs: Uint8Array[], outputLengths: number[], invoke: (ptrs: number[]) => number): { rc: number; outputs: Uint8Array[] } {
    const total = [...inputs.map((b) => b.length), ...outputLengths].reduce((a, b) => a + b, 0);
    if (total > this.#cap) throw new CryptoError(`KEM call needs ${total} bytes of wasm I/O space, only ${this.#cap} available`);
    const ptrs: number[] = [];
    let at = this.#ptr;
    let mem = this.#core.bytes();
    try {
      for (const input of inputs) {
        mem.set(input, at);
        ptrs.push(at);
        at += input.length;
      }
      for (const len of outputLengths) {
        ptrs.push(at);
        at += len;
      }
      const rc = invoke(ptrs);
      // The call cannot grow memory today, but re-view in case a future one does.
      mem = this.#core.bytes();
      const outputs = outputLengths.map((len, i) => {
        const p = ptrs[inputs.length + i]!;
        return mem.slice(p, p + len);
      });
      return { rc, outputs };
    } finally {
      this.#core.bytes().fill(0, this.#ptr, at);
    }
  }
}

function hasExports(core: CoreInstance, names: readonly string[]): string | null {
  for (const name of names) {
    if (typeof core.exports[name] !== 'function') return `rust-core lacks ${name}`;
  }
  return null;
}

class WasmMlKem768 implements MlKem768Core {
  readonly #io: IoBuffer;
  readonly #keypair: Fn;
  readonly #encaps: Fn;
  readonly #decaps: Fn;

  constructor(core: CoreInstance) {
    this.#io = new IoBuffer(core);
    this.#keypair = core.fn('sw_mlkem768_keypair');
    this.#encaps = core.fn('sw_mlkem768_encaps');
    this.#decaps = core.fn('sw_mlkem768_decaps');
  }

  keypairFromSeed(seed: Uint8Array): KemKeyPair {
    expectLength(seed, MLKEM_SEED_LENGTH, 'ML-KEM-768 seed (d || z)');
    const s = KEM_SIZES.mlkem768;
    const { rc, outputs } = this.#io.run([seed], [s.publicKeyLength, s.secretKeyLength], ([sp, ek, dk]) =>
      this.#keypair(sp!, ek!, dk!),
    );
    if (rc !== 0) throw new CryptoError(`rust-core ML-KEM-768 key generation failed (code ${rc})`);
    return { publicKey: outputs[0]!, secretKey: outputs[1]! };
  }

  encapsulateWith(publicKey: Uint8Array, m: Uint8Array): KemEncapsulation {
    const s = KEM_SIZES.mlkem768;
    expectLength(publicKey, s.publicKeyLength, 'ML-KEM-768 public key');
    expectLength(m, MLKEM_MESSAGE_LENGTH, 'ML-KEM-768 message');
    const { rc, outputs } = this.#io.run([publicKey, m], [s.ciphertextLength, s.sharedSecretLength], ([ek, mp, ct, ss]) =>
      this.#encaps(ek!, mp!, ct!, ss!),
    );
    if (rc === BAD_ARGUMENT) throw new CryptoError('invalid ML-KEM-768 public key: a coefficient is not reduced mod q (FIPS 203 modulus check)');
    if (rc !== 0) throw new CryptoError(`rust-core ML-KEM-768 encapsulation failed (code ${rc})`);
    return { ciphertext: outputs[0]!, sharedSecret: outputs[1]! };
  }

  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const s = KEM_SIZES.mlkem768;
    expectLength(ciphertext, s.ciphertextLength, 'ML-KEM-768 ciphertext');
    expectLength(secretKey, s.secretKeyLength, 'ML-KEM-768 secret key');
    const { rc, outputs } = this.#io.run([secretKey, ciphertext], [s.sharedSecretLength], ([dk, ct, ss]) =>
      this.#decaps(dk!, ct!, ss!),
    );
    if (rc === BAD_ARGUMENT) throw new CryptoError('invalid ML-KEM-768 secret key: its embedded H(ek) does not match (FIPS 203 section 7.3)');
    if (rc !== 0) throw new CryptoError(`rust-core ML-KEM-768 decapsulation failed (code ${rc})`);
    return outputs[0]!;
  }
}

class WasmSntrup761 implements Sntrup761Core {
  readonly keypairRandomLength: number;
  readonly encapsulateRandomLength: number;
  readonly #io: IoBuffer;
  readonly #keypair: Fn;
  readonly #enc: Fn;
  readonly #dec: Fn;

  constructor(core: CoreInstance) {
    this.#io = new IoBuffer(core);
    this.keypairRandomLength = core.fn('sw_sntrup761_keypair_rand_len')();
    this.encapsulateRandomLength = core.fn('sw_sntrup761_enc_rand_len')();
    this.#keypair = core.fn('sw_sntrup761_keypair');
    this.#enc = core.fn('sw_sntrup761_enc');
    this.#dec = core.fn('sw_sntrup761_dec');
  }

  keypairFromRandom(random: Uint8Array): KemKeyPair | null {
    if (!(random instanceof Uint8Array) || random.length < this.keypairRandomLength) {
      throw new CryptoError(`sntrup761 key generation needs at least ${this.keypairRandomLength} random bytes`);
    }
    const s = KEM_SIZES.sntrup761;
    const { rc, outputs } = this.#io.run([random], [s.publicKeyLength, s.secretKeyLength], ([rp, pk, sk]) =>
      this.#keypair(rp!, random.length, pk!, sk!),
    );
    if (rc === NEED_MORE) return null;
    if (rc !== 0) throw new CryptoError(`rust-core sntrup761 key generation failed (code ${rc})`);
    return { publicKey: outputs[0]!, secretKey: outputs[1]! };
  }

  encapsulateWith(publicKey: Uint8Array, random: Uint8Array): KemEncapsulation {
    const s = KEM_SIZES.sntrup761;
    expectLength(publicKey, s.publicKeyLength, 'sntrup761 public key');
    expectLength(random, this.encapsulateRandomLength, 'sntrup761 encapsulation randomness');
    const { rc, outputs } = this.#io.run([publicKey, random], [s.ciphertextLength, s.sharedSecretLength], ([pk, rp, ct, ss]) =>
      this.#enc(pk!, rp!, random.length, ct!, ss!),
    );
    if (rc !== 0) throw new CryptoError(`rust-core sntrup761 encapsulation failed (code ${rc})`);
    return { ciphertext: outputs[0]!, sharedSecret: outputs[1]! };
  }

  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const s = KEM_SIZES.sntrup761;
    expectLength(ciphertext, s.ciphertextLength, 'sntrup761 ciphertext');
    expectLength(secretKey, s.secretKeyLength, 'sntrup761 secret key');
    const { rc, outputs } = this.#io.run([secretKey, ciphertext], [s.sharedSecretLength], ([sk, ct, ss]) =>
      this.#dec(sk!, ct!, ss!),
    );
    if (rc !== 0) throw new CryptoError(`rust-core sntrup761 decapsulation failed (code ${rc})`);
    return outputs[0]!;
  }
}

/** A wasm KEM core, or why there is none. */
type Loaded<T> = { core: T | null; reason: string };

/** Builds the core on first use (when rust-core loads and has every export in `exports`) and remembers the outcome. */
function loadOnce<T>(exports: readonly string[], make: (core: CoreInstance) => T, title: string): () => Loaded<T> {
  let loaded: Loaded<T> | undefined;
  return () => {
    if (loaded) return loaded;
    const core = wasmCore();
    if (!core) return (loaded = { core: null, reason: wasmUnavailableReason() });
    const missing = hasExports(core, exports);
    if (missing) return (loaded = { core: null, reason: missing });
    return (loaded = { core: make(core), reason: title });
  };
}

const loadMlkem = loadOnce<MlKem768Core>(MLKEM_EXPORTS, (core) => new WasmMlKem768(core), 'rust-core ML-KEM-768');
const loadSntrup = loadOnce<Sntrup761Core>(SNTRUP_EXPORTS, (core) => new WasmSntrup761(core), 'rust-core sntrup761');

/** The wasm ML-KEM-768, or null when rust-core is unavailable. */
export function mlkem768Wasm(): MlKem768Core | null {
  return loadMlkem().core;
}

/** The wasm sntrup761, or null when rust-core is unavailable. */
export function sntrup761Wasm(): Sntrup761Core | null {
  return loadSntrup().core;
}

/** Why the wasm KEMs are (un)available, for backend reports. */
export function wasmKemDetail(name: 'mlkem768' | 'sntrup761'): string {
  return name === 'mlkem768' ? loadMlkem().reason : loadSntrup().reason;
}
