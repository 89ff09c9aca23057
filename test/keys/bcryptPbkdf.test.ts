import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../ts/errors.js';
import { bcryptPbkdf } from '../../ts/keys/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('bcrypt_pbkdf', () => {
  // The vectors from OpenBSD's bcrypt_pbkdf regression test (also used by other implementations).
  it('matches the OpenBSD test vectors', () => {
    expect(hex(bcryptPbkdf(bytes('password'), bytes('salt'), 32, 4))).toBe('5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9');
    expect(hex(bcryptPbkdf(bytes('password'), bytes('\0'), 16, 4))).toBe('c12b566235eee04c212598970a579a67');
    expect(hex(bcryptPbkdf(bytes('\0'), bytes('salt'), 16, 4))).toBe('6051be18c2f4f82cbf0efee5471b4bb9');
    expect(hex(bcryptPbkdf(bytes('password\0'), bytes('salt\0'), 32, 4))).toBe('7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050');
  });

  it('spreads output across blocks: a longer key is not a prefix extension', () => {
    const short = bcryptPbkdf(bytes('pw'), bytes('salt'), 16, 2);
    const long = bcryptPbkdf(bytes('pw'), bytes('salt'), 48, 2);
    expect(long.length).toBe(48);
    expect(hex(long.subarray(0, 16))).not.toBe(hex(short));
  });

  it('refuses unusable parameters with CryptoError', () => {
    expect(() => bcryptPbkdf(bytes('pw'), bytes('salt'), 32, 0)).toThrow(CryptoError);
    expect(() => bcryptPbkdf(bytes('pw'), bytes(''), 32, 1)).toThrow(CryptoError);
    expect(() => bcryptPbkdf(bytes('pw'), bytes('salt'), 0, 1)).toThrow(CryptoError);
    expect(() => bcryptPbkdf(bytes('pw'), bytes('salt'), 32, 1 << 20)).toThrow(CryptoError);
  });
});
