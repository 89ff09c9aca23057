/**
 * Diffie-Hellman group exchange (RFC 4419): the client asks for a group
 * size (min, n, max), the server picks a safe prime group, then a classic DH
 * exchange runs in it. H additionally covers min, n, max, p and g.
 */
import { createFiniteFieldDH } from '../../crypto/index.js';
import type { KeyAgreement } from '../../crypto/types.js';
import { NegotiationError, ProtocolError } from '../../errors.js';
import { MSG, SSHReader, SSHWriter } from '../../wire/index.js';
import { signExchangeHash, verifyExchangeSignature } from './hostkey.js';
import { chooseGroup } from './moduli.js';
import { encodeSecretMpint, exchangeHash, unexpectedKexMessage, type KexContext, type KexResult, type KeyExchange } from './exchange.js';

/** RFC 4419 bounds: groups below 1024 or above 8192 bits are refused (sshd refuses below 2048). */
export const GEX_MIN_BITS = 2048;
export const GEX_MAX_BITS = 8192;
const MAX_MPINT = 8192 / 8 + 1;
const MAX_BLOB = 16384;

/**
 * Preferred group size for a cipher needing `needBytes` of key material,
 * after OpenSSH's estimate of DH strength (NIST SP 800-57 equivalences).
 */
export function preferredGexBits(needBytes: number): number {
  const bits = needBytes * 8;
  if (bits <= 112) return 2048;
  if (bits <= 128) return 3072;
  if (bits <= 192) return 7680;
  return 8192;
}

function bitLength(v: bigint): number {
  return v.toString(2).length;
}

type State = 'request' | 'group' | 'init' | 'reply' | 'done';

export class GroupExchange implements KeyExchange {
  readonly #ctx: KexContext;
  #state: State;
  #min = 0;
  #n = 0;
  #max = 0;
  #p = 0n;
  #g = 0n;
  #agreement: KeyAgreement | null = null;

  constructor(ctx: KexContext) {
    this.#ctx = ctx;
    this.#state = ctx.role === 'client' ? 'group' : 'request';
  }

  start(): void {
    const ctx = this.#ctx;
    if (ctx.role !== 'client') return;
    const req = ctx.gexRequest ?? { min: GEX_MIN_BITS, n: 3072, max: GEX_MAX_BITS };
    this.#min = req.min;
    this.#n = req.n;
    this.#max = req.max;
    ctx.send(new SSHWriter(32).byte(MSG.KEX_DH_GEX_REQUEST).uint32(req.min).uint32(req.n).uint32(req.max).toBytes());
  }

  #fields(e: Uint8Array, f: Uint8Array): (w: SSHWriter) => void {
    return (w) => {
      w.uint32(this.#min).uint32(this.#n).uint32(this.#max);
      w.mpint(this.#p).mpint(this.#g);
      w.mpintFromUnsigned(e).mpintFromUnsigned(f);
    };
  }

  handle(type: number, payload: Uint8Array): KexResult | Promise<KexResult> | null {
    const ctx = this.#ctx;
    switch (this.#state) {
      case 'request': {
        if (type !== MSG.KEX_DH_GEX_REQUEST) throw unexpectedKexMessage(ctx, type, 'KEX_DH_GEX_REQUEST (34)');
        const r = new SSHReader(payload, 'KEX_DH_GEX_REQUEST');
        r.byte();
        const min = r.uint32();
        const n = r.uint32();
        const max = r.uint32();
        r.end();
        if (min > n || n > max || max < 1024) throw new ProtocolError(`invalid group exchange request (min ${min}, n ${n}, max ${max})`, { code: 'ERR_SSH_KEX_VALUE' });
        this.#min = min;
        this.#n = n;
        this.#max = max;
        // Like sshd, never go below 2048 bits whatever the client allows.
        const group = chooseGroup(ctx.gexGroups ?? [], Math.max(min, GEX_MIN_BITS), Math.min(Math.max(n, GEX_MIN_BITS), GEX_MAX_BITS), Math.min(max, GEX_MAX_BITS));
        if (!group) throw new NegotiationError(`no group exchange group between ${min} and ${max} bits`);
        this.#p = group.prime;
        this.#g = group.generator;
        ctx.send(new SSHWriter(1100).byte(MSG.KEX_DH_GEX_GROUP).mpint(this.#p).mpint(this.#g).toBytes());
        this.#state = 'init';
        return null;
      }
      case 'group': {
        if (type !== MSG.KEX_DH_GEX_GROUP) throw unexpectedKexMessage(ctx, type, 'KEX_DH_GEX_GROUP (31)');
        const r = new SSHReader(payload, 'KEX_DH_GEX_GROUP');
        r.byte();
        const p = r.mpint(MAX_MPINT);
        const g = r.mpint(MAX_MPINT);
        r.end();
        const bits = bitLength(p);
        if (bits < this.#min || bits > this.#max) {
          throw new ProtocolError(`server offered a ${bits}-bit group, outside the requested ${this.#min}..${this.#max}`, { code: 'ERR_SSH_KEX_VALUE' });
        }
        if (p <= 0n || (p & 1n) === 0n || g <= 1n || g >= p - 1n) throw new ProtocolError('server offered an invalid DH group', { code: 'ERR_SSH_KEX_VALUE' });
        this.#p = p;
        this.#g = g;
        this.#agreement = createFiniteFieldDH({ prime: p, generator: g });
        ctx.send(new SSHWriter(1100).byte(MSG.KEX_DH_GEX_INIT).mpintFromUnsigned(this.#agreement.publicKey).toBytes());
        this.#state = 'reply';
        return null;
      }
      case 'init': {
        if (type !== MSG.KEX_DH_GEX_INIT) throw unexpectedKexMessage(ctx, type, 'KEX_DH_GEX_INIT (32)');
        const r = new SSHReader(payload, 'KEX_DH_GEX_INIT');
        r.byte();
        const e = r.mpintBytes(MAX_MPINT);
        r.end();
        this.#state = 'done';
        const agreement = createFiniteFieldDH({ prime: this.#p, generator: this.#g });
        const K = encodeSecretMpint(agreement.computeSecret(e));
        const f = agreement.publicKey;
        const signer = ctx.hostKey!;
        const hostKeyBlob = signer.publicKeyBlob;
        const H = exchangeHash(ctx, ctx.spec.hash, hostKeyBlob, this.#fields(e, f), K);
        return signExchangeHash(signer, ctx.hostKeyAlgorithm, H).then((sig) => {
          ctx.send(new SSHWriter(hostKeyBlob.length + f.length + sig.length + 32).byte(MSG.KEX_DH_GEX_REPLY).string(hostKeyBlob).mpintFromUnsigned(f).string(sig).toBytes());
          return { hash: ctx.spec.hash, K, H, hostKeyBlob, signature: sig };
        });
      }
      case 'reply': {
        if (type !== MSG.KEX_DH_GEX_REPLY) throw unexpectedKexMessage(ctx, type, 'KEX_DH_GEX_REPLY (33)');
        const r = new SSHReader(payload, 'KEX_DH_GEX_REPLY');
        r.byte();
        const hostKeyBlob = r.string(MAX_BLOB);
        const f = r.mpintBytes(MAX_MPINT);
        const sig = r.string(MAX_BLOB);
        r.end();
        this.#state = 'done';
        const agreement = this.#agreement!;
        const K = encodeSecretMpint(agreement.computeSecret(f));
        const H = exchangeHash(ctx, ctx.spec.hash, hostKeyBlob, this.#fields(agreement.publicKey, f), K);
        verifyExchangeSignature(ctx.hostKeyAlgorithm, hostKeyBlob, H, sig);
        return { hash: ctx.spec.hash, K, H, hostKeyBlob, signature: sig };
      }
      case 'done':
        throw unexpectedKexMessage(ctx, type, 'nothing (exchange finished)');
    }
  }
}
