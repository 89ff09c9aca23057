//! UMAC-64 and UMAC-128 (RFC 4418) as OpenSSH uses them for
//! `umac-64@openssh.com` / `umac-128@openssh.com` and their `-etm`
//! variants: a 16-byte key, an 8-byte nonce (the packet sequence number as a
//! big-endian uint64) and an 8- or 16-byte tag.
//!
//! Tag = UHASH(K, M) xor PDF(K, Nonce). UHASH runs one independent "stream"
//! per 4 tag bytes (2 or 4); the streams' NH keys overlap, each shifted by
//! 16 bytes (the Toeplitz construction). All keys come from AES-128 in
//! counter mode (the KDF), derived once in [`Umac::new`].

pub mod aes;
pub mod hash;

use aes::Aes128;
use hash::{l3, nh, poly128_step, poly64_step, L1_CHUNK, P36};

/// Most streams (UMAC-128).
pub const MAX_STREAMS: usize = 4;
/// NH key words: 1024 bytes plus 16 more per extra stream.
const NH_WORDS: usize = L1_CHUNK / 4 + 4 * (MAX_STREAMS - 1);
/// L1 outputs covered by the 64-bit POLY before the 128-bit one takes over
/// (2^17 bytes of 8-byte outputs, i.e. messages of 16 MiB).
const POLY64_LIMIT: u64 = 1 << 14;

const MASK64: u64 = 0x01ff_ffff_01ff_ffff;
const MASK128: u128 = 0x01ff_ffff_01ff_ffff_01ff_ffff_01ff_ffff;

/// The KDF: AES in counter mode over uint64(index) || uint64(i), i = 1, 2, ...
fn kdf(aes: &Aes128, index: u8, out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = [0u8; 16];
        block[7] = index;
        block[8..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        aes.encrypt(&mut block);
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// A keyed UMAC with an 8-byte (2 streams) or 16-byte (4 streams) tag.
#[derive(Clone)]
pub struct Umac {
    streams: usize,
    nh_key: [u32; NH_WORDS],
    poly64_key: [u64; MAX_STREAMS],
    poly128_key: [u128; MAX_STREAMS],
    l3_key: [[u64; 8]; MAX_STREAMS],
    l3_xor: [u32; MAX_STREAMS],
    pdf: Aes128,
    /// The PDF block for `pdf_nonce` (the nonce with the bits that select
    /// the tag's slice of the block cleared), so UMAC-64 runs AES once per
    /// two sequence numbers.
    pdf_nonce: [u8; 8],
    pdf_block: [u8; 16],
    pdf_valid: bool,
}

impl Umac {
    /// Derives every subkey from the 16-byte key. `tag_len` is 8 or 16.
    pub fn new(key: &[u8; 16], tag_len: usize) -> Option<Umac> {
        if tag_len != 8 && tag_len != 16 {
            return None;
        }
        let streams = tag_len / 4;
        let aes = Aes128::new(key);
        let mut buf = [0u8; 4 * NH_WORDS];

        let mut pdf_key = [0u8; 16];
        kdf(&aes, 0, &mut pdf_key);

        let mut nh_key = [0u32; NH_WORDS];
        let nh_len = L1_CHUNK + 16 * (streams - 1);
        kdf(&aes, 1, &mut buf[..nh_len]);
        for (w, b) in nh_key.iter_mut().zip(buf[..nh_len].chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }

        let mut poly64_key = [0u64; MAX_STREAMS];
        let mut poly128_key = [0u128; MAX_STREAMS];
        kdf(&aes, 2, &mut buf[..24 * streams]);
        for s in 0..streams {
            let b = &buf[24 * s..24 * s + 24];
            poly64_key[s] = u64::from_be_bytes(b[..8].try_into().unwrap()) & MASK64;
            poly128_key[s] = u128::from_be_bytes(b[8..].try_into().unwrap()) & MASK128;
        }

        let mut l3_key = [[0u64; 8]; MAX_STREAMS];
        kdf(&aes, 3, &mut buf[..64 * streams]);
        for s in 0..streams {
            for (i, k) in l3_key[s].iter_mut().enumerate() {
                let o = 64 * s + 8 * i;
                *k = u64::from_be_bytes(buf[o..o + 8].try_into().unwrap()) % P36;
            }
        }

        let mut l3_xor = [0u32; MAX_STREAMS];
        kdf(&aes, 4, &mut buf[..4 * streams]);
        for s in 0..streams {
            l3_xor[s] = u32::from_be_bytes(buf[4 * s..4 * s + 4].try_into().unwrap());
        }
        wipe(&mut buf);

        let u = Umac {
            streams,
            nh_key,
            poly64_key,
            poly128_key,
            l3_key,
            l3_xor,
            pdf: Aes128::new(&pdf_key),
            pdf_nonce: [0; 8],
            pdf_block: [0; 16],
            pdf_valid: false,
        };
        wipe(&mut pdf_key);
        Some(u)
    }

    /// Tag length in bytes.
    pub fn tag_len(&self) -> usize {
        4 * self.streams
    }

    /// Writes the tag of `msg` under `nonce` into `out[..tag_len()]`.
    pub fn tag(&mut self, msg: &[u8], nonce: &[u8; 8], out: &mut [u8]) {
        let n = self.tag_len();
        let mut h = [0u8; 16];
        if self.streams == 2 {
            self.uhash::<2>(msg, &mut h);
        } else {
            self.uhash::<4>(msg, &mut h);
        }
        let pad = self.pdf(nonce);
        for i in 0..n {
            out[i] = h[i] ^ pad[i];
        }
    }

    /// UHASH alone and the PDF cipher, so tests can apply the RFC's PDF to
    /// nonces of other lengths than SSH's 8 bytes.
    #[cfg(test)]
    pub(crate) fn uhash_and_pdf_cipher(&self, msg: &[u8]) -> ([u8; 16], &Aes128) {
        let mut h = [0u8; 16];
        if self.streams == 2 {
            self.uhash::<2>(msg, &mut h);
        } else {
            self.uhash::<4>(msg, &mut h);
        }
        (h, &self.pdf)
    }

    /// PDF (RFC 4418 section 4): AES under the derived key over the nonce
    /// padded to 16 bytes; UMAC-64 takes one half of the block, chosen by
    /// the nonce's low bit, and the block is cached for the other half.
    fn pdf(&mut self, nonce: &[u8; 8]) -> [u8; 16] {
        let mut base = *nonce;
        let index = if self.streams == 2 { (nonce[7] & 1) as usize } else { 0 };
        base[7] &= if self.streams == 2 { 0xfe } else { 0xff };
        if !self.pdf_valid || self.pdf_nonce != base {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(&base);
            self.pdf.encrypt(&mut block);
            self.pdf_block = block;
            self.pdf_nonce = base;
            self.pdf_valid = true;
        }
        let mut pad = [0u8; 16];
        let len = 4 * self.streams;
        pad[..len].copy_from_slice(&self.pdf_block[index * len..index * len + len]);
        pad
    }

    /// UHASH (RFC 4418 section 5) for S streams, written big-endian to out[..4S].
    fn uhash<const S: usize>(&self, msg: &[u8], out: &mut [u8; 16]) {
        let mut b = [0u128; S];
        if msg.len() <= L1_CHUNK {
            // One chunk: L2 is skipped and B = zeroes(8) || A.
            let a = self.l1_last::<S>(msg);
            for s in 0..S {
                b[s] = a[s] as u128;
            }
        } else {
            let mut y64 = [1u64; S];
            let mut y128 = [0u128; S];
            let mut pending: Option<[u64; S]> = None;
            let mut count: u64 = 0;
            let mut feed = |a: [u64; S], count: u64| {
                if count < POLY64_LIMIT {
                    for s in 0..S {
                        y64[s] = poly64_step(y64[s], self.poly64_key[s], a[s]);
                    }
                    return;
                }
                if count == POLY64_LIMIT {
                    // M_2 starts: POLY-128 over uint2str(y, 16) || M_2.
                    for s in 0..S {
                        y128[s] = poly128_step(1, self.poly128_key[s], y64[s] as u128);
                    }
                }
                match pending.take() {
                    None => pending = Some(a),
                    Some(p) => {
                        for s in 0..S {
                            let w = ((p[s] as u128) << 64) | a[s] as u128;
                            y128[s] = poly128_step(y128[s], self.poly128_key[s], w);
                        }
                    }
                }
            };
            let full = (msg.len() - 1) / L1_CHUNK;
            for c in msg.chunks_exact(L1_CHUNK).take(full) {
                let mut a = nh::<S>(&self.nh_key, c);
                for v in a.iter_mut() {
                    *v = v.wrapping_add(8 * L1_CHUNK as u64);
                }
                feed(a, count);
                count += 1;
            }
            feed(self.l1_last::<S>(&msg[full * L1_CHUNK..]), count);
            count += 1;
            if count <= POLY64_LIMIT {
                for s in 0..S {
                    b[s] = y64[s] as u128;
                }
            } else {
                // zeropad(M_2 || 0x80, 16): the marker byte after the last output.
                // (Built in a loop: rustc 1.63 produced zeros for
                // `[0x80u128 << 120; S]` with a const-generic S.)
                let mut last = [0u128; S];
                for s in 0..S {
                    last[s] = match pending {
                        Some(p) => ((p[s] as u128) << 64) | (1u128 << 63),
                        None => 1u128 << 127,
                    };
                }
                for s in 0..S {
                    b[s] = poly128_step(y128[s], self.poly128_key[s], last[s]);
                }
            }
        }
        for s in 0..S {
            let v = l3(&self.l3_key[s], b[s]) ^ self.l3_xor[s];
            out[4 * s..4 * s + 4].copy_from_slice(&v.to_be_bytes());
        }
    }

    /// L1 output of the final chunk (1..=1024 bytes, or the empty message):
    /// NH over it zero-padded to a multiple of 32 bytes, plus its length in
    /// bits. The empty message pads to one block of 32 zero bytes (as in the
    /// RFC's vectors and OpenSSH's umac.c), not to nothing.
    fn l1_last<const S: usize>(&self, chunk: &[u8]) -> [u64; S] {
        let whole = chunk.len() & !31;
        let mut a = nh::<S>(&self.nh_key, &chunk[..whole]);
        if whole < chunk.len() || chunk.is_empty() {
            let mut tail = [0u8; 32];
            tail[..chunk.len() - whole].copy_from_slice(&chunk[whole..]);
            let t = nh::<S>(&self.nh_key[whole / 4..], &tail);
            for s in 0..S {
                a[s] = a[s].wrapping_add(t[s]);
            }
        }
        for v in a.iter_mut() {
            *v = v.wrapping_add(8 * chunk.len() as u64);
        }
        a
    }

    /// Overwrites every key (the heap also zeroes freed blocks).
    pub fn wipe(&mut self) {
        wipe_u32(&mut self.nh_key);
        self.pdf.wipe();
        for s in 0..MAX_STREAMS {
            self.poly64_key[s] = 0;
            self.poly128_key[s] = 0;
            self.l3_key[s] = [0; 8];
            self.l3_xor[s] = 0;
        }
        self.pdf_block = [0; 16];
        self.pdf_valid = false;
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}

fn wipe(b: &mut [u8]) {
    for x in b.iter_mut() {
        // SAFETY: plain aligned store to a live byte; volatile so it is not elided.
        unsafe { core::ptr::write_volatile(x, 0) };
    }
}

fn wipe_u32(b: &mut [u32]) {
    for x in b.iter_mut() {
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(x, 0) };
    }
}

#[cfg(test)]
mod tests;
