//! The size-class heap over an arena standing in for wasm linear memory.

use crate::heap::{Heap, PageSource, PAGE};

/// `cap` bytes of page-aligned memory, of which the first `used` exist.
struct Arena {
    base: usize,
    used: usize,
    cap: usize,
    _mem: Vec<u8>,
}

impl Arena {
    fn new(pages: usize) -> Arena {
        let mem = vec![0u8; (pages + 1) * PAGE];
        let base = (mem.as_ptr() as usize + PAGE - 1) & !(PAGE - 1);
        Arena { base, used: PAGE, cap: pages * PAGE, _mem: mem }
    }
}

impl PageSource for Arena {
    fn end(&self) -> usize {
        self.base + self.used
    }
    fn grow(&mut self, pages: usize) -> bool {
        if self.used + pages * PAGE > self.cap {
            return false;
        }
        self.used += pages * PAGE;
        true
    }
}

#[test]
fn allocations_are_aligned_zeroed_disjoint_and_reused() {
    let mut h = Heap::new(Arena::new(64));
    let sizes = [1usize, 15, 16, 17, 72, 100, 1000, 4096, 70000];
    let mut blocks = Vec::new();
    for (i, s) in sizes.iter().enumerate() {
        let p = h.alloc(*s).unwrap();
        assert_eq!(p % 16, 0);
        let m = unsafe { std::slice::from_raw_parts_mut(p as *mut u8, *s) };
        assert!(m.iter().all(|b| *b == 0));
        m.fill(i as u8 + 1);
        blocks.push((p, *s));
    }
    for (i, (p, s)) in blocks.iter().enumerate() {
        let m = unsafe { std::slice::from_raw_parts(*p as *const u8, *s) };
        assert!(m.iter().all(|b| *b == i as u8 + 1), "block {i} was overwritten");
        assert!(h.is_live(*p, *s));
    }
    let (p, s) = blocks[4];
    assert!(h.free(p, s));
    assert!(!h.is_live(p, s));
    let again = h.alloc(s).unwrap();
    assert_eq!(again, p, "freed block is reused");
    let m = unsafe { std::slice::from_raw_parts(again as *const u8, s) };
    assert!(m.iter().all(|b| *b == 0), "reused block is zeroed");
}

#[test]
fn open_close_churn_does_not_grow_memory() {
    let mut h = Heap::new(Arena::new(64));
    let warm: Vec<usize> = (0..50).map(|_| h.alloc(72).unwrap()).collect();
    for p in &warm {
        assert!(h.free(*p, 72));
    }
    let high = h.range().1;
    for round in 0..10_000 {
        let a = h.alloc(72).unwrap();
        let b = h.alloc(40_000).unwrap();
        assert!(h.free(a, 72) && h.free(b, 40_000), "round {round}");
    }
    // Only the first 40 KB block may have added to the heap.
    assert!(h.range().1 <= high + 65536);
}

#[test]
fn free_refuses_wild_double_and_oversized() {
    let mut h = Heap::new(Arena::new(64));
    let p = h.alloc(100).unwrap();
    assert!(!h.free(p + 16, 10), "interior pointer");
    assert!(!h.free(p, 1000), "length larger than the block");
    assert!(!h.free(0, 0));
    assert!(!h.free(12345, 1));
    assert!(h.free(p, 100));
    assert!(!h.free(p, 100), "double free");
}

#[test]
fn exhaustion_returns_none() {
    let mut h = Heap::new(Arena::new(4));
    assert!(h.alloc(1 << 20).is_none());
    assert!(h.alloc(usize::MAX - 4).is_none());
    assert!(h.alloc(1000).is_some());
}
