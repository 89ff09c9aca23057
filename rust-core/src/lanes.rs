//! A four-lane u32 vector, the only SIMD shape ChaCha20 needs.
//!
//! The 4-block ChaCha20 code is written once against [`Lanes`]. On wasm32
//! with simd128 it runs on `v128`; everywhere (and always in host tests) the
//! plain-array [`Scalar4`] implements the same operations, so `cargo test`
//! on x86_64 exercises exactly the logic the wasm module executes.

/// Operations on four independent u32 lanes.
pub trait Lanes: Copy {
    fn splat(x: u32) -> Self;
    fn from_lanes(l: [u32; 4]) -> Self;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn rotl16(self) -> Self;
    fn rotl12(self) -> Self;
    fn rotl8(self) -> Self;
    fn rotl7(self) -> Self;
    /// Loads 16 bytes as four little-endian u32s.
    ///
    /// # Safety
    /// `p` must be valid for 16 bytes of reads (no alignment needed).
    unsafe fn load(p: *const u8) -> Self;
    /// Stores four u32s as 16 little-endian bytes.
    ///
    /// # Safety
    /// `p` must be valid for 16 bytes of writes (no alignment needed).
    unsafe fn store(self, p: *mut u8);
    /// 4x4 transpose: lane j of output i is lane i of input j.
    fn transpose(a: Self, b: Self, c: Self, d: Self) -> [Self; 4];
}

/// Portable implementation: four u32s in an array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scalar4(pub [u32; 4]);

impl Scalar4 {
    #[inline(always)]
    fn map(self, f: impl Fn(u32) -> u32) -> Self {
        let a = self.0;
        Scalar4([f(a[0]), f(a[1]), f(a[2]), f(a[3])])
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        let (a, b) = (self.0, o.0);
        Scalar4([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
    }
}

impl Lanes for Scalar4 {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Scalar4([x; 4])
    }
    #[inline(always)]
    fn from_lanes(l: [u32; 4]) -> Self {
        Scalar4(l)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, u32::wrapping_add)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self.zip(o, |x, y| x ^ y)
    }
    #[inline(always)]
    fn rotl16(self) -> Self {
        self.map(|x| x.rotate_left(16))
    }
    #[inline(always)]
    fn rotl12(self) -> Self {
        self.map(|x| x.rotate_left(12))
    }
    #[inline(always)]
    fn rotl8(self) -> Self {
        self.map(|x| x.rotate_left(8))
    }
    #[inline(always)]
    fn rotl7(self) -> Self {
        self.map(|x| x.rotate_left(7))
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        let b = core::ptr::read_unaligned(p as *const [u8; 16]);
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Scalar4([w(0), w(4), w(8), w(12)])
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        let mut b = [0u8; 16];
        for i in 0..4 {
            b[4 * i..4 * i + 4].copy_from_slice(&self.0[i].to_le_bytes());
        }
        core::ptr::write_unaligned(p as *mut [u8; 16], b);
    }
    #[inline(always)]
    fn transpose(a: Self, b: Self, c: Self, d: Self) -> [Self; 4] {
        let (a, b, c, d) = (a.0, b.0, c.0, d.0);
        [
            Scalar4([a[0], b[0], c[0], d[0]]),
            Scalar4([a[1], b[1], c[1], d[1]]),
            Scalar4([a[2], b[2], c[2], d[2]]),
            Scalar4([a[3], b[3], c[3], d[3]]),
        ]
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm::Simd4;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// simd128 implementation. wasm is little-endian, so plain v128 loads
    /// and stores already have ChaCha20's byte order.
    #[derive(Clone, Copy)]
    pub struct Simd4(v128);

    impl Lanes for Simd4 {
        #[inline(always)]
        fn splat(x: u32) -> Self {
            Simd4(u32x4_splat(x))
        }
        #[inline(always)]
        fn from_lanes(l: [u32; 4]) -> Self {
            Simd4(u32x4(l[0], l[1], l[2], l[3]))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Simd4(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            Simd4(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn rotl16(self) -> Self {
            Simd4(i8x16_shuffle::<2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13>(self.0, self.0))
        }
        #[inline(always)]
        fn rotl12(self) -> Self {
            Simd4(v128_or(u32x4_shl(self.0, 12), u32x4_shr(self.0, 20)))
        }
        // V8 rematerialises a pshufb mask (four instructions) at every use,
        // so for 8 the two shifts and an or are cheaper; 16 becomes
        // pshuflw+pshufhw with immediates.
        #[inline(always)]
        fn rotl8(self) -> Self {
            Simd4(v128_or(u32x4_shl(self.0, 8), u32x4_shr(self.0, 24)))
        }
        #[inline(always)]
        fn rotl7(self) -> Self {
            Simd4(v128_or(u32x4_shl(self.0, 7), u32x4_shr(self.0, 25)))
        }
        #[inline(always)]
        unsafe fn load(p: *const u8) -> Self {
            Simd4(v128_load(p as *const v128))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut u8) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        fn transpose(a: Self, b: Self, c: Self, d: Self) -> [Self; 4] {
            let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0); // a0 b0 a1 b1
            let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0); // a2 b2 a3 b3
            let cd_lo = i32x4_shuffle::<0, 4, 1, 5>(c.0, d.0);
            let cd_hi = i32x4_shuffle::<2, 6, 3, 7>(c.0, d.0);
            [
                Simd4(i64x2_shuffle::<0, 2>(ab_lo, cd_lo)),
                Simd4(i64x2_shuffle::<1, 3>(ab_lo, cd_lo)),
                Simd4(i64x2_shuffle::<0, 2>(ab_hi, cd_hi)),
                Simd4(i64x2_shuffle::<1, 3>(ab_hi, cd_hi)),
            ]
        }
    }
}

/// The vector type the production code paths use on this target.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Fast4 = Simd4;
/// The vector type the production code paths use on this target.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type Fast4 = Scalar4;
