//! Host tests: FIPS 197 for the AES core, RFC 4418 appendix vectors (with
//! the published erratum for 'a' * 2^25), OpenSSH umac.c's self-test
//! vectors, and boundary lengths around the 1024-byte chunk and the 16 MiB
//! switch to POLY-128 (values as published by the nettle test suite).
use super::aes::Aes128;
use super::Umac;

fn hex(s: &str) -> Vec<u8> {
    let d: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
    d.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

const KEY: &[u8; 16] = b"abcdefghijklmnop";
const NONCE: &[u8; 8] = b"bcdefghi";

fn tag(len: usize, msg: &[u8], nonce: &[u8; 8]) -> Vec<u8> {
    let mut u = Umac::new(KEY, len).unwrap();
    let mut out = vec![0u8; len];
    u.tag(msg, nonce, &mut out);
    out
}

fn repeat(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}

#[test]
fn aes128_fips197() {
    let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
    let mut block: [u8; 16] = hex("00112233445566778899aabbccddeeff").try_into().unwrap();
    Aes128::new(&key).encrypt(&mut block);
    assert_eq!(block.to_vec(), hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
    // FIPS 197 appendix B.
    let key: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
    let mut block: [u8; 16] = hex("3243f6a8885a308d313198a2e0370734").try_into().unwrap();
    Aes128::new(&key).encrypt(&mut block);
    assert_eq!(block.to_vec(), hex("3925841d02dc09fbdc118597196a0b32"));
}

/// (message, UMAC-64 tag, UMAC-128 tag or its 96-bit prefix as the RFC prints it).
fn rfc_vectors() -> Vec<(Vec<u8>, &'static str, &'static str)> {
    vec![
        (vec![], "6E155FAD26900BE1", "32FEDB100C79AD58F07FF7643CC60465"),
        (repeat(b"a", 3), "44B5CB542F220104", "185E4FE905CBA7BD85E4C2DC3D117D8D"),
        (repeat(b"a", 1 << 10), "26BF2F5D60118BD9", "7A54ABE04AF82D60FB298C3CBD195BCB"),
        (repeat(b"a", 1 << 15), "27F8EF643B0D118D", "7B136BD911E4B734286EF2BE501F2C3C"),
        (repeat(b"a", 1 << 20), "A4477E87E9F55853", "F8ACFA3AC31CFEEA047F7B115B03BEF5"),
        // RFC 4418 erratum: the printed values were made by code that
        // mishandled the switch to POLY-128 past 2^24 bytes.
        (repeat(b"a", 1 << 25), "FACA46F856E9B45F", "A621C2457C0012E64F3FDAE9E7E1870C"),
        (repeat(b"abc", 3), "D4D7B9F6BD4FBFCF", "883C3D4B97A61976FFCF2323"),
        (repeat(b"abc", 1500), "D4CF26DDEFD5C01A", "8824A260C53C66A36C9260A6"),
    ]
}

#[test]
fn rfc4418_umac64() {
    for (msg, t64, _) in rfc_vectors() {
        assert_eq!(tag(8, &msg, NONCE), hex(t64), "len {}", msg.len());
    }
}

#[test]
fn rfc4418_umac128() {
    for (msg, _, t128) in rfc_vectors() {
        let want = hex(t128);
        assert_eq!(tag(16, &msg, NONCE)[..want.len()], want[..], "len {}", msg.len());
    }
}

#[test]
fn openssh_umac_c_self_test() {
    // umac.c's umac_verify(): nonce "abcdefgh", 'a' * n; 128-bit tags, whose
    // first half is the 64-bit tag for an even final nonce byte.
    for (len, want) in [
        (0usize, "4D61E4F5AAB959C8B800A2BE546302AD"),
        (3, "67C1700CA30B532DCD9B970655B47B45"),
        (1024, "05CB9405EC38D9F0B356D9E6D5BC5D03"),
        (32768, "048C543CB72443A46011A76438BA2AF4"),
    ] {
        let msg = repeat(b"a", len);
        assert_eq!(tag(16, &msg, b"abcdefgh"), hex(want));
        assert_eq!(tag(8, &msg, b"abcdefgh"), hex(want)[..8].to_vec());
    }
}

#[test]
fn chunk_and_poly_boundaries() {
    for (len, t64, t128) in [
        (1022usize, "2cee9784556387b3", "700513397f8a210a98938d3e7ac3bd88"),
        (16777217, "374f09dbb0b84b88", "6ba48d669a51ed3195ebc2aa562ee71b"),
    ] {
        let msg = repeat(b"def", len);
        assert_eq!(tag(8, &msg, NONCE), hex(t64), "len {len}");
        assert_eq!(tag(16, &msg, NONCE), hex(t128), "len {len}");
    }
}

#[test]
fn pdf_cache_follows_the_nonce() {
    // One context, sequence numbers in and out of order, against fresh contexts.
    let mut u = Umac::new(KEY, 8).unwrap();
    let msg = repeat(b"x", 100);
    for seq in [0u64, 1, 2, 3, 2, 7, 6, 1 << 33] {
        let nonce = seq.to_be_bytes();
        let mut out = [0u8; 8];
        u.tag(&msg, &nonce, &mut out);
        assert_eq!(out.to_vec(), tag(8, &msg, &nonce), "seq {seq}");
    }
    assert_ne!(tag(8, &msg, &0u64.to_be_bytes()), tag(8, &msg, &1u64.to_be_bytes()));
}

#[test]
fn rejects_other_tag_lengths() {
    assert!(Umac::new(KEY, 4).is_none());
    assert!(Umac::new(KEY, 12).is_none());
}

/// The RFC's PDF for any nonce of 1..=16 bytes (SSH only ever uses 8).
fn tag_any_nonce(len: usize, msg: &[u8], nonce: &[u8]) -> Vec<u8> {
    let u = Umac::new(KEY, len).unwrap();
    let (h, aes) = u.uhash_and_pdf_cipher(msg);
    let mut block = [0u8; 16];
    block[..nonce.len()].copy_from_slice(nonce);
    let index = if len == 8 { (nonce[nonce.len() - 1] & 1) as usize } else { 0 };
    if len == 8 {
        block[nonce.len() - 1] &= 0xfe;
    }
    aes.encrypt(&mut block);
    (0..len).map(|i| h[i] ^ block[index * len + i]).collect()
}

#[test]
fn nettle_lengths_across_poly128() {
    // 'def' repeated; nonces "b", "bc", ... as in nettle's umac test.
    for (nonce, len, t64, t128) in [
        ("bcd", 16777212usize, "7ef41cf351960aaf", "7ef41cf351960aaf729bb19fcee7d8c4"),
        ("bcdefgh", 16777216, "42d8562a224a9e9a", "42d8562a224a9e9a75c2f85d39462d07"),
        ("bcdefghijk", 16778240, "e1974b26fb35f2c6", "2e93c8ca83b97a6b1a21082e2a4c540d"),
        ("bcdefghijkl", 16778241, "ffced8f2494d85bf", "ffced8f2494d85bf0cb39408ddfe0295"),
        ("bcdefghijklm", 16778242, "65a5bbdda3b85368", "f9148022bc6ab64f019e9db83704c17b"),
        ("bcdefghijklmno", 16778244, "04f163b7c2d5d849", "77a26f7387d1dcd39378a3220652cff7"),
    ] {
        let msg = repeat(b"def", len);
        assert_eq!(tag_any_nonce(8, &msg, nonce.as_bytes()), hex(t64), "len {len}");
        assert_eq!(tag_any_nonce(16, &msg, nonce.as_bytes()), hex(t128), "len {len}");
    }
}
