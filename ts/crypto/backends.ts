/**
 * Factories that build a primitive from a named implementation (the ids in
 * select.ts). `index.ts` passes the load-time choice; tests and the
 * benchmark pass each implementation in turn.
 */
import { CryptoError } from '../errors.js';
import type { DirectionKeys, Hash, HashName, KeyAgreement, PacketOpener, PacketSealer, PrivateKeyMaterial, SignatureVerifier, Signer } from './types.js';
import { MAC_HASH, cipherInfo, isUmac, macInfo } from './algorithms.js';
import { ClassicOpener, ClassicSealer, type PacketMac, type StreamCipher } from './packet/classic.js';
import { GcmOpener, GcmSealer, type GcmPrimitive } from './packet/gcm.js';
import { CHACHAPOLY, ChaChaPolyOpener, ChaChaPolySealer, type ChaChaPolyCore } from './packet/chachapoly.js';
import { NoneOpener, NoneSealer } from './packet/none.js';
import { NATIVE_CIPHER, NativeChaChaPolyCore, NativeGcm, NativeHmac, NativeStreamCipher } from './native/packet.js';
import { JsCbc, JsChaChaPolyCore, JsCtr, JsGcm, JsHmac, jsPoly1305 } from './js/packet.js';
import { WasmChaChaPolyOpener, WasmChaChaPolySealer, wasmPoly1305 } from './wasm/chachapoly.js';
import { WasmUmac } from './wasm/umac.js';
import { nativeCreateHash, nativeHmac } from './native/hash.js';
import { jsCreateHash, jsHmac } from './js/hash.js';
import { nativeEcdh, nativeFfdh, nativeX25519 } from './native/kex.js';
import { jsEcdh, jsFfdh, jsX25519 } from './js/kex.js';
import { nativeGenerate, nativeSigner, nativeVerifier } from './native/sign.js';
import { jsGenerate, jsSigner, jsVerifier } from './js/sign.js';
import { parsePublicKeyBlob } from './keyblob.js';
import { checkGroup, type DhGroup } from './ffdh.js';
import { modpGroup } from './modp-groups.js';
import { CHACHAPOLY_SEAL, chosenImpl } from './select.js';
import { expectLength } from './util.js';

/** Which implementation to use for the cipher and for the MAC of a direction. */
export interface PacketImpls {
  cipher?: string;
  mac?: string;
}

function unserved(what: string): CryptoError {
  return new CryptoError(`no available backend serves ${what}`, { code: 'ERR_SSH_CRYPTO_UNSUPPORTED' });
}

function implFor(name: string, given: string | undefined): string {
  const impl = given ?? chosenImpl(name);
  if (!impl) throw unserved(name);
  return impl;
}

/** Checks the key sizes for a direction; returns the cipher and MAC facts. */
function validate(keys: DirectionKeys) {
  if (!keys || typeof keys !== 'object') throw new CryptoError('direction keys are required');
  const ci = cipherInfo(keys.cipher);
  if (!ci) throw new CryptoError(`unknown cipher ${JSON.stringify(keys.cipher)}`);
  expectLength(keys.encKey, ci.keyLength, `${ci.name} key`);
  expectLength(keys.iv, ci.ivLength, `${ci.name} IV`);
  if (ci.aead) return { ci, mi: undefined };
  const mi = macInfo(keys.mac);
  if (!mi) throw new CryptoError(`unknown MAC ${JSON.stringify(keys.mac)}`);
  expectLength(keys.macKey, mi.keyLength, `${mi.name} key`);
  return { ci, mi };
}

const nullCipher: StreamCipher = { blockSize: 8, process() {} };
const nullMac: PacketMac = { length: 0, compute() {} };

function streamCipher(impl: string, name: string, key: Uint8Array, iv: Uint8Array, decrypt: boolean): StreamCipher {
  if (name === 'none') return nullCipher;
  const blockSize = cipherInfo(name)!.blockSize;
  if (impl === 'native') return new NativeStreamCipher(NATIVE_CIPHER[name]!, key, iv, decrypt, blockSize);
  if (impl === 'js' && name.endsWith('-ctr')) return new JsCtr(key, iv);
  if (impl === 'js' && name.startsWith('aes')) return new JsCbc(key, iv, decrypt);
  throw unserved(`${name} with the ${impl} implementation`);
}

function packetMac(impl: string, name: string, key: Uint8Array): PacketMac {
  if (name === 'none') return nullMac;
  const length = macInfo(name)!.length;
  if (isUmac(name)) {
    if (impl === 'wasm') return new WasmUmac(key, length);
    throw unserved(`${name} with the ${impl} implementation`);
  }
  if (impl === 'native') return new NativeHmac(MAC_HASH[name]!, key, length);
  if (impl === 'js') return new JsHmac(MAC_HASH[name]!, key, length);
  throw unserved(`${name} with the ${impl} implementation`);
}

function gcmPrimitive(impl: string, name: string, key: Uint8Array): GcmPrimitive {
  if (impl === 'native') return new NativeGcm(NATIVE_CIPHER[name]!, key);
  if (impl === 'js') return new JsGcm(key);
  throw unserved(`${name} with the ${impl} implementation`);
}

function chachaCore(impl: string, key: Uint8Array): ChaChaPolyCore {
  if (impl === 'js') return new JsChaChaPolyCore(key);
  if (impl === 'native') return new NativeChaChaPolyCore(key, null);
  if (impl === 'native+js') return new NativeChaChaPolyCore(key, jsPoly1305);
  if (impl === 'native+wasm') {
    const poly = wasmPoly1305();
    if (!poly) throw unserved(`${CHACHAPOLY} with wasm Poly1305`);
    return new NativeChaChaPolyCore(key, poly);
  }
  throw unserved(`${CHACHAPOLY} with the ${impl} implementation`);
}

/** A sealer for one direction, from the given implementations (default: the load-time choice). */
export function buildSealer(keys: DirectionKeys, impls: PacketImpls = {}): PacketSealer {
  const { ci, mi } = validate(keys);
  const cImpl = implFor(ci.name === CHACHAPOLY ? CHACHAPOLY_SEAL : ci.name, impls.cipher);
  if (ci.name === CHACHAPOLY && cImpl === 'native') throw unserved(`sealing ${CHACHAPOLY} with OpenSSL alone (node:crypto has no Poly1305 that makes a tag)`);
  if (ci.name === CHACHAPOLY) return cImpl === 'wasm' ? new WasmChaChaPolySealer(keys.encKey) : new ChaChaPolySealer(chachaCore(cImpl, keys.encKey));
  if (ci.aead) return new GcmSealer(ci.name, gcmPrimitive(cImpl, ci.name, keys.encKey), keys.iv);
  if (ci.name === 'none' && mi!.name === 'none') return new NoneSealer();
  const mImpl = implFor(mi!.name, impls.mac);
  return new ClassicSealer(ci.name, mi!.name, streamCipher(cImpl, ci.name, keys.encKey, keys.iv, false), packetMac(mImpl, mi!.name, keys.macKey), mi!.etm);
}

/** An opener for one direction, from the given implementations (default: the load-time choice). */
export function buildOpener(keys: DirectionKeys, impls: PacketImpls = {}): PacketOpener {
  const { ci, mi } = validate(keys);
  const cImpl = implFor(ci.name, impls.cipher);
  if (ci.name === CHACHAPOLY) return cImpl === 'wasm' ? new WasmChaChaPolyOpener(keys.encKey) : new ChaChaPolyOpener(chachaCore(cImpl, keys.encKey));
  if (ci.aead) return new GcmOpener(ci.name, gcmPrimitive(cImpl, ci.name, keys.encKey), keys.iv);
  if (ci.name === 'none' && mi!.name === 'none') return new NoneOpener();
  const mImpl = implFor(mi!.name, impls.mac);
  return new ClassicOpener(ci.name, mi!.name, streamCipher(cImpl, ci.name, keys.encKey, keys.iv, true), packetMac(mImpl, mi!.name, keys.macKey), mi!.etm);
}

const HASH_NAMES = new Set(['sha1', 'sha256', 'sha384', 'sha512']);

function checkHash(name: string): void {
  if (!HASH_NAMES.has(name)) throw new CryptoError(`unknown hash ${JSON.stringify(name)}`);
}

export function buildHash(name: HashName, impl?: string): Hash {
  checkHash(name);
  return implFor(name, impl) === 'native' ? nativeCreateHash(name) : jsCreateHash(name);
}

export function computeHmac(name: HashName, key: Uint8Array, parts: Uint8Array[], impl?: string): Uint8Array {
  checkHash(name);
  return implFor(name, impl) === 'native' ? nativeHmac(name, key, parts) : jsHmac(name, key, parts);
}

export type CurveName = 'x25519' | 'nistp256' | 'nistp384' | 'nistp521';

export function buildKeyAgreement(name: CurveName, impl?: string): KeyAgreement {
  if (name !== 'x25519' && name !== 'nistp256' && name !== 'nistp384' && name !== 'nistp521') {
    throw new CryptoError(`unknown key agreement ${JSON.stringify(name)}`);
  }
  const i = implFor(name, impl);
  if (name === 'x25519') return i === 'native' ? nativeX25519() : jsX25519();
  return i === 'native' ? nativeEcdh(name) : jsEcdh(name);
}

export type FfdhGroup = 'group1' | 'group14' | 'group16' | 'group18' | DhGroup;

export function buildFfdh(group: FfdhGroup, impl?: string): KeyAgreement {
  let g: DhGroup;
  let name: string;
  if (typeof group === 'string') {
    if (group !== 'group1' && group !== 'group14' && group !== 'group16' && group !== 'group18') throw new CryptoError(`unknown DH group ${JSON.stringify(group)}`);
    g = modpGroup(group);
    name = group;
  } else {
    if (!group || typeof group !== 'object') throw new CryptoError('DH group must be a name or { prime, generator }');
    checkGroup(group);
    g = group;
    name = 'gex';
  }
  return implFor(name, impl) === 'native' ? nativeFfdh(g) : jsFfdh(g);
}

/** The signature algorithms a key type can verify or make, for impl lookup. */
function algorithmsOf(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/**
 * A verifier that sends each algorithm to its chosen implementation (an RSA
 * key may verify rsa-sha2-256 natively but ssh-rsa in JS under FIPS).
 */
export function buildVerifier(publicKeyBlob: Uint8Array, impl?: string): SignatureVerifier {
  const key = parsePublicKeyBlob(publicKeyBlob);
  const byImpl = new Map<string, SignatureVerifier>();
  const get = (i: string) => {
    let v = byImpl.get(i);
    if (!v) byImpl.set(i, (v = i === 'native' ? nativeVerifier(key) : jsVerifier(key)));
    return v;
  };
  // Build the default one now so a bad key fails here, not at verify time.
  const first = implFor(algorithmsOf(key.type)[0]!, impl);
  get(first);
  return {
    keyType: key.type,
    verify(algorithm, data, signature) {
      if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
      if (!algorithmsOf(key.type).includes(algorithm)) return false;
      const i = impl ?? chosenImpl(algorithm);
      return i !== undefined && get(i).verify(algorithm, data, signature);
    },
  };
}

export function buildSigner(material: PrivateKeyMaterial, impl?: string): Signer {
  if (!material || typeof material !== 'object') throw new CryptoError('private key material is required');
  const algs = algorithmsOf(material.type);
  if (material.type !== 'ssh-ed25519' && material.type !== 'ssh-rsa' && material.type !== 'ssh-dss' && !material.type.startsWith('ecdsa-sha2-nistp')) {
    throw new CryptoError(`unsupported private key type ${JSON.stringify(material.type)}`);
  }
  const bySigner = new Map<string, Signer>();
  const get = (i: string) => {
    let s = bySigner.get(i);
    if (!s) bySigner.set(i, (s = i === 'native' ? nativeSigner(material) : jsSigner(material)));
    return s;
  };
  const first = get(implFor(algs[0]!, impl));
  return {
    keyType: first.keyType,
    publicKeyBlob: first.publicKeyBlob,
    signatureAlgorithms: first.signatureAlgorithms,
    sign(algorithm, data) {
      if (!algs.includes(algorithm)) throw new CryptoError(`a ${material.type} key cannot make ${algorithm} signatures`);
      return get(implFor(algorithm, impl)).sign(algorithm, data);
    },
  };
}

export function generateKey(type: PrivateKeyMaterial['type'], rsaBits = 3072, impl?: string): PrivateKeyMaterial {
  if (type === 'ssh-rsa') {
    if (!Number.isInteger(rsaBits) || rsaBits < 2048 || rsaBits > 16384) throw new CryptoError(`RSA key size ${rsaBits} is outside 2048..16384`);
    // Prime generation in bigint JS would take seconds; node:crypto always does it.
    return nativeGenerate(type, rsaBits);
  }
  // Parameter generation needs primes too; ssh-keygen's 1024-bit size only.
  if (type === 'ssh-dss') return nativeGenerate(type, rsaBits);
  if (type !== 'ssh-ed25519' && type !== 'ecdsa-sha2-nistp256' && type !== 'ecdsa-sha2-nistp384' && type !== 'ecdsa-sha2-nistp521') {
    throw new CryptoError(`cannot generate keys of type ${JSON.stringify(type)}`);
  }
  return implFor(type, impl) === 'native' ? nativeGenerate(type, rsaBits) : jsGenerate(type);
}
