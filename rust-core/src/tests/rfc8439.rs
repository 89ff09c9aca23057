//! RFC 8439 vectors: sections 2.3.2, 2.4.2, 2.5.2, 2.6.2, 2.8.2 and
//! Appendix A.1-A.4, run on both 4-lane implementations available on the
//! host (the portable one and whatever `Fast4` is here).

use super::hex::{arr, hex};
use crate::chacha20::{self, State};
use crate::lanes::{Fast4, Lanes, Scalar4};
use crate::poly1305;

const KEY_0_31: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_80_9F: &str = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
const KEY_1C92: &str = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";

const SUNSCREEN: &str =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

const IETF_TEXT: &str = "Any submission to the IETF intended by the Contributor for publication as all or part of an IETF Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an \"IETF Contribution\". Such statements include oral statements in IETF sessions, as well as written and electronic communications made at any time or place, which are addressed to";

const JABBERWOCK: &str = "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the borogoves,\nAnd the mome raths outgrabe.";

fn words_le(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn ietf<V: Lanes>(key: &str, nonce: &str, counter: u32, data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut st = State::ietf(&chacha20::key_words(&arr::<32>(key)), counter, &arr::<12>(nonce));
    chacha20::xor_in_place::<V>(&mut st, &mut out);
    out
}

fn both(key: &str, nonce: &str, counter: u32, data: &[u8]) -> Vec<u8> {
    let a = ietf::<Scalar4>(key, nonce, counter, data);
    let b = ietf::<Fast4>(key, nonce, counter, data);
    assert_eq!(a, b, "portable and fast paths disagree");
    a
}

#[test]
fn block_function_2_3_2() {
    let expect = words_le(&[
        0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3, 0x466482d2,
        0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
    ]);
    let st = State::ietf(&chacha20::key_words(&arr::<32>(KEY_0_31)), 1, &arr::<12>("000000090000004a00000000"));
    assert_eq!(chacha20::block(&st).to_vec(), expect);
    assert_eq!(both(KEY_0_31, "000000090000004a00000000", 1, &[0u8; 64]), expect);
}

#[test]
fn encryption_2_4_2() {
    let ct = hex(
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b
         f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8
         07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736
         5af90bbf74a35be6b40b8eedf2785e42874d",
    );
    let got = both(KEY_0_31, "000000000000004a00000000", 1, SUNSCREEN.as_bytes());
    assert_eq!(got, ct);
    assert_eq!(both(KEY_0_31, "000000000000004a00000000", 1, &ct), SUNSCREEN.as_bytes());
}

#[test]
fn poly1305_2_5_2() {
    let key = arr::<32>("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    let tag = poly1305::mac(&key, b"Cryptographic Forum Research Group");
    assert_eq!(tag.to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
}

#[test]
fn poly_key_generation_2_6_2() {
    let out = both(KEY_80_9F, "000000000001020304050607", 0, &[0u8; 32]);
    assert_eq!(out, hex("8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646"));
}

/// RFC 8439 AEAD built from the primitives, for the 2.8.2 vector.
fn aead_seal(key: &str, nonce: &str, aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let otk = both(key, nonce, 0, &[0u8; 32]);
    let ct = both(key, nonce, 1, pt);
    let mut mac_data = aad.to_vec();
    mac_data.resize((aad.len() + 15) & !15, 0);
    mac_data.extend_from_slice(&ct);
    mac_data.resize((mac_data.len() + 15) & !15, 0);
    mac_data.extend_from_slice(&(aad.len() as u64).to_le_bytes());
    mac_data.extend_from_slice(&(ct.len() as u64).to_le_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(&otk);
    (ct, poly1305::mac(&k, &mac_data))
}

#[test]
fn aead_2_8_2() {
    let (ct, tag) = aead_seal(KEY_80_9F, "070000004041424344454647", &hex("50515253c0c1c2c3c4c5c6c7"), SUNSCREEN.as_bytes());
    let expect = hex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
         3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
         92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
         3ff4def08e4b7a9de576d26586cec64b6116",
    );
    assert_eq!(ct, expect);
    assert_eq!(tag.to_vec(), hex("1ae10b594f09e26a7e902ecbd0600691"));
}

#[test]
fn appendix_a1_block_function() {
    let zero_key = "00".repeat(32);
    let key_last_1 = format!("{}01", "00".repeat(31));
    let key_00ff = format!("00ff{}", "00".repeat(30));
    let cases: [(&str, &str, u32, &str); 5] = [
        (
            &zero_key,
            "000000000000000000000000",
            0,
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7
             da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
        ),
        (
            &zero_key,
            "000000000000000000000000",
            1,
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed
             29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
        ),
        (
            &key_last_1,
            "000000000000000000000000",
            1,
            "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a
             8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0",
        ),
        (
            &key_00ff,
            "000000000000000000000000",
            2,
            "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca
             13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096",
        ),
        (
            &zero_key,
            "000000000000000000000002",
            0,
            "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7
             8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d",
        ),
    ];
    for (key, nonce, counter, ks) in cases {
        assert_eq!(both(key, nonce, counter, &[0u8; 64]), hex(ks), "key {key} counter {counter}");
    }
}

#[test]
fn appendix_a2_encryption() {
    let zero_key = "00".repeat(32);
    let key_last_1 = format!("{}01", "00".repeat(31));
    assert_eq!(
        both(&zero_key, "000000000000000000000000", 0, &[0u8; 64]),
        hex("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7
             da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586")
    );
    let tv2 = hex(
        "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec
         2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d
         4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e527950
         42bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a
         d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259d
         c4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b
         0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6c
         cc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b
         c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f
         5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6
         98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab
         7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221",
    );
    assert_eq!(both(&key_last_1, "000000000000000000000002", 1, IETF_TEXT.as_bytes()), tv2);
    let tv3 = hex(
        "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf
         166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb
         f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77
         04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1",
    );
    assert_eq!(both(KEY_1C92, "000000000000000000000002", 42, JABBERWOCK.as_bytes()), tv3);
}

#[test]
fn appendix_a3_poly1305() {
    let reused = "36e5f6b5c5e06070f0efca96227a863e";
    let z16 = "00".repeat(16);
    let ff16 = "ff".repeat(16);
    let one = format!("01{}", "00".repeat(31));
    let two = format!("02{}", "00".repeat(31));
    let r_1_4 = format!("0100000000000000040000000000000{}", "0".repeat(33));
    let tv10_msg = "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000
                    0000000000000000000000000000000001000000000000000000000000000000";
    let tv11_msg = "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000
                    00000000000000000000000000000000";
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        ("00".repeat(32), vec![0u8; 64], "00000000000000000000000000000000"),
        (format!("{z16}{reused}"), IETF_TEXT.as_bytes().to_vec(), reused),
        (format!("{reused}{z16}"), IETF_TEXT.as_bytes().to_vec(), "f3477e7cd95417af89a6b8794c310cf0"),
        (KEY_1C92.to_string(), JABBERWOCK.as_bytes().to_vec(), "4541669a7eaaee61e708dc7cbcc5eb62"),
        (two.clone(), hex(&ff16), "03000000000000000000000000000000"),
        (format!("02{}{ff16}", "00".repeat(15)), hex(&format!("02{}", "00".repeat(15))), "03000000000000000000000000000000"),
        (
            one.clone(),
            hex("ffffffffffffffffffffffffffffffff f0ffffffffffffffffffffffffffffff 11000000000000000000000000000000"),
            "05000000000000000000000000000000",
        ),
        (
            one.clone(),
            hex("ffffffffffffffffffffffffffffffff fbfefefefefefefefefefefefefefefe 01010101010101010101010101010101"),
            "00000000000000000000000000000000",
        ),
        (two.clone(), hex("fdffffffffffffffffffffffffffffff"), "faffffffffffffffffffffffffffffff"),
        (r_1_4.clone(), hex(tv10_msg), "14000000000000005500000000000000"),
        (r_1_4.clone(), hex(tv11_msg), "13000000000000000000000000000000"),
    ];
    for (i, (key, msg, tag)) in cases.iter().enumerate() {
        let k = arr::<32>(key);
        assert_eq!(poly1305::mac(&k, msg).to_vec(), hex(tag), "A.3 test vector #{}", i + 1);
    }
}

#[test]
fn appendix_a4_poly_key_generation() {
    let cases = [
        ("00".repeat(32), "000000000000000000000000", "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"),
        (
            format!("{}01", "00".repeat(31)),
            "000000000000000000000002",
            "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739",
        ),
        (KEY_1C92.to_string(), "000000000000000000000002", "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae"),
    ];
    for (key, nonce, otk) in cases {
        assert_eq!(both(&key, nonce, 0, &[0u8; 32]), hex(otk));
    }
}

/// Straightforward one-block ChaCha20 written independently of the 4-lane
/// code, to check every length and counter position of the bulk path.
pub(super) fn reference_block(w: &[u32; 16]) -> [u8; 64] {
    let mut x = *w;
    fn qr(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(16);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(12);
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(8);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(7);
    }
    for _ in 0..10 {
        qr(&mut x, 0, 4, 8, 12);
        qr(&mut x, 1, 5, 9, 13);
        qr(&mut x, 2, 6, 10, 14);
        qr(&mut x, 3, 7, 11, 15);
        qr(&mut x, 0, 5, 10, 15);
        qr(&mut x, 1, 6, 11, 12);
        qr(&mut x, 2, 7, 8, 13);
        qr(&mut x, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&x[i].wrapping_add(w[i]).to_le_bytes());
    }
    out
}

#[test]
fn bulk_path_matches_reference_for_all_lengths_and_djb_counter_carry() {
    let key = chacha20::key_words(&arr::<32>(KEY_1C92));
    let nonce = arr::<8>("0102030405060708");
    // Start 3 blocks below 2^32 so the 64-bit counter carries into word 13
    // in the middle of a 4-block step.
    let start = (1u64 << 32) - 3;
    for len in (0..700).chain([1024, 4096 + 17]) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let mut expect = data.clone();
        for (b, chunk) in expect.chunks_mut(64).enumerate() {
            let ks = reference_block(&State::djb(&key, start + b as u64, &nonce).words);
            for (d, k) in chunk.iter_mut().zip(ks.iter()) {
                *d ^= k;
            }
        }
        let mut got = data.clone();
        let mut st = State::djb(&key, start, &nonce);
        chacha20::xor_in_place::<Scalar4>(&mut st, &mut got);
        assert_eq!(got, expect, "len {len}");
        let (lo, hi) = (st.words[12], st.words[13]);
        let next = start + ((len as u64 + 63) / 64);
        assert_eq!((lo, hi), (next as u32, (next >> 32) as u32), "counter after len {len}");
        let mut fast = data.clone();
        chacha20::xor_in_place::<Fast4>(&mut State::djb(&key, start, &nonce), &mut fast);
        assert_eq!(fast, expect, "fast path len {len}");
    }
}
