//! Plumbing the KEM exports (`mlkem::ffi`, `sntrup761::ffi`) share: copying
//! fixed-size inputs in from caller pointers and results out to them.
//!
//! Exports load every input into a stack copy before writing any output, so
//! callers may lay inputs and outputs out anywhere in the shared I/O
//! buffer, even overlapping.

use crate::codes::OK;

/// Copies `N` bytes from a caller pointer.
///
/// # Safety
/// `p` must be valid for `N` bytes of reads.
pub(crate) unsafe fn load<const N: usize>(p: *const u8) -> [u8; N] {
    let mut out = [0u8; N];
    core::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), N);
    out
}

/// Copies `src` to a caller pointer.
///
/// # Safety
/// `p` must be valid for `src.len()` bytes of writes.
pub(crate) unsafe fn store(p: *mut u8, src: &[u8]) {
    core::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len());
}

/// On `Ok`, copies each `(pointer, bytes)` output out and returns `OK`; on
/// `Err(code)`, writes nothing and returns `code`.
///
/// # Safety
/// Each pointer must be valid for its slice's length of writes.
pub(crate) unsafe fn store_if_ok(result: Result<(), i32>, outputs: &[(*mut u8, &[u8])]) -> i32 {
    match result {
        Ok(()) => {
            for &(p, src) in outputs {
                store(p, src);
            }
            OK
        }
        Err(code) => code,
    }
}
