//! 2-way Poly1305: two accumulators in the lanes of a [`Lanes64`] vector,
//! each stepping by r^2, so one vector multiply handles two blocks.
//!
//! For blocks m_1..m_n (n even) Poly1305 computes
//!   h = m_1 r^n + m_2 r^(n-1) + ... + m_(n-1) r^2 + m_n r.
//! Lane A takes the odd blocks, lane B the even ones, and each step is
//!   A <- A r^2 + m_(2k+1),  B <- B r^2 + m_(2k+2)
//! (multiply first, then add: the newest pair stays unmultiplied), so after
//! the last pair h = A r^2 + B r: one final multiply by [r^2, r] and a sum of
//! the lanes. Continuing from a scalar accumulator H (already multiplied by
//! every r it owes) needs h = H r^n + ..., i.e. H joins the first block of
//! lane A: the first pair is added without a multiply.
//!
//! [`Wide::pairs`] runs two such states side by side over alternate pairs,
//! each stepping by r^4, while at least four pairs remain: the same number
//! of multiplies, but two independent carry chains for the CPU to overlap
//! (6-8% faster on 32 KiB messages here, measured in Node 20).
//!
//! Messages shorter than [`WIDE_MIN`] can be routed to the scalar code
//! through the same interface ([`Wide::with_len`]).
//!
//! Code shape matters for V8 here: on x64 it lowers
//! `i64x2.extmul_low_i32x4_u` to two unpacks and a `pmuludq`, but
//! `i64x2.mul` to eight instructions, and LLVM rewrites several natural
//! formulations into `i64x2.mul` (see `Lanes64::operand`, `mul_step` and
//! `carry`). Check the wasm for `i64x2.mul` in these loops after changes.
//!
//! Limbs are radix 2^26 as in [`crate::poly1305`]. Bounds (why nothing
//! overflows u64; the portable twin asserts them in host tests):
//! - r^2 is fully carried: limbs < 2^26 + 2^10, so 5 * limb < 2^28.33;
//!   r itself (clamped) has limbs < 2^26.
//! - After each step's carry the lane limbs are < 2^26 + 2^9 (see `carry`),
//!   the scalar H entering the first pair < 2^26 + 2^10, message limbs
//!   < 2^26, so a multiply operand is < 2^27 + 2^10 < 2^32.
//! - A limb product is < 2^27.01 * 2^28.34 = 2^55.35 and each output limb
//!   sums five of them: < 2^57.7, far below 2^64.

use crate::lanes64::Lanes64;
use crate::poly1305::{Poly, FULL_BLOCK, MASK26, WIDE_MIN};

/// 2^128 for a full block, in limb 4.
const HIBIT: u64 = 1 << 24;

/// The five 26-bit limbs of two lanes.
type Limbs<V> = [V; 5];

/// Multiplier limbs prepared as operands: r_0..r_4 and 5 * r_1..5 * r_4.
#[derive(Clone, Copy)]
struct Mul<V: Lanes64> {
    r: [V::Op; 5],
    s: [V::Op; 4],
}

impl<V: Lanes64> Mul<V> {
    /// Lane A multiplies by `a`, lane B by `b` (limbs, each < 2^26 + 2^10).
    fn new(a: &[u32; 5], b: &[u32; 5]) -> Self {
        let v = |i: usize, k: u64| V::from_lanes(a[i] as u64 * k, b[i] as u64 * k).operand();
        Mul {
            r: [v(0, 1), v(1, 1), v(2, 1), v(3, 1), v(4, 1)],
            s: [v(1, 5), v(2, 5), v(3, 5), v(4, 5)],
        }
    }
}

/// h * r mod 2^130 - 5 per lane, before carrying (the schoolbook product
/// with the limbs above 2^130 folded back times 5).
#[inline(always)]
fn product<V: Lanes64>(h: &Limbs<V>, m: &Mul<V>) -> Limbs<V> {
    let t = [h[0].operand(), h[1].operand(), h[2].operand(), h[3].operand(), h[4].operand()];
    let [r0, r1, r2, r3, r4] = m.r;
    let [s1, s2, s3, s4] = m.s;
    let x = V::mul;
    // Pairwise sums keep the dependency chains short.
    [
        x(t[0], r0).add(x(t[1], s4)).add(x(t[2], s3).add(x(t[3], s2))).add(x(t[4], s1)),
        x(t[0], r1).add(x(t[1], r0)).add(x(t[2], s4).add(x(t[3], s3))).add(x(t[4], s2)),
        x(t[0], r2).add(x(t[1], r1)).add(x(t[2], r0).add(x(t[3], s4))).add(x(t[4], s3)),
        x(t[0], r3).add(x(t[1], r2)).add(x(t[2], r1).add(x(t[3], r0))).add(x(t[4], s4)),
        x(t[0], r4).add(x(t[1], r3)).add(x(t[2], r2).add(x(t[3], r1))).add(x(t[4], r0)),
    ]
}

/// One step on the lanes: h * m, partially carried.
#[inline(always)]
fn mul_step<V: Lanes64>(h: &Limbs<V>, m: &Mul<V>) -> Limbs<V> {
    // The multiplier is read afresh each time on purpose: it is loop
    // invariant, and LLVM would otherwise hoist its zero-extension out of
    // the loop, after which the rest no longer matches extmul and becomes
    // the far slower i64x2.mul. Nine v128 loads per pair are cheap.
    // SAFETY: a plain read of a live, initialised reference.
    let m: Mul<V> = unsafe { core::ptr::read_volatile(m) };
    carry(product(h, &m))
}

/// Partial carry of a product (limbs < 2^57.7) as two interleaved chains
/// (0->1->2->3 and 3->4->0->1), half the latency of one sequential chain.
/// Bounds through the four rounds: carries out of the big limbs are
/// < 2^31.7, 5x that < 2^34.1; d0 then carries < 2^8.1 into d1 and d3 < 2^5.8
/// into d4. Result: limbs 0, 2, 3 < 2^26, limb 1 < 2^26 + 2^9, limb 4
/// < 2^26 + 2^6.
#[inline(always)]
fn carry<V: Lanes64>(d: Limbs<V>) -> Limbs<V> {
    let mask = V::splat(MASK26 as u64);
    let [mut d0, mut d1, mut d2, mut d3, mut d4] = d;
    // Round 1: 0 -> 1 and 3 -> 4.
    d1 = d1.add(d0.shr(26));
    d0 = d0.and(mask);
    d4 = d4.add(d3.shr(26));
    d3 = d3.and(mask);
    // Round 2: 1 -> 2 and 4 -> 0 (2^130 = 5 mod p). 5c is added as c and
    // 4c = (d4 >> 24) with the low two bits cleared: written as
    // (c << 2) + c, LLVM turns it into i64x2.mul, which V8 expands to eight
    // x64 instructions on this critical path.
    d2 = d2.add(d1.shr(26));
    d1 = d1.and(mask);
    let c = d4.shr(26);
    let c4 = d4.shr(24).and(V::splat(!3));
    d4 = d4.and(mask);
    d0 = d0.add(c).add(c4);
    // Round 3: 2 -> 3 and 0 -> 1.
    d3 = d3.add(d2.shr(26));
    d2 = d2.and(mask);
    d1 = d1.add(d0.shr(26));
    d0 = d0.and(mask);
    // Round 4: 3 -> 4.
    d4 = d4.add(d3.shr(26));
    d3 = d3.and(mask);
    [d0, d1, d2, d3, d4]
}

/// Two full blocks at `p` as lane limbs (lane A the first block), with the
/// 2^128 bit set.
///
/// # Safety
/// `p` must be valid for 32 bytes of reads.
#[inline(always)]
unsafe fn load<V: Lanes64>(p: *const u8) -> Limbs<V> {
    let (lo, hi) = V::load_pair(p);
    let mask = V::splat(MASK26 as u64);
    [
        lo.and(mask),
        lo.shr(26).and(mask),
        lo.shr(52).or(hi.shl(12)).and(mask),
        hi.shr(14).and(mask),
        hi.shr(40).or(V::splat(HIBIT)),
    ]
}

#[inline(always)]
fn add<V: Lanes64>(a: &Limbs<V>, b: &Limbs<V>) -> Limbs<V> {
    [a[0].add(b[0]), a[1].add(b[1]), a[2].add(b[2]), a[3].add(b[3]), a[4].add(b[4])]
}

/// r^2 mod p, fully carried: limbs 0, 2, 3, 4 < 2^26, limb 1 < 2^26 + 2^10.
/// Also squares r^2 (into r^4): input limbs up to 2^26 + 2^10 keep every
/// sum below 2^60, as `carry_u64` needs.
fn square(r: &[u32; 5]) -> [u32; 5] {
    let m = |x: u32, y: u32| x as u64 * y as u64;
    let s = |i: usize| r[i] * 5; // limbs < 2^26 + 2^10: 5 r < 2^29
    let d = [
        m(r[0], r[0]) + m(r[1], s(4)) + m(r[2], s(3)) + m(r[3], s(2)) + m(r[4], s(1)),
        m(r[0], r[1]) + m(r[1], r[0]) + m(r[2], s(4)) + m(r[3], s(3)) + m(r[4], s(2)),
        m(r[0], r[2]) + m(r[1], r[1]) + m(r[2], r[0]) + m(r[3], s(4)) + m(r[4], s(3)),
        m(r[0], r[3]) + m(r[1], r[2]) + m(r[2], r[1]) + m(r[3], r[0]) + m(r[4], s(4)),
        m(r[0], r[4]) + m(r[1], r[3]) + m(r[2], r[2]) + m(r[3], r[1]) + m(r[4], r[0]),
    ];
    carry_u64(d)
}

/// Sequential carry of u64 limbs (each < 2^60) back to the scalar form:
/// limbs 0, 2, 3, 4 < 2^26, limb 1 < 2^26 + 2^10.
fn carry_u64(d: [u64; 5]) -> [u32; 5] {
    let m = MASK26 as u64;
    let [mut d0, mut d1, mut d2, mut d3, mut d4] = d;
    d1 += d0 >> 26;
    d0 &= m;
    d2 += d1 >> 26;
    d1 &= m;
    d3 += d2 >> 26;
    d2 &= m;
    d4 += d3 >> 26;
    d3 &= m;
    d0 += (d4 >> 26) * 5; // < 2^26 + 5 * 2^34
    d4 &= m;
    d1 += d0 >> 26; // adds < 2^10
    d0 &= m;
    [d0 as u32, d1 as u32, d2 as u32, d3 as u32, d4 as u32]
}

/// A Poly1305 accumulator in 2-way mode. Feed whole 32-byte pairs of full
/// blocks with [`Wide::pair`]/[`Wide::pairs`], then [`Wide::into_poly`]
/// for the scalar tail and the tag.
pub struct Wide<V: Lanes64> {
    poly: Poly,
    /// Lane A, lane B; meaningful once `started`.
    h: Limbs<V>,
    /// [r^2, r^2], prepared on the first pair.
    step: Mul<V>,
    /// [r^4, r^4], for the two-chain loop in [`Wide::pairs`].
    step4: Mul<V>,
    r2: [u32; 5],
    started: bool,
    /// Pairs go to the scalar code instead: set for short messages, where
    /// computing r^2 and the final [r^2, r] multiply cost more than the
    /// vector steps save. Depends only on the length.
    scalar: bool,
}

impl<V: Lanes64> Wide<V> {
    /// Continues `poly` (which may have absorbed blocks already) for a
    /// message of `len` bytes in all: 2-way only if `len >= WIDE_MIN`.
    pub fn with_len(poly: Poly, len: usize) -> Self {
        let mut w = Self::new(poly);
        w.scalar = len < WIDE_MIN;
        w
    }

    /// Continues `poly` (which may have absorbed blocks already) in 2-way
    /// mode. Cheap: r^2 is only computed once a pair arrives.
    pub fn new(poly: Poly) -> Self {
        // Placeholders until the first pair (explicit arrays: rustc 1.63 has
        // miscompiled array-repeat expressions in this crate before).
        let z = V::splat(0);
        let o = z.operand();
        Wide {
            poly,
            h: [z, z, z, z, z],
            step: Mul { r: [o, o, o, o, o], s: [o, o, o, o] },
            step4: Mul { r: [o, o, o, o, o], s: [o, o, o, o] },
            r2: [0; 5],
            started: false,
            scalar: false,
        }
    }

    /// Absorbs two full blocks (32 bytes).
    #[inline(always)]
    pub fn pair(&mut self, two: &[u8]) {
        assert!(two.len() >= 32);
        if self.scalar {
            self.poly.blocks(&two[..32], FULL_BLOCK);
            return;
        }
        // SAFETY: at least 32 readable bytes, checked above.
        let m = unsafe { load::<V>(two.as_ptr()) };
        if self.started {
            self.h = add(&mul_step(&self.h, &self.step), &m);
        } else {
            self.begin(&m);
        }
    }

    /// Absorbs `data`, whose length must be a multiple of 32.
    pub fn pairs(&mut self, data: &[u8]) {
        debug_assert!(data.len() % 32 == 0);
        if self.scalar {
            self.poly.blocks(data, FULL_BLOCK);
            return;
        }
        let n = data.len() / 32;
        let mut i = 0;
        if n > 0 && !self.started {
            // SAFETY: data holds at least 32 bytes.
            self.begin(&unsafe { load::<V>(data.as_ptr()) });
            i = 1;
        }
        let step = self.step;
        let mut h = self.h;
        if n - i >= 4 {
            // Two independent chains, each stepping by r^4 over alternate
            // pairs, so one chain's multiply overlaps the other's carries.
            // The pair state is always h = s1 r^2 + s2: entering takes one
            // ordinary step into s1 (s1 = h r^2 + P, s2 = P'), leaving one
            // more (h = s1 r^2 + s2), so the multiply count is unchanged.
            let step4 = self.step4;
            // SAFETY (every load below): 32 * (i + 1) + 32 <= data.len().
            let mut s1 = add(&mul_step(&h, &step), &unsafe { load::<V>(data.as_ptr().add(32 * i)) });
            let mut s2 = unsafe { load::<V>(data.as_ptr().add(32 * i + 32)) };
            i += 2;
            while i + 2 <= n {
                let p = unsafe { data.as_ptr().add(32 * i) };
                s1 = add(&mul_step(&s1, &step4), &unsafe { load::<V>(p) });
                s2 = add(&mul_step(&s2, &step4), &unsafe { load::<V>(p.add(32)) });
                i += 2;
            }
            h = add(&mul_step(&s1, &step), &s2);
        }
        while i < n {
            // SAFETY: 32 * i + 32 <= data.len().
            let m = unsafe { load::<V>(data.as_ptr().add(32 * i)) };
            h = add(&mul_step(&h, &step), &m);
            i += 1;
        }
        self.h = h;
    }

    /// First pair: A = H + m_1, B = m_2 (no multiply, see the module doc).
    #[cold]
    fn begin(&mut self, m: &Limbs<V>) {
        let r = self.poly.r;
        self.r2 = square(&r);
        self.step = Mul::new(&self.r2, &self.r2);
        let r4 = square(&self.r2);
        self.step4 = Mul::new(&r4, &r4);
        let h = self.poly.h;
        let scalar = [
            V::from_lanes(h[0] as u64, 0),
            V::from_lanes(h[1] as u64, 0),
            V::from_lanes(h[2] as u64, 0),
            V::from_lanes(h[3] as u64, 0),
            V::from_lanes(h[4] as u64, 0),
        ];
        self.h = add(&scalar, m);
        self.started = true;
    }

    /// Absorbs the rest of the message (any length): its whole pairs here,
    /// the remaining < 32 bytes on the scalar code. Returns the tag.
    pub fn finish_with(mut self, msg: &[u8], key: &[u8; 32]) -> [u8; 16] {
        let wide_len = msg.len() & !31;
        self.pairs(&msg[..wide_len]);
        self.into_poly().finish_with(&msg[wide_len..], key)
    }

    /// Back to a scalar accumulator: h = A r^2 + B r.
    pub fn into_poly(self) -> Poly {
        let mut poly = self.poly;
        if self.started {
            let last = Mul::<V>::new(&self.r2, &poly.r);
            let d = product(&self.h, &last);
            // Each lane limb < 2^57.7, so the lane sum < 2^58.7.
            let sum = |v: V| {
                let [a, b] = v.lanes();
                a + b
            };
            poly.h = carry_u64([sum(d[0]), sum(d[1]), sum(d[2]), sum(d[3]), sum(d[4])]);
        }
        poly
    }
}
