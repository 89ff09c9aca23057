//! Byte encodings and compression (FIPS 203 sections 4.2.1, Algorithms 5-6).

use super::poly::{div_q, Poly, N, Q};

/// ByteEncode_d: 256 d-bit integers packed little-endian into 32 d bytes.
pub fn byte_encode(f: &Poly, d: u32, out: &mut [u8]) {
    debug_assert_eq!(out.len(), 32 * d as usize);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut o = 0;
    for &c in f.iter() {
        acc |= (c as u32) << bits;
        bits += d;
        while bits >= 8 {
            out[o] = acc as u8;
            o += 1;
            acc >>= 8;
            bits -= 8;
        }
    }
}

/// ByteDecode_d for d < 12: 256 d-bit integers (always < 2^d, so no reduction).
pub fn byte_decode(bytes: &[u8], d: u32, f: &mut Poly) {
    debug_assert_eq!(bytes.len(), 32 * d as usize);
    let mask = (1u32 << d) - 1;
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut i = 0;
    for &b in bytes {
        acc |= (b as u32) << bits;
        bits += 8;
        while bits >= d && i < N {
            f[i] = (acc & mask) as u16;
            i += 1;
            acc >>= d;
            bits -= d;
        }
    }
}

/// ByteDecode_12 with the FIPS 203 modulus check folded in: returns false
/// if any 12-bit value is >= q (the encapsulation-key check of section 7.2
/// is exactly "re-encoding the decoded key gives the same bytes").
pub fn byte_decode12(bytes: &[u8], f: &mut Poly) -> bool {
    debug_assert_eq!(bytes.len(), 384);
    let mut bad = 0u32;
    for i in 0..N / 2 {
        let b0 = bytes[3 * i] as u32;
        let b1 = bytes[3 * i + 1] as u32;
        let b2 = bytes[3 * i + 2] as u32;
        let x = b0 | ((b1 & 0x0f) << 8);
        let y = (b1 >> 4) | (b2 << 4);
        // (Q - 1 - x) has its top bit set exactly when x >= Q.
        bad |= (Q - 1).wrapping_sub(x) | (Q - 1).wrapping_sub(y);
        f[2 * i] = x as u16;
        f[2 * i + 1] = y as u16;
    }
    bad >> 31 == 0
}

/// Compress_d(x) = round(2^d x / q) mod 2^d, for every coefficient.
pub fn compress(f: &mut Poly, d: u32) {
    let mask = (1u32 << d) - 1;
    for c in f.iter_mut() {
        let n = ((*c as u32) << d) + Q / 2;
        *c = (div_q(n) & mask) as u16;
    }
}

/// Decompress_d(y) = round(q y / 2^d), for every coefficient.
pub fn decompress(f: &mut Poly, d: u32) {
    for c in f.iter_mut() {
        *c = ((*c as u32 * Q + (1 << (d - 1))) >> d) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_matches_the_definition() {
        for d in [1u32, 4, 10] {
            for x in 0..Q {
                let mut f = [0u16; N];
                f[0] = x as u16;
                compress(&mut f, d);
                // round(2^d x / q) with exact rationals: floor((2^(d+1) x + q) / 2q)
                let want = ((((x as u64) << (d + 1)) + Q as u64) / (2 * Q as u64)) % (1 << d);
                assert_eq!(f[0] as u64, want, "d={} x={}", d, x);
            }
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut f = [0u16; N];
        for i in 0..N {
            f[i] = ((i * 37 + 11) % 1024) as u16;
        }
        let mut buf = [0u8; 320];
        byte_encode(&f, 10, &mut buf);
        let mut g = [0u16; N];
        byte_decode(&buf, 10, &mut g);
        assert_eq!(f, g);
        for i in 0..N {
            f[i] = ((i * 1237 + 5) % 3329) as u16;
        }
        let mut buf12 = [0u8; 384];
        byte_encode(&f, 12, &mut buf12);
        assert!(byte_decode12(&buf12, &mut g));
        assert_eq!(f, g);
        buf12[100] = 0xff;
        buf12[101] |= 0x0f; // a 12-bit value of 0xfff
        assert!(!byte_decode12(&buf12, &mut g));
    }
}
