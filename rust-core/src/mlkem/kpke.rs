//! K-PKE, the CPA-secure encryption scheme under ML-KEM (FIPS 203 section 5,
//! Algorithms 13-15), for k = 3, eta1 = eta2 = 2, du = 10, dv = 4.
//!
//! The matrix A is never stored: each entry is sampled when it is needed,
//! so the working set stays a few polynomials on the stack.

use super::encode::{byte_decode, byte_decode12, byte_encode, compress, decompress};
use super::keccak::sha3_512;
use super::poly::{add_assign, inv_ntt, mul_acc, ntt, sub_assign, Poly, N};
use super::sample::{sample_cbd2, sample_ntt};
use super::{wipe_poly, wipe_polys};

pub const K: usize = 3;
const DU: u32 = 10;
const DV: u32 = 4;
pub const POLYVEC_BYTES: usize = 384 * K;
pub const EK_LEN: usize = POLYVEC_BYTES + 32;
pub const CT_LEN: usize = 32 * (DU as usize * K + DV as usize);
const C1_LEN: usize = 32 * DU as usize * K;

/// K-PKE.KeyGen(d): writes ek (1184 bytes) and dk_pke (1152 bytes).
pub fn keygen(d: &[u8; 32], ek: &mut [u8], dk_pke: &mut [u8]) {
    let mut g = sha3_512(&[d, &[K as u8]]);
    let mut rho = [0u8; 32];
    let mut sigma = [0u8; 32];
    rho.copy_from_slice(&g[..32]);
    sigma.copy_from_slice(&g[32..]);

    let mut s = [[0u16; N]; K];
    let mut e = [[0u16; N]; K];
    for i in 0..K {
        sample_cbd2(&sigma, i as u8, &mut s[i]);
        ntt(&mut s[i]);
    }
    for i in 0..K {
        sample_cbd2(&sigma, (K + i) as u8, &mut e[i]);
        ntt(&mut e[i]);
    }

    let mut a: Poly = [0; N];
    for i in 0..K {
        // t_i = sum_j A[i][j] s_j + e_i, with A[i][j] = SampleNTT(rho || j || i).
        let mut t = e[i];
        for j in 0..K {
            sample_ntt(&rho, j as u8, i as u8, &mut a);
            mul_acc(&mut t, &a, &s[j]);
        }
        byte_encode(&t, 12, &mut ek[384 * i..384 * (i + 1)]);
        byte_encode(&s[i], 12, &mut dk_pke[384 * i..384 * (i + 1)]);
    }
    ek[POLYVEC_BYTES..EK_LEN].copy_from_slice(&rho);

    wipe_polys(&mut s);
    wipe_polys(&mut e);
    super::wipe(&mut g);
    super::wipe(&mut sigma);
}

/// K-PKE.Encrypt(ek, m, r). Returns false, writing nothing meaningful,
/// when ek fails the modulus check.
pub fn encrypt(ek: &[u8], m: &[u8; 32], r: &[u8; 32], ct: &mut [u8]) -> bool {
    let mut t = [[0u16; N]; K];
    let mut ok = true;
    for i in 0..K {
        ok &= byte_decode12(&ek[384 * i..384 * (i + 1)], &mut t[i]);
    }
    if !ok {
        return false;
    }
    let mut rho = [0u8; 32];
    rho.copy_from_slice(&ek[POLYVEC_BYTES..EK_LEN]);

    let mut y = [[0u16; N]; K];
    for i in 0..K {
        sample_cbd2(r, i as u8, &mut y[i]);
        ntt(&mut y[i]);
    }

    let mut a: Poly = [0; N];
    let mut noise: Poly = [0; N];
    for i in 0..K {
        // u_i = NTT^-1(sum_j A[j][i] y_j) + e1_i, with A[j][i] = SampleNTT(rho || i || j).
        let mut u: Poly = [0; N];
        for j in 0..K {
            sample_ntt(&rho, i as u8, j as u8, &mut a);
            mul_acc(&mut u, &a, &y[j]);
        }
        inv_ntt(&mut u);
        sample_cbd2(r, (K + i) as u8, &mut noise);
        add_assign(&mut u, &noise);
        compress(&mut u, DU);
        byte_encode(&u, DU, &mut ct[320 * i..320 * (i + 1)]);
    }

    // v = NTT^-1(t . y) + e2 + Decompress_1(m)
    let mut v: Poly = [0; N];
    for j in 0..K {
        mul_acc(&mut v, &t[j], &y[j]);
    }
    inv_ntt(&mut v);
    sample_cbd2(r, (2 * K) as u8, &mut noise);
    add_assign(&mut v, &noise);
    let mut mu: Poly = [0; N];
    byte_decode(m, 1, &mut mu);
    decompress(&mut mu, 1);
    add_assign(&mut v, &mu);
    compress(&mut v, DV);
    byte_encode(&v, DV, &mut ct[C1_LEN..CT_LEN]);

    wipe_polys(&mut y);
    wipe_poly(&mut noise);
    wipe_poly(&mut mu);
    wipe_poly(&mut v);
    true
}

/// K-PKE.Decrypt(dk_pke, c) -> m.
pub fn decrypt(dk_pke: &[u8], ct: &[u8], m: &mut [u8; 32]) {
    let mut w: Poly = [0; N];
    let mut s: Poly = [0; N];
    let mut u: Poly = [0; N];
    for i in 0..K {
        byte_decode(&ct[320 * i..320 * (i + 1)], DU, &mut u);
        decompress(&mut u, DU);
        ntt(&mut u);
        // dk_pke came from our own keygen, so its values are already < q.
        byte_decode12(&dk_pke[384 * i..384 * (i + 1)], &mut s);
        mul_acc(&mut w, &s, &u);
    }
    inv_ntt(&mut w);
    let mut v: Poly = [0; N];
    byte_decode(&ct[C1_LEN..CT_LEN], DV, &mut v);
    decompress(&mut v, DV);
    sub_assign(&mut v, &w);
    compress(&mut v, 1);
    byte_encode(&v, 1, m);
    wipe_poly(&mut w);
    wipe_poly(&mut s);
    wipe_poly(&mut v);
}
