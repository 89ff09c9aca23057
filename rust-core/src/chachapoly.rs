//! chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).
//!
//! The 64-byte key is K_2 (first 32 bytes, "main") || K_1 (last 32,
//! "header"). For the packet with sequence number `seq`, every ChaCha20
//! instance uses the original 64-bit-nonce layout with nonce = seq as a
//! big-endian u64:
//! - K_1, block 0: its first 4 bytes encrypt the packet_length field;
//! - K_2, block 0: its first 32 bytes are the Poly1305 one-time key;
//! - K_2, blocks 1..: encrypt the packet body (padding_length onwards);
//! - tag = Poly1305(encrypted length || encrypted body).
//!
//! A packet in memory is `[4-byte length][len bytes][16-byte tag]`.

use crate::chacha20::{self, State, STRIDE};
use crate::lanes::{Fast4, Lanes};
use crate::lanes64::Fast2;
use crate::poly1305::{self, Poly};
use crate::poly1305x2::Wide;

/// Bytes around the body: the length field and the tag.
pub const OVERHEAD: usize = 4 + 16;
/// chacha20-poly1305 pads packet bodies to multiples of 8 bytes.
pub const BLOCK: u32 = 8;
/// Keystream an open may hold back until the tag has been verified; bodies
/// longer than this (plus the 128 bytes of the prefix step) are verified
/// and decrypted in two separate passes instead.
const OPEN_SCRATCH: usize = 64 * 1024;

/// Both keys of one direction, as ChaCha20 key words.
#[derive(Clone, Copy)]
pub struct Keys {
    pub main: [u32; 8],
    pub header: [u32; 8],
}

/// Why a packet was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    Tag,
    Length,
    Argument,
}

impl Keys {
    pub fn new(key: &[u8; 64]) -> Keys {
        let mut main = [0u8; 32];
        let mut header = [0u8; 32];
        main.copy_from_slice(&key[..32]);
        header.copy_from_slice(&key[32..]);
        Keys { main: chacha20::key_words(&main), header: chacha20::key_words(&header) }
    }

    /// One 4-lane ChaCha20 step yields everything a packet starts with:
    /// lane 0 = K_1 block 0 (length keystream), lane 1 = K_2 block 0 (poly
    /// key), lanes 2-3 = K_2 blocks 1-2 (first 128 body bytes).
    fn prefix<V: Lanes>(&self, seq: u32) -> [u8; 256] {
        let lanes = [
            State::openssh(&self.header, 0, seq).words,
            State::openssh(&self.main, 0, seq).words,
            State::openssh(&self.main, 1, seq).words,
            State::openssh(&self.main, 2, seq).words,
        ];
        let x = chacha20::permute4::<V>(&chacha20::input_lanes::<V>(&lanes));
        let mut out = [0u8; 256];
        // SAFETY: `out` is exactly 256 bytes.
        unsafe { chacha20::emit4::<V, false>(&x, out.as_mut_ptr()) };
        out
    }

    /// Decrypts a packet_length field without modifying it.
    pub fn length<V: Lanes>(&self, enc: &[u8; 4], seq: u32) -> u32 {
        let ks = chacha20::keystream4::<V>(&State::openssh(&self.header, 0, seq));
        u32::from_be_bytes([enc[0] ^ ks[0], enc[1] ^ ks[1], enc[2] ^ ks[2], enc[3] ^ ks[3]])
    }

    /// XORs the body keystream (K_2 from block 1) into `body`, using the
    /// 128 bytes `prefix` already computed.
    fn crypt_body<V: Lanes>(&self, pre: &[u8; 256], body: &mut [u8], seq: u32) {
        let n = body.len().min(128);
        for (b, k) in body[..n].iter_mut().zip(pre[128..].iter()) {
            *b ^= k;
        }
        if body.len() > 128 {
            let mut st = State::openssh(&self.main, 3, seq);
            chacha20::xor_in_place::<V>(&mut st, &mut body[128..]);
        }
    }

    /// Seals one packet in place. `pkt` is exactly length || body || tag
    /// and its first 4 bytes must hold `pkt.len() - 20` big-endian.
    pub fn seal_with<V: Lanes>(&self, pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        let len = body_len(pkt)?;
        if be32(pkt) as usize != len {
            return Err(Fault::Argument);
        }
        let pre = self.prefix::<V>(seq);
        let key = poly_key(&pre);
        let head_len = 4 + len;
        let first = len.min(128);
        for i in 0..4 {
            pkt[i] ^= pre[i];
        }
        for (b, k) in pkt[4..4 + first].iter_mut().zip(pre[128..].iter()) {
            *b ^= k;
        }
        // 2-way Poly1305 (for long packets): each call below absorbs one
        // 32-byte pair.
        let mut poly = Wide::<Fast2>::with_len(Poly::new(&key), head_len);
        let mut done = 4 + first; // head bytes encrypted so far
        let mut mac_pos = 0; // head bytes absorbed by Poly1305 so far
        let mut st = State::openssh(&self.main, 3, seq);
        let p = pkt.as_mut_ptr();
        while head_len - done >= STRIDE {
            // Each 4-block step also absorbs 256 already-encrypted bytes.
            let input = chacha20::input4::<V>(&st);
            let x = if done - mac_pos >= STRIDE {
                // SAFETY: [mac_pos, mac_pos + 256) is inside the encrypted
                // part of pkt, disjoint from the chunk written below, and
                // pkt is only accessed through `p` in this loop.
                let src = unsafe { p.add(mac_pos) as *const u8 };
                mac_pos += STRIDE;
                chacha20::permute4_with(&input, |r| {
                    if r < 8 {
                        let b = unsafe { core::slice::from_raw_parts(src.add(32 * r), 32) };
                        poly.pair(b);
                    }
                })
            } else {
                chacha20::permute4(&input)
            };
            // SAFETY: done + 256 <= head_len <= pkt.len().
            unsafe { chacha20::emit4::<V, true>(&x, p.add(done)) };
            st.advance(4);
            done += STRIDE;
        }
        if done < head_len {
            let ks = chacha20::keystream4::<V>(&st);
            for (b, k) in pkt[done..head_len].iter_mut().zip(ks.iter()) {
                *b ^= k;
            }
        }
        let tag = poly.finish_with(&pkt[mac_pos..head_len], &key);
        pkt[head_len..].copy_from_slice(&tag);
        Ok(())
    }

    /// Opens one packet in place: verifies the tag over the encrypted
    /// length and body in constant time, then decrypts the body. The length
    /// bytes stay encrypted; on a mismatch nothing is written.
    pub fn open_with<V: Lanes>(&self, pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        let pre = self.prefix::<V>(seq);
        self.open_prefixed::<V>(&pre, pkt, seq)
    }

    fn open_prefixed<V: Lanes>(&self, pre: &[u8; 256], pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        let len = body_len(pkt)?;
        if len > 128 && len - 128 <= OPEN_SCRATCH {
            return self.open_stitched::<V>(pre, pkt, seq);
        }
        let (head, tag) = pkt.split_at_mut(4 + len);
        let expect = poly1305::mac(&poly_key(pre), head);
        let mut got = [0u8; 16];
        got.copy_from_slice(tag);
        if !poly1305::tags_equal(&expect, &got) {
            return Err(Fault::Tag);
        }
        self.crypt_body::<V>(pre, &mut head[4..], seq);
        Ok(())
    }

    /// Open with Poly1305 over the ciphertext interleaved with generating
    /// the body keystream into a scratch area; the keystream is applied only
    /// after the tag matched, so a forgery still leaves memory unchanged.
    fn open_stitched<V: Lanes>(&self, pre: &[u8; 256], pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        let len = body_len(pkt)?;
        let head_len = 4 + len;
        let rest = len - 128; // body bytes after the prefix step's 128
        debug_assert!(len > 128 && rest <= OPEN_SCRATCH);
        let key = poly_key(pre);
        let mut poly = Wide::<Fast2>::with_len(Poly::new(&key), head_len);
        let mut mac_pos = 0;
        let mut made = 0; // keystream bytes generated into scratch
        let mut st = State::openssh(&self.main, 3, seq);
        let mut scratch = core::mem::MaybeUninit::<[u8; OPEN_SCRATCH]>::uninit();
        let ks = scratch.as_mut_ptr() as *mut u8;
        {
            let head = &pkt[..head_len];
            while rest - made >= STRIDE {
                let input = chacha20::input4::<V>(&st);
                let x = if head_len - mac_pos >= STRIDE {
                    let src = &head[mac_pos..mac_pos + STRIDE];
                    mac_pos += STRIDE;
                    chacha20::permute4_with(&input, |r| {
                        if r < 8 {
                            poly.pair(&src[32 * r..32 * r + 32]);
                        }
                    })
                } else {
                    chacha20::permute4(&input)
                };
                // SAFETY: made + 256 <= rest <= OPEN_SCRATCH.
                unsafe { chacha20::emit4::<V, false>(&x, ks.add(made)) };
                st.advance(4);
                made += STRIDE;
            }
        }
        let expect = poly.finish_with(&pkt[mac_pos..head_len], &key);
        let mut got = [0u8; 16];
        got.copy_from_slice(&pkt[head_len..]);
        if !poly1305::tags_equal(&expect, &got) {
            return Err(Fault::Tag);
        }
        let body = &mut pkt[4..head_len];
        for (b, k) in body[..128].iter_mut().zip(pre[128..].iter()) {
            *b ^= k;
        }
        let mut off = 0;
        while off < made {
            // SAFETY: both ranges hold 16 initialised/valid bytes: scratch
            // [0, made) was written above; body[128 + off..] has >= made - off.
            unsafe {
                let q = body.as_mut_ptr().add(128 + off);
                V::load(q).xor(V::load(ks.add(off))).store(q);
            }
            off += 16;
        }
        if made < rest {
            let tail = chacha20::keystream4::<V>(&st);
            for (b, k) in body[128 + made..].iter_mut().zip(tail.iter()) {
                *b ^= k;
            }
        }
        Ok(())
    }

    pub fn seal(&self, pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        self.seal_with::<Fast4>(pkt, seq)
    }

    pub fn open(&self, pkt: &mut [u8], seq: u32) -> Result<(), Fault> {
        self.open_with::<Fast4>(pkt, seq)
    }

    /// Seals `count` back-to-back packets filling `buf` exactly, with
    /// sequence numbers seq, seq+1, ... (wrapping). The layout is checked
    /// completely before anything is encrypted, so a bad batch is left as
    /// it was.
    pub fn seal_batch(&self, buf: &mut [u8], count: u32, seq: u32) -> Result<u32, Fault> {
        let mut off = 0usize;
        for _ in 0..count {
            let size = packet_size_at(buf, off).ok_or(Fault::Argument)?;
            off += size;
        }
        if off != buf.len() {
            return Err(Fault::Argument);
        }
        let mut off = 0usize;
        let mut s = seq;
        for _ in 0..count {
            // Sizes were checked above.
            let size = packet_size_at(buf, off).ok_or(Fault::Argument)?;
            self.seal(&mut buf[off..off + size], s)?;
            off += size;
            s = s.wrapping_add(1);
        }
        Ok(count)
    }

    /// Opens consecutive complete packets at the start of `buf`, at most
    /// `max_count`, reporting each as (body offset, packet_length) through
    /// `span`. Stops at the first incomplete packet. Each packet_length must
    /// satisfy 8 <= len <= max_len and len % 8 == 0 before anything else
    /// about it is looked at. Returns how many were opened, or the fault of
    /// the first bad packet together with how many preceded it.
    pub fn open_batch(
        &self,
        buf: &mut [u8],
        seq: u32,
        max_len: u32,
        max_count: u32,
        mut span: impl FnMut(u32, u32, u32),
    ) -> Result<u32, (Fault, u32)> {
        let mut off = 0usize;
        let mut n = 0u32;
        let mut s = seq;
        while n < max_count {
            let rest = &buf[off..];
            if rest.len() < 4 {
                break;
            }
            // The prefix step covers the length keystream too.
            let pre = self.prefix::<Fast4>(s);
            let len = be32(rest) ^ be32(&pre);
            if !length_ok(len, max_len) {
                return Err((Fault::Length, n));
            }
            let size = len as usize + OVERHEAD;
            if rest.len() < size {
                break;
            }
            match self.open_prefixed::<Fast4>(&pre, &mut buf[off..off + size], s) {
                Ok(()) => {}
                Err(f) => return Err((f, n)),
            }
            span(n, (off + 4) as u32, len);
            off += size;
            n += 1;
            s = s.wrapping_add(1);
        }
        Ok(n)
    }
}

/// The packet_length rule for received packets: what OpenSSH enforces for
/// this cipher (packet_length >= 5 and a multiple of the 8-byte block,
/// hence >= 8), plus the caller's maximum. 8 is reachable: a 1-byte
/// payload such as SSH_MSG_NEWKEYS pads to packet_length 8.
pub fn length_ok(len: u32, max_len: u32) -> bool {
    len >= BLOCK && len % BLOCK == 0 && len <= max_len
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn body_len(pkt: &[u8]) -> Result<usize, Fault> {
    pkt.len().checked_sub(OVERHEAD).ok_or(Fault::Argument)
}

/// Total size of the packet whose length field starts at `off`, if it fits.
fn packet_size_at(buf: &[u8], off: usize) -> Option<usize> {
    let rest = buf.get(off..)?;
    if rest.len() < 4 {
        return None;
    }
    let size = (be32(rest) as usize).checked_add(OVERHEAD)?;
    if size > rest.len() {
        return None;
    }
    Some(size)
}

fn poly_key(pre: &[u8; 256]) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(&pre[64..96]);
    k
}
