//! Poly1305 (RFC 8439 section 2.5) with five 26-bit limbs.
//!
//! wasm32 has no 64x64->128 multiply but a 32x32->64 one is a single
//! `i64.mul` on every engine, so radix 2^26 is the natural choice: each
//! limb product fits in 52 bits and a sum of five such products (with the
//! 5x folding of the top limbs) stays far below 2^64.
//!
//! Long messages go through the 2-way simd128 path in [`crate::poly1305x2`]
//! (two blocks per vector multiply); this scalar code handles short
//! messages, the odd last block and the final partial block.

use crate::lanes64::Fast2;
use crate::poly1305x2::Wide;

pub(crate) const MASK26: u32 = 0x03ff_ffff;

/// Messages with at least this many bytes take the 2-way path: below it,
/// computing r^2 and the final [r^2, r] multiply cost more than the vector
/// steps save (measured in V8: about even at 512 bytes, 1.2x at 1 KiB).
pub const WIDE_MIN: usize = 512;

#[inline(always)]
fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Splits a 16-byte little-endian number into 26-bit limbs (top limb gets
/// the remaining 24 bits).
#[inline(always)]
fn limbs(b: &[u8]) -> [u32; 5] {
    let (t0, t1, t2, t3) = (le32(b, 0), le32(b, 4), le32(b, 8), le32(b, 12));
    [
        t0 & MASK26,
        ((t0 >> 26) | (t1 << 6)) & MASK26,
        ((t1 >> 20) | (t2 << 12)) & MASK26,
        ((t2 >> 14) | (t3 << 18)) & MASK26,
        t3 >> 8,
    ]
}

/// Accumulator state for one message.
pub struct Poly {
    pub(crate) r: [u32; 5],
    /// 5 * r[1..5]: multiplying by 2^130 is multiplying by 5 mod p.
    s: [u32; 4],
    /// Limbs 0, 2, 3, 4 < 2^26 and limb 1 < 2^26 + 2^10 between calls.
    pub(crate) h: [u32; 5],
}

impl Poly {
    pub fn new(key: &[u8; 32]) -> Poly {
        // Clamp: clear the top 4 bits of bytes 3, 7, 11, 15 and the low 2
        // bits of bytes 4, 8, 12 (section 2.5).
        let mut rb = [0u8; 16];
        rb.copy_from_slice(&key[..16]);
        for i in [3, 7, 11, 15] {
            rb[i] &= 0x0f;
        }
        for i in [4, 8, 12] {
            rb[i] &= 0xfc;
        }
        let r = limbs(&rb);
        Poly { r, s: [r[1] * 5, r[2] * 5, r[3] * 5, r[4] * 5], h: [0; 5] }
    }

    /// h = (h + m) * r mod p for each 16-byte block; `hibit` is 2^128 in
    /// limb 4 for full blocks (0 for an already-padded final block).
    #[inline(always)]
    pub fn blocks(&mut self, data: &[u8], hibit: u32) {
        let [r0, r1, r2, r3, r4] = self.r;
        let [s1, s2, s3, s4] = self.s;
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        let m = |x: u32, y: u32| (x as u64) * (y as u64);
        for blk in data.chunks_exact(16) {
            let l = limbs(blk);
            h0 += l[0];
            h1 += l[1];
            h2 += l[2];
            h3 += l[3];
            h4 += l[4] | hibit;

            let d0 = m(h0, r0) + m(h1, s4) + m(h2, s3) + m(h3, s2) + m(h4, s1);
            let mut d1 = m(h0, r1) + m(h1, r0) + m(h2, s4) + m(h3, s3) + m(h4, s2);
            let mut d2 = m(h0, r2) + m(h1, r1) + m(h2, r0) + m(h3, s4) + m(h4, s3);
            let mut d3 = m(h0, r3) + m(h1, r2) + m(h2, r1) + m(h3, r0) + m(h4, s4);
            let mut d4 = m(h0, r4) + m(h1, r3) + m(h2, r2) + m(h3, r1) + m(h4, r0);

            // Partial carry: limbs end up below 2^26 + small, enough
            // headroom for the next block's additions.
            d1 += d0 >> 26;
            h0 = d0 as u32 & MASK26;
            d2 += d1 >> 26;
            h1 = d1 as u32 & MASK26;
            d3 += d2 >> 26;
            h2 = d2 as u32 & MASK26;
            d4 += d3 >> 26;
            h3 = d3 as u32 & MASK26;
            let c = (d4 >> 26) as u32;
            h4 = d4 as u32 & MASK26;
            h0 += c * 5;
            h1 += h0 >> 26;
            h0 &= MASK26;
        }
        self.h = [h0, h1, h2, h3, h4];
    }

    /// Full reduction mod 2^130 - 5, then adds `s` mod 2^128.
    fn finish(self, key: &[u8; 32]) -> [u8; 16] {
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        // Carry fully so every limb is < 2^26 (h4 may briefly exceed it).
        h2 += h1 >> 26;
        h1 &= MASK26;
        h3 += h2 >> 26;
        h2 &= MASK26;
        h4 += h3 >> 26;
        h3 &= MASK26;
        h0 += (h4 >> 26) * 5;
        h4 &= MASK26;
        h1 += h0 >> 26;
        h0 &= MASK26;

        // g = h + 5 - 2^130; use g when it did not go negative, i.e. h >= p.
        let mut g0 = h0 + 5;
        let mut g1 = h1 + (g0 >> 26);
        g0 &= MASK26;
        let mut g2 = h2 + (g1 >> 26);
        g1 &= MASK26;
        let mut g3 = h3 + (g2 >> 26);
        g2 &= MASK26;
        let g4 = h4.wrapping_add(g3 >> 26).wrapping_sub(1 << 26);
        g3 &= MASK26;
        // Top bit of g4 set => borrow => keep h. Branch-free select.
        let keep_h = 0u32.wrapping_sub(g4 >> 31);
        let take_g = !keep_h;
        h0 = (h0 & keep_h) | (g0 & take_g);
        h1 = (h1 & keep_h) | (g1 & take_g);
        h2 = (h2 & keep_h) | (g2 & take_g);
        h3 = (h3 & keep_h) | (g3 & take_g);
        h4 = (h4 & keep_h) | (g4 & take_g);

        // Back to four 32-bit words (mod 2^128), then add s with carries.
        let w0 = h0 | (h1 << 26);
        let w1 = (h1 >> 6) | (h2 << 20);
        let w2 = (h2 >> 12) | (h3 << 14);
        let w3 = (h3 >> 18) | (h4 << 8);
        let mut out = [0u8; 16];
        let mut carry = 0u64;
        for (i, w) in [w0, w1, w2, w3].iter().enumerate() {
            let t = *w as u64 + le32(key, 16 + 4 * i) as u64 + carry;
            out[4 * i..4 * i + 4].copy_from_slice(&(t as u32).to_le_bytes());
            carry = t >> 32;
        }
        out
    }
}

impl Poly {
    /// Absorbs the rest of the message (any length) and returns the tag.
    pub fn finish_with(mut self, msg: &[u8], key: &[u8; 32]) -> [u8; 16] {
        let full = msg.len() & !15;
        self.blocks(&msg[..full], FULL_BLOCK);
        let rest = &msg[full..];
        if !rest.is_empty() {
            // Final partial block: append 0x01 then zeros; no 2^128 bit.
            let mut last = [0u8; 16];
            last[..rest.len()].copy_from_slice(rest);
            last[rest.len()] = 1;
            self.blocks(&last, 0);
        }
        self.finish(key)
    }
}

/// `hibit` for a full 16-byte block: 2^128 is bit 24 of limb 4.
pub const FULL_BLOCK: u32 = 1 << 24;

/// The 16-byte Poly1305 tag of `msg` under the one-time `key` (r || s).
pub fn mac(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    // Whole 32-byte pairs of blocks in two lanes (for long messages); the
    // scalar code takes the remaining (at most 31) bytes. Which path runs
    // depends only on the length.
    Wide::<Fast2>::with_len(Poly::new(key), msg.len()).finish_with(msg, key)
}

/// [`mac`] on the scalar code alone: the reference the 2-way path is
/// tested against.
pub fn mac_scalar(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    Poly::new(key).finish_with(msg, key)
}

/// Compares two tags without a data-dependent early exit.
pub fn tags_equal(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let mut diff = 0u8;
    for i in 0..16 {
        diff |= a[i] ^ b[i];
    }
    // A volatile read keeps the optimiser from turning the fold back into
    // an early-exit comparison.
    // SAFETY: reading a local through a valid reference.
    let diff = unsafe { core::ptr::read_volatile(&diff) };
    diff == 0
}
