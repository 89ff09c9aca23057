//! Exports: the raw primitives (`sw_chacha20`, `sw_chacha20_djb`,
//! `sw_poly1305`), for tests and other constructions.

use crate::chacha20::{self, State};
use crate::codes;
use crate::lanes::Fast4;
use crate::{mem, poly1305};

/// RFC 8439 ChaCha20 XOR in place. -3 for invalid regions or if the 32-bit
/// block counter would pass 2^32 (the RFC's limit for one nonce).
#[no_mangle]
pub extern "C" fn sw_chacha20(key_ptr: usize, nonce_ptr: usize, counter: u32, ptr: usize, len: usize) -> i32 {
    let (key, nonce) = match (mem::read_array::<32>(key_ptr), mem::read_array::<12>(nonce_ptr)) {
        (Some(k), Some(n)) => (k, n),
        _ => return codes::BAD_ARGUMENT,
    };
    let blocks = (len as u64 + 63) / 64;
    if counter as u64 + blocks > 1u64 << 32 {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: key and nonce were copied out; nothing else borrows memory.
    let data = match unsafe { mem::bytes_mut(ptr, len) } {
        Some(d) => d,
        None => return codes::BAD_ARGUMENT,
    };
    let mut st = State::ietf(&chacha20::key_words(&key), counter, &nonce);
    chacha20::xor_in_place::<Fast4>(&mut st, data);
    codes::OK
}

/// Original ChaCha20 (64-bit nonce, 64-bit counter = hi:lo) XOR in place.
#[no_mangle]
pub extern "C" fn sw_chacha20_djb(
    key_ptr: usize,
    nonce_ptr: usize,
    counter_lo: u32,
    counter_hi: u32,
    ptr: usize,
    len: usize,
) -> i32 {
    let (key, nonce) = match (mem::read_array::<32>(key_ptr), mem::read_array::<8>(nonce_ptr)) {
        (Some(k), Some(n)) => (k, n),
        _ => return codes::BAD_ARGUMENT,
    };
    // SAFETY: key and nonce were copied out; nothing else borrows memory.
    let data = match unsafe { mem::bytes_mut(ptr, len) } {
        Some(d) => d,
        None => return codes::BAD_ARGUMENT,
    };
    let counter = (counter_hi as u64) << 32 | counter_lo as u64;
    let mut st = State::djb(&chacha20::key_words(&key), counter, &nonce);
    chacha20::xor_in_place::<Fast4>(&mut st, data);
    codes::OK
}

/// Poly1305 tag of `msg` under a 32-byte one-time key, written to `out_ptr`
/// (which may overlap the inputs).
#[no_mangle]
pub extern "C" fn sw_poly1305(key_ptr: usize, msg_ptr: usize, len: usize, out_ptr: usize) -> i32 {
    let key = match mem::read_array::<32>(key_ptr) {
        Some(k) => k,
        None => return codes::BAD_ARGUMENT,
    };
    if !mem::valid(out_ptr, 16) {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: shared borrow only; the output is written after it ends.
    let tag = match unsafe { mem::bytes(msg_ptr, len) } {
        Some(m) => poly1305::mac(&key, m),
        None => return codes::BAD_ARGUMENT,
    };
    if mem::write(out_ptr, &tag) {
        codes::OK
    } else {
        codes::BAD_ARGUMENT
    }
}
