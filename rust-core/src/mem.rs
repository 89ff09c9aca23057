//! Turning the (pointer, length) pairs JS passes into memory the core may
//! touch, plus the shared I/O scratch buffer.
//!
//! A region is accepted only if it lies entirely inside the I/O buffer or
//! inside the heap's carved blocks. Everything else (address 0, the shadow
//! stack, statics such as the allocator's free lists, memory past the end)
//! is refused, so a wrong pointer from JS yields -3 instead of silently
//! corrupting the module. Any export that reads keys first copies them to
//! locals, so input regions may overlap output regions without aliasing.

use crate::heap;

/// Size of the shared I/O buffer: 1 MiB of packets plus 64 KiB headroom.
pub const IO_CAP: usize = 1024 * 1024 + 64 * 1024;

#[repr(C, align(16))]
struct IoBuffer([u8; IO_CAP]);

static mut IO: IoBuffer = IoBuffer([0; IO_CAP]);

/// Address of the I/O buffer.
pub fn io_ptr() -> usize {
    // SAFETY: only the address is taken.
    unsafe { core::ptr::addr_of_mut!(IO) as usize }
}

/// True if `[ptr, ptr + len)` is memory JS may hand to the core.
pub fn valid(ptr: usize, len: usize) -> bool {
    if ptr == 0 {
        return false;
    }
    let end = match ptr.checked_add(len) {
        Some(e) => e,
        None => return false,
    };
    let io = io_ptr();
    if ptr >= io && end <= io + IO_CAP {
        return true;
    }
    let (start, bump) = heap::global().range();
    start != 0 && ptr >= start && end <= bump
}

/// Borrows a validated region mutably. A zero length is always fine.
///
/// # Safety
/// The caller must not hold another reference into the same range while
/// the returned slice lives (wasm is single-threaded; exports copy their
/// small inputs out before borrowing the data region).
pub unsafe fn bytes_mut<'a>(ptr: usize, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    if !valid(ptr, len) {
        return None;
    }
    Some(core::slice::from_raw_parts_mut(ptr as *mut u8, len))
}

/// Borrows a validated region for reading. A zero length is always fine.
///
/// # Safety
/// As for [`bytes_mut`]: no live mutable borrow of the same range.
pub unsafe fn bytes<'a>(ptr: usize, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if !valid(ptr, len) {
        return None;
    }
    Some(core::slice::from_raw_parts(ptr as *const u8, len))
}

/// Copies `N` bytes out of a validated region.
pub fn read_array<const N: usize>(ptr: usize) -> Option<[u8; N]> {
    if !valid(ptr, N) {
        return None;
    }
    let mut out = [0u8; N];
    // SAFETY: validated above; `out` is a distinct local.
    unsafe { core::ptr::copy(ptr as *const u8, out.as_mut_ptr(), N) };
    Some(out)
}

/// Copies `src` into a validated region; false if the region is invalid.
pub fn write(ptr: usize, src: &[u8]) -> bool {
    if !valid(ptr, src.len()) {
        return false;
    }
    // SAFETY: validated above; `copy` tolerates overlap.
    unsafe { core::ptr::copy(src.as_ptr(), ptr as *mut u8, src.len()) };
    true
}

/// True if two byte ranges share at least one byte.
pub fn overlaps(a: usize, alen: usize, b: usize, blen: usize) -> bool {
    alen != 0 && blen != 0 && a < b.saturating_add(blen) && b < a.saturating_add(alen)
}
