//! ChaCha20 (RFC 8439, and D. J. Bernstein's original 64-bit nonce /
//! 64-bit counter layout that OpenSSH uses).
//!
//! The bulk path computes four blocks at once in "vertical" layout: vector
//! `x[i]` holds state word `i` of four consecutive blocks, so the rounds are
//! pure lane-wise adds, xors and rotations with no shuffles, and a 4x4
//! transpose at the end puts each block's words back in order.

use crate::lanes::Lanes;

/// "expand 32-byte k" as four little-endian words.
pub const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Bytes produced by one 4-block step.
pub const STRIDE: usize = 256;

#[inline(always)]
fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The eight key words of a 32-byte key.
pub fn key_words(key: &[u8; 32]) -> [u32; 8] {
    let mut k = [0u32; 8];
    for (i, w) in k.iter_mut().enumerate() {
        *w = le32(key, 4 * i);
    }
    k
}

/// Where the block counter lives: RFC 8439 uses word 12 only (32 bits, the
/// nonce fills 13..16); the original layout carries into word 13.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Counter {
    Ietf32,
    Djb64,
}

/// An input state: constants, key, counter, nonce.
#[derive(Clone, Copy)]
pub struct State {
    pub words: [u32; 16],
    pub counter: Counter,
}

impl State {
    /// RFC 8439 layout: 32-bit counter, 96-bit nonce.
    pub fn ietf(key: &[u32; 8], counter: u32, nonce: &[u8; 12]) -> State {
        let mut w = [0u32; 16];
        w[..4].copy_from_slice(&SIGMA);
        w[4..12].copy_from_slice(key);
        w[12] = counter;
        w[13] = le32(nonce, 0);
        w[14] = le32(nonce, 4);
        w[15] = le32(nonce, 8);
        State { words: w, counter: Counter::Ietf32 }
    }

    /// Original layout: 64-bit counter, 64-bit nonce.
    pub fn djb(key: &[u32; 8], counter: u64, nonce: &[u8; 8]) -> State {
        let mut w = [0u32; 16];
        w[..4].copy_from_slice(&SIGMA);
        w[4..12].copy_from_slice(key);
        w[12] = counter as u32;
        w[13] = (counter >> 32) as u32;
        w[14] = le32(nonce, 0);
        w[15] = le32(nonce, 4);
        State { words: w, counter: Counter::Djb64 }
    }

    /// The nonce OpenSSH's chacha20-poly1305 uses: the packet sequence
    /// number as a 64-bit big-endian integer.
    pub fn openssh(key: &[u32; 8], counter: u64, seq: u32) -> State {
        let n = (seq as u64).to_be_bytes();
        State::djb(key, counter, &n)
    }

    /// Words 12 and 13 for the block `i` blocks after this state's counter.
    #[inline(always)]
    fn counter_words(&self, i: u32) -> (u32, u32) {
        match self.counter {
            Counter::Ietf32 => (self.words[12].wrapping_add(i), self.words[13]),
            Counter::Djb64 => {
                let c = ((self.words[13] as u64) << 32 | self.words[12] as u64).wrapping_add(i as u64);
                (c as u32, (c >> 32) as u32)
            }
        }
    }

    /// Moves the counter forward by `n` blocks.
    #[inline(always)]
    pub fn advance(&mut self, n: u32) {
        let (lo, hi) = self.counter_words(n);
        self.words[12] = lo;
        self.words[13] = hi;
    }
}

macro_rules! quarter {
    ($x:ident, $a:expr, $b:expr, $c:expr, $d:expr) => {
        $x[$a] = $x[$a].add($x[$b]);
        $x[$d] = $x[$d].xor($x[$a]).rotl16();
        $x[$c] = $x[$c].add($x[$d]);
        $x[$b] = $x[$b].xor($x[$c]).rotl12();
        $x[$a] = $x[$a].add($x[$b]);
        $x[$d] = $x[$d].xor($x[$a]).rotl8();
        $x[$c] = $x[$c].add($x[$d]);
        $x[$b] = $x[$b].xor($x[$c]).rotl7();
    };
}

/// The 20 rounds plus the final feed-forward, on four blocks at once.
#[inline(always)]
pub fn permute4<V: Lanes>(input: &[V; 16]) -> [V; 16] {
    permute4_with(input, |_| {})
}

/// [`permute4`] calling `between(i)` after double round `i` (0..10). Scalar
/// work placed there (Poly1305) runs on the integer units while the vector
/// units are busy with ChaCha20, instead of after it.
#[inline(always)]
pub fn permute4_with<V: Lanes>(input: &[V; 16], mut between: impl FnMut(usize)) -> [V; 16] {
    let mut x = *input;
    for round in 0..10 {
        quarter!(x, 0, 4, 8, 12);
        quarter!(x, 1, 5, 9, 13);
        quarter!(x, 2, 6, 10, 14);
        quarter!(x, 3, 7, 11, 15);
        quarter!(x, 0, 5, 10, 15);
        quarter!(x, 1, 6, 11, 12);
        quarter!(x, 2, 7, 8, 13);
        quarter!(x, 3, 4, 9, 14);
        between(round);
    }
    for i in 0..16 {
        x[i] = x[i].add(input[i]);
    }
    x
}

/// Vertical input for four consecutive blocks starting at `st`'s counter.
#[inline(always)]
pub fn input4<V: Lanes>(st: &State) -> [V; 16] {
    let w = &st.words;
    let mut v = [V::splat(0); 16];
    for i in 0..12 {
        v[i] = V::splat(w[i]);
    }
    let c: [(u32, u32); 4] = [st.counter_words(0), st.counter_words(1), st.counter_words(2), st.counter_words(3)];
    v[12] = V::from_lanes([c[0].0, c[1].0, c[2].0, c[3].0]);
    v[13] = V::from_lanes([c[0].1, c[1].1, c[2].1, c[3].1]);
    v[14] = V::splat(w[14]);
    v[15] = V::splat(w[15]);
    v
}

/// Vertical input for four unrelated blocks (lane `b` = block `b`).
pub fn input_lanes<V: Lanes>(blocks: &[[u32; 16]; 4]) -> [V; 16] {
    let mut v = [V::splat(0); 16];
    for (i, vi) in v.iter_mut().enumerate() {
        *vi = V::from_lanes([blocks[0][i], blocks[1][i], blocks[2][i], blocks[3][i]]);
    }
    v
}

/// Writes the four blocks of `x` as 256 bytes of keystream, xored with the
/// 256 bytes already at `p` when `XOR` is set.
///
/// # Safety
/// `p` must be valid for 256 bytes of reads and writes.
#[inline(always)]
pub unsafe fn emit4<V: Lanes, const XOR: bool>(x: &[V; 16], p: *mut u8) {
    for k in 0..4 {
        let t = V::transpose(x[4 * k], x[4 * k + 1], x[4 * k + 2], x[4 * k + 3]);
        for (b, tb) in t.iter().enumerate() {
            let q = p.add(64 * b + 16 * k);
            if XOR {
                tb.xor(V::load(q)).store(q);
            } else {
                tb.store(q);
            }
        }
    }
}

/// 256 bytes of keystream for four consecutive blocks from `st`'s counter.
pub fn keystream4<V: Lanes>(st: &State) -> [u8; STRIDE] {
    let mut out = [0u8; STRIDE];
    let x = permute4::<V>(&input4::<V>(st));
    // SAFETY: `out` is exactly 256 bytes.
    unsafe { emit4::<V, false>(&x, out.as_mut_ptr()) };
    out
}

/// XORs the keystream starting at `st`'s counter into `data` and leaves
/// `st` pointing at the block after the last one used.
#[inline(always)]
pub fn xor_in_place<V: Lanes>(st: &mut State, data: &mut [u8]) {
    let mut chunks = data.chunks_exact_mut(STRIDE);
    for chunk in &mut chunks {
        let x = permute4::<V>(&input4::<V>(st));
        // SAFETY: `chunk` is exactly 256 bytes.
        unsafe { emit4::<V, true>(&x, chunk.as_mut_ptr()) };
        st.advance(4);
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let ks = keystream4::<V>(st);
        for (d, k) in tail.iter_mut().zip(ks.iter()) {
            *d ^= k;
        }
        st.advance(((tail.len() + 63) / 64) as u32);
    }
}

/// One block, computed on the portable path (lane 0 of a 4-block step).
pub fn block(st: &State) -> [u8; 64] {
    let ks = keystream4::<crate::lanes::Scalar4>(st);
    let mut out = [0u8; 64];
    out.copy_from_slice(&ks[..64]);
    out
}
