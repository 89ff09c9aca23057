//! Arithmetic in R/3 = F_3[x]/(x^p - x - 1) and R/q = F_q[x]/(x^p - x - 1)
//! for sntrup761 (p = 761, q = 4591), following the NTRU Prime round-3
//! specification. Elements of F_3 are i8 in {-1, 0, 1}; elements of F_q are
//! i16 in [-(q-1)/2, (q-1)/2].
//!
//! All of this runs on secrets (f, g, their inverses, the decrypted r), so
//! reductions are multiply-and-shift and the inversions are the
//! fixed-iteration "divstep" algorithm with masked swaps, no branch on data.

pub const P: usize = 761;
pub const Q: i32 = 4591;
pub const Q12: i32 = (Q - 1) / 2;
pub const W: usize = 286;

/// x mod q, centered, for |x| < 2^24: two Barrett steps with
/// round(2^18/q) = 57 and round(2^27/q) = 29235 (all in i32, so the
/// loops that use it vectorize).
#[inline(always)]
pub fn fq_freeze(x: i32) -> i16 {
    let x = x - Q * ((57 * x) >> 18);
    (x - Q * ((29235 * x + (1 << 26)) >> 27)) as i16
}

/// x mod 3, centered, for |x| < 2^13 (round(2^15/3) = 10923; x/3 is never
/// close to a half-integer, so the rounded quotient is exact).
#[inline(always)]
pub fn f3_freeze(x: i32) -> i8 {
    (x - 3 * ((10923 * x + (1 << 14)) >> 15)) as i8
}

/// -1 if x != 0, else 0.
#[inline(always)]
fn nonzero_mask(x: i32) -> i32 {
    // (x | -x) has its sign bit set exactly when x != 0 (|x| < 2^31).
    (x | x.wrapping_neg()) >> 31
}

/// -1 if x < 0, else 0.
#[inline(always)]
fn negative_mask(x: i32) -> i32 {
    x >> 31
}

/// f * g reduced modulo x^p - x - 1, coefficients not yet frozen: the
/// schoolbook product both rings share (R/q with small g, and R/3).
fn mult_mod_xp<F: Copy + Into<i32>>(f: &[F; P], g: &[i8; P]) -> [i32; 2 * P - 1] {
    let mut fg = [0i32; 2 * P - 1];
    for i in 0..P {
        let fi: i32 = f[i].into();
        let row = &mut fg[i..i + P];
        for j in 0..P {
            row[j] += fi * g[j] as i32;
        }
    }
    // x^p = x + 1
    for i in (P..2 * P - 1).rev() {
        fg[i - P] += fg[i];
        fg[i - P + 1] += fg[i];
    }
    fg
}

/// h = f * g in R/q, with f in R/q and g small.
pub fn rq_mult_small(h: &mut [i16; P], f: &[i16; P], g: &[i8; P]) {
    let fg = mult_mod_xp(f, g);
    for i in 0..P {
        h[i] = fq_freeze(fg[i]);
    }
}

/// h = f * g in R/3.
pub fn r3_mult(h: &mut [i8; P], f: &[i8; P], g: &[i8; P]) {
    let fg = mult_mod_xp(f, g);
    for i in 0..P {
        h[i] = f3_freeze(fg[i]);
    }
}

/// s * x for s in {-1, 0, 1}, as masks (no multiply, so the loops below
/// vectorize to i8x16 on wasm simd128).
#[inline(always)]
fn f3_scale(x: i8, nonzero: i8, negative: i8) -> i8 {
    ((x ^ negative).wrapping_sub(negative)) & nonzero
}

/// Reduces t in [-2, 2] to {-1, 0, 1}: subtracts 3 round(t / 3).
#[inline(always)]
fn f3_reduce_small(t: i8) -> i8 {
    t - 3 * (((t + 2) >> 2) - ((2 - t) >> 2))
}

/// Inverse in R/3 by divsteps. Returns true when `a` is invertible, with
/// the inverse in `out`; when it is not, `out` holds garbage.
pub fn r3_recip(out: &mut [i8; P], a: &[i8; P]) -> bool {
    let mut f = [0i8; P + 1];
    let mut g = [0i8; P + 1];
    let mut v = [0i8; P + 1];
    let mut r = [0i8; P + 1];
    r[0] = 1;
    // f = x^p - x - 1 written from the top coefficient down.
    f[0] = 1;
    f[P - 1] = -1;
    f[P] = -1;
    for i in 0..P {
        g[P - 1 - i] = a[i];
    }
    let mut delta: i32 = 1;

    for step in 0..2 * P - 1 {
        // v and r are zero above index step + 1 (v shifts up once per step,
        // r picks up v), so the loops over them stop there; the bound depends
        // only on the step count, never on data.
        let vr_len = core::cmp::min(step + 2, P + 1);
        for i in (1..vr_len).rev() {
            v[i] = v[i - 1];
        }
        v[0] = 0;

        let sign = -(g[0] as i32) * (f[0] as i32);
        let swap = negative_mask(-delta) & nonzero_mask(g[0] as i32);
        delta ^= swap & (delta ^ -delta);
        delta += 1;

        let s8 = swap as i8;
        for i in 0..=P {
            let t = s8 & (f[i] ^ g[i]);
            f[i] ^= t;
            g[i] ^= t;
        }
        for i in 0..vr_len {
            let t = s8 & (v[i] ^ r[i]);
            v[i] ^= t;
            r[i] ^= t;
        }
        let nonzero = nonzero_mask(sign) as i8;
        let negative = negative_mask(sign) as i8;
        for i in 0..=P {
            g[i] = f3_reduce_small(g[i] + f3_scale(f[i], nonzero, negative));
        }
        for i in 0..vr_len {
            r[i] = f3_reduce_small(r[i] + f3_scale(v[i], nonzero, negative));
        }
        for i in 0..P {
            g[i] = g[i + 1];
        }
        g[P] = 0;
    }

    let sign = f[0];
    for i in 0..P {
        out[i] = sign * v[P - 1 - i];
    }
    delta == 0
}

/// a^(q-2) = 1/a in F_q (a != 0), by a fixed square-and-multiply chain.
fn fq_recip(a: i16) -> i16 {
    let mut result: i16 = 1;
    let mut base = a;
    let mut e = (Q - 2) as u32;
    // The exponent is public, so branching on its bits leaks nothing.
    while e > 0 {
        if e & 1 == 1 {
            result = fq_freeze(result as i32 * base as i32);
        }
        base = fq_freeze(base as i32 * base as i32);
        e >>= 1;
    }
    result
}

/// out = 1 / (3 a) in R/q by divsteps. For the short f of key generation
/// the inverse always exists (x^p - x - 1 is irreducible mod q).
///
/// Each step is fused into one pass per pair of arrays (conditional swap,
/// elimination, and the shift of g down / v up), writing into a second
/// buffer, because this is the most expensive part of key generation.
pub fn rq_recip3(out: &mut [i16; P], a: &[i8; P]) -> bool {
    let mut f = [0i16; P + 1];
    let mut g_buf = [[0i16; P + 1]; 2];
    let mut v_buf = [[0i16; P + 1]; 2];
    let mut r = [0i16; P + 1];
    r[0] = fq_recip(3);
    f[0] = 1;
    f[P - 1] = -1;
    f[P] = -1;
    for i in 0..P {
        g_buf[0][P - 1 - i] = a[i] as i16;
    }
    let mut delta: i32 = 1;
    let mut cur = 0;

    for step in 0..2 * P - 1 {
        let (g_lo, g_hi) = g_buf.split_at_mut(1);
        let (v_lo, v_hi) = v_buf.split_at_mut(1);
        let (g, g_next, v, v_next) = if cur == 0 {
            (&g_lo[0], &mut g_hi[0], &v_lo[0], &mut v_hi[0])
        } else {
            (&g_hi[0], &mut g_lo[0], &v_hi[0], &mut v_lo[0])
        };

        let swap = negative_mask(-delta) & nonzero_mask(g[0] as i32);
        delta ^= swap & (delta ^ -delta);
        delta += 1;
        let s16 = swap as i16;
        // Leading coefficients after the swap.
        let f0 = (f[0] ^ (s16 & (f[0] ^ g[0]))) as i32;
        let g0 = (g[0] ^ (s16 & (f[0] ^ g[0]))) as i32;

        // f, g: swap, then g <- (f0 g - g0 f) / x (its constant term is zero).
        for i in 0..=P {
            let t = s16 & (f[i] ^ g[i]);
            let fi = f[i] ^ t;
            let gi = g[i] ^ t;
            f[i] = fi;
            if i > 0 {
                g_next[i - 1] = fq_freeze(f0 * gi as i32 - g0 * fi as i32);
            }
        }
        g_next[P] = 0;

        // v, r: v <- x v, swap, then r <- f0 r - g0 v. Both vanish above
        // index step + 1, a bound that depends only on the step count.
        let vr_len = core::cmp::min(step + 2, P + 1);
        for i in 0..vr_len {
            let vi = if i > 0 { v[i - 1] } else { 0 };
            let t = s16 & (vi ^ r[i]);
            let vi = vi ^ t;
            let ri = r[i] ^ t;
            v_next[i] = vi;
            r[i] = fq_freeze(f0 * ri as i32 - g0 * vi as i32);
        }
        cur ^= 1;
    }

    let v = &v_buf[cur];
    let scale = fq_recip(f[0]) as i32;
    for i in 0..P {
        out[i] = fq_freeze(scale * v[P - 1 - i] as i32);
    }
    delta == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezes_are_exact_on_their_ranges() {
        for x in -(1i32 << 24)..(1 << 24) {
            let want = (x + Q12).rem_euclid(Q) - Q12;
            assert_eq!(fq_freeze(x) as i32, want, "fq_freeze({})", x);
        }
        for x in -(1i32 << 13)..(1 << 13) {
            let want = (x + 1).rem_euclid(3) - 1;
            assert_eq!(f3_freeze(x) as i32, want, "f3_freeze({})", x);
        }
    }

    fn lcg(seed: &mut u32) -> u32 {
        *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *seed >> 8
    }

    #[test]
    fn inverses_multiply_to_one() {
        let mut seed = 99;
        let mut a = [0i8; P];
        for c in a.iter_mut() {
            *c = (lcg(&mut seed) % 3) as i8 - 1;
        }
        let mut inv = [0i8; P];
        assert!(r3_recip(&mut inv, &a));
        let mut prod = [0i8; P];
        r3_mult(&mut prod, &a, &inv);
        assert_eq!(prod[0], 1);
        assert!(prod[1..].iter().all(|&c| c == 0));

        let mut inv_q = [0i16; P];
        assert!(rq_recip3(&mut inv_q, &a));
        let mut prod_q = [0i16; P];
        rq_mult_small(&mut prod_q, &inv_q, &a);
        // a * 1/(3a) = 1/3, so 3 times it is 1.
        assert_eq!(fq_freeze(3 * prod_q[0] as i32), 1);
        assert!(prod_q[1..].iter().all(|&c| c == 0));

        // Zero is never invertible.
        assert!(!r3_recip(&mut inv, &[0i8; P]));
    }
}
