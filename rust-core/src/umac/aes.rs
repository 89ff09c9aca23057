//! AES-128 encryption (FIPS 197), only what UMAC needs: its KDF at key setup
//! and one block per PDF cache miss.
//!
//! SubBytes is computed, not looked up: the 16 state bytes are transposed
//! into 8 bit planes (one 16-lane word per bit position), the GF(2^8)
//! inverse is x^254 by a fixed chain of bitsliced multiplications, then the
//! affine map. No memory access depends on key or data, so there is no
//! cache-timing channel; the cost (about 20 k simple operations per block)
//! is paid once per packet at most.

/// Bit planes of 16 bytes: plane b holds bit b of byte i at bit i.
type Planes = [u32; 8];

/// Transposes an 8x8 bit matrix held as bit 8*row + col (three masked swaps).
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00aa_00aa_00aa_00aa;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_cccc_0000_cccc;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_f0f0_f0f0;
    x ^ t ^ (t << 28)
}

fn to_planes(s: &[u8; 16]) -> Planes {
    let mut p = [0u32; 8];
    for h in 0..2 {
        let mut half = [0u8; 8];
        half.copy_from_slice(&s[8 * h..8 * h + 8]);
        // Row = byte, column = bit; transposed, byte b holds bit b of each byte.
        let t = transpose8(u64::from_le_bytes(half));
        for (b, plane) in p.iter_mut().enumerate() {
            *plane |= (((t >> (8 * b)) & 0xff) as u32) << (8 * h);
        }
    }
    p
}

fn from_planes(p: &Planes, s: &mut [u8; 16]) {
    for h in 0..2 {
        let mut x = 0u64;
        for (b, plane) in p.iter().enumerate() {
            x |= (((plane >> (8 * h)) & 0xff) as u64) << (8 * b);
        }
        s[8 * h..8 * h + 8].copy_from_slice(&transpose8(x).to_le_bytes());
    }
}

/// Lane-wise product in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
fn gf_mul(a: &Planes, b: &Planes) -> Planes {
    let mut c = [0u32; 15];
    for i in 0..8 {
        for j in 0..8 {
            c[i + j] ^= a[i] & b[j];
        }
    }
    reduce(c)
}

/// Reduces a lane-wise product of degree up to 14 modulo x^8 + x^4 + x^3 + x + 1.
fn reduce(mut c: [u32; 15]) -> Planes {
    // x^k = x^(k-4) + x^(k-5) + x^(k-7) + x^(k-8) for k >= 8; top down so
    // terms folded into 8..14 are folded again.
    for k in (8..15).rev() {
        let t = c[k];
        c[k - 4] ^= t;
        c[k - 5] ^= t;
        c[k - 7] ^= t;
        c[k - 8] ^= t;
    }
    let mut out = [0u32; 8];
    out.copy_from_slice(&c[..8]);
    out
}

/// Lane-wise square: linear over GF(2), so just spread bit i to 2i and reduce.
fn gf_sq(a: &Planes) -> Planes {
    let mut c = [0u32; 15];
    for i in 0..8 {
        c[2 * i] = a[i];
    }
    reduce(c)
}

fn sub_bytes(s: &mut [u8; 16]) {
    let x = to_planes(s);
    // x^254 = x^-1 (and 0 -> 0): 2, 3, 6, 12, 15, 30, 60, 120, 240, 252, 254.
    let x2 = gf_sq(&x);
    let x3 = gf_mul(&x2, &x);
    let x6 = gf_sq(&x3);
    let x12 = gf_sq(&x6);
    let x15 = gf_mul(&x12, &x3);
    let x30 = gf_sq(&x15);
    let x60 = gf_sq(&x30);
    let x120 = gf_sq(&x60);
    let x240 = gf_sq(&x120);
    let x252 = gf_mul(&x240, &x12);
    let inv = gf_mul(&x252, &x2);
    let mut out = [0u32; 8];
    for (i, o) in out.iter_mut().enumerate() {
        let c = if (0x63 >> i) & 1 == 1 { 0xffff } else { 0 };
        *o = inv[i] ^ inv[(i + 4) % 8] ^ inv[(i + 5) % 8] ^ inv[(i + 6) % 8] ^ inv[(i + 7) % 8] ^ c;
    }
    from_planes(&out, s);
}

fn shift_rows(s: &mut [u8; 16]) {
    let old = *s;
    for r in 1..4 {
        for c in 0..4 {
            s[r + 4 * c] = old[r + 4 * ((c + r) % 4)];
        }
    }
}

fn xtime(x: u8) -> u8 {
    (x << 1) ^ (0x1b & 0u8.wrapping_sub(x >> 7))
}

fn mix_columns(s: &mut [u8; 16]) {
    for col in s.chunks_exact_mut(4) {
        let (a0, a1, a2, a3) = (col[0], col[1], col[2], col[3]);
        let all = a0 ^ a1 ^ a2 ^ a3;
        // b_i = a_i ^ all ^ 2(a_i ^ a_{i+1})
        col[0] = a0 ^ all ^ xtime(a0 ^ a1);
        col[1] = a1 ^ all ^ xtime(a1 ^ a2);
        col[2] = a2 ^ all ^ xtime(a2 ^ a3);
        col[3] = a3 ^ all ^ xtime(a3 ^ a0);
    }
}

fn add_round_key(s: &mut [u8; 16], k: &[u8; 16]) {
    for (x, y) in s.iter_mut().zip(k.iter()) {
        *x ^= y;
    }
}

/// An expanded AES-128 encryption key.
#[derive(Clone)]
pub struct Aes128 {
    round_keys: [[u8; 16]; 11],
}

impl Aes128 {
    /// Expands a 16-byte key (FIPS 197 section 5.2).
    pub fn new(key: &[u8; 16]) -> Self {
        let mut rk = [[0u8; 16]; 11];
        rk[0] = *key;
        let mut rcon = 1u8;
        for r in 1..11 {
            let prev = rk[r - 1];
            // SubWord(RotWord(w[4r-1])) through the same constant-time S-box.
            let mut t = [0u8; 16];
            t[0] = prev[13];
            t[1] = prev[14];
            t[2] = prev[15];
            t[3] = prev[12];
            sub_bytes(&mut t);
            t[0] ^= rcon;
            rcon = xtime(rcon);
            let mut next = [0u8; 16];
            for i in 0..4 {
                next[i] = prev[i] ^ t[i];
            }
            for i in 4..16 {
                next[i] = prev[i] ^ next[i - 4];
            }
            rk[r] = next;
        }
        Aes128 { round_keys: rk }
    }

    /// Encrypts one block in place.
    pub fn encrypt(&self, block: &mut [u8; 16]) {
        add_round_key(block, &self.round_keys[0]);
        for r in 1..10 {
            sub_bytes(block);
            shift_rows(block);
            mix_columns(block);
            add_round_key(block, &self.round_keys[r]);
        }
        sub_bytes(block);
        shift_rows(block);
        add_round_key(block, &self.round_keys[10]);
    }

    /// Overwrites the round keys (the heap also zeroes freed blocks).
    pub fn wipe(&mut self) {
        for k in self.round_keys.iter_mut() {
            for b in k.iter_mut() {
                // SAFETY: plain aligned store to a live byte; volatile so it is not elided.
                unsafe { core::ptr::write_volatile(b, 0) };
            }
        }
    }
}
