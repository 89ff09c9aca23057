/**
 * Crypto behaviour that mutation testing found unpinned: the packet length
 * and padding bounds at their edges, the AES-GCM invocation counter's carry
 * (RFC 5647 section 7), refusing to seal chacha20-poly1305 with OpenSSL
 * alone, DH group checks, public key blob checks, and the KEM factory
 * honouring SSHWIRE_BACKEND.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { buildFfdh, buildOpener, buildSealer, buildVerifier } from '../../ts/crypto/backends.js';
import { cipherInfo } from '../../ts/crypto/algorithms.js';
import { checkGroup } from '../../ts/crypto/ffdh.js';
import { ecdsaSigFromSsh, parsePublicKeyBlob } from '../../ts/crypto/keyblob.js';
import { modpGroup } from '../../ts/crypto/modp-groups.js';
import { servingImpls } from '../../ts/crypto/select.js';
import type { DirectionKeys } from '../../ts/crypto/types.js';
import { CryptoError, IntegrityError, KeyFormatError, ProtocolError } from '../../ts/errors.js';
import { SSHWriter } from '../../ts/wire/index.js';
import { keysFor, layoutBatch, payloadsFrom, prng, samePayloads, sealingImpls } from './helpers.js';

const CONSTRUCTIONS: [string, string][] = (
  [
    ['none', 'none'],
    ['chacha20-poly1305@openssh.com', 'none'],
    ['aes128-gcm@openssh.com', 'none'],
    ['aes128-ctr', 'hmac-sha2-256'],
    ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
    ['aes256-cbc', 'hmac-sha1'],
  ] as [string, string][]
).filter(([c]) => servingImpls(c).length > 0);

describe('packet length limit', () => {
  it.each(CONSTRUCTIONS)('%s + %s: a packet_length of exactly maxPacketLength opens; one less as the limit is a ProtocolError', (cipher, mac) => {
    for (const impl of servingImpls(cipher)) {
      const keys = keysFor(cipher, mac, 11);
      const s = buildSealer(keys, sealingImpls(cipher, { cipher: impl }));
      const payload = prng(4).bytes(100);
      const { buf } = layoutBatch([payload], s);
      const len = new DataView(buf.buffer).getUint32(0);
      s.sealPackets(buf, 0, 1, 5);
      const spans = new Uint32Array(2);
      expect(buildOpener(keys, { cipher: impl }).openPackets(buf.slice(), 0, buf.length, 5, len, spans), impl).toBe(1);
      expect(() => buildOpener(keys, { cipher: impl }).openPackets(buf.slice(), 0, buf.length, 5, len - 1, new Uint32Array(2)), impl).toThrow(ProtocolError);
    }
  });
});

describe('padding_length checks (RFC 4253 section 6)', () => {
  const none: DirectionKeys = { cipher: 'none', mac: 'none', encKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
  /** A plaintext packet of packet_length 12 (block-aligned with its length field) with the given padding_length byte. */
  const packet = (pad: number) => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, 12);
    b[4] = pad;
    return b;
  };
  const open = (pad: number) => {
    const spans = new Uint32Array(2);
    const n = buildOpener(none).openPackets(packet(pad), 0, 16, 0, 1024, spans);
    return { n, spans };
  };

  it('padding of 4 up to packet_length - 1 is accepted (an empty payload at the top)', () => {
    expect(open(4).n).toBe(1);
    const top = open(11);
    expect(top.n).toBe(1);
    expect(payloadsFrom(packet(11), top.spans, 1)[0]!.length).toBe(0);
  });

  it('padding below 4, or as long as the whole packet, is a ProtocolError', () => {
    expect(() => open(3)).toThrow(ProtocolError);
    expect(() => open(0)).toThrow(ProtocolError);
    expect(() => open(12)).toThrow(ProtocolError);
  });

  it('the same checks apply after an AEAD opens the packet', () => {
    for (const impl of servingImpls('aes128-gcm@openssh.com')) {
      const keys = keysFor('aes128-gcm@openssh.com', 'none', 3);
      const s = buildSealer(keys, { cipher: impl });
      const { buf } = layoutBatch([new Uint8Array(11)], s);
      expect(new DataView(buf.buffer).getUint32(0)).toBe(16);
      buf[4] = 16; // padding_length = packet_length
      s.sealPackets(buf, 0, 1, 0);
      expect(() => buildOpener(keys, { cipher: impl }).openPackets(buf, 0, buf.length, 0, 1024, new Uint32Array(2))).toThrow(ProtocolError);
    }
  });
});

describe('AES-GCM invocation counter (RFC 5647 section 7)', () => {
  /** Seals two packets from `iv`; returns the second one alone. */
  function secondPacket(impl: string, iv: Uint8Array): { keys: DirectionKeys; second: Uint8Array; payload: Uint8Array } {
    const base = keysFor('aes128-gcm@openssh.com', 'none', 8);
    const keys = { ...base, iv };
    const s = buildSealer(keys, { cipher: impl });
    const payload = prng(2).bytes(30);
    const { buf, offsets } = layoutBatch([new Uint8Array(5), payload], s);
    s.sealPackets(buf, 0, 2, 0);
    return { keys, second: buf.slice(offsets[1]!), payload };
  }
  const iv = (fixed: string, counter: string) => Uint8Array.from(Buffer.from(fixed + counter, 'hex'));

  it.each(servingImpls('aes128-gcm@openssh.com'))('%s: the counter carries from one byte into the next', (impl) => {
    const { keys, second, payload } = secondPacket(impl, iv('01020304', '00000000000000ff'));
    const opener = buildOpener({ ...keys, iv: iv('01020304', '0000000000000100') }, { cipher: impl });
    const spans = new Uint32Array(2);
    expect(opener.openPackets(second, 0, second.length, 1, 1024, spans)).toBe(1);
    expect(samePayloads(payloadsFrom(second, spans, 1), [payload])).toBe(true);
    // A counter without the carry is not the one used.
    const wrong = buildOpener({ ...keys, iv: iv('01020304', '0000000000000000') }, { cipher: impl });
    expect(() => wrong.openPackets(second.slice(), 0, second.length, 1, 1024, new Uint32Array(2))).toThrow(IntegrityError);
  });

  it.each(servingImpls('aes128-gcm@openssh.com'))('%s: the 64-bit counter wraps to zero without touching the fixed field', (impl) => {
    const { keys, second } = secondPacket(impl, iv('01020304', 'ffffffffffffffff'));
    const opener = buildOpener({ ...keys, iv: iv('01020304', '0000000000000000') }, { cipher: impl });
    expect(opener.openPackets(second, 0, second.length, 1, 1024, new Uint32Array(2))).toBe(1);
  });
});

describe('chacha20-poly1305 sealing', () => {
  it('asking for the OpenSSL-only implementation to seal is refused when the sealer is built', () => {
    const keys = keysFor('chacha20-poly1305@openssh.com', 'none', 1);
    let err: unknown;
    try {
      buildSealer(keys, { cipher: 'native' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('ERR_SSH_CRYPTO_UNSUPPORTED');
  });
});

describe('DH group checks (gex groups come from the server)', () => {
  const p = modpGroup('group14').prime;
  const bad: [string, { prime: bigint; generator: bigint }][] = [
    ['generator 1', { prime: p, generator: 1n }],
    ['generator 0', { prime: p, generator: 0n }],
    ['generator p-1', { prime: p, generator: p - 1n }],
    ['generator p', { prime: p, generator: p }],
    ['an even modulus', { prime: p + 1n, generator: 2n }],
    ['a 1023-bit modulus', { prime: (1n << 1022n) + 1n, generator: 2n }],
    ['a 16385-bit modulus', { prime: (1n << 16384n) + 1n, generator: 2n }],
  ];
  it.each(bad)('%s is a CryptoError', (_what, group) => {
    expect(() => buildFfdh(group)).toThrow(CryptoError);
  });

  it('checkGroup itself refuses the degenerate generators 1 and p-1 (not only our own DH value check later)', () => {
    expect(() => checkGroup({ prime: p, generator: 1n })).toThrow(/generator is out of range/);
    expect(() => checkGroup({ prime: p, generator: p - 1n })).toThrow(/generator is out of range/);
    expect(() => checkGroup({ prime: p, generator: 2n })).not.toThrow();
  });

  it('a 1024-bit group with generator 2 is accepted', () => {
    expect(buildFfdh(modpGroup('group1'), 'js').publicKey.length).toBeGreaterThan(0);
  });
});

describe('public key blob checks', () => {
  const n = (1n << 2047n) + 0x1234567n; // 2048 bits, odd

  it('an RSA key with an even public exponent is a KeyFormatError', () => {
    const even = new SSHWriter().string('ssh-rsa').mpint(65536n).mpint(n).toBytes();
    expect(() => parsePublicKeyBlob(even)).toThrow(KeyFormatError);
    expect(() => buildVerifier(even)).toThrow(/exponent must be odd/);
    const odd = new SSHWriter().string('ssh-rsa').mpint(65537n).mpint(n).toBytes();
    expect(parsePublicKeyBlob(odd).type).toBe('ssh-rsa');
  });

  it('an ssh-ed25519 key shorter than 32 bytes is a KeyFormatError', () => {
    const short = new SSHWriter().string('ssh-ed25519').string(new Uint8Array(31)).toBytes();
    expect(() => parsePublicKeyBlob(short)).toThrow(/must be 32 bytes/);
  });

  it('an ECDSA signature with r or s zero decodes to null', () => {
    const sig = (r: bigint, s: bigint) => new SSHWriter().mpint(r).mpint(s).toBytes();
    expect(ecdsaSigFromSsh(sig(0n, 5n), 32)).toBeNull();
    expect(ecdsaSigFromSsh(sig(5n, 0n), 32)).toBeNull();
    expect(ecdsaSigFromSsh(sig(5n, 6n), 32)!.length).toBe(64);
  });
});

describe('KEM factory and SSHWIRE_BACKEND', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('createKem without a backend follows the load-time choice (SSHWIRE_BACKEND=js gives the js ML-KEM-768)', async () => {
    vi.resetModules();
    vi.stubEnv('SSHWIRE_BACKEND', 'js');
    const sel = await import('../../ts/crypto/select.js');
    const kem = await import('../../ts/crypto/kem/index.js');
    expect(sel.chosenImpl('mlkem768')).toBe('js');
    expect(kem.createKem('mlkem768')!.backend).toBe('js');
    // sntrup761 has no js implementation: it still comes from wasm when wasm is up.
    expect(kem.createKem('sntrup761')?.backend).toBe(sel.backendInfo().available.wasm.available ? 'wasm' : undefined);
  });
});

it('cipherInfo is consistent with the constructions used here', () => {
  for (const [c] of CONSTRUCTIONS) expect(cipherInfo(c)).toBeDefined();
});
