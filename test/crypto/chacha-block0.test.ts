/**
 * ChaChaBlock0 computes block 0 of the original ChaCha20 in plain JS: the
 * length keystream word (K_1) and the Poly1305 key (K_2) of
 * chacha20-poly1305@openssh.com. Checked against OpenSSL's chacha20
 * through node:crypto, whose IV is LE32(counter) || 00000000 || BE64(seq)
 * for OpenSSH's nonce, across keys and sequence numbers with every byte of
 * the 32-bit sequence number in use.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChaChaBlock0 } from '../../ts/crypto/packet/chacha-block0.js';

/** The first `n` keystream bytes of block 0 for `seq`, from OpenSSL. */
function opensslBlock0(key: Uint8Array, seq: number, n: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seq >>> 0, 12);
  return createCipheriv('chacha20', key, iv).update(Buffer.alloc(n));
}

const SEQS = [0, 1, 2, 0xff, 0x100, 0x12345678, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

describe('ChaChaBlock0', () => {
  it('keyBytes is keystream bytes 0..31 of block 0, at any offset of the output', () => {
    for (let k = 0; k < 8; k++) {
      const key = randomBytes(32);
      const block = new ChaChaBlock0(key);
      for (const seq of [...SEQS, randomBytes(4).readUInt32BE(0)]) {
        const out = new Uint8Array(40).fill(0xaa);
        block.keyBytes(seq, out, 5);
        expect(Buffer.from(out.subarray(5, 37)).toString('hex')).toBe(opensslBlock0(key, seq, 32).toString('hex'));
        expect([...out.subarray(0, 5), ...out.subarray(37)]).toEqual(new Array(8).fill(0xaa));
      }
    }
  });

  it('encrypt and decrypt XOR the length field with keystream bytes 0..3 of block 0', () => {
    for (let k = 0; k < 8; k++) {
      const key = randomBytes(32);
      const block = new ChaChaBlock0(key);
      for (const seq of SEQS) {
        const ks = opensslBlock0(key, seq, 4);
        const field = Buffer.from([0, 0, 0x80, 0x1c]);
        const wire = Buffer.from(field.map((b, i) => b ^ ks[i]!));
        expect(block.decrypt(wire, 0, seq)).toBe(field.readUInt32BE(0));
        const buf = Buffer.concat([Buffer.from([9]), field]);
        block.encrypt(buf, 1, seq);
        expect(buf.subarray(1).toString('hex')).toBe(wire.toString('hex'));
        expect(buf[0]).toBe(9);
      }
    }
  });
});
