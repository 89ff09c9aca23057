//! Exports: chacha20-poly1305@openssh.com contexts and packet operations.
//!
//! A context is a heap block holding a magic word (bound to its own
//! address, so a copy of a context elsewhere does not validate) and the two
//! keys. A handle is accepted only if the heap says it is a live block of
//! the right size and the magic matches; anything else gets -5.

use crate::chachapoly::{Fault, Keys};
use crate::ffi_util::{self, HeapCtx};
use crate::{codes, mem};

const MAGIC: u32 = 0x6363_7031;

#[repr(C)]
struct Ctx {
    magic: u32,
    keyed: u32,
    main: [u32; 8],
    header: [u32; 8],
}

// SAFETY: repr(C), magic word first, all-zero bytes are a valid Ctx.
unsafe impl HeapCtx for Ctx {
    const MAGIC: u32 = MAGIC;
}

static mut LAST_COUNT: u32 = 0;

fn set_last_count(n: u32) {
    // SAFETY: single-threaded wasm; plain store to a static.
    unsafe { *core::ptr::addr_of_mut!(LAST_COUNT) = n };
}

/// The live context behind `handle`, or None.
fn ctx(handle: usize) -> Option<&'static mut Ctx> {
    ffi_util::ctx::<Ctx>(handle)
}

/// Keys of a live, keyed context, copied out so data regions may be
/// borrowed freely afterwards.
fn keys(handle: usize) -> Result<Keys, i32> {
    let c = ctx(handle).ok_or(codes::BAD_CONTEXT)?;
    if c.keyed != 1 {
        return Err(codes::BAD_ARGUMENT);
    }
    Ok(Keys { main: c.main, header: c.header })
}

fn fault_code(f: Fault) -> i32 {
    match f {
        Fault::Tag => codes::TAG_MISMATCH,
        Fault::Length => codes::BAD_LENGTH,
        Fault::Argument => codes::BAD_ARGUMENT,
    }
}

/// New unkeyed context; 0 when out of memory.
#[no_mangle]
pub extern "C" fn sw_chachapoly_new() -> usize {
    ffi_util::new_ctx::<Ctx>()
}

/// Wipes and frees a context. -5 if it is not a live context.
#[no_mangle]
pub extern "C" fn sw_chachapoly_free(handle: usize) -> i32 {
    if ctx(handle).is_none() {
        return codes::BAD_CONTEXT;
    }
    // The heap zeroes the block (keys and magic) before reusing it.
    ffi_util::free_ctx::<Ctx>(handle)
}

/// Keys a context with 64 bytes K_2 || K_1.
#[no_mangle]
pub extern "C" fn sw_chachapoly_init(handle: usize, key_ptr: usize) -> i32 {
    let key = match mem::read_array::<64>(key_ptr) {
        Some(k) => k,
        None => return codes::BAD_ARGUMENT,
    };
    let c = match ctx(handle) {
        Some(c) => c,
        None => return codes::BAD_CONTEXT,
    };
    let k = Keys::new(&key);
    c.main = k.main;
    c.header = k.header;
    c.keyed = 1;
    codes::OK
}

/// Runs `op` on the one packet `[len][body][tag]` at `ptr` (body `len`
/// bytes) with the keys of `handle`.
fn one_packet(handle: usize, ptr: usize, len: u32, op: impl FnOnce(&Keys, &mut [u8]) -> Result<(), Fault>) -> i32 {
    let k = match keys(handle) {
        Ok(k) => k,
        Err(e) => return e,
    };
    let size = match (len as usize).checked_add(crate::chachapoly::OVERHEAD) {
        Some(s) => s,
        None => return codes::BAD_ARGUMENT,
    };
    // SAFETY: keys were copied out; this is the only borrow.
    let pkt = match unsafe { mem::bytes_mut(ptr, size) } {
        Some(p) => p,
        None => return codes::BAD_ARGUMENT,
    };
    match op(&k, pkt) {
        Ok(()) => codes::OK,
        Err(f) => fault_code(f),
    }
}

/// Seals `[len][body][tag]` at `ptr` in place.
#[no_mangle]
pub extern "C" fn sw_chachapoly_seal(handle: usize, ptr: usize, len: u32, seq: u32) -> i32 {
    one_packet(handle, ptr, len, |k, pkt| k.seal(pkt, seq))
}

/// Seals `count` packets laid out back to back in `ptr[0, total)`; returns
/// `count`, or -3 (nothing touched) if they do not fill `total` exactly.
#[no_mangle]
pub extern "C" fn sw_chachapoly_seal_batch(handle: usize, ptr: usize, total: usize, count: u32, seq: u32) -> i32 {
    let k = match keys(handle) {
        Ok(k) => k,
        Err(e) => return e,
    };
    if count > i32::MAX as u32 {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: keys were copied out; this is the only borrow.
    let buf = match unsafe { mem::bytes_mut(ptr, total) } {
        Some(b) => b,
        None => return codes::BAD_ARGUMENT,
    };
    match k.seal_batch(buf, count, seq) {
        Ok(n) => n as i32,
        Err(f) => fault_code(f),
    }
}

/// Decrypts the length field at `ptr` without changing memory.
#[no_mangle]
pub extern "C" fn sw_chachapoly_length(handle: usize, ptr: usize, seq: u32) -> i32 {
    let k = match keys(handle) {
        Ok(k) => k,
        Err(e) => return e,
    };
    let enc = match mem::read_array::<4>(ptr) {
        Some(e) => e,
        None => return codes::BAD_ARGUMENT,
    };
    let len = k.length::<crate::lanes::Fast4>(&enc, seq);
    if len > i32::MAX as u32 {
        codes::BAD_LENGTH
    } else {
        len as i32
    }
}

/// Verifies then decrypts one packet in place; -1 (memory untouched) on a
/// tag mismatch.
#[no_mangle]
pub extern "C" fn sw_chachapoly_open(handle: usize, ptr: usize, len: u32, seq: u32) -> i32 {
    one_packet(handle, ptr, len, |k, pkt| k.open(pkt, seq))
}

/// Opens up to `max_count` complete packets from `ptr[0, avail)`, writing
/// (body offset, packet_length) u32 pairs at `spans_ptr`. See ABI.md.
#[no_mangle]
pub extern "C" fn sw_chachapoly_open_batch(
    handle: usize,
    ptr: usize,
    avail: usize,
    seq: u32,
    max_len: u32,
    spans_ptr: usize,
    max_count: u32,
) -> i32 {
    set_last_count(0);
    let k = match keys(handle) {
        Ok(k) => k,
        Err(e) => return e,
    };
    if max_count > i32::MAX as u32 {
        return codes::BAD_ARGUMENT;
    }
    let spans_len = match (max_count as usize).checked_mul(8) {
        Some(l) => l,
        None => return codes::BAD_ARGUMENT,
    };
    // The spans are written through raw pointers while the packet buffer
    // is borrowed, so the two must not overlap.
    if (spans_len != 0 && !mem::valid(spans_ptr, spans_len)) || mem::overlaps(ptr, avail, spans_ptr, spans_len) {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: keys were copied out; spans are disjoint from this borrow.
    let buf = match unsafe { mem::bytes_mut(ptr, avail) } {
        Some(b) => b,
        None => return codes::BAD_ARGUMENT,
    };
    let result = k.open_batch(buf, seq, max_len, max_count, |i, off, len| {
        let p = (spans_ptr + 8 * i as usize) as *mut [u8; 8];
        let mut pair = [0u8; 8];
        pair[..4].copy_from_slice(&off.to_le_bytes());
        pair[4..].copy_from_slice(&len.to_le_bytes());
        // SAFETY: i < max_count and the spans region was validated.
        unsafe { p.write_unaligned(pair) };
    });
    match result {
        Ok(n) => {
            set_last_count(n);
            n as i32
        }
        Err((f, n)) => {
            set_last_count(n);
            fault_code(f)
        }
    }
}

/// How many packets the last `sw_chachapoly_open_batch` opened (useful
/// after it returned an error).
#[no_mangle]
pub extern "C" fn sw_last_count() -> u32 {
    // SAFETY: single-threaded wasm; plain load from a static.
    unsafe { *core::ptr::addr_of!(LAST_COUNT) }
}
