//! Recycled f32 buffers, so the decode loop does not allocate: every op returns a fresh
//! [`Tensor`](crate::Tensor), and without recycling each would be a `malloc` + page faults +
//! zeroing of new pages (a tenth of Gemma's prefill time, measured), and a `free` later.
//!
//! Buffers are kept per thread (tensors are made and dropped on the thread driving the model;
//! the pool's helpers recycle their own scratch), at most [`KEEP`] of them, smallest dropped.

use std::cell::RefCell;

const KEEP: usize = 32;

thread_local! {
    static FREE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A zeroed buffer of `len` floats: the smallest recycled one large enough, or a new one.
pub fn take(len: usize) -> Vec<f32> {
    let reused = FREE
        .try_with(|free| {
            let mut free = free.borrow_mut();
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)?;
            Some(free.swap_remove(best))
        })
        .ok()
        .flatten();
    match reused {
        Some(mut v) => {
            v.clear();
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// Hands a buffer back for reuse.
pub fn give(v: Vec<f32>) {
    if v.capacity() == 0 {
        return;
    }
    let _ = FREE.try_with(|free| {
        let mut free = free.borrow_mut();
        free.push(v);
        if free.len() > KEEP {
            let smallest = (0..free.len()).min_by_key(|&i| free[i].capacity());
            if let Some(i) = smallest {
                free.swap_remove(i);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_returned_buffer_is_reused_zeroed() {
        let mut v = super::take(1000);
        v.iter_mut().for_each(|x| *x = 7.0);
        let p = v.as_ptr();
        super::give(v);
        let w = super::take(900);
        assert_eq!(w.as_ptr(), p);
        assert_eq!(w.len(), 900);
        assert!(w.iter().all(|&x| x == 0.0));
    }
}
