//! The sntrup761 wasm exports (rust-core/ABI.md, "Post-quantum KEMs").
//!
//! Results are computed into stack buffers and copied out last, so inputs
//! and outputs may share the I/O buffer. Return codes: 0 success, -3 bad
//! argument (null pointer, too few random bytes), -4 key generation needs
//! more random bytes (every g the buffer allowed was not invertible; call
//! again with more, or with fresh, randomness).

use super::{dec, enc, keypair, wipe_u8, Error, CT_LEN, ENC_RAND_LEN, KEYPAIR_RAND_LEN, PK_LEN, SK_LEN, SS_LEN};

use crate::codes::{BAD_ARGUMENT as ERR_ARG, NO_MEMORY as ERR_MORE};
use crate::ffi_util::{load, store, store_if_ok};

/// Minimum random bytes `sw_sntrup761_keypair` consumes (6279).
#[no_mangle]
pub extern "C" fn sw_sntrup761_keypair_rand_len() -> i32 {
    KEYPAIR_RAND_LEN as i32
}

/// Random bytes `sw_sntrup761_enc` consumes (3044).
#[no_mangle]
pub extern "C" fn sw_sntrup761_enc_rand_len() -> i32 {
    ENC_RAND_LEN as i32
}

/// Key pair from `rand_len` caller bytes: writes pk (1158) and sk (1763).
///
/// # Safety
/// `rand_ptr` must be valid for `rand_len` bytes, the outputs for their sizes.
#[no_mangle]
pub unsafe extern "C" fn sw_sntrup761_keypair(rand_ptr: *const u8, rand_len: i32, pk_out: *mut u8, sk_out: *mut u8) -> i32 {
    if rand_ptr.is_null() || pk_out.is_null() || sk_out.is_null() || rand_len < 0 {
        return ERR_ARG;
    }
    let rand = core::slice::from_raw_parts(rand_ptr, rand_len as usize);
    let mut pk = [0u8; PK_LEN];
    let mut sk = [0u8; SK_LEN];
    let result = keypair(rand, &mut pk, &mut sk).map_err(|e| match e {
        Error::NeedMoreRandomness => ERR_MORE,
        Error::ShortRandomness => ERR_ARG,
    });
    let rc = store_if_ok(result, &[(pk_out, &pk), (sk_out, &sk)]);
    wipe_u8(&mut sk);
    rc
}

/// Encapsulates to pk (1158) with `rand_len` >= 3044 caller bytes (the
/// first 3044 are used): writes ct (1039) and ss (32).
///
/// # Safety
/// Pointers must be valid for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn sw_sntrup761_enc(pk_ptr: *const u8, rand_ptr: *const u8, rand_len: i32, ct_out: *mut u8, ss_out: *mut u8) -> i32 {
    if pk_ptr.is_null() || rand_ptr.is_null() || ct_out.is_null() || ss_out.is_null() || rand_len < 0 {
        return ERR_ARG;
    }
    let pk: [u8; PK_LEN] = load(pk_ptr);
    let rand = core::slice::from_raw_parts(rand_ptr, rand_len as usize);
    let mut ct = [0u8; CT_LEN];
    let mut ss = [0u8; SS_LEN];
    let rc = store_if_ok(enc(&pk, rand, &mut ct, &mut ss).map_err(|_| ERR_ARG), &[(ct_out, &ct), (ss_out, &ss)]);
    wipe_u8(&mut ss);
    rc
}

/// Decapsulates ct (1039) with sk (1763): writes ss (32). Always 0 for
/// valid pointers; a bad ciphertext yields the implicit-rejection secret.
///
/// # Safety
/// Pointers must be valid for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn sw_sntrup761_dec(sk_ptr: *const u8, ct_ptr: *const u8, ss_out: *mut u8) -> i32 {
    if sk_ptr.is_null() || ct_ptr.is_null() || ss_out.is_null() {
        return ERR_ARG;
    }
    let mut sk: [u8; SK_LEN] = load(sk_ptr);
    let ct: [u8; CT_LEN] = load(ct_ptr);
    let mut ss = [0u8; SS_LEN];
    dec(&sk, &ct, &mut ss);
    store(ss_out, &ss);
    wipe_u8(&mut sk);
    wipe_u8(&mut ss);
    0
}
