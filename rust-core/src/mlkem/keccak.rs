//! Keccak-f[1600] and the four FIPS 202 functions ML-KEM needs:
//! SHA3-256 (H), SHA3-512 (G), SHAKE128 (the matrix XOF) and SHAKE256
//! (PRF and J). No allocation: the sponge lives on the stack.

const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808a, 0x8000_0000_8000_8000,
    0x0000_0000_0000_808b, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
    0x0000_0000_0000_008a, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000a,
    0x0000_0000_8000_808b, 0x8000_0000_0000_008b, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
    0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800a, 0x8000_0000_8000_000a,
    0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
];

/// Rotation amount of lane (x, y), indexed x + 5y.
const RHO: [u32; 25] = [
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
];

/// The Keccak-f[1600] permutation on 25 lanes indexed x + 5y.
pub fn keccak_f1600(a: &mut [u64; 25]) {
    for rc in ROUND_CONSTANTS.iter() {
        // theta
        let mut c = [0u64; 5];
        for x in 0..5 {
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // rho and pi: lane (x, y) moves to (y, 2x + 3y)
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = a[x + 5 * y].rotate_left(RHO[x + 5 * y]);
            }
        }
        // chi
        for y in 0..5 {
            for x in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // iota
        a[0] ^= *rc;
    }
}

/// A Keccak sponge with a byte rate and a domain-separation suffix
/// (0x06 for SHA-3, 0x1f for SHAKE). Absorb with `update`, then call
/// `finish` once and squeeze with `squeeze` as often as needed.
#[derive(Clone)]
pub struct Sponge {
    state: [u64; 25],
    rate: usize,
    /// Bytes absorbed into the current block, or squeezed from it.
    pos: usize,
    suffix: u8,
    squeezing: bool,
}

impl Sponge {
    const fn new(rate: usize, suffix: u8) -> Self {
        Sponge { state: [0; 25], rate, pos: 0, suffix, squeezing: false }
    }

    pub const fn sha3_256() -> Self {
        Self::new(136, 0x06)
    }
    pub const fn sha3_512() -> Self {
        Self::new(72, 0x06)
    }
    pub const fn shake128() -> Self {
        Self::new(168, 0x1f)
    }
    pub const fn shake256() -> Self {
        Self::new(136, 0x1f)
    }

    #[inline]
    fn xor_byte(&mut self, i: usize, v: u8) {
        self.state[i / 8] ^= (v as u64) << (8 * (i % 8));
    }

    #[inline]
    fn get_byte(&self, i: usize) -> u8 {
        (self.state[i / 8] >> (8 * (i % 8))) as u8
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        debug_assert!(!self.squeezing);
        for &byte in data {
            self.xor_byte(self.pos, byte);
            self.pos += 1;
            if self.pos == self.rate {
                keccak_f1600(&mut self.state);
                self.pos = 0;
            }
        }
        self
    }

    /// Pads and switches to squeezing.
    pub fn finish(&mut self) -> &mut Self {
        if !self.squeezing {
            self.xor_byte(self.pos, self.suffix);
            self.xor_byte(self.rate - 1, 0x80);
            keccak_f1600(&mut self.state);
            self.pos = 0;
            self.squeezing = true;
        }
        self
    }

    pub fn squeeze(&mut self, out: &mut [u8]) {
        self.finish();
        for o in out.iter_mut() {
            if self.pos == self.rate {
                keccak_f1600(&mut self.state);
                self.pos = 0;
            }
            *o = self.get_byte(self.pos);
            self.pos += 1;
        }
    }

    /// Overwrites the state so no secret input lingers on the stack.
    pub fn wipe(&mut self) {
        for lane in self.state.iter_mut() {
            // Volatile so the compiler cannot drop the store as dead.
            unsafe { core::ptr::write_volatile(lane, 0) };
        }
    }
}

/// SHA3-256 of the concatenation of `parts`.
pub fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut s = Sponge::sha3_256();
    for p in parts {
        s.update(p);
    }
    let mut out = [0u8; 32];
    s.squeeze(&mut out);
    s.wipe();
    out
}

/// SHA3-512 of the concatenation of `parts`.
pub fn sha3_512(parts: &[&[u8]]) -> [u8; 64] {
    let mut s = Sponge::sha3_512();
    for p in parts {
        s.update(p);
    }
    let mut out = [0u8; 64];
    s.squeeze(&mut out);
    s.wipe();
    out
}

/// SHAKE256 of the concatenation of `parts`, filling `out`.
pub fn shake256(parts: &[&[u8]], out: &mut [u8]) {
    let mut s = Sponge::shake256();
    for p in parts {
        s.update(p);
    }
    s.squeeze(out);
    s.wipe();
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn hex(b: &[u8]) -> std::string::String {
        b.iter().map(|x| std::format!("{:02x}", x)).collect()
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(hex(&sha3_256(&[])), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
        assert_eq!(
            hex(&sha3_512(&[])),
            "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"
        );
        let mut o = [0u8; 32];
        shake256(&[], &mut o);
        assert_eq!(hex(&o), "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f");
        let mut s = Sponge::shake128();
        s.squeeze(&mut o);
        assert_eq!(hex(&o), "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
    }

    /// Inputs spanning several blocks, split at awkward places, against Python's hashlib.
    #[test]
    fn long_inputs_match_hashlib() {
        let data: std::vec::Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        assert_eq!(
            hex(&sha3_256(&[&data[..135], &data[135..137], &data[137..]])),
            super::super::test_expect::SHA3_256_1000
        );
        assert_eq!(hex(&sha3_512(&[&data])), super::super::test_expect::SHA3_512_1000);
        let mut out = [0u8; 400];
        let mut s = Sponge::shake128();
        s.update(&data);
        s.squeeze(&mut out[..100]);
        s.squeeze(&mut out[100..]);
        assert_eq!(hex(&out), super::super::test_expect::SHAKE128_1000_400);
        shake256(&[&data[..500], &data[500..]], &mut out);
        assert_eq!(hex(&out), super::super::test_expect::SHAKE256_1000_400);
    }
}
