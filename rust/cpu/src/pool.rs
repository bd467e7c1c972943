//! The backend's worker threads. A forward pass runs a few hundred parallel ops per token, each
//! a few microseconds to a few milliseconds long, so what an op costs to start matters as much
//! as the work: natively the calling thread takes part in every op, and `n_threads − 1` helpers
//! spin on a job counter between ops (parking after about a millisecond without work), so an op
//! starts in well under a microsecond instead of a futex wake-up. Items are claimed one at a time
//! from an atomic counter, which balances the load when a core is busy with something else.
//!
//! In the threaded wasm build the work goes to rayon's global pool, whose threads are the Web
//! Workers the npm package started (`initThreadPool`); wasm cannot spawn threads itself. With one
//! thread, or where threads cannot be started, work runs inline.

use crate::CpuError;

/// A parallel job: item `i` of `n`.
type Job<'a> = &'a (dyn Fn(usize) -> Result<(), CpuError> + Sync);

pub struct Pool {
    #[cfg(not(target_arch = "wasm32"))]
    helpers: Option<native::Helpers>,
    /// The threaded wasm build: rayon's global pool.
    #[cfg(target_arch = "wasm32")]
    global: bool,
    threads: usize,
}

impl Pool {
    #[cfg(target_arch = "wasm32")]
    pub fn new(_threads: usize) -> Self {
        // The pool's size was fixed when the package started the workers (1 without threads).
        #[cfg(target_feature = "atomics")]
        let threads = rayon::current_num_threads();
        #[cfg(not(target_feature = "atomics"))]
        let threads = 1;
        Pool {
            global: threads > 1,
            threads,
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(threads: usize) -> Self {
        let helpers = (threads > 1)
            .then(|| native::Helpers::start(threads - 1))
            .flatten();
        let threads = helpers.as_ref().map_or(1, |h| h.count() + 1);
        Pool { helpers, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Calls `f(i)` for every `i` in `0..n`, in parallel; the first error is returned.
    pub fn for_each_index(&self, n: usize, f: Job) -> Result<(), CpuError> {
        if n <= 1 || self.threads <= 1 {
            return (0..n).try_for_each(f);
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(h) = &self.helpers {
            return h.run(n, f);
        }
        #[cfg(target_arch = "wasm32")]
        if self.global {
            use rayon::prelude::*;
            return (0..n).into_par_iter().try_for_each(f);
        }
        (0..n).try_for_each(f)
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
        let len = data.len();
        let base = SendPtr(data.as_mut_ptr());
        self.for_each_index(len.div_ceil(chunk_len), &|i| {
            let start = i * chunk_len;
            let end = (start + chunk_len).min(len);
            // SAFETY: every index is handed out exactly once, so the chunks are disjoint, and
            // they lie inside `data`, which this call borrows mutably until all have finished.
            let chunk =
                unsafe { std::slice::from_raw_parts_mut(base.get().add(start), end - start) };
            f(i, chunk)
        })
    }
}

/// A pointer that may cross threads (each user says why that is sound).
struct SendPtr<T>(*mut T);
// SAFETY: only used by for_each_chunk, whose threads touch disjoint elements.
unsafe impl<T: Send> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::Job;
    use crate::CpuError;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};

    /// How long an idle helper spins before it parks.
    const SPIN: Duration = Duration::from_millis(1);

    /// The job of the current epoch, lifetime erased: `run` does not return before every
    /// helper has finished with it.
    #[derive(Clone, Copy)]
    struct JobPtr(*const (dyn Fn(usize) -> Result<(), CpuError> + Sync));
    // SAFETY: the closure is Sync; the pointer is only dereferenced while `run` keeps it alive.
    unsafe impl Send for JobPtr {}

    struct Shared {
        /// Bumped once per job; helpers wait for it to change.
        epoch: AtomicU64,
        job: Mutex<Option<(JobPtr, usize)>>,
        /// The next item to claim.
        next: AtomicUsize,
        /// Helpers still working on the current epoch.
        busy: AtomicUsize,
        /// Helpers parked on `wake`.
        parked: AtomicUsize,
        park_lock: Mutex<()>,
        wake: Condvar,
        error: Mutex<Option<CpuError>>,
        stop: AtomicBool,
    }

    pub struct Helpers {
        shared: Arc<Shared>,
        threads: Vec<std::thread::JoinHandle<()>>,
    }

    impl Helpers {
        /// `n` helper threads, or `None` where threads cannot be started.
        pub fn start(n: usize) -> Option<Self> {
            let shared = Arc::new(Shared {
                epoch: AtomicU64::new(0),
                job: Mutex::new(None),
                next: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                parked: AtomicUsize::new(0),
                park_lock: Mutex::new(()),
                wake: Condvar::new(),
                error: Mutex::new(None),
                stop: AtomicBool::new(false),
            });
            let mut threads = Vec::with_capacity(n);
            for i in 0..n {
                let s = shared.clone();
                let t = std::thread::Builder::new()
                    .name(format!("wasm-chord-cpu-{}", i + 1))
                    .spawn(move || helper_loop(&s));
                match t {
                    Ok(t) => threads.push(t),
                    Err(_) => break,
                }
            }
            if threads.is_empty() {
                return None;
            }
            Some(Helpers { shared, threads })
        }

        pub fn count(&self) -> usize {
            self.threads.len()
        }

        pub fn run(&self, n: usize, f: Job) -> Result<(), CpuError> {
            let s = &*self.shared;
            // SAFETY (of the erasure): we wait below until `busy` is 0, i.e. until no helper
            // can still call `f`, before returning and ending its borrow.
            let ptr: *const (dyn Fn(usize) -> Result<(), CpuError> + Sync + '_) = f;
            let ptr = JobPtr(unsafe { std::mem::transmute(ptr) });
            *s.job.lock().unwrap_or_else(|e| e.into_inner()) = Some((ptr, n));
            s.next.store(0, SeqCst);
            s.busy.store(self.threads.len(), SeqCst);
            s.epoch.fetch_add(1, SeqCst);
            if s.parked.load(SeqCst) > 0 {
                let _g = s.park_lock.lock().unwrap_or_else(|e| e.into_inner());
                s.wake.notify_all();
            }
            // Even if `f` panics here, helpers must be done with it before it goes away.
            let _wait = WaitForHelpers(s);
            work(s, f, n);
            drop(_wait);
            match s.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }

    impl Drop for Helpers {
        fn drop(&mut self) {
            let s = &*self.shared;
            s.stop.store(true, SeqCst);
            s.epoch.fetch_add(1, SeqCst);
            {
                let _g = s.park_lock.lock().unwrap_or_else(|e| e.into_inner());
                s.wake.notify_all();
            }
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }

    /// Waits (when dropped, also while unwinding) until no helper works on the current job.
    struct WaitForHelpers<'a>(&'a Shared);

    impl Drop for WaitForHelpers<'_> {
        fn drop(&mut self) {
            while self.0.busy.load(Acquire) > 0 {
                std::hint::spin_loop();
            }
            *self.0.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// Claims and runs items until none are left; keeps the first error.
    fn work(s: &Shared, f: Job, n: usize) {
        loop {
            let i = s.next.fetch_add(1, Relaxed);
            if i >= n {
                return;
            }
            if let Err(e) = f(i) {
                s.error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
                // leave the remaining items unclaimed
                s.next.store(n, Relaxed);
            }
        }
    }

    fn helper_loop(s: &Shared) {
        let mut seen = 0u64;
        loop {
            seen = wait_for_epoch(s, seen);
            if s.stop.load(SeqCst) {
                return;
            }
            let job = *s.job.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((JobPtr(f), n)) = job {
                // SAFETY: `run` keeps the closure alive until `busy` drops to 0 below.
                let f = unsafe { &*f };
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(s, f, n)));
                if ran.is_err() {
                    // A bug, not bad input; report it as an error rather than hang or abort.
                    s.error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(CpuError::WorkerPanicked);
                    s.next.store(n, Relaxed);
                }
            }
            s.busy.fetch_sub(1, Release);
        }
    }

    /// Spins, then parks, until the epoch differs from `seen`; returns the new epoch.
    fn wait_for_epoch(s: &Shared, seen: u64) -> u64 {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let e = s.epoch.load(Acquire);
            if e != seen {
                return e;
            }
            std::hint::spin_loop();
            spins += 1;
            if spins % 256 == 0 && start.elapsed() > SPIN {
                break;
            }
        }
        let mut g = s.park_lock.lock().unwrap_or_else(|e| e.into_inner());
        s.parked.fetch_add(1, SeqCst);
        loop {
            let e = s.epoch.load(SeqCst);
            if e != seen {
                s.parked.fetch_sub(1, SeqCst);
                return e;
            }
            g = s.wake.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_item_runs_once_over_many_jobs() {
        let pool = Pool::new(3);
        for n in [0usize, 1, 2, 7, 64, 1000] {
            for _ in 0..50 {
                let mut data = vec![0u32; n];
                pool.for_each_chunk(&mut data, 3, &|i, c| {
                    let _ = i;
                    c.iter_mut().for_each(|v| *v += 1);
                    Ok(())
                })
                .unwrap();
                assert!(data.iter().all(|&v| v == 1), "n={n}");
            }
        }
    }

    #[test]
    fn the_first_error_is_returned_and_the_pool_stays_usable() {
        let pool = Pool::new(2);
        let err = pool.for_each_index(100, &|i| {
            if i == 37 {
                Err(CpuError::Cache("item 37".into()))
            } else {
                Ok(())
            }
        });
        assert!(matches!(err, Err(CpuError::Cache(m)) if m == "item 37"));
        let count = AtomicUsize::new(0);
        pool.for_each_index(100, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
        assert_eq!(count.into_inner(), 100);
    }

    #[test]
    fn idle_helpers_park_and_wake() {
        let pool = Pool::new(2);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let count = AtomicUsize::new(0);
        pool.for_each_index(10, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
        assert_eq!(count.into_inner(), 10);
    }
}
