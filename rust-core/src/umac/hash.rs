//! UHASH's three layers (RFC 4418 section 5): NH over 1024-byte chunks,
//! the POLY polynomial hash over the chunk outputs, and the L3 inner product.

/// Bytes of message one NH call covers (the L1 key length).
pub const L1_CHUNK: usize = 1024;

/// prime(64) = 2^64 - 59.
const P64: u64 = 0xffff_ffff_ffff_ffc5;
/// prime(128) = 2^128 - 159.
const P128: u128 = u128::MAX - 158;
/// prime(36) = 2^36 - 5.
pub const P36: u64 = (1 << 36) - 5;

/// NH for `streams` Toeplitz-shifted keys at once: stream s uses the key
/// words from `4 * s`. `msg` is a multiple of 32 bytes and at most 1024;
/// message words are little-endian, key words were read big-endian.
#[inline]
pub fn nh<const S: usize>(key: &[u32], msg: &[u8]) -> [u64; S] {
    let mut y = [0u64; S];
    for (blk, c) in msg.chunks_exact(32).enumerate() {
        let mut m = [0u32; 8];
        for (i, w) in m.iter_mut().enumerate() {
            *w = u32::from_le_bytes([c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]]);
        }
        let kb = &key[8 * blk..8 * blk + 8 + 4 * (S - 1)];
        for (s, acc) in y.iter_mut().enumerate() {
            let k = &kb[4 * s..4 * s + 8];
            let mut sum = *acc;
            for j in 0..4 {
                let a = m[j].wrapping_add(k[j]) as u64;
                let b = m[j + 4].wrapping_add(k[j + 4]) as u64;
                sum = sum.wrapping_add(a * b);
            }
            *acc = sum;
        }
    }
    y
}

/// (k * y + m) mod prime(64), for k < 2^57 and y < 2^64.
fn mul_add_p64(k: u64, y: u64, m: u64) -> u64 {
    let t = k as u128 * y as u128 + m as u128;
    // 2^64 = 59 (mod p): fold the high half twice, then one subtraction.
    let t = (t >> 64) * 59 + (t as u64 as u128);
    let t = (t >> 64) * 59 + (t as u64 as u128);
    let mut r = t as u64;
    if t >> 64 != 0 {
        r = r.wrapping_add(59);
    }
    if r >= P64 {
        r -= P64;
    }
    r
}

/// One POLY step over 64-bit words (RFC 4418 section 5.3, wordbits 64).
pub fn poly64_step(y: u64, k: u64, m: u64) -> u64 {
    if m >= 0xffff_ffff_0000_0000 {
        let y = mul_add_p64(k, y, P64 - 1);
        mul_add_p64(k, y, m - 59)
    } else {
        mul_add_p64(k, y, m)
    }
}

/// (k * y + m) mod prime(128), for k < 2^121 and y, m < 2^128.
fn mul_add_p128(k: u128, y: u128, m: u128) -> u128 {
    const MASK: u128 = u64::MAX as u128;
    let (k0, k1) = (k & MASK, k >> 64);
    let (y0, y1) = (y & MASK, y >> 64);
    let p00 = k0 * y0;
    let p01 = k0 * y1;
    let p10 = k1 * y0;
    let p11 = k1 * y1;
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | ((mid & MASK) << 64);
    let hi = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + p11;
    // value = hi * 2^128 + lo = hi * 159 + lo (mod p), hi < 2^122.
    let a = (hi & MASK) * 159; // < 2^72
    let b = (hi >> 64) * 159; // < 2^66, weighs 2^64
    let mut carry: u128 = b >> 64;
    let (t, c) = lo.overflowing_add(a);
    carry += c as u128;
    let (t, c) = t.overflowing_add((b & MASK) << 64);
    carry += c as u128;
    let (t, c) = t.overflowing_add(m);
    carry += c as u128;
    let (mut t, c) = t.overflowing_add(carry * 159);
    if c {
        // Wrapped past 2^128: t is now tiny, so this cannot wrap again.
        t += 159;
    }
    if t >= P128 {
        t -= P128;
    }
    t
}

/// One POLY step over 128-bit words (RFC 4418 section 5.3, wordbits 128).
pub fn poly128_step(y: u128, k: u128, m: u128) -> u128 {
    if m >= u128::MAX - ((1u128 << 96) - 1) {
        let y = mul_add_p128(k, y, P128 - 1);
        mul_add_p128(k, y, m - 159)
    } else {
        mul_add_p128(k, y, m)
    }
}

/// L3-HASH (RFC 4418 section 5.4) without the final xor: the inner product
/// of B's eight 16-bit big-endian words with `key` (already reduced mod
/// prime(36)), mod prime(36), then mod 2^32.
pub fn l3(key: &[u64; 8], b: u128) -> u32 {
    let mut y = 0u64;
    for (i, k) in key.iter().enumerate() {
        let w = ((b >> (112 - 16 * i)) & 0xffff) as u64;
        // Each term < 2^52, eight of them < 2^55.
        y += w * k;
    }
    (y % P36) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_mod(a: u128, b: u128) -> u128 {
        let (s, c) = a.overflowing_add(b);
        if c || s >= P128 {
            s.wrapping_sub(P128)
        } else {
            s
        }
    }

    /// Shift-and-add reference for (k * y + m) mod prime(128).
    fn reference(k: u128, y: u128, m: u128) -> u128 {
        let mut acc = 0u128;
        for bit in (0..128).rev() {
            acc = add_mod(acc, acc);
            if (k >> bit) & 1 == 1 {
                acc = add_mod(acc, y % P128);
            }
        }
        add_mod(acc, m % P128)
    }

    #[test]
    fn mul_add_p128_matches_reference() {
        let mut x = 0x0123_4567_89ab_cdef_u128 ^ (0xfeed_u128 << 100);
        let mut next = || {
            // xorshift128-style mixing, enough for varied operands.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..2000 {
            let k = next() & 0x01ff_ffff_01ff_ffff_01ff_ffff_01ff_ffff;
            let y = if i % 3 == 0 { P128 - 1 - (next() & 0xff) } else { next() % P128 };
            let m = if i % 5 == 0 { u128::MAX - (next() & 0xffff) } else { next() };
            assert_eq!(mul_add_p128(k, y, m), reference(k, y, m), "k {k:x} y {y:x} m {m:x}");
        }
    }
}
