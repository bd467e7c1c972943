//! Kernel launches are queued, not issued: the queue runs at the next host read (`flush`). A
//! decode step therefore reaches the flush as one list of ~10 launches per layer, and when the
//! list equals the previous step's (same kernels, grids and argument bytes — which holds because
//! activations come from an arena reset per forward pass, so they sit at the same addresses,
//! and what changes per step, the position and the token, is read by the kernels from the
//! `Step` buffer rather than passed by value) it is captured once as a CUDA graph and from then
//! on replayed with one `cuGraphLaunch`, as llama.cpp does. Any other list runs launch by launch.
//! `WASM_CHORD_CUDA_GRAPHS=0` turns graphs off; `WASM_CHORD_CUDA_PROFILE=1` times every kernel.

use crate::CudaError;
use cudarc::driver::{result, sys};
use std::collections::BTreeMap;

/// Lists shorter than this run directly (a graph would not pay for its capture).
const MIN_GRAPH_LAUNCHES: usize = 16;

/// Kernel arguments packed as the kernel's C signature lays them out.
#[derive(Default, Clone, PartialEq)]
pub struct Args {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
}

impl Args {
    pub fn new() -> Args {
        Args::default()
    }

    /// Appends one argument (a scalar, a device pointer as u64, or a #[repr(C)] struct).
    pub fn arg<T: Copy>(mut self, v: T) -> Args {
        let align = std::mem::align_of::<T>().max(1);
        let off = self.bytes.len().next_multiple_of(align);
        self.bytes.resize(off + std::mem::size_of::<T>(), 0);
        // SAFETY: T is Copy (plain data) and the destination has exactly size_of::<T>() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&v as *const T).cast::<u8>(),
                self.bytes[off..].as_mut_ptr(),
                std::mem::size_of::<T>(),
            )
        };
        self.offsets.push(off);
        self
    }
}

/// One queued kernel launch.
#[derive(Clone, PartialEq)]
pub struct Launch {
    pub name: &'static str,
    pub func: sys::CUfunction,
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub args: Args,
}

impl Launch {
    /// Issues the launch on `stream`; with `pdl`, as a programmatic dependent launch (it may
    /// start while the previous kernel finishes: every kernel waits for it first, common.cuh).
    fn issue(&self, stream: sys::CUstream, pdl: bool) -> Result<(), CudaError> {
        // The argument storage must stay aligned for the driver's reads of each value.
        let mut aligned: Vec<u64> = vec![0; self.args.bytes.len().div_ceil(8)];
        // SAFETY: aligned has at least as many bytes as args.bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.args.bytes.as_ptr(),
                aligned.as_mut_ptr().cast::<u8>(),
                self.args.bytes.len(),
            )
        };
        let base = aligned.as_mut_ptr().cast::<u8>();
        let mut params: Vec<*mut std::ffi::c_void> = self
            .args
            .offsets
            .iter()
            // SAFETY: every offset lies inside the copied bytes.
            .map(|&o| unsafe { base.add(o) }.cast())
            .collect();
        // Both launches below: func is a kernel of our loaded module and params match its
        // signature (each launcher in kernels.rs mirrors its kernel's C signature); the driver
        // copies the values before returning.
        let launched = if pdl {
            // SAFETY: an all-zero attribute (id and union) is a valid value to fill in.
            let mut attr: sys::CUlaunchAttribute = unsafe { std::mem::zeroed() };
            attr.id =
                sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
            attr.value.programmaticStreamSerializationAllowed = 1;
            let config = sys::CUlaunchConfig {
                gridDimX: self.grid.0,
                gridDimY: self.grid.1,
                gridDimZ: self.grid.2,
                blockDimX: self.block.0,
                blockDimY: self.block.1,
                blockDimZ: self.block.2,
                sharedMemBytes: 0,
                hStream: stream,
                attrs: &mut attr,
                numAttrs: 1,
            };
            // SAFETY: see above; config and attr outlive the call.
            unsafe {
                sys::cuLaunchKernelEx(
                    &config,
                    self.func,
                    params.as_mut_ptr(),
                    std::ptr::null_mut(),
                )
            }
            .result()
        } else {
            // SAFETY: see above.
            unsafe {
                result::launch_kernel(self.func, self.grid, self.block, 0, stream, &mut params)
            }
        };
        launched.map_err(|e| CudaError::Driver(format!("launching {}: {e}", self.name)))
    }
}

/// A captured graph and the list it replays.
struct Graph {
    list: Vec<Launch>,
    exec: sys::CUgraphExec,
}

impl Drop for Graph {
    fn drop(&mut self) {
        // SAFETY: exec was instantiated by us and is destroyed once.
        unsafe {
            let _ = result::graph::exec_destroy(self.exec);
        }
    }
}

/// Counts since the last `take_stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LaunchStats {
    pub launches: u64,
    pub flushes: u64,
    pub graph_replays: u64,
    pub graph_captures: u64,
    /// GPU time from the start to the end of each flush's work (only while `time_flushes` is
    /// on): against the wall time, what the host and the transfers add.
    pub gpu_ms: f64,
}

/// Events on both sides of each flush's work.
struct FlushTimer {
    start: sys::CUevent,
    end: sys::CUevent,
    pending: bool,
}

impl FlushTimer {
    fn new() -> Result<FlushTimer, CudaError> {
        let ev = || {
            result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
                .map_err(|e| CudaError::Driver(format!("creating an event: {e}")))
        };
        Ok(FlushTimer {
            start: ev()?,
            end: ev()?,
            pending: false,
        })
    }

    /// The last flush's GPU time (waiting for it), if one is pending.
    fn collect(&mut self) -> f64 {
        if !std::mem::take(&mut self.pending) {
            return 0.0;
        }
        // SAFETY: both events are live and were recorded on our stream.
        unsafe {
            let _ = result::event::synchronize(self.end);
            result::event::elapsed(self.start, self.end).unwrap_or(0.0) as f64
        }
    }
}

impl Drop for FlushTimer {
    fn drop(&mut self) {
        // SAFETY: created by us, destroyed once.
        unsafe {
            let _ = result::event::destroy(self.start);
            let _ = result::event::destroy(self.end);
        }
    }
}

pub struct Queue {
    pending: Vec<Launch>,
    /// The last list run without a graph (a repeat of it is worth capturing).
    previous: Vec<Launch>,
    graph: Option<Graph>,
    graphs: bool,
    pdl: bool,
    profile: Option<Profile>,
    timer: Option<FlushTimer>,
    pub stats: LaunchStats,
}

impl Queue {
    /// `hold` is the `profile_hold` kernel (used only when profiling); `pdl`: whether the card
    /// has programmatic dependent launch (sm_90+). `WASM_CHORD_CUDA_PDL=0` turns it off.
    pub fn new(hold: sys::CUfunction, pdl: bool) -> Queue {
        let env_on = |k: &str, default: bool| match std::env::var(k) {
            Ok(v) => v != "0" && !v.is_empty(),
            Err(_) => default,
        };
        let profile = env_on("WASM_CHORD_CUDA_PROFILE", false);
        Queue {
            pending: Vec::new(),
            previous: Vec::new(),
            graph: None,
            graphs: env_on("WASM_CHORD_CUDA_GRAPHS", true) && !profile,
            // profiling times each kernel alone
            pdl: pdl && env_on("WASM_CHORD_CUDA_PDL", true) && !profile,
            profile: profile.then(|| Profile {
                hold,
                by_kernel: BTreeMap::new(),
            }),
            timer: None,
            stats: LaunchStats::default(),
        }
    }

    /// Times each flush's GPU work from now on (`LaunchStats::gpu_ms`), or stops.
    pub fn time_flushes(&mut self, on: bool) -> Result<(), CudaError> {
        self.collect_time();
        self.timer = if on { Some(FlushTimer::new()?) } else { None };
        Ok(())
    }

    fn collect_time(&mut self) {
        if let Some(t) = self.timer.as_mut() {
            self.stats.gpu_ms += t.collect();
        }
    }

    /// The counts since the last call.
    pub fn take_stats(&mut self) -> LaunchStats {
        self.collect_time();
        std::mem::take(&mut self.stats)
    }

    pub fn push(&mut self, l: Launch) {
        self.pending.push(l);
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Runs everything queued on `stream` (the caller has uploaded the step's parameters).
    pub fn flush(&mut self, stream: sys::CUstream) -> Result<(), CudaError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let list = std::mem::take(&mut self.pending);
        self.stats.flushes += 1;
        self.stats.launches += list.len() as u64;
        self.collect_time();
        let record = |t: Option<&FlushTimer>, end: bool| match t {
            // SAFETY: the events are live; recorded on our stream.
            Some(t) => unsafe { result::event::record(if end { t.end } else { t.start }, stream) }
                .map_err(CudaError::driver),
            None => Ok(()),
        };
        record(self.timer.as_ref(), false)?;
        let run = self.run(list, stream);
        record(self.timer.as_ref(), true)?;
        if let Some(t) = self.timer.as_mut() {
            t.pending = true;
        }
        run
    }

    fn run(&mut self, list: Vec<Launch>, stream: sys::CUstream) -> Result<(), CudaError> {
        if self.graphs && list.len() >= MIN_GRAPH_LAUNCHES {
            if let Some(g) = self.graph.as_ref().filter(|g| g.list == list) {
                self.stats.graph_replays += 1;
                // SAFETY: exec is live; everything it reads (weights, cache, arena, step
                // buffer) is alive at the addresses the list named.
                return unsafe { result::graph::launch(g.exec, stream) }
                    .map_err(|e| CudaError::Driver(format!("replaying the decode graph: {e}")));
            }
            if list == self.previous {
                self.stats.graph_captures += 1;
                self.graph = None; // frees the old exec first
                let exec = capture(&list, stream, self.pdl)?;
                // SAFETY: as above.
                unsafe { result::graph::launch(exec, stream) }
                    .map_err(|e| CudaError::Driver(format!("launching the decode graph: {e}")))?;
                self.graph = Some(Graph { list, exec });
                return Ok(());
            }
        }
        match self.profile.as_mut() {
            Some(p) => p.run(&list, stream)?,
            None => {
                for l in &list {
                    l.issue(stream, self.pdl)?;
                }
            }
        }
        self.previous = list;
        Ok(())
    }

    /// The per-kernel times gathered under WASM_CHORD_CUDA_PROFILE=1, slowest first.
    pub fn profile_report(&self) -> Option<String> {
        self.profile.as_ref().map(Profile::report)
    }
}

fn capture(
    list: &[Launch],
    stream: sys::CUstream,
    pdl: bool,
) -> Result<sys::CUgraphExec, CudaError> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: result::DriverError| CudaError::Driver(format!("{what}: {err}"))
    };
    // SAFETY: the stream is ours; only our launches are issued between begin and end.
    unsafe {
        result::stream::begin_capture(
            stream,
            sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL,
        )
        .map_err(e("starting a graph capture"))?;
        let issued: Result<(), CudaError> = list.iter().try_for_each(|l| l.issue(stream, pdl));
        let graph = result::stream::end_capture(stream).map_err(e("ending a graph capture"))?;
        issued?;
        let exec = result::graph::instantiate(graph, sys::CUgraphInstantiate_flags(0));
        let _ = result::graph::destroy(graph);
        exec.map_err(e("instantiating the decode graph"))
    }
}

/// Kernel times by name: each launch bracketed by events, all queued behind `profile_hold`.
struct Profile {
    hold: sys::CUfunction,
    by_kernel: BTreeMap<&'static str, (u64, f64)>,
}

/// How long the stream is held per launch queued behind the hold (the host's issue of a launch
/// and an event takes a few microseconds), and at least.
const HOLD_NS_PER_LAUNCH: u64 = 50_000;
const HOLD_NS_MIN: u64 = 200_000;

impl Profile {
    fn run(&mut self, list: &[Launch], stream: sys::CUstream) -> Result<(), CudaError> {
        let ev = || {
            result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
                .map_err(|e| CudaError::Driver(format!("creating an event: {e}")))
        };
        // every event exists before the hold starts: creating one per launch would be slower
        // than the GPU's pace, and the host must stay ahead of it
        let events = (0..=list.len())
            .map(|_| ev())
            .collect::<Result<Vec<_>, _>>()?;
        let hold = Launch {
            name: "profile_hold",
            func: self.hold,
            grid: (1, 1, 1),
            block: (1, 1, 1),
            args: Args::new().arg(HOLD_NS_MIN + HOLD_NS_PER_LAUNCH * list.len() as u64),
        };
        hold.issue(stream, false)?;
        // SAFETY: events are live and recorded on our stream.
        unsafe {
            result::event::record(events[0], stream).map_err(CudaError::driver)?;
            for (l, &e) in list.iter().zip(&events[1..]) {
                l.issue(stream, false)?;
                result::event::record(e, stream).map_err(CudaError::driver)?;
            }
            result::event::synchronize(events[events.len() - 1]).map_err(CudaError::driver)?;
            for (i, l) in list.iter().enumerate() {
                let ms = result::event::elapsed(events[i], events[i + 1]).unwrap_or(0.0);
                let entry = self.by_kernel.entry(l.name).or_default();
                entry.0 += 1;
                entry.1 += ms as f64;
            }
            for e in events {
                let _ = result::event::destroy(e);
            }
        }
        Ok(())
    }

    fn report(&self) -> String {
        let total: f64 = self.by_kernel.values().map(|v| v.1).sum();
        let mut rows: Vec<_> = self.by_kernel.iter().collect();
        rows.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
        let mut s = format!("kernel time (events around each launch): {total:.3} ms in all\n");
        for (name, (n, ms)) in rows {
            s.push_str(&format!(
                "  {name:<20} {n:>8} launches {ms:>10.3} ms {:>5.1}% {:>8.2} us/launch\n",
                100.0 * ms / total.max(1e-9),
                1000.0 * ms / *n as f64
            ));
        }
        s
    }
}
