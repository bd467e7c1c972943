//! The backend's worker threads: a rayon pool of `n_threads` kept for the backend's lifetime, so
//! an op costs a wake-up, not a thread spawn (decode runs a few hundred ops per token). With one
//! thread — or where threads cannot be started (wasm without threads) — work runs inline.

use crate::CpuError;
use rayon::prelude::*;

pub struct Pool {
    pool: Option<rayon::ThreadPool>,
    /// The threaded wasm build: work goes to rayon's global pool, whose threads are the Web
    /// Workers the npm package started (`initThreadPool`); wasm cannot spawn threads itself.
    global: bool,
    threads: usize,
}

impl Pool {
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    pub fn new(_threads: usize) -> Self {
        // The pool's size was fixed when the package started the workers.
        let threads = rayon::current_num_threads();
        Pool {
            pool: None,
            global: threads > 1,
            threads,
        }
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
    pub fn new(threads: usize) -> Self {
        let pool = (threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("wasm-chord-cpu-{i}"))
                    .build()
                    .ok()
            })
            .flatten();
        let threads = if pool.is_some() { threads } else { 1 };
        Pool {
            pool,
            global: false,
            threads,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Calls `f(i, chunk)` for every `chunk_len`-sized chunk `i` of `data`, in parallel.
    pub fn for_each_chunk<T: Send>(
        &self,
        data: &mut [T],
        chunk_len: usize,
        f: &(dyn Fn(usize, &mut [T]) -> Result<(), CpuError> + Sync),
    ) -> Result<(), CpuError> {
        let chunk_len = chunk_len.max(1);
        if data.len() <= chunk_len {
            return f(0, data);
        }
        let parallel = |data: &mut [T]| {
            data.par_chunks_mut(chunk_len)
                .enumerate()
                .try_for_each(|(i, c)| f(i, c))
        };
        match &self.pool {
            Some(pool) => pool.install(|| parallel(data)),
            None if self.global => parallel(data),
            None => data
                .chunks_mut(chunk_len)
                .enumerate()
                .try_for_each(|(i, c)| f(i, c)),
        }
    }

    /// Calls `f(i)` for every `i` in `0..n`, in parallel.
    pub fn for_each_index(
        &self,
        n: usize,
        f: &(dyn Fn(usize) -> Result<(), CpuError> + Sync),
    ) -> Result<(), CpuError> {
        if n <= 1 || self.threads <= 1 {
            return (0..n).try_for_each(f);
        }
        let parallel = || (0..n).into_par_iter().try_for_each(f);
        match &self.pool {
            Some(pool) => pool.install(parallel),
            None if self.global => parallel(),
            None => (0..n).try_for_each(f),
        }
    }
}
