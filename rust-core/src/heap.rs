//! A small size-class allocator over `memory.grow` for `sw_alloc`/`sw_free`
//! and per-connection contexts.
//!
//! Every block is a power of two (32 bytes up to 1 GiB) including a 16-byte
//! header, carved from a bump region at the top of linear memory. Freed
//! blocks go on a per-class free list and are handed out again before the
//! bump pointer moves, so connections that open and close forever reuse the
//! same memory. The header records the class and whether the block is live,
//! so `free` of a wild pointer, a double free or a wrong length is refused
//! instead of corrupting the lists. Payloads are zeroed on free (contexts
//! hold keys) and fresh memory from `memory.grow` is zero, so every
//! allocation starts zeroed.

/// Source of fresh 64 KiB pages.
pub trait PageSource {
    /// Current end of memory (bytes).
    fn end(&self) -> usize;
    /// Grows by `pages`; false when the engine refuses.
    fn grow(&mut self, pages: usize) -> bool;
}

pub const PAGE: usize = 65536;
const HEADER: usize = 16;
const MIN_CLASS: u32 = 5;
const MAX_CLASS: u32 = 30;
const LIVE: u32 = 0x4c49_5645;
const FREE: u32 = 0x4652_4545;
const HEADER_KEY: u32 = 0x5357_4850;

pub struct Heap<P: PageSource> {
    pages: P,
    /// First byte managed by the heap (0 until first use).
    start: usize,
    /// Next unused byte; blocks live in [start, bump).
    bump: usize,
    free: [usize; MAX_CLASS as usize + 1],
}

/// Smallest class whose block holds `len` payload bytes.
fn class_for(len: usize) -> Option<u32> {
    let total = len.checked_add(HEADER)?;
    let class = usize::BITS - (total - 1).leading_zeros();
    let class = class.max(MIN_CLASS);
    if class > MAX_CLASS {
        None
    } else {
        Some(class)
    }
}

fn payload_cap(class: u32) -> usize {
    (1usize << class) - HEADER
}

impl<P: PageSource> Heap<P> {
    pub const fn new(pages: P) -> Self {
        Heap { pages, start: 0, bump: 0, free: [0; MAX_CLASS as usize + 1] }
    }

    /// The heap's address range so far (empty before the first allocation).
    pub fn range(&self) -> (usize, usize) {
        (self.start, self.bump)
    }

    /// Allocates `len` zeroed bytes, 16-byte aligned; None when memory is
    /// exhausted or `len` is absurd.
    pub fn alloc(&mut self, len: usize) -> Option<usize> {
        let class = class_for(len)?;
        if self.start == 0 {
            // Start on a fresh page boundary above everything the linker laid out.
            let s = (self.pages.end() + PAGE - 1) & !(PAGE - 1);
            self.start = s;
            self.bump = s;
        }
        let block = match self.free[class as usize] {
            0 => self.carve(class)?,
            b => {
                // SAFETY: b is a block this heap carved; its first payload
                // word holds the next free block (written in `free`).
                unsafe {
                    let next_p = (b + HEADER) as *mut usize;
                    self.free[class as usize] = next_p.read();
                    next_p.write(0);
                }
                b
            }
        };
        // SAFETY: `block` is a header slot inside memory this heap owns.
        unsafe { write_header(block, class, LIVE) };
        Some(block + HEADER)
    }

    fn carve(&mut self, class: u32) -> Option<usize> {
        let size = 1usize << class;
        let end = self.bump.checked_add(size)?;
        let have = self.pages.end();
        if end > have {
            let pages = (end - have + PAGE - 1) / PAGE;
            if !self.pages.grow(pages) {
                return None;
            }
        }
        let b = self.bump;
        self.bump = end;
        Some(b)
    }

    /// The class of the live block whose payload starts at `ptr`, if it is one.
    pub fn live_class(&self, ptr: usize) -> Option<u32> {
        if self.start == 0 || ptr < self.start + HEADER || ptr >= self.bump || ptr % HEADER != 0 {
            return None;
        }
        let block = ptr - HEADER;
        // SAFETY: block is inside [start, bump), which this heap owns, and
        // 16-aligned, so the 16-byte header read is in bounds.
        let (key, class, state) = unsafe { read_header(block) };
        if key != HEADER_KEY ^ block as u32 || state != LIVE || !(MIN_CLASS..=MAX_CLASS).contains(&class) {
            return None;
        }
        if block.checked_add(1usize << class)? > self.bump {
            return None;
        }
        Some(class)
    }

    /// True if `ptr` is a live allocation that can hold `len` bytes.
    pub fn is_live(&self, ptr: usize, len: usize) -> bool {
        matches!(self.live_class(ptr), Some(c) if len <= payload_cap(c))
    }

    /// Frees a block `alloc` returned. Refuses (false) anything else: wild
    /// pointers, double frees, a `len` larger than the block.
    pub fn free(&mut self, ptr: usize, len: usize) -> bool {
        let class = match self.live_class(ptr) {
            Some(c) if len <= payload_cap(c) => c,
            _ => return false,
        };
        let block = ptr - HEADER;
        // SAFETY: a live block of this class lies entirely inside the heap.
        unsafe {
            core::ptr::write_bytes(ptr as *mut u8, 0, payload_cap(class));
            (ptr as *mut usize).write(self.free[class as usize]);
            write_header(block, class, FREE);
        }
        self.free[class as usize] = block;
        true
    }
}

unsafe fn write_header(block: usize, class: u32, state: u32) {
    let h = block as *mut u32;
    h.write(HEADER_KEY ^ block as u32);
    h.add(1).write(class);
    h.add(2).write(state);
    h.add(3).write(0);
}

unsafe fn read_header(block: usize) -> (u32, u32, u32) {
    let h = block as *const u32;
    (h.read(), h.add(1).read(), h.add(2).read())
}

/// wasm linear memory (memory index 0).
#[cfg(target_arch = "wasm32")]
pub struct WasmPages;

#[cfg(target_arch = "wasm32")]
impl PageSource for WasmPages {
    fn end(&self) -> usize {
        core::arch::wasm32::memory_size(0) * PAGE
    }
    fn grow(&mut self, pages: usize) -> bool {
        core::arch::wasm32::memory_grow(0, pages) != usize::MAX
    }
}

/// Host builds have no linear memory to grow; the global heap is only
/// real on wasm (tests build their own `Heap` over an arena).
#[cfg(not(target_arch = "wasm32"))]
pub struct WasmPages;

#[cfg(not(target_arch = "wasm32"))]
impl PageSource for WasmPages {
    fn end(&self) -> usize {
        PAGE
    }
    fn grow(&mut self, _pages: usize) -> bool {
        false
    }
}

static mut GLOBAL: Heap<WasmPages> = Heap::new(WasmPages);

/// The module's heap. wasm instances are single-threaded and no export
/// re-enters another, so there is never a second live reference.
pub fn global() -> &'static mut Heap<WasmPages> {
    // SAFETY: see above; host builds never call into the global heap from
    // more than one thread (tests use their own heaps).
    unsafe { &mut *core::ptr::addr_of_mut!(GLOBAL) }
}
