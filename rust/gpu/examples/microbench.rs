//! Microbenchmarks of the wgpu path, to tell which costs bound the GPU backend's forward pass:
//!
//!   a. the cost of one dispatch: empty kernels, N of them in ONE compute pass and one submit,
//!      with no dependency between them, with the barrier wgpu-core puts between two read-write
//!      uses of one buffer, with a real A→B, B→A chain, and with a bind group created per
//!      dispatch (as the backend does) — CPU recording time apart from GPU execution;
//!   b. memory bandwidth: a vec4<f32> copy kernel and `copy_buffer_to_buffer`, on a large buffer
//!      and on one 2048×2048 Q4_K weight's size (looped, on one buffer and rotating over many);
//!   c. the project's real Q4_K decode kernel through `GpuBackend` (public `Backend` API only),
//!      at the shapes of a TinyLlama layer and its output head;
//!   d. f32 FMA throughput, the ceiling of any WGSL (non-tensor-core) matmul.
//!
//! Run: `cargo run --release -p wasm-chord-gpu --example microbench` (add `-- --quick` for small
//! counts; a CPU adapter such as lavapipe gets them anyway). Every figure is the median of a few
//! timed repetitions after a warm-up; wall-clock time on the host and, where the adapter has
//! TIMESTAMP_QUERY, GPU time from timestamps written at the start and end of the whole batch.
//! `WGPU_ADAPTER_NAME` / `WGPU_BACKEND` pick the adapter, as for the backend (see device.rs).

use gpu::GpuBackend;
use model::backend::{Backend, WeightDesc};
use quant::GgmlType;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Threads per workgroup of the copy and FMA kernels.
const WG: u32 = 256;

/// The device, queue and what the measurements need to know of the adapter.
struct Ctx {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// A CPU adapter (lavapipe): every count is cut so the run stays short.
    small: bool,
    max_binding: u64,
    /// Timestamp queries (2: start and end of a batch) and the ns per tick, where supported.
    stamps: Option<Stamps>,
}

struct Stamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    ns_per_tick: f64,
}

/// One timed batch: CPU time to record it (encoder to `finish`), host time from the start of
/// recording until the GPU is done, and the GPU's own time between the two timestamps.
#[derive(Clone, Copy)]
struct Timing {
    record_s: f64,
    wall_s: f64,
    gpu_s: Option<f64>,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let ctx = open(quick, true);
    let n = if ctx.small { 1000 } else { 10_000 };
    empty_dispatches(&ctx, n);
    copies(&ctx);
    // The backend opens its own device (with its own features and limits): ours is dropped first
    // so the two never compete for memory on a small adapter.
    let small = ctx.small;
    drop(ctx);
    q4k_matvecs(small);
    let ctx = open(quick, false);
    fma_throughput(&ctx);
}

// ---------------------------------------------------------------------------------------------
// Device

/// Opens the adapter the way `gpu::Gpu::new` does (high performance, WGPU_* honoured, the
/// adapter's limits in full), with TIMESTAMP_QUERY where the adapter has it, and prints it.
fn open(quick: bool, print: bool) -> Ctx {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    let instance = wgpu::Instance::new(&wgpu::InstanceDescriptor {
        backends,
        ..Default::default()
    });
    let adapter = pollster::block_on(async {
        match std::env::var("WGPU_ADAPTER_NAME") {
            Ok(_) => wgpu::util::initialize_adapter_from_env_or_default(&instance, None)
                .await
                .map_err(|e| e.to_string()),
            Err(_) => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    force_fallback_adapter: false,
                    compatible_surface: None,
                })
                .await
                .map_err(|e| e.to_string()),
        }
    })
    .unwrap_or_else(|e| {
        panic!("no GPU adapter ({e}); on Linux without a GPU: scripts/install-vulkan.sh")
    });
    let info = adapter.get_info();
    let limits = adapter.limits();
    let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("microbench"),
        required_features: features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .expect("request_device");
    let stamps = features.contains(wgpu::Features::TIMESTAMP_QUERY).then(|| {
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage,
                mapped_at_creation: false,
            })
        };
        Stamps {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("batch"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: buffer(
                "resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            ns_per_tick: f64::from(queue.get_timestamp_period()),
        }
    });
    let small = quick || info.device_type == wgpu::DeviceType::Cpu;
    if !print {
        return Ctx {
            device,
            queue,
            small,
            max_binding: u64::from(limits.max_storage_buffer_binding_size)
                .min(limits.max_buffer_size),
            stamps,
        };
    }
    println!(
        "adapter: {} ({:?}, {:?}), vendor {:#06x} device {:#06x}",
        info.name, info.backend, info.device_type, info.vendor, info.device
    );
    println!("driver:  {} — {}", info.driver, info.driver_info);
    println!(
        "limits:  storage binding {} MiB, buffer {} MiB; timestamps: {}{}",
        limits.max_storage_buffer_binding_size >> 20,
        limits.max_buffer_size >> 20,
        match &stamps {
            Some(s) => format!("yes ({} ns/tick)", s.ns_per_tick),
            None => "no (GPU columns empty)".into(),
        },
        if small { "; small counts" } else { "" }
    );
    Ctx {
        device,
        queue,
        small,
        max_binding: u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size),
        stamps,
    }
}

fn storage(ctx: &Ctx, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A compute pipeline with an explicit layout of storage buffers at bindings 0.. (true: read
/// only). Explicit, so a binding the compiler finds unused still matches the bind groups.
fn pipeline(ctx: &Ctx, wgsl: &str, read_only: &[bool]) -> wgpu::ComputePipeline {
    pipeline_with(ctx, wgsl, read_only, &[])
}

/// `pipeline` with values for the shader's override constants.
fn pipeline_with(
    ctx: &Ctx,
    wgsl: &str,
    read_only: &[bool],
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    let entries: Vec<_> = read_only
        .iter()
        .enumerate()
        .map(|(i, &ro)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: ro },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let bgl = ctx
        .device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: None,
            entries: &entries,
        });
    let layout = ctx
        .device
        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[&bgl],
            push_constant_ranges: &[],
        });
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(wgsl.into()),
        });
    ctx.device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: Some(&layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        })
}

fn bind(ctx: &Ctx, p: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
    let entries: Vec<_> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &p.get_bind_group_layout(0),
        entries: &entries,
    })
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Where a pass writes the batch's timestamps: `first` → the start (query 0), `last` → the end
/// (query 1). A batch of dispatches is one pass with both; copies sit between two empty passes.
fn stamp_writes(
    ctx: &Ctx,
    first: bool,
    last: bool,
) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
    ctx.stamps
        .as_ref()
        .map(|s| wgpu::ComputePassTimestampWrites {
            query_set: &s.set,
            beginning_of_pass_write_index: first.then_some(0),
            end_of_pass_write_index: last.then_some(1),
        })
}

/// Records a batch with `record` (which must write both timestamps through `stamp_writes`),
/// submits it alone and waits for it.
fn time_batch(ctx: &Ctx, record: &mut dyn FnMut(&mut wgpu::CommandEncoder)) -> Timing {
    // (nothing earlier may still run: the wall clock starts on an idle queue)
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    let start = Instant::now();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    record(&mut encoder);
    if let Some(s) = &ctx.stamps {
        encoder.resolve_query_set(&s.set, 0..2, &s.resolve, 0);
        encoder.copy_buffer_to_buffer(&s.resolve, 0, &s.readback, 0, 16);
    }
    let commands = encoder.finish();
    let record_s = start.elapsed().as_secs_f64();
    ctx.queue.submit([commands]);
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    let wall_s = start.elapsed().as_secs_f64();
    let gpu_s = ctx.stamps.as_ref().map(|s| {
        let slice = s.readback.slice(..);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("map timestamps"));
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
        let t: [u64; 2] = bytemuck::pod_read_unaligned(&slice.get_mapped_range()[..16]);
        s.readback.unmap();
        t[1].saturating_sub(t[0]) as f64 * s.ns_per_tick * 1e-9
    });
    Timing {
        record_s,
        wall_s,
        gpu_s,
    }
}

/// One warm-up batch, then the median (per column) of `reps` timed ones.
fn median_of(ctx: &Ctx, reps: usize, record: &mut dyn FnMut(&mut wgpu::CommandEncoder)) -> Timing {
    time_batch(ctx, record);
    let runs: Vec<Timing> = (0..reps).map(|_| time_batch(ctx, record)).collect();
    let med = |f: &dyn Fn(&Timing) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Timing {
        record_s: med(&|t| t.record_s),
        wall_s: med(&|t| t.wall_s),
        gpu_s: ctx
            .stamps
            .as_ref()
            .map(|_| med(&|t| t.gpu_s.unwrap_or(0.0))),
    }
}

fn opt(v: Option<f64>, width: usize, prec: usize) -> String {
    match v {
        Some(v) => format!("{v:>width$.prec$}"),
        None => format!("{:>width$}", "-"),
    }
}

// ---------------------------------------------------------------------------------------------
// a. Empty dispatches

/// (i): binds a read-only buffer and touches nothing: consecutive dispatches share a read-only
/// usage, so wgpu-core puts no barrier between them.
const EMPTY_RO: &str = "
@group(0) @binding(0) var<storage, read> src: array<u32>;
@compute @workgroup_size(1) fn main() { _ = src[0]; }
";
/// (ii), (iv): writes one word of a read-write buffer: wgpu-core puts a barrier between two
/// STORAGE_READ_WRITE uses of one buffer (wgpu-core track::skip_barrier: only ordered, i.e.
/// read-only, usages skip it), as between any two of the backend's dispatches that share a buffer.
const EMPTY_RW: &str = "
@group(0) @binding(0) var<storage, read_write> buf: array<u32>;
@compute @workgroup_size(1) fn main() { buf[0] = buf[0] + 1u; }
";
/// (iii): reads one word of `src`, writes one of `dst`; bound A→B then B→A, so each dispatch
/// reads what the one before wrote — the dependency chain of a forward pass.
const EMPTY_CHAIN: &str = "
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(1) fn main() { dst[0] = src[0] + 1u; }
";

fn empty_dispatches(ctx: &Ctx, n: usize) {
    let reps = if ctx.small { 3 } else { 5 };
    let a = storage(ctx, "a", 256);
    let b = storage(ctx, "b", 256);
    let ro = pipeline(ctx, EMPTY_RO, &[true]);
    let rw = pipeline(ctx, EMPTY_RW, &[false]);
    let chain = pipeline(ctx, EMPTY_CHAIN, &[true, false]);
    let g_ro = bind(ctx, &ro, &[&a]);
    let g_rw = bind(ctx, &rw, &[&a]);
    let g_ab = bind(ctx, &chain, &[&a, &b]);
    let g_ba = bind(ctx, &chain, &[&b, &a]);

    println!(
        "\na. empty dispatches: {n} in one compute pass, one submit + wait (median of {reps})"
    );
    println!(
        "{:<52} {:>10} {:>12} {:>10}",
        "variant", "record µs", "submit→done", "GPU µs"
    );
    println!(
        "{:<52} {:>10} {:>12} {:>10}",
        "", "/dispatch", "µs/dispatch", "/dispatch"
    );
    // Each variant records its n dispatches into one pass that carries the batch's timestamps.
    let run = |label: &str, per_dispatch: &mut dyn FnMut(&mut wgpu::ComputePass<'_>, usize)| {
        let t = median_of(ctx, reps, &mut |enc| {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: stamp_writes(ctx, true, true),
            });
            for i in 0..n {
                per_dispatch(&mut pass, i);
                pass.dispatch_workgroups(1, 1, 1);
            }
        });
        let us = |s: f64| s * 1e6 / n as f64;
        println!(
            "{:<52} {:>10.3} {:>12.3} {}",
            label,
            us(t.record_s),
            us(t.wall_s - t.record_s),
            opt(t.gpu_s.map(us), 10, 3)
        );
    };
    run("(i)   read-only binding, no dependency", &mut |p, i| {
        if i == 0 {
            p.set_pipeline(&ro);
            p.set_bind_group(0, &g_ro, &[]);
        }
    });
    run(
        "(ii)  read-write, same buffer (barrier each)",
        &mut |p, i| {
            if i == 0 {
                p.set_pipeline(&rw);
            }
            p.set_bind_group(0, &g_rw, &[]);
        },
    );
    run(
        "(iii) chain A→B, B→A (alternating bind groups)",
        &mut |p, i| {
            if i == 0 {
                p.set_pipeline(&chain);
            }
            p.set_bind_group(0, if i % 2 == 0 { &g_ab } else { &g_ba }, &[]);
        },
    );
    run(
        "(iv)  as (ii), a new bind group per dispatch",
        &mut |p, i| {
            if i == 0 {
                p.set_pipeline(&rw);
            }
            // what the backend does today (backend.rs, `dispatch`): create_bind_group per dispatch
            let g = bind(ctx, &rw, &[&a]);
            p.set_bind_group(0, &g, &[]);
        },
    );
    // the pipeline set per dispatch too, as the backend does: does re-setting cost anything?
    run(
        "(v)   as (iv), set_pipeline per dispatch too",
        &mut |p, _| {
            p.set_pipeline(&rw);
            let g = bind(ctx, &rw, &[&a]);
            p.set_bind_group(0, &g, &[]);
        },
    );
}

// ---------------------------------------------------------------------------------------------
// b. Copies

/// Copies `src` to `dst`, one vec4<f32> (16 bytes) per thread per step, striding over the whole
/// grid (the grid is capped at 65535 workgroups: a 256 MiB buffer takes several steps).
const COPY: &str = "
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = arrayLength(&src);
    for (var i = gid.x; i < n; i = i + nwg.x * 256u) {
        dst[i] = src[i];
    }
}
";

/// One row of the copy table: `iters` copies of `bytes` each, over buffer pairs taken in turn.
fn copy_row(
    ctx: &Ctx,
    label: &str,
    pairs: &[(wgpu::Buffer, wgpu::Buffer)],
    iters: usize,
    kernel: bool,
) {
    let reps = if ctx.small { 3 } else { 5 };
    let p = pipeline(ctx, COPY, &[true, false]);
    let bytes = pairs[0].0.size();
    let groups: Vec<wgpu::BindGroup> = pairs.iter().map(|(s, d)| bind(ctx, &p, &[s, d])).collect();
    // ~one vec4 per thread for small buffers; for large ones the 65535-workgroup cap (a few
    // vec4 per thread), which keeps every SM busy with no tail
    let wgs = ((bytes / 16).div_ceil(u64::from(WG)) as u32).clamp(1, 65535);
    let t = median_of(ctx, reps, &mut |enc| {
        if kernel {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: stamp_writes(ctx, true, true),
            });
            pass.set_pipeline(&p);
            for i in 0..iters {
                pass.set_bind_group(0, &groups[i % groups.len()], &[]);
                pass.dispatch_workgroups(wgs, 1, 1);
            }
        } else {
            // timestamps from two empty passes around the copies
            drop(enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: stamp_writes(ctx, true, false),
            }));
            for i in 0..iters {
                let (s, d) = &pairs[i % pairs.len()];
                enc.copy_buffer_to_buffer(s, 0, d, 0, bytes);
            }
            drop(enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: stamp_writes(ctx, false, true),
            }));
        }
    });
    // bytes moved: each copy reads `bytes` and writes `bytes`
    let moved = 2.0 * bytes as f64 * iters as f64;
    let gbs = |s: f64| moved / s / 1e9;
    println!(
        "{:<46} {:>9.3} {:>9.2} {:>9.1} {} {}",
        label,
        bytes as f64 / (1 << 20) as f64,
        t.wall_s * 1e6 / iters as f64,
        gbs(t.wall_s),
        opt(t.gpu_s.map(gbs), 9, 1),
        opt(t.gpu_s.map(|s| s * 1e6 / iters as f64), 9, 2),
    );
}

fn copies(ctx: &Ctx) {
    // 256 MiB where one binding may hold it (lavapipe: 128 MiB), a quarter of that on a CPU
    let big = (256u64 << 20).min(ctx.max_binding / 16 * 16) >> if ctx.small { 2 } else { 0 };
    // one 2048×2048 Q4_K weight: 2048·2048/256 blocks of 144 bytes
    let weight = 2048 * 2048 / 256 * 144;
    // rotating over enough pairs that their sources (~150 MB) exceed any L2 (H100 50 MB,
    // H200 60 MB), so each copy reads from memory as a decode step reads each weight once
    let rotate = if ctx.small { 4 } else { 64 };
    let (big_iters, small_iters) = if ctx.small { (4, 100) } else { (20, 2000) };
    let pair = |bytes| (storage(ctx, "src", bytes), storage(ctx, "dst", bytes));
    let big_pair = [pair(big)];
    let one = [pair(weight)];
    let many: Vec<_> = (0..rotate).map(|_| pair(weight)).collect();

    println!(
        "\nb. copies (GB/s counts bytes read + written; wall = record + submit + wait)\n{:<46} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "what", "MiB", "wall µs", "wall GB/s", "GPU GB/s", "GPU µs"
    );
    for kernel in [true, false] {
        let k = if kernel {
            "kernel vec4"
        } else {
            "copy_buffer_to_buffer"
        };
        copy_row(
            ctx,
            &format!("{k}, ×{big_iters}"),
            &big_pair,
            big_iters,
            kernel,
        );
        copy_row(
            ctx,
            &format!("{k}, one buffer ×{small_iters} (cache)"),
            &one,
            small_iters,
            kernel,
        );
        copy_row(
            ctx,
            &format!("{k}, {rotate} buffers ×{small_iters}"),
            &many,
            small_iters,
            kernel,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// c. Q4_K matvec through the backend

/// `rows` random but valid Q4_K rows of `cols`: random quants and packed 6-bit scales/mins, and
/// small finite fp16 super-block scales (random bytes there could be Inf/NaN).
fn random_q4k(rng: &mut impl Rng, rows: usize, cols: usize) -> Vec<u8> {
    let blocks = rows * cols / 256;
    let mut bytes = vec![0u8; blocks * 144];
    rng.fill_bytes(&mut bytes);
    for b in bytes.chunks_exact_mut(144) {
        let d = quant::f32_to_fp16(rng.random_range(1e-4f32..1e-3));
        let dmin = quant::f32_to_fp16(rng.random_range(1e-4f32..1e-3));
        b[0..2].copy_from_slice(&d.to_le_bytes());
        b[2..4].copy_from_slice(&dmin.to_le_bytes());
    }
    bytes
}

/// Largest relative error of the GPU's output against f64 dots of the CPU's dequantized rows,
/// over a sample of rows (first, last and spread between).
fn check_rows(w: &[u8], x: &[f32], y: &[f32], rows: usize, cols: usize) -> f64 {
    let row_bytes = cols / 256 * 144;
    let mut deq = vec![0f32; cols];
    let (mut err, mut norm) = (0f64, 0f64);
    for r in (0..rows).step_by((rows / 61).max(1)).chain([rows - 1]) {
        quant::dequantize_row(
            GgmlType::Q4_K,
            &w[r * row_bytes..(r + 1) * row_bytes],
            &mut deq,
        )
        .expect("dequantize");
        let want: f64 = deq
            .iter()
            .zip(x)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        err = err.max((f64::from(y[r]) - want).abs());
        norm = norm.max(want.abs());
    }
    err / norm.max(f64::MIN_POSITIVE)
}

fn q4k_matvecs(small: bool) {
    // (rows, cols, what): a TinyLlama-1.1B layer's square (q, o), ffn_up/gate, ffn_down, the head
    let shapes = [
        (2048, 2048, "2048×2048 (attn q/o)"),
        (5632, 2048, "5632×2048 (ffn_up/gate)"),
        (2048, 5632, "2048×5632 (ffn_down)"),
        (32000, 2048, "32000×2048 (output head)"),
    ];
    let (n, n_prof) = if small { (20, 8) } else { (1000, 256) };
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut backend = GpuBackend::new().expect("GpuBackend::new");
    println!(
        "\nc. Q4_K matvec through GpuBackend (public Backend API: load_weight, upload, matmul ×{n}, read once; {})",
        backend.gpu().adapter_name
    );
    println!(
        "   the backend records every matmul into one pass, submitting every 256 dispatches (FLUSH_EVERY);\n   GPU-only time: the backend's own profiler (WASM_CHORD_GPU_PROFILE=1: one pass per dispatch, timestamps) below each row"
    );
    println!(
        "{:<26} {:>9} {:>10} {:>10} {:>10} {:>9}",
        "shape", "MB", "record µs", "wall µs", "wall GB/s", "rel err"
    );
    for (rows, cols, label) in shapes {
        let w = random_q4k(&mut rng, rows, cols);
        let x: Vec<f32> = (0..cols).map(|_| rng.random_range(-1f32..1.0)).collect();
        let desc = WeightDesc {
            name: label.into(),
            ty: GgmlType::Q4_K,
            cols,
            rows,
        };
        let weight = backend.load_weight(&desc, &w).expect("load_weight");
        let xt = backend.upload(&x, 1, cols).expect("upload");
        // warm-up (pipeline compilation, first buffers) and the correctness check
        let y = backend.matmul(&weight, &xt).expect("matmul");
        let err = check_rows(&w, &x, &backend.read(&y).expect("read"), rows, cols);
        drop(y);
        let start = Instant::now();
        let mut last = None;
        for _ in 0..n {
            // (the previous output goes back to the pool and is the next one's buffer: each
            // matvec waits for the one before it, as in a forward pass)
            last = Some(backend.matmul(&weight, &xt).expect("matmul"));
        }
        let record_s = start.elapsed().as_secs_f64();
        backend.read(&last.take().expect("n > 0")).expect("read");
        let wall_s = start.elapsed().as_secs_f64();
        let mb = w.len() as f64 / 1e6;
        println!(
            "{:<26} {:>9.2} {:>10.2} {:>10.2} {:>10.1} {:>9.1e}",
            label,
            mb,
            record_s * 1e6 / n as f64,
            wall_s * 1e6 / n as f64,
            mb * 1e6 * n as f64 / wall_s / 1e9,
            err
        );
        profiled_matvec(&desc, &w, &x, n_prof);
    }
}

/// The same matvec on a backend opened with WASM_CHORD_GPU_PROFILE=1 (its profiler is on only
/// when that is set as the device opens): its table, printed when it is dropped, has the
/// kernel's GPU time per pass.
fn profiled_matvec(desc: &WeightDesc, w: &[u8], x: &[f32], n: usize) {
    std::env::set_var("WASM_CHORD_GPU_PROFILE", "1");
    let mut backend = GpuBackend::new().expect("GpuBackend::new (profiled)");
    std::env::remove_var("WASM_CHORD_GPU_PROFILE");
    let weight = backend.load_weight(desc, w).expect("load_weight");
    let xt = backend.upload(x, 1, desc.cols).expect("upload");
    let mut last = None;
    for _ in 0..n {
        last = Some(backend.matmul(&weight, &xt).expect("matmul"));
    }
    backend.read(&last.take().expect("n > 0")).expect("read");
    drop((weight, xt));
    // (the report goes to stderr: Rust's stdout is line-buffered, so 2>&1 keeps the order)
    drop(backend);
}

// ---------------------------------------------------------------------------------------------
// d. FMA throughput

/// Eight independent vec4 FMA chains per thread (enough independent work to hide the FMA
/// latency), ITERS steps each. `seed` is read at run time so nothing folds; the chains converge
/// to 1 (× 0.999 + 0.001), so no value overflows or goes subnormal. One write per thread keeps
/// the work live.
const FMA: &str = "
@group(0) @binding(0) var<storage, read> seed: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override ITERS: u32 = 1024u;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = seed[0];
    let m = vec4<f32>(s * 0.999);
    let c = vec4<f32>(s * 0.001);
    let x = vec4<f32>(f32(gid.x & 255u) * 1e-3);
    var a0 = x; var a1 = x + 0.1; var a2 = x + 0.2; var a3 = x + 0.3;
    var a4 = x + 0.4; var a5 = x + 0.5; var a6 = x + 0.6; var a7 = x + 0.7;
    for (var i = 0u; i < ITERS; i = i + 1u) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    let v = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
    out[gid.x] = v.x + v.y + v.z + v.w;
}
";

fn fma_throughput(ctx: &Ctx) {
    let reps = if ctx.small { 3 } else { 5 };
    // enough workgroups that every SM holds several at once (132 SMs × 2048 threads = 270k
    // threads resident on an H100; 4096 × 256 = 1M)
    let (wgs, iters, dispatches) = if ctx.small {
        (32u32, 256u32, 2)
    } else {
        (4096, 4096, 10)
    };
    let seed = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("seed"),
        size: 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue
        .write_buffer(&seed, 0, bytemuck::bytes_of(&1.0f32));
    let out = storage(ctx, "out", u64::from(wgs * WG) * 4);
    let p = pipeline_with(ctx, FMA, &[true, false], &[("ITERS", f64::from(iters))]);
    let g = bind(ctx, &p, &[&seed, &out]);
    let t = median_of(ctx, reps, &mut |enc| {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: stamp_writes(ctx, true, true),
        });
        pass.set_pipeline(&p);
        pass.set_bind_group(0, &g, &[]);
        for _ in 0..dispatches {
            pass.dispatch_workgroups(wgs, 1, 1);
        }
    });
    // 8 chains × 4 lanes × 2 flops per FMA
    let flops = f64::from(wgs * WG) * f64::from(iters) * 64.0 * dispatches as f64;
    let tf = |s: f64| flops / s / 1e12;
    println!(
        "\nd. f32 FMA throughput ({} threads × {iters} steps × 8 vec4 FMAs, ×{dispatches} dispatches): wall {:.2} TFLOP/s, GPU {} TFLOP/s",
        wgs * WG,
        tf(t.wall_s),
        opt(t.gpu_s.map(tf), 0, 2)
    );
}
