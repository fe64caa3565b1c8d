//! Recycled `f64` buffers for building and scoring Parzen mixtures.
//!
//! Every ask builds two mixtures and scores candidates against them: a few dozen
//! buffers of O(observations) values each, several hundred KiB at 1,000 trials, all
//! freed at the end of the ask. Allocated and freed afresh each time, that memory went
//! back to the operating system (glibc trims the heap once more than 128 KiB is free
//! at its top) and was faulted in again at the next ask: about 60 page faults per
//! trial, a third of the per-trial time. Buffers taken here and handed back when done
//! stay allocated for the next ask instead.
//!
//! The pool is per thread and holds only empty buffers, so it never affects results;
//! it keeps at most one ask's working set per thread (buffers over 16 MiB are freed).

use std::cell::RefCell;

/// At most this many buffers are kept (an ask uses about a hundred).
const MAX_POOLED: usize = 256;
/// Buffers larger than this many values (16 MiB) are freed, not kept.
const MAX_POOLED_LEN: usize = 1 << 21;

thread_local! {
    static POOL: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `cap` values: the smallest pooled one that
/// fits, else the largest (grown), else a new one.
pub(crate) fn take(cap: usize) -> Vec<f64> {
    let pooled = POOL
        .try_with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            let mut best: Option<(usize, usize)> = None;
            for (i, v) in p.iter().enumerate() {
                let c = v.capacity();
                let better = match best {
                    None => true,
                    Some((_, b)) if b >= cap => c >= cap && c < b,
                    Some((_, b)) => c > b,
                };
                if better {
                    best = Some((i, c));
                }
            }
            best.map(|(i, _)| p.swap_remove(i))
        })
        .ok()
        .flatten();
    match pooled {
        Some(mut v) => {
            v.clear();
            v.reserve(cap);
            v
        }
        None => Vec::with_capacity(cap),
    }
}

/// A buffer filled with `n` copies of `x`.
pub(crate) fn filled(x: f64, n: usize) -> Vec<f64> {
    let mut v = take(n);
    v.resize(n, x);
    v
}

/// Hands a buffer back for reuse.
pub(crate) fn give(v: Vec<f64>) {
    if v.capacity() == 0 || v.capacity() > MAX_POOLED_LEN {
        return;
    }
    let _ = POOL.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < MAX_POOLED {
                p.push(v);
            }
        }
    });
}

/// `n` pooled buffers with room for `cap` values each, handed back when dropped.
pub(crate) struct Columns(pub Vec<Vec<f64>>);

impl Columns {
    pub(crate) fn new(n: usize, cap: usize) -> Self {
        Columns((0..n).map(|_| take(cap)).collect())
    }
}

impl Drop for Columns {
    fn drop(&mut self) {
        for v in self.0.drain(..) {
            give(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_big_enough() {
        let mut v = take(10);
        v.extend([1.0, 2.0, 3.0]);
        give(v);
        for cap in [0, 2, 50] {
            let v = take(cap);
            assert!(v.is_empty() && v.capacity() >= cap);
            give(v);
        }
        let f = filled(7.0, 4);
        assert_eq!(f, vec![7.0; 4]);
    }
}
