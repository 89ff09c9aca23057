/**
 * Key exchanges of one round trip: the client sends its ephemeral public
 * value (message 30), the server answers with its host key, its own value
 * and a signature over H (message 31). This covers
 *   - ECDH on NIST curves (RFC 5656) and curve25519 (RFC 8731): Q_C/Q_S are
 *     strings, K is an mpint;
 *   - the fixed MODP groups (RFC 4253 section 8, RFC 8268): e/f and K are mpints;
 *   - the post-quantum hybrids sntrup761x25519 and mlkem768x25519
 *     (draft-josefsson-ntruprime-ssh, draft-ietf-sshm-mlkem-hybrid-kex):
 *     C_INIT = KEM public key || X25519 public key, S_REPLY = KEM ciphertext
 *     || X25519 public key, and K = HASH(KEM secret || X25519 secret) sent as
 *     a string, not an mpint.
 */
import { createFiniteFieldDH, createKeyAgreement, hash as digest } from '../../crypto/index.js';
import type { HashName, Kem, KeyAgreement } from '../../crypto/types.js';
import { ProtocolError } from '../../errors.js';
import { MSG, SSHReader, SSHWriter } from '../../wire/index.js';
import { createKemIfAvailable } from '../algorithms.js';
import { signExchangeHash, verifyExchangeSignature } from './hostkey.js';
import {
  encodeSecretMpint,
  encodeSecretString,
  exchangeHash,
  unexpectedKexMessage,
  type KexContext,
  type KexResult,
  type KeyExchange,
} from './exchange.js';

/** Largest public value we accept: an 8192-bit DH value or a hybrid's KEM key plus X25519 key fit easily. */
const MAX_PUBLIC_VALUE = 8192;
/** Largest host key blob or signature blob (a 16384-bit RSA key is ~2 KiB). */
const MAX_HOST_KEY_BLOB = 16384;

/** The ephemeral half of one method, independent of message framing. */
export interface Ephemeral {
  /** 'string' for Q_C/Q_S, 'mpint' for e/f. */
  readonly valueEncoding: 'string' | 'mpint';
  /** Client: our public value. */
  clientPublic(): Uint8Array;
  /** Client: K (wire-encoded) from the server's value. */
  clientSecret(serverPublic: Uint8Array): Uint8Array;
  /** Server: our value and K (wire-encoded) from the client's value. */
  serverRespond(clientPublic: Uint8Array): { serverPublic: Uint8Array; K: Uint8Array };
}

function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

function x25519Secret(agreement: KeyAgreement, peer: Uint8Array): Uint8Array {
  if (peer.length !== 32) throw new ProtocolError(`X25519 public value has ${peer.length} bytes, expected 32`, { code: 'ERR_SSH_KEX_VALUE' });
  const secret = agreement.computeSecret(peer);
  // RFC 8731 section 3: an all-zero result means a low-order peer point.
  if (isAllZero(secret)) throw new ProtocolError('X25519 shared secret is all zero (invalid peer public value)', { code: 'ERR_SSH_KEX_VALUE' });
  return secret;
}

/** ECDH and curve25519: K is the mpint of the shared secret. */
function classicEphemeral(make: () => KeyAgreement, x25519: boolean, valueEncoding: 'string' | 'mpint'): Ephemeral {
  let ours: KeyAgreement | null = null;
  const secretOf = (a: KeyAgreement, peer: Uint8Array): Uint8Array => (x25519 ? x25519Secret(a, peer) : a.computeSecret(peer));
  return {
    valueEncoding,
    clientPublic() {
      ours = make();
      return ours.publicKey;
    },
    clientSecret(serverPublic) {
      return encodeSecretMpint(secretOf(ours!, serverPublic));
    },
    serverRespond(clientPublic) {
      const a = make();
      return { serverPublic: a.publicKey, K: encodeSecretMpint(secretOf(a, clientPublic)) };
    },
  };
}

function hybridEphemeral(kemName: 'mlkem768' | 'sntrup761', hash: HashName): Ephemeral {
  const kem: Kem | null = createKemIfAvailable(kemName);
  if (!kem) throw new ProtocolError(`${kemName} is not available`, { code: 'ERR_SSH_KEX_VALUE' });
  let secretKey: Uint8Array | null = null;
  let x: KeyAgreement | null = null;
  const combine = (kemSecret: Uint8Array, xSecret: Uint8Array): Uint8Array => encodeSecretString(digest(hash, kemSecret, xSecret));
  return {
    valueEncoding: 'string',
    clientPublic() {
      const kp = kem.keypair();
      secretKey = kp.secretKey;
      x = createKeyAgreement('x25519');
      const out = new Uint8Array(kp.publicKey.length + x.publicKey.length);
      out.set(kp.publicKey, 0);
      out.set(x.publicKey, kp.publicKey.length);
      return out;
    },
    clientSecret(serverPublic) {
      if (serverPublic.length !== kem.ciphertextLength + 32) {
        throw new ProtocolError(`${kemName} hybrid reply has ${serverPublic.length} bytes, expected ${kem.ciphertextLength + 32}`, { code: 'ERR_SSH_KEX_VALUE' });
      }
      const ct = serverPublic.subarray(0, kem.ciphertextLength);
      const kemSecret = kem.decapsulate(ct, secretKey!);
      const xSecret = x25519Secret(x!, serverPublic.subarray(kem.ciphertextLength));
      return combine(kemSecret, xSecret);
    },
    serverRespond(clientPublic) {
      if (clientPublic.length !== kem.publicKeyLength + 32) {
        throw new ProtocolError(`${kemName} hybrid init has ${clientPublic.length} bytes, expected ${kem.publicKeyLength + 32}`, { code: 'ERR_SSH_KEX_VALUE' });
      }
      const { ciphertext, sharedSecret } = kem.encapsulate(clientPublic.subarray(0, kem.publicKeyLength));
      const xa = createKeyAgreement('x25519');
      const xSecret = x25519Secret(xa, clientPublic.subarray(kem.publicKeyLength));
      const serverPublic = new Uint8Array(ciphertext.length + 32);
      serverPublic.set(ciphertext, 0);
      serverPublic.set(xa.publicKey, ciphertext.length);
      return { serverPublic, K: combine(sharedSecret, xSecret) };
    },
  };
}

/** The ephemeral half for the context's method (a one-round-trip kind). */
export function ephemeralFor(ctx: KexContext): Ephemeral {
  const spec = ctx.spec;
  switch (spec.kind) {
    case 'ecdh':
      return classicEphemeral(() => createKeyAgreement(spec.curve), spec.curve === 'x25519', 'string');
    case 'dh':
      return classicEphemeral(() => createFiniteFieldDH(spec.group), false, 'mpint');
    case 'hybrid':
      return hybridEphemeral(spec.kem, spec.hash);
    case 'gex':
    case 'gss':
      throw new ProtocolError(`${ctx.name} is not a plain one-round-trip method`);
  }
}

export function writeValue(w: SSHWriter, encoding: 'string' | 'mpint', v: Uint8Array): SSHWriter {
  return encoding === 'string' ? w.string(v) : w.mpintFromUnsigned(v);
}

export function readValue(r: SSHReader, encoding: 'string' | 'mpint'): Uint8Array {
  return encoding === 'string' ? r.string(MAX_PUBLIC_VALUE) : r.mpintBytes(MAX_PUBLIC_VALUE);
}

/** The one-round-trip exchange for the context's method. */
export class EphemeralKeyExchange implements KeyExchange {
  readonly #ctx: KexContext;
  readonly #eph: Ephemeral;
  #clientPublic: Uint8Array | null = null;
  #done = false;

  constructor(ctx: KexContext) {
    this.#ctx = ctx;
    this.#eph = ephemeralFor(ctx);
  }

  start(): void {
    if (this.#ctx.role !== 'client') return;
    this.#clientPublic = this.#eph.clientPublic();
    const w = new SSHWriter(this.#clientPublic.length + 16).byte(MSG.KEX_ECDH_INIT);
    this.#ctx.send(writeValue(w, this.#eph.valueEncoding, this.#clientPublic).toBytes());
  }

  handle(type: number, payload: Uint8Array): KexResult | Promise<KexResult> | null {
    const ctx = this.#ctx;
    if (this.#done) throw unexpectedKexMessage(ctx, type, 'nothing (exchange finished)');
    const enc = this.#eph.valueEncoding;
    const fields = (qc: Uint8Array, qs: Uint8Array) => (w: SSHWriter) => {
      writeValue(w, enc, qc);
      writeValue(w, enc, qs);
    };
    if (ctx.role === 'server') {
      if (type !== MSG.KEX_ECDH_INIT) throw unexpectedKexMessage(ctx, type, 'KEX_ECDH_INIT (30)');
      const r = new SSHReader(payload, `${ctx.name} init`);
      r.byte();
      const qc = readValue(r, enc);
      r.end();
      this.#done = true;
      const { serverPublic, K } = this.#eph.serverRespond(qc);
      const signer = ctx.hostKey!;
      const hostKeyBlob = signer.publicKeyBlob;
      const H = exchangeHash(ctx, ctx.spec.hash, hostKeyBlob, fields(qc, serverPublic), K);
      return signExchangeHash(signer, ctx.hostKeyAlgorithm, H).then((sig) => {
        const w = new SSHWriter(hostKeyBlob.length + serverPublic.length + sig.length + 32).byte(MSG.KEX_ECDH_REPLY).string(hostKeyBlob);
        writeValue(w, enc, serverPublic).string(sig);
        ctx.send(w.toBytes());
        return { hash: ctx.spec.hash, K, H, hostKeyBlob, signature: sig };
      });
    }
    if (type !== MSG.KEX_ECDH_REPLY || !this.#clientPublic) throw unexpectedKexMessage(ctx, type, 'KEX_ECDH_REPLY (31)');
    const r = new SSHReader(payload, `${ctx.name} reply`);
    r.byte();
    const hostKeyBlob = r.string(MAX_HOST_KEY_BLOB);
    const qs = readValue(r, enc);
    const sig = r.string(MAX_HOST_KEY_BLOB);
    r.end();
    this.#done = true;
    const K = this.#eph.clientSecret(qs);
    const H = exchangeHash(ctx, ctx.spec.hash, hostKeyBlob, fields(this.#clientPublic, qs), K);
    verifyExchangeSignature(ctx.hostKeyAlgorithm, hostKeyBlob, H, sig);
    return { hash: ctx.spec.hash, K, H, hostKeyBlob, signature: sig };
  }
}
