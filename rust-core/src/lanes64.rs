//! A two-lane u64 vector, the SIMD shape of 2-way Poly1305.
//!
//! Like [`crate::lanes`], the algorithm (`poly1305x2`) is written once
//! against [`Lanes64`]. On wasm32 with simd128 it runs on `v128`; the
//! plain-array [`Scalar2`] implements the same operations so `cargo test` on
//! x86_64 exercises exactly the logic the wasm module executes. The portable
//! twin also asserts the bounds the algorithm relies on (no u64 overflow in
//! additions, multiplication operands below 2^32), so the tests check the
//! limb-bound reasoning as well as the results.

/// Operations on two independent u64 lanes.
pub trait Lanes64: Copy {
    /// A value prepared as a multiplication operand: each lane's low 32 bits.
    type Op: Copy;
    fn splat(x: u64) -> Self;
    fn from_lanes(a: u64, b: u64) -> Self;
    fn lanes(self) -> [u64; 2];
    /// Lane-wise addition. Callers guarantee it never wraps.
    fn add(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn shr(self, n: u32) -> Self;
    fn shl(self, n: u32) -> Self;
    /// Narrows each lane (which must be below 2^32) to a multiply operand.
    fn operand(self) -> Self::Op;
    /// Lane-wise full 32x32 -> 64-bit product.
    fn mul(a: Self::Op, b: Self::Op) -> Self;
    /// Loads two consecutive 16-byte little-endian blocks: returns (low 64
    /// bits, high 64 bits), lane 0 from the first block, lane 1 from the
    /// second.
    ///
    /// # Safety
    /// `p` must be valid for 32 bytes of reads (no alignment needed).
    unsafe fn load_pair(p: *const u8) -> (Self, Self);
}

/// Portable implementation: two u64s in an array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scalar2(pub [u64; 2]);

impl Scalar2 {
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        Scalar2([f(self.0[0], o.0[0]), f(self.0[1], o.0[1])])
    }
}

impl Lanes64 for Scalar2 {
    type Op = [u32; 2];
    #[inline(always)]
    fn splat(x: u64) -> Self {
        Scalar2([x, x])
    }
    #[inline(always)]
    fn from_lanes(a: u64, b: u64) -> Self {
        Scalar2([a, b])
    }
    #[inline(always)]
    fn lanes(self) -> [u64; 2] {
        self.0
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // The wasm twin wraps; here an overflow would mean the documented
        // limb bounds are wrong, so it must not pass silently.
        self.zip(o, |x, y| x.checked_add(y).expect("Lanes64::add overflowed u64"))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self.zip(o, |x, y| x & y)
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self.zip(o, |x, y| x | y)
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        Scalar2([self.0[0] >> n, self.0[1] >> n])
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        Scalar2([self.0[0] << n, self.0[1] << n])
    }
    #[inline(always)]
    fn operand(self) -> [u32; 2] {
        // The wasm twin keeps only the low 32 bits; a set high bit would be
        // a bound violation, so check it here.
        assert!(self.0[0] >> 32 == 0 && self.0[1] >> 32 == 0, "Lanes64 operand exceeds 32 bits");
        [self.0[0] as u32, self.0[1] as u32]
    }
    #[inline(always)]
    fn mul(a: [u32; 2], b: [u32; 2]) -> Self {
        Scalar2([a[0] as u64 * b[0] as u64, a[1] as u64 * b[1] as u64])
    }
    #[inline(always)]
    unsafe fn load_pair(p: *const u8) -> (Self, Self) {
        let b = core::ptr::read_unaligned(p as *const [u8; 32]);
        let w = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        (Scalar2([w(0), w(16)]), Scalar2([w(8), w(24)]))
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm::Simd2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::Lanes64;
    use core::arch::wasm32::*;

    /// simd128 implementation: a v128 as two u64 lanes.
    #[derive(Clone, Copy)]
    pub struct Simd2(v128);

    /// A multiply operand: the two 32-bit values in u32 lanes 0 and 1,
    /// where `i64x2.extmul_low_i32x4_u` takes them from.
    #[derive(Clone, Copy)]
    pub struct Op2(v128);

    impl Lanes64 for Simd2 {
        type Op = Op2;
        #[inline(always)]
        fn splat(x: u64) -> Self {
            Simd2(u64x2_splat(x))
        }
        #[inline(always)]
        fn from_lanes(a: u64, b: u64) -> Self {
            Simd2(u64x2(a, b))
        }
        #[inline(always)]
        fn lanes(self) -> [u64; 2] {
            [u64x2_extract_lane::<0>(self.0), u64x2_extract_lane::<1>(self.0)]
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Simd2(i64x2_add(self.0, o.0))
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            Simd2(v128_and(self.0, o.0))
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            Simd2(v128_or(self.0, o.0))
        }
        #[inline(always)]
        fn shr(self, n: u32) -> Self {
            Simd2(u64x2_shr(self.0, n))
        }
        #[inline(always)]
        fn shl(self, n: u32) -> Self {
            Simd2(i64x2_shl(self.0, n))
        }
        #[inline(always)]
        fn operand(self) -> Op2 {
            // Low halves of the u64 lanes (u32 lanes 0 and 2) to lanes 0, 1,
            // zeros above. A swizzle rather than a shuffle on purpose: LLVM
            // sees through a shuffle, rewrites the zero-extended low halves
            // as an and-mask and then emits i64x2.mul (eight x64
            // instructions in V8) instead of i64x2.extmul_low_i32x4_u.
            const NARROW: v128 = u8x16(0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128);
            Op2(i8x16_swizzle(self.0, NARROW))
        }
        #[inline(always)]
        fn mul(a: Op2, b: Op2) -> Self {
            Simd2(u64x2_extmul_low_u32x4(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn load_pair(p: *const u8) -> (Self, Self) {
            // wasm is little-endian: u64 lane 0 of a block is its low half.
            let x = v128_load(p as *const v128);
            let y = v128_load(p.add(16) as *const v128);
            (Simd2(i64x2_shuffle::<0, 2>(x, y)), Simd2(i64x2_shuffle::<1, 3>(x, y)))
        }
    }
}

/// The vector type the production code paths use on this target.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Fast2 = Simd2;
/// The vector type the production code paths use on this target.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type Fast2 = Scalar2;
