/**
 * Backend selection, done once at module load. For every primitive or
 * construction (by SSH wire name) there is a fixed preference list of
 * implementations, fastest first as measured by `npm run bench:crypto`
 * (figures and order in docs/PERFORMANCE.md). What this process can run is
 * probed, not assumed: node:crypto may lack a cipher or refuse it in FIPS
 * mode, and the wasm module may be missing or lack simd128.
 * `SSHWIRE_BACKEND=js|wasm|native` puts that backend first wherever it can
 * serve; elsewhere the normal order applies and the reason says so.
 */
import { createCipheriv, generateKeyPairSync, getCiphers, getCurves, getFips, getHashes, sign } from 'node:crypto';
import type { BackendInfo, BackendName, PrimitiveChoice } from './types.js';
import { cipherNames, isUmac, macNames } from './algorithms.js';
import { NATIVE_CIPHER } from './native/packet.js';
import { openSslPolyCheckWorks } from './native/poly1305-check.js';
import { EC_CURVES, type EcCurve } from './keyblob.js';
import { wasmCore, wasmUnavailableReason } from './wasm/instance.js';
import { chachapolyBinding } from './wasm/chachapoly.js';
import { umacBinding } from './wasm/umac.js';
import { mlkem768Wasm, sntrup761Wasm, wasmKemDetail } from './kem/wasm.js';

/** One way to serve a primitive. `impl` is the id tests and factories use. */
export interface Candidate {
  impl: string;
  backend: BackendName;
  ok: boolean;
  /** What it is, or why it cannot serve here. */
  note: string;
}

const BACKENDS: readonly BackendName[] = ['wasm', 'native', 'js'];

function parseForced(v: string | undefined): BackendName | null {
  return v === 'js' || v === 'wasm' || v === 'native' ? v : null;
}

const forced = parseForced(process.env.SSHWIRE_BACKEND);
const badForce = process.env.SSHWIRE_BACKEND && !forced ? process.env.SSHWIRE_BACKEND : null;

function attempt(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

// --- what this process offers --------------------------------------------

const fips = attempt(() => {
  if (!getFips()) throw new Error('off');
});
const nodeCiphers = new Set(getCiphers());
const nodeCurves = new Set(getCurves());
const nodeHashes = new Set(getHashes());

/** node:crypto lists a cipher and accepts a key for it (FIPS mode may refuse what it lists). */
function nativeCipherOk(openssl: string, keyLength: number, ivLength: number): boolean {
  return nodeCiphers.has(openssl) && attempt(() => createCipheriv(openssl, Buffer.alloc(keyLength), Buffer.alloc(ivLength)));
}

const nativeX25519 = attempt(() => generateKeyPairSync('x25519'));
const nativeEd25519 = attempt(() => sign(null, Buffer.alloc(1), generateKeyPairSync('ed25519').privateKey));
const wasm = wasmCore();
const wasmChacha = chachapolyBinding() !== null;
const wasmPoly = wasmChacha && typeof wasm?.exports['sw_poly1305'] === 'function';
const wasmUmac = umacBinding() !== null;

const available: BackendInfo['available'] = {
  wasm: {
    available: wasm !== null,
    detail: wasm ? `${wasmUnavailableReason()}${wasmChacha ? '' : ' (chacha20-poly1305 exports missing)'}` : wasmUnavailableReason(),
  },
  native: {
    available: true,
    detail: `node:crypto, OpenSSL ${process.versions.openssl}${fips ? ', FIPS mode' : ''}`,
  },
  js: { available: true, detail: '@noble/ciphers, @noble/curves, @noble/hashes, bigint' },
};

// --- preference lists ------------------------------------------------------

/**
 * The sealing direction of chacha20-poly1305@openssh.com, listed on its own
 * because its best implementation differs from the opening direction's
 * (which keeps the wire name).
 */
export const CHACHAPOLY_SEAL = 'chacha20-poly1305@openssh.com/seal';

function c(impl: string, backend: BackendName, ok: boolean, note: string): Candidate {
  return { impl, backend, ok, note };
}

const JS_AES = '@noble/ciphers AES';
const table = new Map<string, Candidate[]>();

for (const name of cipherNames()) {
  if (name === 'none') {
    table.set(name, BACKENDS.map((b) => c('none', b, available[b].available, 'no cryptography')));
    continue;
  }
  if (name === 'chacha20-poly1305@openssh.com') {
    const natChacha = nativeCipherOk('chacha20', 32, 16);
    const natNote = natChacha ? 'OpenSSL ChaCha20' : 'node:crypto has no usable chacha20';
    const natCheck = natChacha && openSslPolyCheckWorks();
    const nativeOpen = c('native', 'native', natCheck, natCheck ? 'OpenSSL ChaCha20 + OpenSSL Poly1305 (by way of the IETF AEAD; checks tags, cannot make them)' : 'node:crypto has no usable chacha20-poly1305 AEAD');
    const nativeWasm = c('native+wasm', 'native', natChacha && wasmPoly, `${natNote} + wasm Poly1305${wasmPoly ? '' : ' (wasm unavailable)'}`);
    const wasmOnly = c('wasm', 'wasm', wasmChacha, wasmChacha ? 'rust-core simd128 batch, in place' : `wasm unavailable: ${wasmUnavailableReason()}`);
    const rest = [c('native+js', 'native', natChacha, `${natNote} + @noble Poly1305`), c('js', 'js', true, '@noble/ciphers chacha20orig + poly1305')];
    // Opening: node's ChaCha20 output becomes the payload. Sealing: it is
    // written back into the batch (a third of it by way of latin1 strings,
    // whose scavenges free the rest; see `updateInPlace`), young garbage
    // either way; so measured, OpenSSL's faster ChaCha20
    // beats rust-core sealing in place (docs/PERFORMANCE.md, "Sealing
    // chacha20-poly1305 with OpenSSL again"). Opening can also check tags
    // with OpenSSL's Poly1305: 12% faster than rust-core's in isolation, but
    // a get's RSS grew 7-14 MiB more with it for about 0.07 CPU-s per GiB
    // less, so it serves only without wasm, where the alternative is
    // @noble's Poly1305 at a fifth of its speed ("OpenSSL's Poly1305 checks
    // the tags"); sealing cannot use it. The directions keep separate
    // entries so each can be chosen and reported on its own.
    table.set(name, [nativeWasm, nativeOpen, wasmOnly, ...rest]);
    table.set(CHACHAPOLY_SEAL, [nativeWasm, wasmOnly, ...rest]);
    continue;
  }
  const openssl = NATIVE_CIPHER[name]!;
  const keyLength = name.startsWith('aes128') ? 16 : name.startsWith('aes192') ? 24 : name === '3des-cbc' ? 24 : 32;
  const ivLength = name.includes('gcm') ? 12 : name === '3des-cbc' ? 8 : 16;
  const natOk = nativeCipherOk(openssl, keyLength, ivLength);
  const list = [c('native', 'native', natOk, natOk ? `OpenSSL ${openssl}` : `node:crypto refuses or lacks ${openssl}`)];
  if (name === '3des-cbc') list.push(c('js', 'js', false, 'no pure-JS 3DES'));
  else list.push(c('js', 'js', true, JS_AES));
  table.set(name, list);
}

for (const name of macNames()) {
  if (name === 'none') {
    table.set(name, BACKENDS.map((b) => c('none', b, available[b].available, 'no MAC')));
    continue;
  }
  if (isUmac(name)) {
    // Only rust-core implements UMAC; without wasm these MACs are not offered.
    table.set(name, [
      c('wasm', 'wasm', wasmUmac, wasmUmac ? 'rust-core UMAC (RFC 4418)' : `wasm unavailable: ${wasm ? 'UMAC exports missing' : wasmUnavailableReason()}`),
      c('native', 'native', false, 'node:crypto has no UMAC'),
      c('js', 'js', false, 'no pure-JS UMAC'),
    ]);
    continue;
  }
  const hash = name.includes('sha1') ? 'sha1' : name.includes('512') ? 'sha512' : 'sha256';
  const ok = nodeHashes.has(hash);
  table.set(name, [c('native', 'native', ok, ok ? `OpenSSL HMAC-${hash}` : `node:crypto lacks ${hash}`), c('js', 'js', true, `@noble/hashes HMAC-${hash}`)]);
}

for (const hash of ['sha1', 'sha256', 'sha384', 'sha512']) {
  const ok = nodeHashes.has(hash);
  table.set(hash, [c('native', 'native', ok, ok ? `OpenSSL ${hash}` : `node:crypto lacks ${hash}`), c('js', 'js', true, `@noble/hashes ${hash}`)]);
}

table.set('x25519', [
  c('native', 'native', nativeX25519, nativeX25519 ? 'OpenSSL X25519' : 'node:crypto refuses X25519 (FIPS?)'),
  c('js', 'js', true, '@noble/curves x25519'),
]);
for (const curve of Object.keys(EC_CURVES) as EcCurve[]) {
  const ok = nodeCurves.has(EC_CURVES[curve].openssl);
  const native = c('native', 'native', ok, ok ? `OpenSSL ${EC_CURVES[curve].openssl}` : `node:crypto lacks ${EC_CURVES[curve].openssl}`);
  table.set(curve, [native, c('js', 'js', true, `@noble/curves ${curve}`)]);
  table.set(`ecdsa-sha2-${curve}`, [{ ...native }, c('js', 'js', true, `@noble/curves ${curve} ECDSA`)]);
}
for (const group of ['group1', 'group14', 'group16', 'group18']) {
  // FIPS providers refuse 1024-bit groups.
  const ok = !(fips && group === 'group1');
  table.set(group, [c('native', 'native', ok, ok ? 'OpenSSL DH' : 'FIPS mode refuses 1024-bit DH'), c('js', 'js', true, 'bigint modular exponentiation')]);
}
// Group exchange primes are chosen by the server, so OpenSSL does not know
// them and createDiffieHellman runs a full primality check on each one:
// measured 21 s for an 8192-bit modulus from sshd's moduli file, against
// 50-70 ms for the whole exchange in bigint arithmetic.
table.set('gex', [
  c('native', 'native', false, 'node:crypto primality-checks every unnamed prime (21 s at 8192 bits)'),
  c('js', 'js', true, 'bigint modular exponentiation'),
]);
table.set('ssh-ed25519', [
  c('native', 'native', nativeEd25519, nativeEd25519 ? 'OpenSSL Ed25519' : 'node:crypto refuses Ed25519 (FIPS?)'),
  c('js', 'js', true, '@noble/curves ed25519'),
]);
for (const alg of ['rsa-sha2-256', 'rsa-sha2-512', 'ssh-rsa']) {
  // FIPS mode refuses SHA-1 signatures.
  const ok = alg !== 'ssh-rsa' || (!fips && nodeHashes.has('sha1'));
  table.set(alg, [c('native', 'native', ok, ok ? 'OpenSSL RSA PKCS#1 v1.5' : 'FIPS mode refuses SHA-1 signatures'), c('js', 'js', true, 'bigint RSA PKCS#1 v1.5')]);
}

{
  // DSA signatures are SHA-1, which FIPS mode refuses.
  const ok = !fips && nodeHashes.has('sha1');
  table.set('ssh-dss', [c('native', 'native', ok, ok ? 'OpenSSL DSA' : 'FIPS mode refuses SHA-1 signatures'), c('js', 'js', true, 'bigint DSA')]);
}

// Post-quantum KEMs (wire names of ts/crypto/kem): rust-core first, as it
// is the only implementation of sntrup761; @noble/post-quantum serves
// ML-KEM-768 when wasm cannot (or when SSHWIRE_BACKEND=js asks for it).
const wasmMlkem = mlkem768Wasm() !== null;
const wasmSntrup = sntrup761Wasm() !== null;
table.set('mlkem768', [
  c('wasm', 'wasm', wasmMlkem, wasmMlkem ? 'rust-core ML-KEM-768' : `wasm unavailable: ${wasmKemDetail('mlkem768')}`),
  c('native', 'native', false, 'node:crypto has no ML-KEM on this Node version'),
  c('js', 'js', true, '@noble/post-quantum ml_kem768'),
]);
table.set('sntrup761', [
  c('wasm', 'wasm', wasmSntrup, wasmSntrup ? 'rust-core sntrup761' : `wasm unavailable: ${wasmKemDetail('sntrup761')}`),
  c('native', 'native', false, 'node:crypto has no NTRU Prime'),
  c('js', 'js', false, 'no pure-JS sntrup761'),
]);

// --- choosing --------------------------------------------------------------

function choose(name: string, list: Candidate[]): { chosen: Candidate | undefined; choice: PrimitiveChoice | undefined } {
  const order = list.map((x) => `${x.impl}`).join(' > ');
  const skipped = list.filter((x) => !x.ok).map((x) => `${x.impl}: ${x.note}`);
  const skipNote = skipped.length ? `; skipped ${skipped.join('; ')}` : '';
  if (forced) {
    const f = list.find((x) => x.ok && x.backend === forced);
    if (f) return { chosen: f, choice: { backend: f.backend, reason: `SSHWIRE_BACKEND=${forced}: ${f.note}` } };
  }
  const first = list.find((x) => x.ok);
  if (!first) return { chosen: undefined, choice: undefined };
  const why = forced
    ? `SSHWIRE_BACKEND=${forced} cannot serve ${name}, fell back to ${first.impl} (${first.note})`
    : `${first.note}; default order ${order} (docs/PERFORMANCE.md)${badForce ? `; ignored unknown SSHWIRE_BACKEND=${badForce}` : ''}`;
  return { chosen: first, choice: { backend: first.backend, reason: why + skipNote } };
}

const chosen = new Map<string, Candidate>();
const primitives: Record<string, PrimitiveChoice> = {};
for (const [name, list] of table) {
  const r = choose(name, list);
  if (r.chosen && r.choice) {
    chosen.set(name, r.chosen);
    primitives[name] = r.choice;
  }
}

const info: BackendInfo = Object.freeze({ forced, available, primitives });

/** The load-time decision for every primitive. */
export function backendInfo(): BackendInfo {
  return info;
}

/** The implementation serving `name` by default, or undefined if none can. */
export function chosenImpl(name: string): string | undefined {
  return chosen.get(name)?.impl;
}

/** Every implementation of `name`, including those that cannot serve here (ok=false). For tests and benchmarks. */
export function candidatesFor(name: string): readonly Candidate[] {
  return table.get(name) ?? [];
}

/** The implementations of `name` that can serve in this process. */
export function servingImpls(name: string): string[] {
  return candidatesFor(name)
    .filter((x) => x.ok)
    .map((x) => x.impl)
    .filter((v, i, a) => a.indexOf(v) === i);
}
