//! The 2-way Poly1305 path against the scalar one: published vectors
//! forced through the 2-way code, every length 0..=1100 with pseudo-random
//! keys and messages, worst-case carries (r, s and message all 0xff), and
//! the streaming entry from a scalar accumulator that chachapoly uses. The
//! portable lanes assert the limb bounds while these run.

use super::hex::{arr, hex};
use crate::lanes64::{Fast2, Lanes64, Scalar2};
use crate::poly1305::{self, Poly, FULL_BLOCK};
use crate::poly1305x2::Wide;

/// A small deterministic generator (xorshift64*), enough to vary inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn key(&mut self) -> [u8; 32] {
        let mut k = [0u8; 32];
        k.copy_from_slice(&self.bytes(32));
        k
    }
}

/// A key and message for streaming case `case`: every `every`-th case has
/// the all-ones key, the one after it an all-ones message.
fn case_input(rng: &mut Rng, case: usize, every: usize, len: usize) -> ([u8; 32], Vec<u8>) {
    let key = if case % every == 0 { [0xff; 32] } else { rng.key() };
    let msg = if case % every == 1 { vec![0xff; len] } else { rng.bytes(len) };
    (key, msg)
}

/// The 2-way path for every length, however short.
fn wide_mac<V: Lanes64>(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    Wide::<V>::new(Poly::new(key)).finish_with(msg, key)
}

/// Every way of computing the tag must agree with the scalar reference.
fn check_all(key: &[u8; 32], msg: &[u8]) {
    let expect = poly1305::mac_scalar(key, msg);
    assert_eq!(poly1305::mac(key, msg), expect, "mac, len {}", msg.len());
    assert_eq!(wide_mac::<Scalar2>(key, msg), expect, "2-way portable, len {}", msg.len());
    assert_eq!(wide_mac::<Fast2>(key, msg), expect, "2-way fast, len {}", msg.len());
}

#[test]
fn rfc8439_vectors_through_the_2way_path() {
    // 2.5.2 (34 bytes: one pair, then the scalar tail).
    let key = arr::<32>("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    assert_eq!(wide_mac::<Scalar2>(&key, b"Cryptographic Forum Research Group").to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
    // Appendix A.3 #6-#8 and #10: short vectors built to hit the carries
    // and the final reduction.
    let one = format!("01{}", "00".repeat(31));
    let two = format!("02{}", "00".repeat(31));
    let r_1_4 = format!("0100000000000000040000000000000{}", "0".repeat(33));
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (format!("02{}{}", "00".repeat(15), "ff".repeat(16)), hex(&format!("02{}", "00".repeat(15))), "03000000000000000000000000000000"),
        (
            one.clone(),
            hex("ffffffffffffffffffffffffffffffff f0ffffffffffffffffffffffffffffff 11000000000000000000000000000000"),
            "05000000000000000000000000000000",
        ),
        (
            one,
            hex("ffffffffffffffffffffffffffffffff fbfefefefefefefefefefefefefefefe 01010101010101010101010101010101"),
            "00000000000000000000000000000000",
        ),
        (two.clone(), hex(&"ff".repeat(16)), "03000000000000000000000000000000"),
        (two, hex("fdffffffffffffffffffffffffffffff"), "faffffffffffffffffffffffffffffff"),
        (
            r_1_4,
            hex("e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000
                 0000000000000000000000000000000001000000000000000000000000000000"),
            "14000000000000005500000000000000",
        ),
    ];
    for (i, (key, msg, tag)) in cases.iter().enumerate() {
        let k = arr::<32>(key);
        assert_eq!(wide_mac::<Scalar2>(&k, msg).to_vec(), hex(tag), "case {i}");
        assert_eq!(wide_mac::<Fast2>(&k, msg).to_vec(), hex(tag), "case {i}");
    }
}

#[test]
fn every_length_matches_scalar_with_random_keys() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let msg = rng.bytes(1100);
    for len in 0..=1100 {
        let key = rng.key();
        check_all(&key, &msg[..len]);
    }
    // A few long messages with fresh contents.
    for len in [4096, 32 * 1024 + 5, 65536 + 17] {
        let key = rng.key();
        check_all(&key, &rng.bytes(len));
    }
}

#[test]
fn extreme_keys_and_all_ones_messages() {
    let ff = vec![0xffu8; 1100];
    let mut rng = Rng(7);
    let random = rng.bytes(1100);
    // r all 0xff before clamping (largest r limbs, so the largest r^2
    // products), s all 0xff (carry out of the final addition), and the
    // opposite extremes.
    let mut keys = vec![[0xffu8; 32], [0u8; 32]];
    let mut k = [0xffu8; 32];
    k[16..].fill(0);
    keys.push(k);
    let mut k = [0u8; 32];
    k[16..].fill(0xff);
    keys.push(k);
    for key in &keys {
        for len in 0..=1100 {
            check_all(key, &ff[..len]);
            check_all(key, &random[..len]);
        }
    }
    // Long all-ones input: the lanes run many steps at their worst case.
    check_all(&[0xff; 32], &vec![0xff; 64 * 1024]);
}

#[test]
fn streaming_from_a_scalar_accumulator() {
    // chachapoly style: some scalar blocks first, then pairs one at a time,
    // then a scalar tail.
    let mut rng = Rng(42);
    for case in 0..200 {
        let (key, msg) = case_input(&mut rng, case, 10, 700);
        let pre = 16 * (case % 5);
        let pairs = case % 17;
        let tail = rng.next() as usize % 100;
        let total = pre + 32 * pairs + tail;
        let msg = &msg[..total];
        let mut poly = Poly::new(&key);
        poly.blocks(&msg[..pre], FULL_BLOCK);
        let mut wide = Wide::<Scalar2>::new(poly);
        for p in 0..pairs {
            wide.pair(&msg[pre + 32 * p..pre + 32 * p + 32]);
        }
        let got = wide.into_poly().finish_with(&msg[pre + 32 * pairs..], &key);
        assert_eq!(got, poly1305::mac_scalar(&key, msg), "case {case}");
    }
}

#[test]
fn pairs_in_uneven_chunks_enter_and_leave_the_two_chain_loop() {
    // `pairs` runs two r^4 chains when four or more pairs remain, entering
    // from whatever the pair state holds (fresh, after single pairs, or
    // after an earlier `pairs` call) and leaving with an odd pair or none.
    let mut rng = Rng(0x5eed);
    for case in 0..300 {
        let (key, msg) = case_input(&mut rng, case, 7, 1600);
        let pre = 16 * (case % 3);
        let mut pos = pre;
        let start = || {
            let mut poly = Poly::new(&key);
            poly.blocks(&msg[..pre], FULL_BLOCK);
            poly
        };
        let mut portable = Wide::<Scalar2>::new(start());
        let mut fast = Wide::<Fast2>::new(start());
        for _ in 0..(1 + rng.next() % 5) {
            let pairs = (rng.next() % 11) as usize;
            let chunk = &msg[pos..pos + 32 * pairs];
            if rng.next() % 3 == 0 {
                for p in chunk.chunks(32) {
                    portable.pair(p);
                    fast.pair(p);
                }
            } else {
                portable.pairs(chunk);
                fast.pairs(chunk);
            }
            pos += 32 * pairs;
        }
        let tail = &msg[pos..pos + rng.next() as usize % 40];
        let expect = poly1305::mac_scalar(&key, &msg[..pos + tail.len()]);
        assert_eq!(portable.into_poly().finish_with(tail, &key), expect, "portable, case {case}");
        assert_eq!(fast.into_poly().finish_with(tail, &key), expect, "fast, case {case}");
    }
}
