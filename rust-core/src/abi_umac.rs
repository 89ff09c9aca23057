//! Exports: UMAC contexts for umac-64@openssh.com / umac-128@openssh.com
//! (and their -etm variants). Same handle discipline as the
//! chacha20-poly1305 contexts: a live heap block of the context's size whose
//! magic word is bound to its own address, else -5.

use crate::umac::Umac;
use crate::ffi_util::{self, HeapCtx};
use crate::{codes, mem};

const MAGIC: u32 = 0x756d_6163;

#[repr(C)]
struct Ctx {
    magic: u32,
    keyed: u32,
    umac: core::mem::MaybeUninit<Umac>,
}

// SAFETY: repr(C), magic word first, all-zero bytes are a valid Ctx
// (the Umac is MaybeUninit, read only once `keyed` is 1).
unsafe impl HeapCtx for Ctx {
    const MAGIC: u32 = MAGIC;
}

fn ctx(handle: usize) -> Option<&'static mut Ctx> {
    ffi_util::ctx::<Ctx>(handle)
}

/// New unkeyed context; 0 when out of memory.
#[no_mangle]
pub extern "C" fn sw_umac_new() -> usize {
    ffi_util::new_ctx::<Ctx>()
}

/// Wipes and frees a context. -5 if it is not a live context.
#[no_mangle]
pub extern "C" fn sw_umac_free(handle: usize) -> i32 {
    let c = match ctx(handle) {
        Some(c) => c,
        None => return codes::BAD_CONTEXT,
    };
    if c.keyed == 1 {
        // SAFETY: keyed == 1 means init wrote a Umac there.
        unsafe { c.umac.assume_init_mut().wipe() };
    }
    ffi_util::free_ctx::<Ctx>(handle)
}

/// Keys a context: 16 key bytes at `key_ptr`, `tag_len` 8 (UMAC-64) or 16
/// (UMAC-128). May be called again to re-key. -3 on a bad tag length or
/// pointer (the context is left as it was).
#[no_mangle]
pub extern "C" fn sw_umac_init(handle: usize, key_ptr: usize, tag_len: u32) -> i32 {
    let key = match mem::read_array::<16>(key_ptr) {
        Some(k) => k,
        None => return codes::BAD_ARGUMENT,
    };
    let c = match ctx(handle) {
        Some(c) => c,
        None => return codes::BAD_CONTEXT,
    };
    let u = match Umac::new(&key, tag_len as usize) {
        Some(u) => u,
        None => return codes::BAD_ARGUMENT,
    };
    if c.keyed == 1 {
        // SAFETY: keyed == 1 means init wrote a Umac there.
        unsafe { c.umac.assume_init_mut().wipe() };
    }
    c.umac.write(u);
    c.keyed = 1;
    codes::OK
}

/// Tag of `ptr[0, len)` under the nonce `nonce_hi || nonce_lo` (two
/// big-endian u32: SSH passes 0 and the packet sequence number), written
/// to `out_ptr` (8 or 16 bytes). The output may overlap the message.
#[no_mangle]
pub extern "C" fn sw_umac_tag(handle: usize, ptr: usize, len: usize, nonce_hi: u32, nonce_lo: u32, out_ptr: usize) -> i32 {
    let c = match ctx(handle) {
        Some(c) => c,
        None => return codes::BAD_CONTEXT,
    };
    if c.keyed != 1 {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: keyed == 1 means init wrote a Umac there.
    let u = unsafe { c.umac.assume_init_mut() };
    let n = u.tag_len();
    if !mem::valid(out_ptr, n) {
        return codes::BAD_ARGUMENT;
    }
    // SAFETY: a shared view of the message; the tag is written only after
    // the borrow ends, through `mem::write`.
    let msg = match unsafe { mem::bytes(ptr, len) } {
        Some(m) => m,
        None => return codes::BAD_ARGUMENT,
    };
    let mut nonce = [0u8; 8];
    nonce[..4].copy_from_slice(&nonce_hi.to_be_bytes());
    nonce[4..].copy_from_slice(&nonce_lo.to_be_bytes());
    let mut out = [0u8; 16];
    u.tag(msg, &nonce, &mut out);
    mem::write(out_ptr, &out[..n]);
    codes::OK
}
