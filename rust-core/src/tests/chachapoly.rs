//! chacha20-poly1305@openssh.com: the construction against a composition
//! of the primitives written from the spec, round trips, tampering, and
//! the batch calls (including sequence numbers wrapping 0xffffffff -> 0).

use super::rfc8439::reference_block;
use crate::chacha20::{self, State};
use crate::chachapoly::{length_ok, Fault, Keys};
use crate::lanes::{Fast4, Scalar4};
use crate::poly1305;

fn key64(tag: u8) -> [u8; 64] {
    let mut k = [0u8; 64];
    for (i, b) in k.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(tag);
    }
    k
}

/// A plaintext packet `[len][body][16 zero bytes]` with a patterned body.
fn packet(body_len: usize, salt: u8) -> Vec<u8> {
    let mut p = (body_len as u32).to_be_bytes().to_vec();
    p.extend((0..body_len).map(|i| (i as u8) ^ salt));
    p.extend_from_slice(&[0u8; 16]);
    p
}

/// The construction spelled out from PROTOCOL.chacha20poly1305 with the
/// independent one-block ChaCha20.
fn spec_seal(key: &[u8; 64], plain: &[u8], seq: u32) -> Vec<u8> {
    let mut k2 = [0u8; 32];
    let mut k1 = [0u8; 32];
    k2.copy_from_slice(&key[..32]);
    k1.copy_from_slice(&key[32..]);
    let (k1, k2) = (chacha20::key_words(&k1), chacha20::key_words(&k2));
    let nonce = (seq as u64).to_be_bytes();
    let body_len = plain.len() - 20;
    let mut out = plain[..4 + body_len].to_vec();
    let len_ks = reference_block(&State::djb(&k1, 0, &nonce).words);
    for i in 0..4 {
        out[i] ^= len_ks[i];
    }
    for (b, chunk) in out[4..].chunks_mut(64).enumerate() {
        let ks = reference_block(&State::djb(&k2, 1 + b as u64, &nonce).words);
        for (d, k) in chunk.iter_mut().zip(ks.iter()) {
            *d ^= k;
        }
    }
    let mut poly_key = [0u8; 32];
    poly_key.copy_from_slice(&reference_block(&State::djb(&k2, 0, &nonce).words)[..32]);
    let tag = poly1305::mac_scalar(&poly_key, &out);
    out.extend_from_slice(&tag);
    out
}

#[test]
fn seal_matches_spec_composition_and_open_round_trips() {
    let key = key64(7);
    let keys = Keys::new(&key);
    for (i, body_len) in [0usize, 1, 8, 12, 60, 64, 124, 127, 128, 129, 192, 250, 256, 300, 384, 385, 1000, 32768, 65664, 65665, 70000].iter().enumerate() {
        for seq in [0u32, 1, 3, 0x7fff_ffff, 0xffff_ffff] {
            let plain = packet(*body_len, i as u8);
            let mut a = plain.clone();
            keys.seal_with::<Scalar4>(&mut a, seq).unwrap();
            assert_eq!(a, spec_seal(&key, &plain, seq), "len {body_len} seq {seq}");
            let mut b = plain.clone();
            keys.seal_with::<Fast4>(&mut b, seq).unwrap();
            assert_eq!(a, b);
            assert_eq!(keys.length::<Scalar4>(&[a[0], a[1], a[2], a[3]], seq), *body_len as u32);
            let sealed = a.clone();
            keys.open_with::<Scalar4>(&mut a, seq).unwrap();
            assert_eq!(&a[4..4 + body_len], &plain[4..4 + body_len]);
            assert_eq!(&a[..4], &sealed[..4], "length stays encrypted");
        }
    }
}

#[test]
fn seal_refuses_length_mismatch() {
    let keys = Keys::new(&key64(1));
    let mut p = packet(16, 0);
    p[3] = 17;
    let before = p.clone();
    assert_eq!(keys.seal(&mut p, 0), Err(Fault::Argument));
    assert_eq!(p, before);
    assert_eq!(keys.seal(&mut [0u8; 19], 0), Err(Fault::Argument));
}

#[test]
fn open_detects_any_single_bit_flip_and_leaves_memory_unchanged() {
    let keys = Keys::new(&key64(2));
    let mut sealed = packet(40, 9);
    keys.seal(&mut sealed, 77).unwrap();
    for bit in 0..sealed.len() * 8 {
        let mut t = sealed.clone();
        t[bit / 8] ^= 1 << (bit % 8);
        let before = t.clone();
        assert_eq!(keys.open(&mut t, 77), Err(Fault::Tag), "bit {bit}");
        assert_eq!(t, before, "memory changed on mismatch (bit {bit})");
    }
    // Longer bodies take the interleaved path (keystream held back until
    // the tag is checked); bodies beyond its scratch take two passes.
    for len in [1000usize, 70000] {
        let mut sealed = packet(len, 1);
        keys.seal(&mut sealed, 5).unwrap();
        for pos in [0, 3, 4, 200, len / 2, len + 3, len + 4, len + 19] {
            let mut t = sealed.clone();
            t[pos] ^= 0x20;
            let before = t.clone();
            assert_eq!(keys.open(&mut t, 5), Err(Fault::Tag), "len {len} pos {pos}");
            assert!(t == before, "memory changed on mismatch (len {len} pos {pos})");
        }
    }
    // Wrong sequence number or wrong key also fails.
    let mut t = sealed.clone();
    assert_eq!(keys.open(&mut t, 78), Err(Fault::Tag));
    let mut t = sealed.clone();
    assert_eq!(Keys::new(&key64(3)).open(&mut t, 77), Err(Fault::Tag));
    let mut t = sealed;
    assert_eq!(keys.open(&mut t, 77), Ok(()));
}

fn batch(bodies: &[usize]) -> (Vec<u8>, Vec<usize>) {
    let mut buf = Vec::new();
    let mut offs = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        offs.push(buf.len());
        buf.extend(packet(*b, i as u8));
    }
    (buf, offs)
}

#[test]
fn batch_seal_and_open_across_sequence_wrap() {
    let keys = Keys::new(&key64(4));
    let bodies = [8usize, 32, 1024, 64, 8, 200];
    let (plain, offs) = batch(&bodies);
    let mut buf = plain.clone();
    let seq0 = 0xffff_fffd;
    assert_eq!(keys.seal_batch(&mut buf, bodies.len() as u32, seq0), Ok(bodies.len() as u32));
    // Each packet equals a single seal with its own (wrapped) sequence number.
    for (i, off) in offs.iter().enumerate() {
        let mut one = packet(bodies[i], i as u8);
        keys.seal(&mut one, seq0.wrapping_add(i as u32)).unwrap();
        assert_eq!(&buf[*off..*off + one.len()], &one[..], "packet {i}");
    }
    // Open with a trailing partial packet (valid length, body cut short):
    // it is left for later.
    let mut next = packet(64, 0xaa);
    keys.seal(&mut next, seq0.wrapping_add(bodies.len() as u32)).unwrap();
    let mut rx = buf.clone();
    rx.extend_from_slice(&next[..next.len() - 1]);
    let mut spans = Vec::new();
    let n = keys.open_batch(&mut rx, seq0, 4096, 100, |i, off, len| spans.push((i, off, len))).unwrap();
    assert_eq!(n, bodies.len() as u32);
    for (i, off) in offs.iter().enumerate() {
        assert_eq!(spans[i], (i as u32, (off + 4) as u32, bodies[i] as u32));
        assert_eq!(&rx[off + 4..off + 4 + bodies[i]], &plain[off + 4..off + 4 + bodies[i]]);
    }
    // max_count limits the work.
    let mut rx = buf.clone();
    assert_eq!(keys.open_batch(&mut rx, seq0, 4096, 2, |_, _, _| {}), Ok(2));
    assert_eq!(&rx[offs[2]..], &buf[offs[2]..], "packets past max_count untouched");
    // Nothing complete yet.
    let mut rx = buf[..offs[1] - 1].to_vec();
    assert_eq!(keys.open_batch(&mut rx, seq0, 4096, 100, |_, _, _| {}), Ok(0));
}

#[test]
fn batch_open_stops_at_first_bad_packet() {
    let keys = Keys::new(&key64(5));
    let bodies = [16usize, 24, 48, 8];
    let (plain, offs) = batch(&bodies);
    let mut sealed = plain.clone();
    keys.seal_batch(&mut sealed, 4, 10).unwrap();

    // Tampered third packet: two opened, the rest untouched.
    let mut rx = sealed.clone();
    rx[offs[2] + 10] ^= 0x40;
    let tampered = rx.clone();
    let mut seen = 0;
    assert_eq!(keys.open_batch(&mut rx, 10, 4096, 10, |_, _, _| seen += 1), Err((Fault::Tag, 2)));
    assert_eq!(seen, 2);
    assert_eq!(&rx[offs[2]..], &tampered[offs[2]..]);

    // Lengths over max_len are refused before the tag is even looked at.
    let mut rx = sealed.clone();
    assert_eq!(keys.open_batch(&mut rx, 10, 40, 10, |_, _, _| {}), Err((Fault::Length, 2)));
    assert_eq!(&rx[offs[2]..], &sealed[offs[2]..]);
}

#[test]
fn batch_open_rejects_lengths_that_break_the_block_rule() {
    let keys = Keys::new(&key64(6));
    for body in [0usize, 4, 5, 7, 9, 17, 1001] {
        let mut p = packet(body, 0);
        keys.seal(&mut p, 3).unwrap();
        assert_eq!(keys.open_batch(&mut p, 3, 1 << 20, 1, |_, _, _| {}), Err((Fault::Length, 0)), "body {body}");
    }
    assert!(length_ok(8, 8) && length_ok(32768, 35000));
    assert!(!length_ok(0, 100) && !length_ok(4, 100) && !length_ok(12, 100) && !length_ok(104, 100));
}

#[test]
fn batch_seal_refuses_bad_layout_without_touching_memory() {
    let keys = Keys::new(&key64(8));
    let (plain, _) = batch(&[16, 32]);
    for (count, extra) in [(1u32, 0usize), (3, 0), (2, 1)] {
        let mut buf = plain.clone();
        buf.extend(std::iter::repeat(0).take(extra));
        let before = buf.clone();
        assert_eq!(keys.seal_batch(&mut buf, count, 0), Err(Fault::Argument), "count {count} extra {extra}");
        assert_eq!(buf, before);
    }
    let mut empty: [u8; 0] = [];
    assert_eq!(keys.seal_batch(&mut empty, 0, 0), Ok(0));
}
