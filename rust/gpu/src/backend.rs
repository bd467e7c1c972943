//! `GpuBackend`: the model crate's `Backend` trait on wgpu.
//!
//! Reads. `read` copies a tensor into a staging buffer, maps it and waits (natively
//! `Device::poll` blocks until the map completes). A browser's WebGPU device cannot be waited on
//! by blocking: `map_async` completes only once the JS event loop runs. So the web path is split
//! (`Model::poll_step` drives it): `begin_read` records the copy, submits and starts `map_async`;
//! the caller awaits `read_wait()` (a `'static` future, so the wasm glue can turn it into a JS
//! Promise without holding a borrow of the backend); `read_ready` then says the map landed and
//! `read` takes the mapped bytes without waiting. A device loss or an asynchronous validation
//! error ends that wait with the error (see `device::Signals`).

mod fused;

use crate::device::{lock, SharedSignals};
use crate::params::ParamRing;
use crate::profile::Profiler;
use crate::tensor::{BufferPool, Chunk, SharedPool, Tensor, Weight};
use crate::{
    host, layout,
    shaders::{MatvecShape, Pipelines},
    Gpu, GpuError,
};
use model::backend::{
    AttentionParams, AttnInput, Backend, FfnInput, GatedActivation, RopeParams, RopeStyle,
    WeightDesc,
};
use quant::GgmlType;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wgpu::util::DeviceExt;

/// Passes recorded before an intermediate submit, so one encoder never grows without bound.
const FLUSH_EVERY: usize = 256;
/// Threads per workgroup of every kernel (each shader's `WG` override defaults to this).
const WG: u32 = 64;
/// Workgroups per dispatch dimension (WebGPU's guaranteed maxComputeWorkgroupsPerDimension).
const MAX_GRID: u32 = 65535;
/// Largest head_dim attention.wgsl takes (its HD_MAX: workgroup copies of a query, accumulators).
const ATTN_HEAD_DIM_MAX: usize = 256;
/// Query rows from which attention switches to the tiled f32 mode (ggml's GGML_FA_TILE_Q).
const TILED_MIN_ROWS: usize = 64;

/// Per-layer f16 keys and values, `(n_ctx, kv_dim / 2)` u32 each.
struct KvCache {
    n_ctx: usize,
    kv_dim: usize,
    k: Vec<wgpu::Buffer>,
    v: Vec<wgpu::Buffer>,
}

pub struct GpuBackend {
    gpu: Gpu,
    pipelines: Pipelines,
    pool: SharedPool,
    /// The open compute pass that records dispatches back to back (not when profiling, which
    /// times each pass); ended before any other use of the encoder. Declared before `encoder`,
    /// so it is dropped (ended) first.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: Option<wgpu::CommandEncoder>,
    passes: usize,
    cache: Option<KvCache>,
    /// `(65536)` f32, uploaded on the first GELU.
    gelu: Option<wgpu::Buffer>,
    /// Tests lower the weight chunk size to exercise multi-chunk weights on small tensors.
    chunk_limit: Option<u64>,
    /// Bytes per piece of `load_weight_from` (a multiple of 4).
    upload_piece: usize,
    /// Per-kernel pass counts and GPU times (`WASM_CHORD_GPU_PROFILE=1`).
    profiler: Option<Profiler>,
    matvec: MatvecKernel,
    matmul: MatmulKernel,
    /// Every pass's parameters and small tables, one buffer per batch.
    params: ParamRing,
    /// The read `begin_read` started, if it was not taken by `read` yet.
    pending_read: Option<PendingRead>,
    /// Ids of `begin_read` calls, so a late callback of an abandoned read is told apart.
    read_id: u64,
}

/// `load_weight_from`'s source: fills the buffer with the tensor's bytes from the offset on.
pub type ReadPiece<'a> = dyn FnMut(usize, &mut [u8]) -> Result<(), String> + 'a;

/// One binding of a dispatch (`dispatch_res`).
enum Res<'a> {
    Whole(&'a wgpu::Buffer),
    /// (buffer, byte offset, bytes)
    Range(&'a wgpu::Buffer, u64, u64),
    /// Bytes staged in the ParamRing (uniform parameters, small tables).
    Param(&'a [u8]),
}

/// A copy of `src`'s first `bytes` into `staging`, mapped asynchronously (`begin_read`).
struct PendingRead {
    id: u64,
    src: wgpu::Buffer,
    bytes: u64,
    staging: wgpu::Buffer,
}

/// The decode matrix-vector kernel: a thread per row where the adapter is a CPU (no barriers),
/// a workgroup per few rows on real GPUs (coalesced reads, scales decoded per 32 elements, every
/// core busy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatvecKernel {
    /// matvec.wgsl
    RowPerThread,
    /// matvec_coop.wgsl (kept as the fallback for rows that are not whole 32-element slices)
    RowPerWorkgroup,
    /// matvec_rows.wgsl (R rows per workgroup, with the format's slice decoder)
    RowsPerWorkgroup,
}

/// The prefill matrix-matrix kernel: a thread per weight row (no barriers) on CPU adapters,
/// tiles staged in workgroup memory on real GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKernel {
    /// matmul.wgsl
    RowPerThread,
    /// matmul_tiled.wgsl
    Tiled,
    /// matmul_wide.wgsl (64 × 128 tiles of 256 threads; needs WIDE_WORKGROUP_BYTES of workgroup
    /// memory, else matmul_tiled runs). Chosen by WASM_CHORD_GPU_MATMUL=wide until measured.
    Wide,
}

/// Output tile of matmul_tiled.wgsl: (token rows, weight rows) (its `BT`, `BR`).
const TILED_BT: u32 = 32;
const TILED_BR: u32 = 64;
/// Output tile of matmul_wide.wgsl: (token rows, weight rows) (its `BT`, `BR`).
const WIDE_BT: u32 = 64;
const WIDE_BR: u32 = 128;
/// Workgroup memory of matmul_wide.wgsl (its `Xs` + `Ws`), over WebGPU's guaranteed 16 KiB.
const WIDE_WORKGROUP_BYTES: u32 = 544 * 16 + 1024 * 16;
/// Token rows per thread of matmul.wgsl (its `TILE_T`).
const MATMUL_TILE_T: u32 = 8;

impl Drop for GpuBackend {
    fn drop(&mut self) {
        if let Some(p) = &self.profiler {
            eprint!("{}", p.report());
        }
    }
}

/// `n` workgroups as a 2-D grid within MAX_GRID per dimension: (x, y), x·y ≥ n.
fn grid(n: u32) -> (u32, u32) {
    let x = n.clamp(1, MAX_GRID);
    (x, n.div_ceil(x).max(1))
}

fn new_encoder(device: &wgpu::Device) -> wgpu::CommandEncoder {
    device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ops") })
}

fn shape(op: &'static str, detail: String) -> GpuError {
    GpuError::Shape { op, detail }
}

impl GpuBackend {
    /// Opens the default adapter (see `Gpu::new`; native only: a browser opens it with
    /// `Gpu::new_async` and hands it to `with_gpu`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Self, GpuError> {
        Ok(Self::with_gpu(Gpu::new()?))
    }

    pub fn with_gpu(gpu: Gpu) -> Self {
        let profiler = crate::profile::enabled().then(|| Profiler::new(&gpu.device, &gpu.queue));
        // WASM_CHORD_GPU_KERNELS=gpu|software overrides the choice by adapter type (to run the GPU
        // kernels through a whole model on lavapipe, or compare the two sets on a GPU)
        let software = match std::env::var("WASM_CHORD_GPU_KERNELS").as_deref() {
            Ok("gpu") => false,
            Ok("software") => true,
            _ => gpu.is_cpu,
        };
        let (matvec, matmul) = if software {
            (MatvecKernel::RowPerThread, MatmulKernel::RowPerThread)
        } else {
            (MatvecKernel::RowsPerWorkgroup, MatmulKernel::Tiled)
        };
        // WASM_CHORD_GPU_MATMUL=wide|tiled picks the prompt kernel (to measure both on a GPU)
        let matmul = match std::env::var("WASM_CHORD_GPU_MATMUL").as_deref() {
            Ok("wide") => MatmulKernel::Wide,
            Ok("tiled") => MatmulKernel::Tiled,
            _ => matmul,
        };
        GpuBackend {
            profiler,
            matvec,
            matmul,
            params: ParamRing::new(&gpu.device),
            gpu,
            pipelines: Pipelines::new(MatvecShape::from_env()),
            pool: SharedPool::default(),
            pass: None,
            encoder: None,
            passes: 0,
            cache: None,
            gelu: None,
            chunk_limit: None,
            upload_piece: 8 << 20,
            pending_read: None,
            read_id: 0,
        }
    }

    /// Resolves when the read `begin_read` started has landed (or failed: the error comes from
    /// `read_ready`); at once when no read is in flight. Holds no borrow of the backend, so a
    /// wasm glue can hand it to JS as a Promise while the backend stays usable.
    pub fn read_wait(&self) -> impl Future<Output = ()> + 'static {
        ReadWait {
            signals: self.gpu.signals.clone(),
            id: self.pending_read.as_ref().map(|p| p.id),
        }
    }

    /// Caps the bytes of one weight chunk below the adapter's limit (tests: multi-chunk weights).
    pub fn set_chunk_limit(&mut self, bytes: Option<u64>) {
        self.chunk_limit = bytes;
    }

    /// Sets the bytes per piece of `load_weight_from` (default 8 MiB; rounded up to a multiple
    /// of 4). Tests lower it to exercise several pieces per chunk.
    pub fn set_upload_piece(&mut self, bytes: usize) {
        self.upload_piece = bytes.max(1).div_ceil(4) * 4;
    }

    /// Overrides the decode kernel chosen from the adapter type (tests run both on lavapipe).
    pub fn set_matvec_kernel(&mut self, kernel: MatvecKernel) {
        self.matvec = kernel;
    }

    /// Overrides the prompt kernel chosen from the adapter type (tests run both on lavapipe).
    pub fn set_matmul_kernel(&mut self, kernel: MatmulKernel) {
        self.matmul = kernel;
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// A new activation tensor (contents undefined until a kernel writes it).
    fn alloc(&mut self, rows: usize, cols: usize) -> Tensor {
        let cap = self.gpu.max_chunk_bytes();
        let buf = BufferPool::take(&self.pool, &self.gpu.device, Tensor::bytes(rows, cols), cap);
        Tensor {
            rows,
            cols,
            buf: Some(buf),
            pool: self.pool.clone(),
        }
    }

    /// Uploads host data into a new tensor.
    pub fn upload(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Tensor, GpuError> {
        if data.len() != rows * cols {
            return Err(shape(
                "upload",
                format!("{} values for {rows}×{cols}", data.len()),
            ));
        }
        let t = self.alloc(rows, cols);
        if !data.is_empty() {
            self.flush(); // earlier recorded work may still read this recycled buffer
            self.gpu
                .queue
                .write_buffer(t.buffer(), 0, bytemuck::cast_slice(data));
        }
        Ok(t)
    }

    fn storage_init(&self, label: &str, contents: &[u8]) -> wgpu::Buffer {
        self.gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.pass = None; // ends the open compute pass
        let device = &self.gpu.device;
        self.encoder.get_or_insert_with(|| new_encoder(device))
    }

    /// Records one compute pass: `op`'s pipeline, `buffers` bound whole at 0.. in order, then
    /// `params` (parameter structs, small tables) from the batch's [`ParamRing`], `groups`.
    fn dispatch(
        &mut self,
        op: &'static str,
        ty: Option<GgmlType>,
        buffers: &[&wgpu::Buffer],
        params: &[&[u8]],
        groups: (u32, u32, u32),
    ) -> Result<(), GpuError> {
        let res: Vec<Res> = buffers
            .iter()
            .map(|&b| Res::Whole(b))
            .chain(params.iter().map(|&p| Res::Param(p)))
            .collect();
        self.dispatch_res(op, ty, &res, groups)
    }

    /// `dispatch` with the bindings 0.. given one by one: whole buffers, byte ranges of buffers
    /// (weights, see `Chunk`) and parameters staged in the batch's [`ParamRing`].
    fn dispatch_res(
        &mut self,
        op: &'static str,
        ty: Option<GgmlType>,
        res: &[Res],
        groups: (u32, u32, u32),
    ) -> Result<(), GpuError> {
        let kernel = self
            .pipelines
            .get(&self.gpu.device, op, ty)
            .ok_or_else(|| GpuError::Wgpu(format!("no kernel {op} for {ty:?}")))?;
        let (pipeline, layout) = (kernel.pipeline.clone(), kernel.layout.clone());
        let params: Vec<&[u8]> = res
            .iter()
            .filter_map(|r| match r {
                Res::Param(p) => Some(*p),
                _ => None,
            })
            .collect();
        // (flushing before the params are staged: they must go out with this pass's batch)
        if !self.params.fits(&params) || self.profiler.as_ref().is_some_and(Profiler::full) {
            self.flush();
        }
        let mut slots = self.params.push(&self.gpu.device, &params).into_iter();
        let ring = self.params.buffer_ref();
        let entries: Vec<wgpu::BindGroupEntry> = res
            .iter()
            .map(|r| match *r {
                Res::Whole(b) => b.as_entire_binding(),
                Res::Range(buffer, offset, size) => {
                    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer,
                        offset,
                        size: std::num::NonZeroU64::new(size),
                    })
                }
                Res::Param(_) => {
                    let (offset, size) = slots.next().expect("one slot per param");
                    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: ring,
                        offset,
                        size: Some(size),
                    })
                }
            })
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        let bind = self
            .gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(op),
                layout: &layout,
                entries: &entries,
            });
        // Dispatches go back to back into one open pass; when profiling, each gets its own pass
        // with its timestamps.
        if self.profiler.is_some() || self.pass.is_none() {
            self.pass = None;
            let device = &self.gpu.device;
            let encoder = self.encoder.get_or_insert_with(|| new_encoder(device));
            let timestamp_writes = self.profiler.as_mut().and_then(|p| p.pass(op));
            let pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(op),
                timestamp_writes,
            });
            self.pass = Some(pass.forget_lifetime());
        }
        let pass = self.pass.as_mut().expect("opened above");
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        self.passes += 1;
        if self.passes >= FLUSH_EVERY {
            self.flush();
        }
        Ok(())
    }

    /// Submits everything recorded so far.
    fn flush(&mut self) {
        self.pass = None; // ends the open compute pass
        self.params.write(&self.gpu.queue);
        if let Some(mut enc) = self.encoder.take() {
            if let Some(p) = &self.profiler {
                p.resolve(&mut enc);
            }
            self.gpu.queue.submit([enc.finish()]);
            if let Some(p) = &mut self.profiler {
                p.collect(&self.gpu.device);
            }
        }
        self.passes = 0;
    }

    /// Copies a device buffer's first `bytes` back to the host (blocking).
    #[cfg(not(target_arch = "wasm32"))]
    fn read_bytes(&mut self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, GpuError> {
        let staging = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.encoder()
            .copy_buffer_to_buffer(buf, 0, &staging, 0, bytes);
        self.flush();
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Wgpu(e.to_string()))?;
        self.gpu.check()?;
        rx.recv()
            .map_err(|e| GpuError::Wgpu(e.to_string()))?
            .map_err(|e| GpuError::Wgpu(e.to_string()))?;
        let out = slice.get_mapped_range().to_vec();
        staging.unmap();
        Ok(out)
    }

    /// In a browser a read cannot wait: only reads started by `begin_read` can complete.
    #[cfg(target_arch = "wasm32")]
    fn read_bytes(&mut self, _buf: &wgpu::Buffer, _bytes: u64) -> Result<Vec<u8>, GpuError> {
        Err(GpuError::Wgpu(
            "a WebGPU read cannot block in a browser: start it with begin_read and await read_wait (Model::poll_step does)"
                .into(),
        ))
    }

    /// The bytes of the pending read of `buf` once its map landed: `Ok(None)` when `buf` is not
    /// what `begin_read` was given (then `read` takes the blocking path). Natively this waits for
    /// the map; in a browser it must have landed already (`read_ready`).
    fn take_pending_read(
        &mut self,
        buf: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Option<Vec<u8>>, GpuError> {
        match &self.pending_read {
            Some(p) if p.src == *buf && p.bytes == bytes => {}
            _ => return Ok(None),
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Wgpu(e.to_string()))?;
        if !self.read_ready()? {
            return Err(GpuError::Wgpu(
                "read before the device's copy landed: await read_wait first".into(),
            ));
        }
        let p = self.pending_read.take().expect("matched above");
        let out = p.staging.slice(..bytes).get_mapped_range().to_vec();
        p.staging.unmap();
        p.staging.destroy(); // (in a browser, dropping a buffer leaves it to the garbage collector)
        Ok(Some(out))
    }

    /// A weight chunk's buffer of `size` bytes holding `src` (then zeros). Natively the bytes
    /// are written into the buffer mapped at creation; in a browser `queue.write_buffer` hands
    /// them to the GPU process straight from the caller's bytes (wgpu's mapped range would first
    /// copy the whole chunk into another buffer of the wasm heap).
    fn weight_buffer(&self, label: &str, size: u64, src: &[u8]) -> wgpu::Buffer {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let buf = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                // (COPY_SRC: stack_weights copies weights side by side)
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            {
                let mut view = buf.slice(..).get_mapped_range_mut();
                view[..src.len()].copy_from_slice(src);
                view[src.len()..].fill(0);
            }
            buf.unmap();
            buf
        }
        #[cfg(target_arch = "wasm32")]
        {
            // (zeroed by WebGPU on creation; write_buffer wants a multiple of 4 bytes)
            let buf = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let whole = src.len() / 4 * 4;
            if whole > 0 {
                self.gpu.queue.write_buffer(&buf, 0, &src[..whole]);
            }
            if whole < src.len() {
                let mut tail = [0u8; 4];
                tail[..src.len() - whole].copy_from_slice(&src[whole..]);
                self.gpu.queue.write_buffer(&buf, whole as u64, &tail);
            }
            buf
        }
    }

    /// Rows of a weight per chunk buffer: as many as one binding may hold (byte offsets are u32
    /// in the kernels).
    fn rows_per_chunk(&self, desc: &WeightDesc, row_bytes: usize) -> Result<usize, GpuError> {
        let cap = self
            .gpu
            .max_chunk_bytes()
            .min(self.chunk_limit.unwrap_or(u64::MAX))
            .min(u32::MAX as u64)
            .saturating_sub(8);
        let per_chunk = (cap / row_bytes.max(1) as u64) as usize;
        if per_chunk == 0 {
            return Err(GpuError::BadWeight {
                name: desc.name.clone(),
                problem: format!(
                    "one row ({row_bytes} B) exceeds the adapter's binding limit ({} B)",
                    self.gpu.max_binding
                ),
            });
        }
        Ok(per_chunk)
    }

    /// `load_weight` for a tensor of `len` bytes that `read(offset, dst)` copies in piece by
    /// piece (filling `dst` with the bytes from `offset` on): each piece goes to its chunk buffer
    /// with `queue.write_buffer`, through one reused scratch buffer of 8 MiB (`set_upload_piece`). The
    /// browser uploads this way from the JS `Uint8Array` it read from the file, so a tensor never
    /// sits whole in the wasm heap (the token embedding of a 262k vocabulary is 180 MB).
    pub fn load_weight_from(
        &mut self,
        desc: &WeightDesc,
        len: usize,
        read: &mut ReadPiece<'_>,
    ) -> Result<Weight, GpuError> {
        let piece = self.upload_piece; // (a multiple of 4, as write_buffer wants)
        let bad = |problem: String| GpuError::BadWeight {
            name: desc.name.clone(),
            problem,
        };
        if desc.rows == 1 {
            // vectors are small, and also dequantized on the host: the plain path
            let mut bytes = vec![0u8; len];
            read(0, &mut bytes).map_err(bad)?;
            return self.load_weight(desc, &bytes);
        }
        self.gpu.check()?;
        if !layout::supported(desc.ty) {
            return Err(bad(format!("type {} has no GPU kernel", desc.ty.name())));
        }
        let row_bytes = desc.row_bytes_checked(len).map_err(bad)?;
        let per_chunk = self.rows_per_chunk(desc, row_bytes)?;
        let mut scratch = vec![0u8; piece.min(len.div_ceil(4) * 4)];
        let mut chunks = Vec::new();
        let mut row0 = 0;
        while row0 < desc.rows {
            let rows = per_chunk.min(desc.rows - row0);
            let buf = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&desc.name),
                size: layout::chunk_buffer_bytes(rows, row_bytes),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false, // (zeroed on creation: the padding stays 0)
            });
            let (start, end) = (row0 * row_bytes, (row0 + rows) * row_bytes);
            let mut at = start;
            while at < end {
                let n = piece.min(end - at);
                let padded = n.div_ceil(4) * 4; // (only the chunk's last piece is short)
                scratch[n..padded].fill(0);
                read(at, &mut scratch[..n]).map_err(bad)?;
                self.gpu
                    .queue
                    .write_buffer(&buf, (at - start) as u64, &scratch[..padded]);
                at += n;
            }
            chunks.push(Chunk {
                buf,
                offset: 0,
                row0,
                rows,
            });
            row0 += rows;
        }
        Ok(Weight {
            ty: desc.ty,
            rows: desc.rows,
            cols: desc.cols,
            row_bytes,
            chunks,
            vector: None,
        })
    }

    /// The weight product's kernel for `w` and `n_tok` token rows.
    fn product_op(&self, w: &Weight, n_tok: usize) -> &'static str {
        match (n_tok, self.matvec, self.matmul) {
            (1, MatvecKernel::RowPerThread, _) => "matvec",
            (1, MatvecKernel::RowsPerWorkgroup, _) if w.cols % 32 == 0 => "matvec_rows",
            (1, _, _) => "matvec_coop",
            (_, _, MatmulKernel::RowPerThread) => "matmul",
            (_, _, MatmulKernel::Wide)
                if self.gpu.device.limits().max_compute_workgroup_storage_size
                    >= WIDE_WORKGROUP_BYTES =>
            {
                "matmul_wide"
            }
            (_, _, MatmulKernel::Tiled | MatmulKernel::Wide) => "matmul_tiled",
        }
    }

    /// Whether `x · wᵀ` runs on matvec_rows, the kernel with the fused decode steps (`Fuse`).
    fn fusable(&self, w: &Weight, x: &Tensor) -> bool {
        x.rows == 1 && self.product_op(w, 1) == "matvec_rows"
    }

    fn check_product(&self, op: &'static str, w: &Weight, x: &Tensor) -> Result<(), GpuError> {
        if x.cols != w.cols {
            return Err(shape(
                op,
                format!("x has {} columns, weight {}", x.cols, w.cols),
            ));
        }
        Self::check_cols4(op, w.cols)
    }

    /// `out[t][col0 + r] = Σ_k w[r][k] · x[t][k]` (or what `fuse` makes of it) for every chunk of
    /// `w`; `out` is `(x.rows, n)` with n ≥ col0 + w.rows (several products can fill one tensor).
    /// `fuse` other than NONE needs `fusable(w, x)`.
    fn product(
        &mut self,
        w: &Weight,
        x: &Tensor,
        out: &Tensor,
        col0: usize,
        fuse: &Fuse,
    ) -> Result<(), GpuError> {
        if x.rows == 0 {
            return Ok(());
        }
        let op = self.product_op(w, x.rows);
        let fused = fuse.norm.is_some() || fuse.add || fuse.glu.is_some();
        if fused && op != "matvec_rows" {
            return Err(shape(op, "fused steps need matvec_rows".into()));
        }
        let n = x.rows as u32;
        let table = self.gelu_table(); // (a stand-in for matvec_rows' G when not normed)
        for c in &w.chunks {
            // workgroups along the weight rows (a 2-D grid past 65535) and along the tokens
            let rows = c.rows as u32;
            let (row_groups, tiles) = match op {
                "matvec_coop" => (rows, 1),
                "matvec_rows" => {
                    let shape = self.pipelines.matvec;
                    match fuse.glu {
                        Some((_, gate_rows)) => ((gate_rows as u32).div_ceil(shape.glu_rows()), 1),
                        None => (rows.div_ceil(shape.rows), 1),
                    }
                }
                "matmul_tiled" => (rows.div_ceil(TILED_BR), n.div_ceil(TILED_BT)),
                "matmul_wide" => (rows.div_ceil(WIDE_BR), n.div_ceil(WIDE_BT)),
                "matmul" => (rows.div_ceil(WG), n.div_ceil(MATMUL_TILE_T)),
                _ => (rows.div_ceil(WG), 1), // matvec
            };
            let (gx, gy) = grid(row_groups);
            let glu_flag = match fuse.glu {
                Some((GatedActivation::Silu, _)) => MAT_GLU_SILU,
                Some((GatedActivation::Gelu, _)) => MAT_GLU_GELU,
                None => 0,
            };
            let p = MatParams {
                rows: c.rows as u32,
                cols: w.cols as u32,
                row_bytes: w.row_bytes as u32,
                out_offset: (col0 + c.row0) as u32,
                n_out: out.cols as u32,
                grid_x: gx,
                n_tok: x.rows as u32,
                flags: fuse.norm.map_or(0, |_| MAT_NORM)
                    | if fuse.add { MAT_ADD } else { 0 }
                    | glu_flag,
                eps: fuse.norm.map_or(0.0, |(_, eps)| eps),
                glu_rows: fuse.glu.map_or(0, |(_, g)| g as u32),
                _pad: [0; 2],
            };
            let weight = Res::Range(&c.buf, c.offset, c.bound_bytes(w.row_bytes));
            let mut res = vec![
                weight,
                Res::Whole(x.buffer()),
                Res::Whole(out.buffer()),
                Res::Param(bytemuck::bytes_of(&p)),
            ];
            if op == "matvec_rows" {
                res.push(Res::Whole(fuse.norm.map_or(&table, |(g, _)| g)));
                res.push(Res::Whole(&table));
            }
            self.dispatch_res(op, Some(w.ty), &res, (gx, gy, tiles))?;
        }
        Ok(())
    }

    /// The norm weight's device vector, checked against the group size.
    fn norm_vector<'w>(
        weight: &'w Weight,
        group: usize,
        cols: usize,
    ) -> Result<&'w wgpu::Buffer, GpuError> {
        let (wbuf, w) = weight
            .vector
            .as_ref()
            .ok_or_else(|| shape("rms_norm", "weight is not a vector".into()))?;
        if group == 0 || w.len() != group || cols % group != 0 {
            return Err(shape(
                "rms_norm",
                format!("weight {} / group {group} / row {cols}", w.len()),
            ));
        }
        Ok(wbuf)
    }

    /// `out = rms_norm(x)·weight` over `group`-element slices, or `out += …` with `add`.
    fn norm_into(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        group: usize,
        eps: f32,
        out: &Tensor,
        add: bool,
    ) -> Result<(), GpuError> {
        let wbuf = Self::norm_vector(weight, group, x.cols)?.clone();
        if out.rows != x.rows || out.cols != x.cols {
            return Err(shape(
                "rms_norm",
                format!("{}×{} into {}×{}", x.rows, x.cols, out.rows, out.cols),
            ));
        }
        let n_groups = (x.rows * x.cols / group) as u32;
        if n_groups == 0 {
            return Ok(());
        }
        let (gx, gy) = grid(n_groups);
        #[repr(C)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        struct P {
            group: u32,
            n_groups: u32,
            eps: f32,
            grid_x: u32,
            add: u32,
            _pad: [u32; 3],
        }
        let p = P {
            group: group as u32,
            n_groups,
            eps,
            grid_x: gx,
            add: add as u32,
            _pad: [0; 3],
        };
        self.dispatch(
            "rms_norm",
            None,
            &[x.buffer(), &wbuf, out.buffer()],
            &[bytemuck::bytes_of(&p)],
            (gx, gy, 1),
        )
    }

    /// `act(gate) · up` of `cols` columns per row, read from column `g0` of `gate`'s rows and
    /// `u0` of `up`'s (both tensors of one row length; they may be the same tensor).
    fn gated_columns(
        &mut self,
        (gate, g0): (&Tensor, usize),
        (up, u0): (&Tensor, usize),
        cols: usize,
        act: GatedActivation,
    ) -> Result<Tensor, GpuError> {
        self.activation_columns((gate, g0), (up, u0), cols, act, false)
    }

    /// `gated_columns`, or with `ungated` `act(gate)` alone (`up` bound but not read).
    fn activation_columns(
        &mut self,
        (gate, g0): (&Tensor, usize),
        (up, u0): (&Tensor, usize),
        cols: usize,
        act: GatedActivation,
        ungated: bool,
    ) -> Result<Tensor, GpuError> {
        let out = self.alloc(gate.rows, cols);
        let n = gate.rows * cols;
        if n == 0 {
            return Ok(out);
        }
        let table = self.gelu_table();
        let (groups, grid_x) = Self::elementwise(n);
        let act = match act {
            GatedActivation::Silu => 0u32,
            GatedActivation::Gelu => 1,
        };
        let p = [
            n as u32,
            act,
            grid_x,
            cols as u32,
            gate.cols as u32,
            g0 as u32,
            u0 as u32,
            ungated as u32,
        ];
        self.dispatch(
            "gated_activation",
            None,
            &[gate.buffer(), up.buffer(), out.buffer(), &table],
            &[bytemuck::bytes_of(&p)],
            groups,
        )?;
        Ok(out)
    }

    fn gelu_table(&mut self) -> wgpu::Buffer {
        if self.gelu.is_none() {
            let t = host::gelu_table();
            self.gelu = Some(self.storage_init("gelu table", bytemuck::cast_slice(&t)));
        }
        self.gelu.clone().expect("just set")
    }

    fn check_cols4(op: &'static str, cols: usize) -> Result<(), GpuError> {
        if cols % 4 != 0 {
            return Err(shape(
                op,
                format!("row length {cols} is not a multiple of 4"),
            ));
        }
        Ok(())
    }

    /// Element-wise dispatch geometry for n elements: (x, y, 1) and grid_x.
    fn elementwise(n: usize) -> ((u32, u32, u32), u32) {
        let (x, y) = grid((n as u32).div_ceil(WG));
        ((x, y, 1), x)
    }

    /// `a op= b` for two tensors of one shape (add.wgsl's entry points `add` and `div`).
    fn binary_in_place(
        &mut self,
        op: &'static str,
        a: &mut Tensor,
        b: &Tensor,
    ) -> Result<(), GpuError> {
        if a.rows != b.rows || a.cols != b.cols {
            return Err(shape(
                op,
                format!("{}×{} vs {}×{}", a.rows, a.cols, b.rows, b.cols),
            ));
        }
        let n = a.rows * a.cols;
        if n == 0 {
            return Ok(());
        }
        let (groups, grid_x) = Self::elementwise(n);
        let p = [n as u32, grid_x, 0, 0];
        self.dispatch(
            op,
            None,
            &[a.buffer(), b.buffer()],
            &[bytemuck::bytes_of(&p)],
            groups,
        )
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MatParams {
    rows: u32,
    cols: u32,
    row_bytes: u32,
    out_offset: u32,
    n_out: u32,
    grid_x: u32,
    n_tok: u32,
    flags: u32,
    eps: f32,
    glu_rows: u32,
    _pad: [u32; 2],
}

/// matvec_rows' fused steps (MatParams::flags, as in the shader).
const MAT_NORM: u32 = 1;
const MAT_ADD: u32 = 2;
const MAT_GLU_SILU: u32 = 4;
const MAT_GLU_GELU: u32 = 8;

/// What matvec_rows folds into a product (see shaders/matvec_rows.wgsl).
struct Fuse<'a> {
    /// rms_norm the input first: (norm weight, eps).
    norm: Option<(&'a wgpu::Buffer, f32)>,
    /// Add to the output instead of overwriting it.
    add: bool,
    /// The weight is [gate; up] of this many gate rows: write act(gate)·up.
    glu: Option<(GatedActivation, usize)>,
}

impl Fuse<'_> {
    const NONE: Fuse<'static> = Fuse {
        norm: None,
        add: false,
        glu: None,
    };
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EmbedParams {
    cols: u32,
    row_bytes: u32,
    row0: u32,
    rows: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AttnParams {
    head_dim: u32,
    n_head: u32,
    group: u32,
    kv_dim: u32,
    pos0: u32,
    window: u32,
    n_keys: u32,
    mode: u32,
    /// kq_scale, divided by the softcap when there is one (as ggml: the quotient once)
    kq_scale: f32,
    /// 0 = none
    softcap: f32,
    _pad: [u32; 2],
}

impl Backend for GpuBackend {
    type Tensor = Tensor;
    type Weight = Weight;
    type Error = GpuError;

    fn load_weight(&mut self, desc: &WeightDesc, bytes: &[u8]) -> Result<Weight, GpuError> {
        let bad = |problem: String| GpuError::BadWeight {
            name: desc.name.clone(),
            problem,
        };
        // (an earlier upload may have failed asynchronously, or the device been lost)
        self.gpu.check()?;
        if !layout::supported(desc.ty) {
            return Err(bad(format!("type {} has no GPU kernel", desc.ty.name())));
        }
        let row_bytes = desc.row_bytes_checked(bytes.len()).map_err(bad)?;
        let per_chunk = self.rows_per_chunk(desc, row_bytes)?;
        let mut chunks = Vec::new();
        let mut row0 = 0;
        while row0 < desc.rows {
            let rows = per_chunk.min(desc.rows - row0);
            let size = layout::chunk_buffer_bytes(rows, row_bytes);
            let src = &bytes[row0 * row_bytes..(row0 + rows) * row_bytes];
            let buf = self.weight_buffer(&desc.name, size, src);
            chunks.push(Chunk {
                buf,
                offset: 0,
                row0,
                rows,
            });
            row0 += rows;
        }
        let vector = if desc.rows == 1 {
            let mut v = vec![0.0f32; desc.cols];
            quant::dequantize_row(desc.ty, bytes, &mut v)?;
            let buf = self.storage_init(&desc.name, bytemuck::cast_slice(&v));
            Some((buf, v))
        } else {
            None
        };
        Ok(Weight {
            ty: desc.ty,
            rows: desc.rows,
            cols: desc.cols,
            row_bytes,
            chunks,
            vector,
        })
    }

    fn init_kv_cache(
        &mut self,
        n_layer: usize,
        n_ctx: usize,
        kv_dim: usize,
    ) -> Result<(), GpuError> {
        if kv_dim % 2 != 0 {
            return Err(GpuError::Cache(format!(
                "kv_dim {kv_dim} is odd (f16 pairs)"
            )));
        }
        let bytes = (n_ctx as u64)
            .checked_mul(kv_dim as u64 * 2)
            .ok_or_else(|| GpuError::Cache("size overflows".into()))?;
        if bytes > self.gpu.max_chunk_bytes() {
            return Err(GpuError::Cache(format!(
                "{n_ctx} positions × {kv_dim} f16 = {bytes} B per layer exceeds the adapter's binding limit ({} B); use a smaller context",
                self.gpu.max_chunk_bytes()
            )));
        }
        let make = |name: &str| {
            // zeroed by wgpu on creation
            self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: bytes.max(4),
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        self.cache = Some(KvCache {
            n_ctx,
            kv_dim,
            k: (0..n_layer).map(|_| make("k cache")).collect(),
            v: (0..n_layer).map(|_| make("v cache")).collect(),
        });
        Ok(())
    }

    fn embed(&mut self, table: &Weight, ids: &[u32]) -> Result<Tensor, GpuError> {
        Self::check_cols4("embed", table.cols)?;
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= table.rows) {
            return Err(shape(
                "embed",
                format!("token id {id} ≥ {} rows", table.rows),
            ));
        }
        let out = self.alloc(ids.len(), table.cols);
        if ids.is_empty() {
            return Ok(out);
        }
        let ids_buf = self.storage_init("ids", bytemuck::cast_slice(ids));
        for c in &table.chunks {
            let p = EmbedParams {
                cols: table.cols as u32,
                row_bytes: table.row_bytes as u32,
                row0: c.row0 as u32,
                rows: c.rows as u32,
            };
            let gx = (table.cols as u32).div_ceil(32 * WG); // 32 elements per thread
            self.dispatch_res(
                "embed",
                Some(table.ty),
                &[
                    Res::Range(&c.buf, c.offset, c.bound_bytes(table.row_bytes)),
                    Res::Whole(&ids_buf),
                    Res::Whole(out.buffer()),
                    Res::Param(bytemuck::bytes_of(&p)),
                ],
                (gx, ids.len() as u32, 1),
            )?;
        }
        Ok(out)
    }

    fn matmul(&mut self, w: &Weight, x: &Tensor) -> Result<Tensor, GpuError> {
        self.check_product("matmul", w, x)?;
        let out = self.alloc(x.rows, w.rows);
        self.product(w, x, &out, 0, &Fuse::NONE)?;
        Ok(out)
    }

    fn add_bias(&mut self, x: &mut Tensor, bias: &Weight) -> Result<(), GpuError> {
        let (_, b) = bias
            .vector
            .as_ref()
            .ok_or_else(|| shape("add_bias", "bias is not a vector".into()))?;
        if b.len() != x.cols {
            return Err(shape(
                "add_bias",
                format!("bias {} vs {} columns", b.len(), x.cols),
            ));
        }
        // broadcast on the host side of the graph: a (rows, n) copy of the bias, then `add`
        let tiled: Vec<f32> = (0..x.rows).flat_map(|_| b.iter().copied()).collect();
        let t = self.upload(&tiled, x.rows, x.cols)?;
        self.add(x, &t)
    }

    fn rms_norm(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        group: usize,
        eps: f32,
    ) -> Result<Tensor, GpuError> {
        let out = self.alloc(x.rows, x.cols);
        self.norm_into(x, weight, group, eps, &out, false)?;
        Ok(out)
    }

    fn layer_norm(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        bias: &Weight,
        group: usize,
        eps: f32,
    ) -> Result<Tensor, GpuError> {
        let wbuf = Self::norm_vector(weight, group, x.cols)?.clone();
        let bbuf = Self::norm_vector(bias, group, x.cols)?.clone();
        let out = self.alloc(x.rows, x.cols);
        let n_groups = (x.rows * x.cols / group) as u32;
        if n_groups == 0 {
            return Ok(out);
        }
        let (gx, gy) = grid(n_groups);
        let p = [group as u32, n_groups, eps.to_bits(), gx];
        self.dispatch(
            "layer_norm",
            None,
            &[x.buffer(), &wbuf, &bbuf, out.buffer()],
            &[bytemuck::bytes_of(&p)],
            (gx, gy, 1),
        )?;
        Ok(out)
    }

    fn rope(
        &mut self,
        x: &mut Tensor,
        pos0: usize,
        p: &RopeParams,
        freq_factors: Option<&Weight>,
    ) -> Result<(), GpuError> {
        if p.head_dim == 0 || x.cols % p.head_dim != 0 || p.n_rot > p.head_dim || p.n_rot % 2 != 0 {
            return Err(shape(
                "rope",
                format!(
                    "row {} / head_dim {} / n_rot {}",
                    x.cols, p.head_dim, p.n_rot
                ),
            ));
        }
        if x.rows == 0 || p.n_rot == 0 {
            return Ok(());
        }
        let cs = self.rope_table(pos0, x.rows, p, freq_factors)?;
        let n_heads = (x.cols / p.head_dim) as u32;
        #[repr(C)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        struct P {
            head_dim: u32,
            n_rot: u32,
            n_heads: u32,
            neox: u32,
        }
        let params = P {
            head_dim: p.head_dim as u32,
            n_rot: p.n_rot as u32,
            n_heads,
            neox: (p.style == RopeStyle::Neox) as u32,
        };
        let gx = (n_heads * p.n_rot as u32 / 2).div_ceil(WG);
        self.dispatch(
            "rope",
            None,
            &[x.buffer()],
            &[bytemuck::cast_slice(&cs), bytemuck::bytes_of(&params)],
            (gx, x.rows as u32, 1),
        )
    }

    fn scale(&mut self, x: &mut Tensor, s: f32) -> Result<(), GpuError> {
        let n = x.rows * x.cols;
        if n == 0 {
            return Ok(());
        }
        let (groups, grid_x) = Self::elementwise(n);
        let p = [n as u32, s.to_bits(), grid_x, 0];
        self.dispatch(
            "scale",
            None,
            &[x.buffer()],
            &[bytemuck::bytes_of(&p)],
            groups,
        )
    }

    fn add(&mut self, a: &mut Tensor, b: &Tensor) -> Result<(), GpuError> {
        self.binary_in_place("add", a, b)
    }

    fn div(&mut self, a: &mut Tensor, b: &Tensor) -> Result<(), GpuError> {
        self.binary_in_place("div", a, b)
    }

    fn gated_activation(
        &mut self,
        gate: &Tensor,
        up: &Tensor,
        act: GatedActivation,
    ) -> Result<Tensor, GpuError> {
        if gate.rows != up.rows || gate.cols != up.cols {
            return Err(shape(
                "gated_activation",
                format!("{}×{} vs {}×{}", gate.rows, gate.cols, up.rows, up.cols),
            ));
        }
        self.gated_columns((gate, 0), (up, 0), gate.cols, act)
    }

    fn activation(&mut self, x: &Tensor, act: GatedActivation) -> Result<Tensor, GpuError> {
        self.activation_columns((x, 0), (x, 0), x.cols, act, true)
    }

    fn store_kv(
        &mut self,
        layer: usize,
        pos0: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(), GpuError> {
        if k.rows != v.rows || k.cols != v.cols {
            return Err(shape(
                "store_kv",
                format!("{}×{} vs {}×{}", k.rows, k.cols, v.rows, v.cols),
            ));
        }
        let cache = self
            .cache
            .as_ref()
            .ok_or_else(|| GpuError::Cache("not initialised".into()))?;
        if k.cols != cache.kv_dim || pos0 + k.rows > cache.n_ctx || layer >= cache.k.len() {
            return Err(GpuError::Cache(format!(
                "cannot store {} rows of {} at position {pos0} in layer {layer}",
                k.rows, k.cols
            )));
        }
        if k.rows == 0 {
            return Ok(());
        }
        let (kc, vc, kv_dim) = (cache.k[layer].clone(), cache.v[layer].clone(), cache.kv_dim);
        let p = [kv_dim as u32, pos0 as u32, k.rows as u32, 0];
        let gx = (kv_dim as u32 / 2).div_ceil(WG);
        self.dispatch(
            "store_kv",
            None,
            &[k.buffer(), v.buffer(), &kc, &vc],
            &[bytemuck::bytes_of(&p)],
            (gx, k.rows as u32, 1),
        )
    }

    fn attention(&mut self, q: &Tensor, p: &AttentionParams) -> Result<Tensor, GpuError> {
        let cache = self
            .cache
            .as_ref()
            .ok_or_else(|| GpuError::Cache("not initialised".into()))?;
        if q.cols != p.n_head * p.head_dim
            || p.n_head_kv == 0
            || p.n_head % p.n_head_kv != 0
            || p.n_head_kv * p.head_dim != cache.kv_dim
            || p.pos0 + q.rows > cache.n_ctx
            || p.layer >= cache.k.len()
            || p.head_dim > ATTN_HEAD_DIM_MAX
        {
            return Err(shape(
                "attention",
                format!(
                    "q {}×{} with {} heads of {} at {} (head sizes up to {ATTN_HEAD_DIM_MAX})",
                    q.rows, q.cols, p.n_head, p.head_dim, p.pos0
                ),
            ));
        }
        let (kc, vc, kv_dim) = (
            cache.k[p.layer].clone(),
            cache.v[p.layer].clone(),
            cache.kv_dim,
        );
        let out = self.alloc(q.rows, q.cols);
        if q.rows == 0 {
            return Ok(out);
        }
        let n_keys = p.pos0 + q.rows;
        // (rows · n_head, 2 · n_keys) f32 scratch, recycled like an activation
        let scratch = self.alloc(q.rows * p.n_head, 2 * n_keys);
        let params = AttnParams {
            head_dim: p.head_dim as u32,
            n_head: p.n_head as u32,
            group: (p.n_head / p.n_head_kv) as u32,
            kv_dim: kv_dim as u32,
            pos0: p.pos0 as u32,
            window: p.window.unwrap_or(0) as u32,
            n_keys: n_keys as u32,
            mode: (q.rows >= TILED_MIN_ROWS) as u32,
            kq_scale: p.softcap.map_or(p.kq_scale, |cap| p.kq_scale / cap),
            softcap: p.softcap.unwrap_or(0.0),
            _pad: [0; 2],
        };
        self.dispatch(
            "attention",
            None,
            &[q.buffer(), &kc, &vc, scratch.buffer(), out.buffer()],
            &[bytemuck::bytes_of(&params)],
            (p.n_head as u32, q.rows as u32, 1),
        )?;
        Ok(out)
    }

    fn moe_route(
        &mut self,
        logits: &Tensor,
        k: usize,
        norm: bool,
    ) -> Result<(Tensor, Tensor), GpuError> {
        if k == 0 || k > logits.cols {
            return Err(shape(
                "moe_route",
                format!("top {k} of {} experts", logits.cols),
            ));
        }
        let ids = self.alloc(logits.rows, k);
        let weights = self.alloc(logits.rows, k);
        if logits.rows > 0 {
            let p = [
                logits.rows as u32,
                logits.cols as u32,
                k as u32,
                norm as u32,
            ];
            let groups = ((logits.rows as u32).div_ceil(WG), 1, 1);
            self.dispatch(
                "moe_route",
                None,
                &[logits.buffer(), ids.buffer(), weights.buffer()],
                &[bytemuck::bytes_of(&p)],
                groups,
            )?;
        }
        Ok((ids, weights))
    }

    fn matmul_id(
        &mut self,
        w: &Weight,
        n_expert: usize,
        x: &Tensor,
        ids: &Tensor,
    ) -> Result<Tensor, GpuError> {
        let k = ids.cols;
        let pairs = ids.rows * k;
        if n_expert == 0 || !w.rows.is_multiple_of(n_expert) || k == 0 || x.cols != w.cols {
            return Err(shape(
                "matmul_id",
                format!(
                    "weight {}×{} as {n_expert} experts, x {}×{}, ids {}×{k}",
                    w.rows, w.cols, x.rows, x.cols, ids.rows
                ),
            ));
        }
        // one input row for all of a row's slots (up, gate), or one per slot (down)
        let shared = match x.rows {
            r if r == ids.rows => 1,
            r if r == pairs => 0,
            r => {
                return Err(shape(
                    "matmul_id",
                    format!("x has {r} rows for {} rows of {k} experts", ids.rows),
                ))
            }
        };
        Self::check_cols4("matmul_id", w.cols)?;
        let per_expert = w.rows / n_expert;
        if pairs > 65535 {
            return Err(shape("matmul_id", format!("{pairs} (row, expert) pairs")));
        }
        let out = self.alloc(pairs, per_expert);
        if pairs == 0 {
            return Ok(out);
        }
        let (gx, gy) = grid((per_expert as u32).div_ceil(WG));
        for c in &w.chunks {
            let p = MatParams {
                rows: c.rows as u32,
                cols: w.cols as u32,
                row_bytes: w.row_bytes as u32,
                out_offset: c.row0 as u32,
                n_out: per_expert as u32,
                grid_x: gx,
                n_tok: pairs as u32,
                flags: k as u32,
                eps: 0.0,
                glu_rows: shared,
                _pad: [0; 2],
            };
            let res = [
                Res::Range(&c.buf, c.offset, c.bound_bytes(w.row_bytes)),
                Res::Whole(x.buffer()),
                Res::Whole(out.buffer()),
                Res::Param(bytemuck::bytes_of(&p)),
                Res::Whole(ids.buffer()),
            ];
            self.dispatch_res("matmul_id", Some(w.ty), &res, (gx, gy, pairs as u32))?;
        }
        Ok(out)
    }

    fn moe_combine(&mut self, y: &Tensor, weights: &Tensor) -> Result<Tensor, GpuError> {
        let (rows, k) = (weights.rows, weights.cols);
        if k == 0 || y.rows != rows * k {
            return Err(shape(
                "moe_combine",
                format!("{} expert outputs for {rows} rows of {k} weights", y.rows),
            ));
        }
        let out = self.alloc(rows, y.cols);
        let n = rows * y.cols;
        if n > 0 {
            let (groups, grid_x) = Self::elementwise(n);
            let p = [rows as u32, y.cols as u32, k as u32, grid_x];
            self.dispatch(
                "moe_combine",
                None,
                &[y.buffer(), weights.buffer(), out.buffer()],
                &[bytemuck::bytes_of(&p)],
                groups,
            )?;
        }
        Ok(out)
    }

    fn last_row(&mut self, x: &Tensor) -> Result<Tensor, GpuError> {
        let r = x
            .rows
            .checked_sub(1)
            .ok_or(shape("last_row", "no rows".into()))?;
        let out = self.alloc(1, x.cols);
        let bytes = (4 * x.cols) as u64;
        if bytes > 0 {
            let (src, dst) = (x.buffer().clone(), out.buffer().clone());
            self.encoder()
                .copy_buffer_to_buffer(&src, r as u64 * bytes, &dst, 0, bytes);
        }
        Ok(out)
    }

    fn read(&mut self, x: &Tensor) -> Result<Vec<f32>, GpuError> {
        let n = x.rows * x.cols;
        if n == 0 {
            self.flush();
            return Ok(Vec::new());
        }
        let buf = x.buffer().clone();
        let bytes = match self.take_pending_read(&buf, (4 * n) as u64)? {
            Some(bytes) => bytes,
            None => self.read_bytes(&buf, (4 * n) as u64)?,
        };
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn begin_read(&mut self, x: &Tensor) -> Result<(), GpuError> {
        self.gpu.check()?;
        // A read started earlier and never taken is abandoned (its map may still be in flight).
        if let Some(p) = self.pending_read.take() {
            p.staging.destroy();
        }
        let bytes = (4 * x.rows * x.cols).max(4) as u64;
        let staging = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let src = x.buffer().clone();
        self.encoder()
            .copy_buffer_to_buffer(&src, 0, &staging, 0, bytes);
        self.flush();
        self.read_id += 1;
        let id = self.read_id;
        let signals: SharedSignals = self.gpu.signals.clone();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let mut s = lock(&signals);
            // (a late callback of an abandoned, older read must not hide a newer one's outcome)
            if s.read.as_ref().is_none_or(|(done, _)| *done < id) {
                s.read = Some((id, r.map_err(|e| e.to_string())));
            }
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        });
        self.pending_read = Some(PendingRead {
            id,
            src,
            bytes,
            staging,
        });
        Ok(())
    }

    fn stack_weights(&mut self, ws: &mut [&mut Weight]) -> Result<(), GpuError> {
        self.stack(ws)
    }

    fn attention_input(
        &mut self,
        x: &Tensor,
        a: &AttnInput<'_, Weight>,
    ) -> Result<Tensor, GpuError> {
        self.fused_attention_input(x, a)
    }

    fn ffn_input(&mut self, x: &Tensor, f: &FfnInput<'_, Weight>) -> Result<Tensor, GpuError> {
        self.fused_ffn_input(x, f)
    }

    fn matmul_add(&mut self, w: &Weight, x: &Tensor, acc: &mut Tensor) -> Result<(), GpuError> {
        self.fused_matmul_add(w, x, acc)
    }

    fn rms_norm_add(
        &mut self,
        x: &Tensor,
        weight: &Weight,
        group: usize,
        eps: f32,
        acc: &mut Tensor,
    ) -> Result<(), GpuError> {
        self.norm_into(x, weight, group, eps, acc, true)
    }

    fn norm_matmul(
        &mut self,
        x: &Tensor,
        norm: &Weight,
        group: usize,
        eps: f32,
        w: &Weight,
    ) -> Result<Tensor, GpuError> {
        self.fused_norm_matmul(x, norm, group, eps, w)
    }

    fn read_ready(&mut self) -> Result<bool, GpuError> {
        let Some(id) = self.pending_read.as_ref().map(|p| p.id) else {
            return Ok(true);
        };
        #[cfg(not(target_arch = "wasm32"))]
        self.gpu
            .device
            .poll(wgpu::PollType::Poll)
            .map_err(|e| GpuError::Wgpu(e.to_string()))?;
        self.gpu.check()?;
        match &lock(&self.gpu.signals).read {
            Some((done, Ok(()))) if *done == id => Ok(true),
            Some((done, Err(e))) if *done == id => {
                Err(GpuError::Wgpu(format!("reading from the GPU failed: {e}")))
            }
            _ => Ok(false),
        }
    }
}

/// `GpuBackend::read_wait`'s future: ready when read `id` completed or the device reported an
/// error (or lost itself).
struct ReadWait {
    signals: SharedSignals,
    id: Option<u64>,
}

impl Future for ReadWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(id) = self.id else {
            return Poll::Ready(());
        };
        let mut s = lock(&self.signals);
        let done = s.error.is_some() || s.read.as_ref().is_some_and(|(d, _)| *d == id);
        if done {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
