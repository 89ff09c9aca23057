//! A data-oblivious sort of u32 values (Batcher's merge exchange, Knuth
//! TAOCP 5.2.2 Algorithm M): the sequence of compare-exchanges depends only
//! on the length, and each exchange is masked arithmetic. Short_random sorts
//! secret values, so an ordinary sort would leak through timing.

/// Puts the smaller of (a, b) in a and the larger in b, without branching.
#[inline(always)]
fn minmax(x: &mut [u32], i: usize, j: usize) {
    let a = x[i];
    let b = x[j];
    // All ones when b < a.
    let mask = ((b as i64 - a as i64) >> 63) as u32;
    let t = (a ^ b) & mask;
    x[i] = a ^ t;
    x[j] = b ^ t;
}

/// Sorts `x` ascending.
pub fn sort_u32(x: &mut [u32]) {
    let n = x.len();
    if n < 2 {
        return;
    }
    let mut top = 1;
    while top < n - top {
        top += top;
    }
    let mut p = top;
    while p >= 1 {
        for i in 0..n - p {
            if i & p == 0 {
                minmax(x, i, i + p);
            }
        }
        let mut q = top;
        while q > p {
            for i in 0..n - q {
                if i & p == 0 {
                    minmax(x, i + p, i + q);
                }
            }
            q >>= 1;
        }
        p >>= 1;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn sorts_like_the_standard_library() {
        let mut seed = 5u32;
        for n in [0usize, 1, 2, 3, 5, 17, 64, 100, 761, 1000] {
            for _ in 0..20 {
                let mut v: std::vec::Vec<u32> = (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        // Small range as well, so ties occur.
                        if n % 2 == 0 { seed } else { seed % 7 }
                    })
                    .collect();
                let mut want = v.clone();
                want.sort_unstable();
                sort_u32(&mut v);
                assert_eq!(v, want, "n = {}", n);
            }
        }
    }
}
