//! ML-KEM-768 as specified in FIPS 203 (August 2024): the deterministic
//! internal algorithms (KeyGen from (d, z), Encaps from m, Decaps with
//! implicit rejection). Randomness always comes from the caller.

mod encode;
pub mod ffi;
pub mod keccak;
mod kpke;
mod poly;
mod sample;
#[cfg(test)]
mod test_expect;

use keccak::{sha3_256, sha3_512, shake256};
use poly::Poly;

pub const SEED_LEN: usize = 64;
pub const EK_LEN: usize = kpke::EK_LEN; // 1184
pub const DK_LEN: usize = 2 * kpke::POLYVEC_BYTES + 96; // 2400
pub const CT_LEN: usize = kpke::CT_LEN; // 1088
pub const SS_LEN: usize = 32;

/// Why an input was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The encapsulation key fails the FIPS 203 section 7.2 modulus check.
    BadEncapsulationKey,
    /// The decapsulation key's embedded H(ek) does not match (section 7.3).
    BadDecapsulationKey,
}

/// ML-KEM.KeyGen_internal(d, z) with `seed = d || z`.
pub fn keypair(seed: &[u8; SEED_LEN], ek: &mut [u8; EK_LEN], dk: &mut [u8; DK_LEN]) {
    let mut d = [0u8; 32];
    d.copy_from_slice(&seed[..32]);
    let pb = kpke::POLYVEC_BYTES;
    kpke::keygen(&d, &mut ek[..], &mut dk[..pb]);
    // dk = dk_pke || ek || H(ek) || z
    dk[pb..pb + EK_LEN].copy_from_slice(&ek[..]);
    dk[pb + EK_LEN..pb + EK_LEN + 32].copy_from_slice(&sha3_256(&[&ek[..]]));
    dk[pb + EK_LEN + 32..].copy_from_slice(&seed[32..]);
    wipe(&mut d);
}

/// ML-KEM.Encaps_internal(ek, m): ciphertext and shared secret.
pub fn encaps(ek: &[u8; EK_LEN], m: &[u8; 32], ct: &mut [u8; CT_LEN], ss: &mut [u8; SS_LEN]) -> Result<(), Error> {
    let h = sha3_256(&[&ek[..]]);
    let mut kr = sha3_512(&[m, &h]);
    let mut r = [0u8; 32];
    r.copy_from_slice(&kr[32..]);
    let ok = kpke::encrypt(&ek[..], m, &r, &mut ct[..]);
    if ok {
        ss.copy_from_slice(&kr[..32]);
    }
    wipe(&mut kr);
    wipe(&mut r);
    if ok {
        Ok(())
    } else {
        Err(Error::BadEncapsulationKey)
    }
}

/// ML-KEM.Decaps_internal(dk, c). A ciphertext that does not re-encrypt to
/// itself yields J(z || c) instead of an error (implicit rejection); the
/// choice is made without branching on secret data.
pub fn decaps(dk: &[u8; DK_LEN], ct: &[u8; CT_LEN], ss: &mut [u8; SS_LEN]) -> Result<(), Error> {
    let pb = kpke::POLYVEC_BYTES;
    let dk_pke = &dk[..pb];
    let ek = &dk[pb..pb + EK_LEN];
    let h = &dk[pb + EK_LEN..pb + EK_LEN + 32];
    let z = &dk[pb + EK_LEN + 32..];
    if !ct_eq(&sha3_256(&[ek]), h) {
        return Err(Error::BadDecapsulationKey);
    }

    let mut m = [0u8; 32];
    kpke::decrypt(dk_pke, &ct[..], &mut m);
    let mut kr = sha3_512(&[&m, h]);
    let mut r = [0u8; 32];
    r.copy_from_slice(&kr[32..]);
    let mut k_bar = [0u8; 32];
    shake256(&[z, &ct[..]], &mut k_bar);
    let mut ct2 = [0u8; CT_LEN];
    // ek inside dk is ours; if it were malformed, ct2 stays zero and the
    // comparison below rejects, which is the safe outcome.
    kpke::encrypt(ek, &m, &r, &mut ct2);
    let equal = ct_eq(&ct[..], &ct2);
    ct_select(ss, &kr[..32], &k_bar, equal);

    wipe(&mut m);
    wipe(&mut kr);
    wipe(&mut r);
    wipe(&mut k_bar);
    Ok(())
}

/// Constant-time equality of two equal-length byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // Route through a volatile read so the optimizer cannot turn the loop
    // into an early-exit comparison.
    let diff = unsafe { core::ptr::read_volatile(&diff) };
    diff == 0
}

/// out = if take_a { a } else { b }, without a branch on `take_a`.
fn ct_select(out: &mut [u8], a: &[u8], b: &[u8], take_a: bool) {
    let flag = unsafe { core::ptr::read_volatile(&(take_a as u8)) };
    let mask = 0u8.wrapping_sub(flag);
    for i in 0..out.len() {
        out[i] = (a[i] & mask) | (b[i] & !mask);
    }
}

/// Overwrites a secret buffer in a way the optimizer keeps.
pub(crate) fn wipe(b: &mut [u8]) {
    for v in b.iter_mut() {
        unsafe { core::ptr::write_volatile(v, 0) };
    }
}

fn wipe_poly(p: &mut Poly) {
    for v in p.iter_mut() {
        unsafe { core::ptr::write_volatile(v, 0) };
    }
}

fn wipe_polys(ps: &mut [Poly]) {
    for p in ps.iter_mut() {
        wipe_poly(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(tag: u8) -> [u8; 64] {
        let mut s = [0u8; 64];
        for (i, b) in s.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(tag);
        }
        s
    }

    #[test]
    fn round_trip_and_implicit_rejection() {
        let mut ek = [0u8; EK_LEN];
        let mut dk = [0u8; DK_LEN];
        keypair(&seed(1), &mut ek, &mut dk);
        let m = [7u8; 32];
        let mut ct = [0u8; CT_LEN];
        let mut ss1 = [0u8; 32];
        encaps(&ek, &m, &mut ct, &mut ss1).unwrap();
        let mut ss2 = [0u8; 32];
        decaps(&dk, &ct, &mut ss2).unwrap();
        assert_eq!(ss1, ss2);

        ct[5] ^= 1;
        let mut ss3 = [0u8; 32];
        decaps(&dk, &ct, &mut ss3).unwrap();
        assert_ne!(ss3, ss1);
        let mut want = [0u8; 32];
        shake256(&[&dk[DK_LEN - 32..], &ct[..]], &mut want);
        assert_eq!(ss3, want);
    }

    #[test]
    fn modulus_check_and_key_check() {
        let mut ek = [0u8; EK_LEN];
        let mut dk = [0u8; DK_LEN];
        keypair(&seed(2), &mut ek, &mut dk);
        let mut bad = ek;
        bad[0] = 0xff;
        bad[1] |= 0x0f;
        let mut ct = [0u8; CT_LEN];
        let mut ss = [0u8; 32];
        assert_eq!(encaps(&bad, &[0; 32], &mut ct, &mut ss), Err(Error::BadEncapsulationKey));
        dk[1200] ^= 1;
        assert_eq!(decaps(&dk, &ct, &mut ss), Err(Error::BadDecapsulationKey));
    }
}
