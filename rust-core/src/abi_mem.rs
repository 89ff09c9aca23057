//! Exports: memory management (`sw_alloc`, `sw_free`, `sw_io_ptr`, `sw_io_cap`).

use crate::{codes, heap, mem};

/// Allocates `len` zeroed, 16-byte-aligned bytes; 0 on failure.
#[no_mangle]
pub extern "C" fn sw_alloc(len: usize) -> usize {
    heap::global().alloc(len).unwrap_or(0)
}

/// Frees a block from `sw_alloc` (`len` at most the requested size; its
/// bytes are wiped). Returns 0, or -3 for anything that is not a live block.
#[no_mangle]
pub extern "C" fn sw_free(ptr: usize, len: usize) -> i32 {
    if heap::global().free(ptr, len) {
        codes::OK
    } else {
        codes::BAD_ARGUMENT
    }
}

/// Address of the shared I/O scratch buffer.
#[no_mangle]
pub extern "C" fn sw_io_ptr() -> usize {
    mem::io_ptr()
}

/// Size of the shared I/O scratch buffer.
#[no_mangle]
pub extern "C" fn sw_io_cap() -> usize {
    mem::IO_CAP
}
