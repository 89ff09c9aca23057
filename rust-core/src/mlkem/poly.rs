//! Arithmetic in R_q = Z_3329[X]/(X^256 + 1) and its NTT domain
//! (FIPS 203 sections 4.3, Algorithms 9-12).
//!
//! Coefficients are `u16` kept in [0, q). Every reduction is a multiply and
//! shift with a masked correction, never a data-dependent branch or `%`,
//! because secret coefficients pass through here.

pub const N: usize = 256;
pub const Q: u32 = 3329;

pub type Poly = [u16; N];

/// 7-bit bit reversal.
const fn bitrev7(i: u32) -> u32 {
    let mut r = 0;
    let mut b = 0;
    while b < 7 {
        r |= ((i >> b) & 1) << (6 - b);
        b += 1;
    }
    r
}

const fn pow_mod(base: u32, mut e: u32) -> u32 {
    let mut r = 1u32;
    let mut b = base % Q;
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % Q;
        }
        b = b * b % Q;
        e >>= 1;
    }
    r
}

/// zeta^BitRev7(i) for the NTT butterflies (zeta = 17).
const ZETAS: [u32; 128] = {
    let mut t = [0u32; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = pow_mod(17, bitrev7(i as u32));
        i += 1;
    }
    t
};

/// zeta^(2 BitRev7(i) + 1) for the base-case products.
const GAMMAS: [u32; 128] = {
    let mut t = [0u32; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = pow_mod(17, 2 * bitrev7(i as u32) + 1);
        i += 1;
    }
    t
};

/// Subtracts q if x >= q, for x < 2q, without branching.
#[inline(always)]
pub fn csub_q(x: u32) -> u32 {
    let d = x.wrapping_sub(Q);
    let mask = ((d as i32) >> 31) as u32; // all ones when x < q
    d.wrapping_add(mask & Q)
}

/// x mod q for any u32 (Barrett: floor(2^38 / q) = 82570714).
#[inline(always)]
pub fn reduce(x: u32) -> u32 {
    let t = ((x as u64 * 82_570_714) >> 38) as u32;
    csub_q(x - t * Q)
}

/// floor(n / q) for n < 2^23 (multiply by ceil(2^36 / q)).
#[inline(always)]
pub fn div_q(n: u32) -> u32 {
    ((n as u64 * 20_642_679) >> 36) as u32
}

/// In-place NTT (Algorithm 9).
pub fn ntt(f: &mut Poly) {
    let mut k = 1;
    let mut len = 128;
    while len >= 2 {
        let mut start = 0;
        while start < N {
            let zeta = ZETAS[k];
            k += 1;
            for j in start..start + len {
                let t = reduce(zeta * f[j + len] as u32);
                let a = f[j] as u32;
                f[j + len] = csub_q(a + Q - t) as u16;
                f[j] = csub_q(a + t) as u16;
            }
            start += 2 * len;
        }
        len >>= 1;
    }
}

/// In-place inverse NTT (Algorithm 10), including the final scaling by 128^-1 = 3303.
pub fn inv_ntt(f: &mut Poly) {
    let mut k = 127;
    let mut len = 2;
    while len <= 128 {
        let mut start = 0;
        while start < N {
            let zeta = ZETAS[k];
            k -= 1;
            for j in start..start + len {
                let t = f[j] as u32;
                let u = f[j + len] as u32;
                f[j] = csub_q(t + u) as u16;
                f[j + len] = reduce(zeta * (u + Q - t)) as u16;
            }
            start += 2 * len;
        }
        len <<= 1;
    }
    for c in f.iter_mut() {
        *c = reduce(*c as u32 * 3303) as u16;
    }
}

/// acc += f * g in the NTT domain (Algorithms 11 and 12).
pub fn mul_acc(acc: &mut Poly, f: &Poly, g: &Poly) {
    for i in 0..128 {
        let (a0, a1) = (f[2 * i] as u32, f[2 * i + 1] as u32);
        let (b0, b1) = (g[2 * i] as u32, g[2 * i + 1] as u32);
        let c0 = a0 * b0 + reduce(a1 * b1) * GAMMAS[i];
        let c1 = a0 * b1 + a1 * b0;
        acc[2 * i] = reduce(acc[2 * i] as u32 + c0) as u16;
        acc[2 * i + 1] = reduce(acc[2 * i + 1] as u32 + c1) as u16;
    }
}

/// f += g.
pub fn add_assign(f: &mut Poly, g: &Poly) {
    for (a, b) in f.iter_mut().zip(g.iter()) {
        *a = csub_q(*a as u32 + *b as u32) as u16;
    }
}

/// f -= g.
pub fn sub_assign(f: &mut Poly, g: &Poly) {
    for (a, b) in f.iter_mut().zip(g.iter()) {
        *a = csub_q(*a as u32 + Q - *b as u32) as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_and_div_are_exact() {
        for x in (0u32..1 << 27).chain(u32::MAX - (1 << 20)..=u32::MAX) {
            assert_eq!(reduce(x), x % Q, "reduce({})", x);
        }
        for n in 0u32..1 << 23 {
            assert_eq!(div_q(n), n / Q, "div_q({})", n);
        }
    }

    #[test]
    fn tables_match_the_standard() {
        // FIPS 203 Appendix A: the first few entries of both tables.
        assert_eq!(&ZETAS[..4], &[1, 1729, 2580, 3289]);
        assert_eq!(&GAMMAS[..4], &[17, 3312, 2761, 568]);
    }

    /// The NTT-domain product equals the schoolbook product mod X^256 + 1.
    #[test]
    fn ntt_multiplication_matches_schoolbook() {
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((seed >> 8) % Q) as u16
        };
        let mut f = [0u16; N];
        let mut g = [0u16; N];
        for i in 0..N {
            f[i] = rnd();
            g[i] = rnd();
        }
        let mut want = [0i64; N];
        for i in 0..N {
            for j in 0..N {
                let p = f[i] as i64 * g[j] as i64;
                if i + j < N {
                    want[i + j] += p;
                } else {
                    want[i + j - N] -= p;
                }
            }
        }
        let (mut fh, mut gh) = (f, g);
        ntt(&mut fh);
        ntt(&mut gh);
        let mut h = [0u16; N];
        mul_acc(&mut h, &fh, &gh);
        inv_ntt(&mut h);
        for i in 0..N {
            assert_eq!(h[i] as i64, want[i].rem_euclid(Q as i64));
        }
        let mut back = f;
        ntt(&mut back);
        inv_ntt(&mut back);
        assert_eq!(back, f);
    }
}
