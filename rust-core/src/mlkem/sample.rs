//! Sampling (FIPS 203 section 4.2.2): the public matrix from SHAKE128 by
//! rejection (Algorithm 7) and noise from the centered binomial
//! distribution with eta = 2 (Algorithm 8).

use super::keccak::{shake256, Sponge};
use super::poly::{csub_q, Poly, N, Q};

/// SampleNTT(rho || j || i): a uniform polynomial already in the NTT domain.
/// The rejection loop depends only on public data (rho), so it may branch.
pub fn sample_ntt(rho: &[u8; 32], j: u8, i: u8, out: &mut Poly) {
    let mut xof = Sponge::shake128();
    xof.update(rho).update(&[j, i]);
    let mut block = [0u8; 168];
    let mut n = 0;
    while n < N {
        xof.squeeze(&mut block);
        for c in block.chunks_exact(3) {
            let d1 = c[0] as u32 | ((c[1] as u32 & 0x0f) << 8);
            let d2 = (c[1] as u32 >> 4) | ((c[2] as u32) << 4);
            if d1 < Q {
                out[n] = d1 as u16;
                n += 1;
            }
            if d2 < Q && n < N {
                out[n] = d2 as u16;
                n += 1;
            }
            if n == N {
                break;
            }
        }
    }
}

/// SamplePolyCBD_2(PRF_2(sigma, nonce)): coefficients in [-2, 2] mod q.
pub fn sample_cbd2(sigma: &[u8; 32], nonce: u8, out: &mut Poly) {
    let mut buf = [0u8; 128];
    shake256(&[sigma, &[nonce]], &mut buf);
    for (k, &b) in buf.iter().enumerate() {
        let b = b as u32;
        // Each nibble holds two 2-bit halves: x = bit0 + bit1, y = bit2 + bit3.
        for half in 0..2 {
            let v = b >> (4 * half);
            let x = (v & 1) + ((v >> 1) & 1);
            let y = ((v >> 2) & 1) + ((v >> 3) & 1);
            out[2 * k + half] = csub_q(x + Q - y) as u16;
        }
    }
    for v in buf.iter_mut() {
        unsafe { core::ptr::write_volatile(v, 0) };
    }
}
