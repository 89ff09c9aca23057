//! The ML-KEM-768 wasm exports (rust-core/ABI.md, "Post-quantum KEMs").
//!
//! Inputs are copied to the stack before any output is written, so callers
//! may lay inputs and outputs out anywhere in the shared I/O buffer, even
//! overlapping. Return codes: 0 success, -3 bad argument.

use super::{decaps, encaps, keypair, wipe, CT_LEN, DK_LEN, EK_LEN, SEED_LEN, SS_LEN};

use crate::codes::BAD_ARGUMENT as ERR_ARG;
use crate::ffi_util::{load, store, store_if_ok};

/// Key pair from the 64-byte seed d || z: writes ek (1184) and dk (2400).
///
/// # Safety
/// Pointers must be valid for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn sw_mlkem768_keypair(seed_ptr: *const u8, ek_out: *mut u8, dk_out: *mut u8) -> i32 {
    if seed_ptr.is_null() || ek_out.is_null() || dk_out.is_null() {
        return ERR_ARG;
    }
    let mut seed: [u8; SEED_LEN] = load(seed_ptr);
    let mut ek = [0u8; EK_LEN];
    let mut dk = [0u8; DK_LEN];
    keypair(&seed, &mut ek, &mut dk);
    store(ek_out, &ek);
    store(dk_out, &dk);
    wipe(&mut seed);
    wipe(&mut dk);
    0
}

/// Encapsulates to ek with the 32-byte message m: writes ct (1088) and ss (32).
/// Returns -3 if ek fails the FIPS 203 modulus check (nothing is written).
///
/// # Safety
/// Pointers must be valid for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn sw_mlkem768_encaps(ek_ptr: *const u8, m_ptr: *const u8, ct_out: *mut u8, ss_out: *mut u8) -> i32 {
    if ek_ptr.is_null() || m_ptr.is_null() || ct_out.is_null() || ss_out.is_null() {
        return ERR_ARG;
    }
    let ek: [u8; EK_LEN] = load(ek_ptr);
    let mut m: [u8; 32] = load(m_ptr);
    let mut ct = [0u8; CT_LEN];
    let mut ss = [0u8; SS_LEN];
    let rc = store_if_ok(encaps(&ek, &m, &mut ct, &mut ss).map_err(|_| ERR_ARG), &[(ct_out, &ct), (ss_out, &ss)]);
    wipe(&mut m);
    wipe(&mut ss);
    rc
}

/// Decapsulates ct (1088) with dk (2400): writes ss (32). A forged or
/// corrupted ciphertext still returns 0 with the implicit-rejection secret;
/// -3 means dk itself is inconsistent (its H(ek) does not match).
///
/// # Safety
/// Pointers must be valid for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn sw_mlkem768_decaps(dk_ptr: *const u8, ct_ptr: *const u8, ss_out: *mut u8) -> i32 {
    if dk_ptr.is_null() || ct_ptr.is_null() || ss_out.is_null() {
        return ERR_ARG;
    }
    let mut dk: [u8; DK_LEN] = load(dk_ptr);
    let ct: [u8; CT_LEN] = load(ct_ptr);
    let mut ss = [0u8; SS_LEN];
    let rc = store_if_ok(decaps(&dk, &ct, &mut ss).map_err(|_| ERR_ARG), &[(ss_out, &ss)]);
    wipe(&mut dk);
    wipe(&mut ss);
    rc
}
