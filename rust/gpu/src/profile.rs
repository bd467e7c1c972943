//! Where the GPU time goes: with `WASM_CHORD_GPU_PROFILE=1`, every compute pass is counted per
//! kernel and, where the adapter has timestamp queries, timed on the GPU; the backend prints the
//! table to stderr when it is dropped. Profiling waits for each batch of passes to finish, so it
//! slows the run down; the kernel times themselves are the GPU's.

use std::collections::BTreeMap;

/// Whether profiling was asked for.
pub fn enabled() -> bool {
    std::env::var("WASM_CHORD_GPU_PROFILE").is_ok_and(|v| v != "0" && !v.is_empty())
}

/// Timestamps for up to this many passes per batch (the backend flushes before it runs out).
pub const MAX_PASSES: u32 = 512;

#[derive(Default)]
struct OpTotals {
    passes: u64,
    gpu_ns: f64,
}

pub struct Profiler {
    timer: Option<Timer>,
    /// The kernel of each pass in the batch being recorded.
    batch: Vec<&'static str>,
    totals: BTreeMap<&'static str, OpTotals>,
}

struct Timer {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    ns_per_tick: f64,
}

impl Profiler {
    /// Timestamps when the device was opened with TIMESTAMP_QUERY, else pass counts only.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Profiler {
        let timer = device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            .then(|| {
                let bytes = u64::from(MAX_PASSES) * 2 * 8;
                let buffer = |label, usage| {
                    device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(label),
                        size: bytes,
                        usage,
                        mapped_at_creation: false,
                    })
                };
                Timer {
                    queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                        label: Some("profile"),
                        ty: wgpu::QueryType::Timestamp,
                        count: MAX_PASSES * 2,
                    }),
                    resolved: buffer(
                        "profile resolve",
                        wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    ),
                    readback: buffer(
                        "profile readback",
                        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    ),
                    ns_per_tick: f64::from(queue.get_timestamp_period()),
                }
            });
        Profiler {
            timer,
            batch: Vec::new(),
            totals: BTreeMap::new(),
        }
    }

    /// Whether the batch is full (the backend must flush before the next pass).
    pub fn full(&self) -> bool {
        self.batch.len() as u32 >= MAX_PASSES
    }

    /// Registers a pass of `op`; the timestamp writes to give the pass, if timing.
    pub fn pass(&mut self, op: &'static str) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let i = self.batch.len() as u32;
        self.batch.push(op);
        self.timer
            .as_ref()
            .map(|t| wgpu::ComputePassTimestampWrites {
                query_set: &t.queries,
                beginning_of_pass_write_index: Some(2 * i),
                end_of_pass_write_index: Some(2 * i + 1),
            })
    }

    /// Records the copy of this batch's timestamps (before the encoder is finished).
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let n = self.batch.len() as u32;
        if let (Some(t), true) = (&self.timer, n > 0) {
            encoder.resolve_query_set(&t.queries, 0..2 * n, &t.resolved, 0);
            encoder.copy_buffer_to_buffer(&t.resolved, 0, &t.readback, 0, u64::from(n) * 16);
        }
    }

    /// After the batch was submitted: waits for it and adds its passes to the totals.
    pub fn collect(&mut self, device: &wgpu::Device) {
        let mut times = vec![0.0; self.batch.len()];
        if let (Some(t), false) = (&self.timer, self.batch.is_empty()) {
            let slice = t.readback.slice(..self.batch.len() as u64 * 16);
            slice.map_async(wgpu::MapMode::Read, |_| {});
            if device.poll(wgpu::PollType::wait_indefinitely()).is_ok() {
                let ticks: Vec<u64> = bytemuck::cast_slice(&slice.get_mapped_range()).to_vec();
                for (time, pair) in times.iter_mut().zip(ticks.chunks_exact(2)) {
                    *time = pair[1].saturating_sub(pair[0]) as f64 * t.ns_per_tick;
                }
            }
            t.readback.unmap();
        }
        for (op, ns) in self.batch.drain(..).zip(times) {
            let e = self.totals.entry(op).or_default();
            e.passes += 1;
            e.gpu_ns += ns;
        }
    }

    /// The table: kernel, passes, total GPU ms, mean µs per pass, share of GPU time.
    pub fn report(&self) -> String {
        let total: f64 = self.totals.values().map(|t| t.gpu_ns).sum();
        let mut rows: Vec<_> = self.totals.iter().collect();
        rows.sort_by(|a, b| b.1.gpu_ns.total_cmp(&a.1.gpu_ns));
        let mut out = format!(
            "gpu profile ({}):\n{:<16} {:>9} {:>11} {:>10} {:>6}\n",
            if self.timer.is_some() {
                "timestamp queries"
            } else {
                "no timestamp queries: counts only"
            },
            "kernel",
            "passes",
            "gpu ms",
            "µs/pass",
            "share"
        );
        for (op, t) in rows {
            out += &format!(
                "{:<16} {:>9} {:>11.3} {:>10.2} {:>5.1}%\n",
                op,
                t.passes,
                t.gpu_ns / 1e6,
                t.gpu_ns / 1e3 / t.passes.max(1) as f64,
                100.0 * t.gpu_ns / total.max(1.0)
            );
        }
        out + &format!(
            "total: {} passes, {:.3} gpu ms\n",
            self.totals.values().map(|t| t.passes).sum::<u64>(),
            total / 1e6
        )
    }
}
