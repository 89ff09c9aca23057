//! The NTRU Prime byte encodings: the generic mixed-radix Encode/Decode
//! (round-3 specification, section "Encoding"), and the three uses of it
//! (R/q public keys, rounded ciphertexts, 2-bit small polynomials).
//!
//! Encode/Decode run on public data only (public keys and ciphertexts),
//! so plain division is fine here.

use super::arith::{P, Q, Q12};

pub const RQ_BYTES: usize = 1158;
pub const ROUNDED_BYTES: usize = 1007;
pub const SMALL_BYTES: usize = (P + 3) / 4; // 191

/// Largest pair-level length: ceil(P / 2).
const HALF: usize = (P + 1) / 2;

/// Encodes `r[i]` in [0, m[i]) for i < len, appending to `out` at `*o`.
/// `r` and `m` are used as scratch (each level is written over the previous).
fn encode(out: &mut [u8], o: &mut usize, r: &mut [u16; P], m: &mut [u16; P], mut len: usize) {
    while len > 1 {
        let mut i = 0;
        while i + 1 < len {
            let m0 = m[i] as u32;
            let mut rr = r[i] as u32 + r[i + 1] as u32 * m0;
            let mut mm = m[i + 1] as u32 * m0;
            while mm >= 16384 {
                out[*o] = rr as u8;
                *o += 1;
                rr >>= 8;
                mm = (mm + 255) >> 8;
            }
            r[i / 2] = rr as u16;
            m[i / 2] = mm as u16;
            i += 2;
        }
        if i < len {
            r[i / 2] = r[i];
            m[i / 2] = m[i];
        }
        len = (len + 1) / 2;
    }
    let mut rr = r[0] as u32;
    let mut mm = m[0] as u32;
    while mm > 1 {
        out[*o] = rr as u8;
        *o += 1;
        rr >>= 8;
        mm = (mm + 255) >> 8;
    }
}

/// Inverse of `encode`: reads from `s` at `*o`, writes `len` values to `out`.
/// Out-of-range inputs decode to some in-range values (as in the reference:
/// a final reduction mod m keeps every output below its modulus).
fn decode(out: &mut [u16], s: &[u8], o: &mut usize, m: &[u16], len: usize) {
    if len == 1 {
        out[0] = if m[0] == 1 {
            0
        } else if m[0] <= 256 {
            (s[*o] as u32 % m[0] as u32) as u16
        } else {
            let v = s[*o] as u32 | (s[*o + 1] as u32) << 8;
            *o += 1;
            (v % m[0] as u32) as u16
        };
        if m[0] > 1 {
            *o += 1;
        }
        return;
    }
    let half = (len + 1) / 2;
    let mut m2 = [0u16; HALF];
    let mut bottom_r = [0u16; HALF];
    let mut bottom_t = [0u32; HALF];
    let mut i = 0;
    while i + 1 < len {
        let mm = m[i] as u32 * m[i + 1] as u32;
        if mm > 256 * 16383 {
            bottom_t[i / 2] = 256 * 256;
            bottom_r[i / 2] = s[*o] as u16 | (s[*o + 1] as u16) << 8;
            *o += 2;
            m2[i / 2] = ((((mm + 255) >> 8) + 255) >> 8) as u16;
        } else if mm >= 16384 {
            bottom_t[i / 2] = 256;
            bottom_r[i / 2] = s[*o] as u16;
            *o += 1;
            m2[i / 2] = ((mm + 255) >> 8) as u16;
        } else {
            bottom_t[i / 2] = 1;
            bottom_r[i / 2] = 0;
            m2[i / 2] = mm as u16;
        }
        i += 2;
    }
    if i < len {
        m2[i / 2] = m[i];
    }
    let mut r2 = [0u16; HALF];
    decode(&mut r2[..half], s, o, &m2[..half], half);
    let mut i = 0;
    while i + 1 < len {
        let rr = bottom_r[i / 2] as u32 + bottom_t[i / 2] * r2[i / 2] as u32;
        let m0 = m[i] as u32;
        out[i] = (rr % m0) as u16;
        out[i + 1] = ((rr / m0) % m[i + 1] as u32) as u16;
        i += 2;
    }
    if i < len {
        out[i] = r2[i / 2];
    }
}

/// Public key: coefficients of h in R/q, radix q.
pub fn rq_encode(out: &mut [u8; RQ_BYTES], h: &[i16; P]) {
    let mut r = [0u16; P];
    let mut m = [Q as u16; P];
    for i in 0..P {
        r[i] = (h[i] as i32 + Q12) as u16;
    }
    let mut o = 0;
    encode(out, &mut o, &mut r, &mut m, P);
    debug_assert_eq!(o, RQ_BYTES);
}

pub fn rq_decode(h: &mut [i16; P], s: &[u8; RQ_BYTES]) {
    let m = [Q as u16; P];
    let mut r = [0u16; P];
    let mut o = 0;
    decode(&mut r, s, &mut o, &m, P);
    for i in 0..P {
        h[i] = (r[i] as i32 - Q12) as i16;
    }
}

/// Ciphertext: coefficients that are multiples of 3, radix (q + 2) / 3.
pub fn rounded_encode(out: &mut [u8], c: &[i16; P]) {
    let mut r = [0u16; P];
    let mut m = [((Q + 2) / 3) as u16; P];
    for i in 0..P {
        // (c + q12) is a multiple of 3 below 3 * 1531; 10923 / 2^15 ~ 1/3.
        r[i] = (((c[i] as i32 + Q12) * 10923) >> 15) as u16;
    }
    let mut o = 0;
    encode(out, &mut o, &mut r, &mut m, P);
    debug_assert_eq!(o, ROUNDED_BYTES);
}

pub fn rounded_decode(c: &mut [i16; P], s: &[u8]) {
    let m = [((Q + 2) / 3) as u16; P];
    let mut r = [0u16; P];
    let mut o = 0;
    decode(&mut r, s, &mut o, &m, P);
    for i in 0..P {
        c[i] = (r[i] as i32 * 3 - Q12) as i16;
    }
}

/// Small polynomials: four coefficients (each + 1, in 0..=2) per byte.
pub fn small_encode(out: &mut [u8], f: &[i8; P]) {
    for i in 0..P / 4 {
        let mut x = 0u8;
        for j in 0..4 {
            x |= ((f[4 * i + j] + 1) as u8) << (2 * j);
        }
        out[i] = x;
    }
    out[P / 4] = (f[P - 1] + 1) as u8;
}

pub fn small_decode(f: &mut [i8; P], s: &[u8]) {
    for i in 0..P / 4 {
        let x = s[i];
        for j in 0..4 {
            f[4 * i + j] = ((x >> (2 * j)) & 3) as i8 - 1;
        }
    }
    f[P - 1] = (s[P / 4] & 3) as i8 - 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        let mut h = [0i16; P];
        for c in h.iter_mut() {
            *c = (next() % Q as u32) as i16 - Q12 as i16;
        }
        let mut pk = [0u8; RQ_BYTES];
        rq_encode(&mut pk, &h);
        let mut back = [0i16; P];
        rq_decode(&mut back, &pk);
        assert_eq!(back, h);

        for c in h.iter_mut() {
            *c = ((next() % 1531) * 3) as i16 - Q12 as i16;
        }
        let mut ct = [0u8; ROUNDED_BYTES];
        rounded_encode(&mut ct, &h);
        rounded_decode(&mut back, &ct);
        assert_eq!(back, h);

        let mut f = [0i8; P];
        for c in f.iter_mut() {
            *c = (next() % 3) as i8 - 1;
        }
        let mut sb = [0u8; SMALL_BYTES];
        small_encode(&mut sb, &f);
        let mut g = [0i8; P];
        small_decode(&mut g, &sb);
        assert_eq!(f, g);
    }
}
