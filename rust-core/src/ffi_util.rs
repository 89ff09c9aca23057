//! Plumbing the exports share: for the KEM exports (`mlkem::ffi`,
//! `sntrup761::ffi`), copying fixed-size inputs in from caller pointers and
//! results out to them; for the context exports (`abi_chachapoly`,
//! `abi_umac`), making, checking and freeing heap context handles.
//!
//! Exports load every input into a stack copy before writing any output, so
//! callers may lay inputs and outputs out anywhere in the shared I/O
//! buffer, even overlapping.

use crate::codes::{BAD_CONTEXT, OK};
use crate::heap;

/// A context kept in a heap block and handed out by address.
///
/// A handle is accepted only if the heap says it is a live block of the
/// context's size, suitably aligned, whose magic word is `MAGIC` bound to
/// the block's own address (so a copy of a context elsewhere does not
/// validate).
///
/// # Safety
/// The implementing type must be `#[repr(C)]` with a `u32` magic word as
/// its first field, and all-zero bytes must be a valid value of it.
pub(crate) unsafe trait HeapCtx: Sized {
    /// The type's magic word before it is bound to an address.
    const MAGIC: u32;
}

/// The live context of type `T` behind `handle`, or None.
pub(crate) fn ctx<T: HeapCtx>(handle: usize) -> Option<&'static mut T> {
    if !heap::global().is_live(handle, core::mem::size_of::<T>()) || handle % core::mem::align_of::<T>() != 0 {
        return None;
    }
    // SAFETY: the heap vouches for size_of::<T>() bytes at this aligned
    // address, and HeapCtx promises a leading u32 magic word.
    if unsafe { *(handle as *const u32) } != T::MAGIC ^ handle as u32 {
        return None;
    }
    // SAFETY: as above; the block is live, aligned and holds a T (zeroed
    // bytes being a valid T).
    Some(unsafe { &mut *(handle as *mut T) })
}

/// A new zeroed context of type `T` with its magic bound; 0 when out of memory.
pub(crate) fn new_ctx<T: HeapCtx>() -> usize {
    let h = match heap::global().alloc(core::mem::size_of::<T>()) {
        Some(h) => h,
        None => return 0,
    };
    // SAFETY: freshly allocated (zeroed) block of at least size_of::<T>()
    // bytes whose first field is the u32 magic.
    unsafe { *(h as *mut u32) = T::MAGIC ^ h as u32 };
    h
}

/// Frees a context of type `T` already checked with `ctx`; the heap zeroes
/// the block (keys and magic) before reusing it.
pub(crate) fn free_ctx<T: HeapCtx>(handle: usize) -> i32 {
    if heap::global().free(handle, core::mem::size_of::<T>()) {
        OK
    } else {
        BAD_CONTEXT
    }
}

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
