//! `model::Backend` on CUDA. Activations are f32 row-major `(rows, cols)` in the arena; a
//! tensor may also carry the same values as Q8_1 blocks (what a decode matvec reads) or f16
//! (what a prefill GEMM reads) when the kernel that made it wrote those too, which saves a
//! conversion launch per projection. Weights keep their GGUF bytes (vectors become f32).

use crate::arena::Arena;
use crate::blas::Blas;
use crate::compile::{self, Kernels};
use crate::driver::{DevBuf, Gpu};
use crate::kernels::*;
use crate::launch::{Args, Launch, LaunchStats, Queue};
use crate::CudaError;
use model::backend::{
    AttentionParams, AttnInput, Backend, FfnInput, GatedActivation, MemoryPlan, RopeParams,
    RopeStyle, WeightDesc,
};
use quant::GgmlType;

/// Rows of a weight dequantized to f16 at a time for a prefill GEMM (bounds that scratch).
const GEMM_TILE_ELEMS: usize = 32 << 20;
/// Activation memory to start with when no plan came (it grows as needed).
const DEFAULT_ARENA_BYTES: usize = 64 << 20;
/// What the context, cuBLAS and its workspaces take beyond our own buffers (an estimate).
const DRIVER_RESERVE_BYTES: u64 = 512 << 20;

pub struct CudaWeight {
    /// Keeps the bytes alive; `ptr` points into it.
    _buf: DevBuf,
    ptr: u64,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    row_bytes: usize,
    name: String,
}

impl CudaWeight {
    fn is_float(&self) -> bool {
        matches!(self.ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
    }

    fn seg(&self, out_col: usize) -> MvSeg {
        MvSeg {
            w: self.ptr,
            ty: self.ty as u32 as i32,
            rows: self.rows as i32,
            row_bytes: self.row_bytes as i32,
            out_col: out_col as i32,
        }
    }
}

/// An activation in the arena; valid for the forward pass (arena epoch) it was made in.
#[derive(Clone, Debug)]
pub struct CudaTensor {
    ptr: u64,
    rows: usize,
    cols: usize,
    epoch: u64,
    /// The same values as Q8_1 blocks, when the producing kernel wrote them.
    q8: Option<u64>,
    /// The same values as f16, when the producing kernel wrote them.
    f16: Option<u64>,
}

impl CudaTensor {
    fn n(&self) -> usize {
        self.rows * self.cols
    }

    /// After an in-place write the side copies are stale.
    fn modified(&mut self) {
        self.q8 = None;
        self.f16 = None;
    }
}

struct KvCache {
    k: DevBuf,
    v: DevBuf,
    n_layer: usize,
    n_ctx: usize,
    kv_dim: usize,
    /// Decode attention splits the keys over this many blocks of `split_len` keys; fixed per
    /// cache so a decode step's launches are the same at every position (launch.rs).
    n_split: usize,
    split_len: usize,
}

impl KvCache {
    fn layer(&self, layer: usize) -> (u64, u64) {
        let off = (layer * self.n_ctx * self.kv_dim * 2) as u64;
        (self.k.ptr + off, self.v.ptr + off)
    }
}

pub struct CudaBackend {
    gpu: Gpu,
    kernels: Kernels,
    blas: Blas,
    queue: Queue,
    arena: Arena,
    /// Device copy of `step` (header, then the ids); uploaded at every flush.
    step_buf: DevBuf,
    step: StepHeader,
    step_ids: Vec<u32>,
    /// Whether this pass's position has been set (every op using it must agree).
    pos_set: bool,
    kv: Option<KvCache>,
    /// Dequantized weight tiles for prefill GEMMs.
    w16: Option<DevBuf>,
    /// Split-K attention's per-tile counters (zero between launches: attention.cu).
    att_counters: DevBuf,
}

fn grid1(n: usize, per_block: usize) -> (u32, u32, u32) {
    (n.div_ceil(per_block).max(1) as u32, 1, 1)
}

impl CudaBackend {
    /// Opens device 0 and compiles (or loads the cached) kernels for it.
    pub fn new() -> Result<CudaBackend, CudaError> {
        let gpu = Gpu::open()?;
        gpu.bind()?;
        let cc = gpu.compute_capability;
        let kernels = match Kernels::load(&compile::cubin(cc)?) {
            Ok(k) => k,
            // a stale or damaged cache file: compile afresh
            Err(_) => Kernels::load(&compile::compile_cubin(cc)?)?,
        };
        let blas = Blas::new(gpu.cu_stream())?;
        let queue = Queue::new(kernels.get("profile_hold"), cc.0 >= 9);
        let arena = Arena::new(&gpu, DEFAULT_ARENA_BYTES)?;
        let step_buf = gpu.alloc(std::mem::size_of::<StepHeader>() + 4 * model::PREFILL_CHUNK)?;
        let att_counters = gpu.alloc(4 * ATT_MAX_SPLIT_TILES)?; // zeroed
        Ok(CudaBackend {
            gpu,
            kernels,
            blas,
            queue,
            arena,
            step_buf,
            step: StepHeader::default(),
            step_ids: Vec::new(),
            pos_set: false,
            kv: None,
            w16: None,
            att_counters,
        })
    }

    /// The card's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn device_name(&self) -> &str {
        &self.gpu.name
    }

    /// Launch counts since the last call.
    pub fn take_stats(&mut self) -> LaunchStats {
        self.queue.take_stats()
    }

    /// Times the GPU work of every flush from now on (`LaunchStats::gpu_ms`), or stops.
    pub fn time_flushes(&mut self, on: bool) -> Result<(), CudaError> {
        self.gpu.bind()?;
        self.queue.time_flushes(on)
    }

    /// A tensor of this forward pass holding `data (rows, cols)` (the kernel tests feed their
    /// inputs through it). The copy is ordered before every launch still queued, which only
    /// ever touch memory allocated before this one.
    pub fn upload(
        &mut self,
        data: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<CudaTensor, CudaError> {
        if data.len() != rows * cols {
            return Err(CudaError::BadInput(format!(
                "{} values for a ({rows}, {cols}) tensor",
                data.len()
            )));
        }
        self.gpu.bind()?;
        let t = self.tensor(rows, cols)?;
        self.gpu.upload(t.ptr, data)?;
        Ok(t)
    }

    /// Per-kernel times, when WASM_CHORD_CUDA_PROFILE=1.
    pub fn profile_report(&self) -> Option<String> {
        self.queue.profile_report()
    }

    fn launch(&mut self, name: &'static str, grid: (u32, u32, u32), block: u32, args: Args) {
        self.launch_block(name, grid, (block, 1, 1), args);
    }

    fn launch_block(
        &mut self,
        name: &'static str,
        grid: (u32, u32, u32),
        block: (u32, u32, u32),
        args: Args,
    ) {
        self.queue.push(Launch {
            name,
            func: self.kernels.get(name),
            grid,
            block,
            args,
        });
    }

    /// Uploads the step and runs everything queued.
    fn flush(&mut self) -> Result<(), CudaError> {
        if self.queue.is_empty() {
            return Ok(());
        }
        let mut host: Vec<u32> = vec![self.step.pos0 as u32, self.step.n_ids as u32];
        host.extend_from_slice(&self.step_ids);
        self.gpu.upload(self.step_buf.ptr, &host)?;
        self.queue.flush(self.gpu.cu_stream())?;
        if sync_flushes() {
            self.gpu.synchronize()?;
        }
        Ok(())
    }

    /// The position every position-dependent kernel of this pass reads from the step buffer.
    fn set_pos(&mut self, pos0: usize) -> Result<(), CudaError> {
        if self.pos_set && self.step.pos0 as usize != pos0 {
            self.flush()?; // what is queued ran at the old position
        }
        self.step.pos0 = pos0 as i32;
        self.pos_set = true;
        Ok(())
    }

    fn tensor(&mut self, rows: usize, cols: usize) -> Result<CudaTensor, CudaError> {
        let ptr = self.arena.alloc(&self.gpu, rows * cols * 4)?;
        Ok(CudaTensor {
            ptr,
            rows,
            cols,
            epoch: self.arena.epoch,
            q8: None,
            f16: None,
        })
    }

    fn check(&self, ts: &[&CudaTensor]) -> Result<(), CudaError> {
        if ts.iter().any(|t| t.epoch != self.arena.epoch) {
            return Err(CudaError::BadInput(
                "internal: a tensor from an earlier forward pass was used".into(),
            ));
        }
        Ok(())
    }

    fn kv(&self) -> Result<&KvCache, CudaError> {
        self.kv
            .as_ref()
            .ok_or_else(|| CudaError::BadInput("the KV cache is not set up".into()))
    }

    /// Q8_1 blocks of x (its own when it has them).
    fn q8_of(&mut self, x: &CudaTensor) -> Result<u64, CudaError> {
        if let Some(q) = x.q8 {
            return Ok(q);
        }
        if !x.cols.is_multiple_of(32) {
            return Err(CudaError::Unsupported(format!(
                "rows of {} values (a quantized matvec needs a multiple of 32)",
                x.cols
            )));
        }
        let blocks = x.n() / 32;
        let q = self.arena.alloc(&self.gpu, blocks * Q8_1_BYTES)?;
        let args = Args::new().arg(x.ptr).arg(q).arg(blocks as i32);
        self.launch("quantize_q8_1", grid1(blocks, 8), 256, args);
        Ok(q)
    }

    /// f16 copy of x (its own when it has one).
    fn f16_of(&mut self, x: &CudaTensor) -> Result<u64, CudaError> {
        if let Some(h) = x.f16 {
            return Ok(h);
        }
        let h = self.arena.alloc(&self.gpu, x.n() * 2)?;
        let args = Args::new().arg(x.ptr).arg(h).arg(x.n() as u64);
        self.launch("f32_to_f16", grid1(x.n(), 256), 256, args);
        Ok(h)
    }

    /// `out[t][col_w + r] (=|+=) x[t] · w[r]` for each weight w of `ws`, side by side in the
    /// output row (`out_stride` floats): one matvec launch per kind of weight for a few rows,
    /// cuBLAS GEMMs beyond that.
    fn project(
        &mut self,
        ws: &[&CudaWeight],
        x: &CudaTensor,
        out: u64,
        out_stride: usize,
        add: bool,
    ) -> Result<(), CudaError> {
        self.check(&[x])?;
        for w in ws {
            if w.cols != x.cols {
                return Err(CudaError::BadInput(format!(
                    "{}: {} columns, input has {}",
                    w.name, w.cols, x.cols
                )));
            }
        }
        let mut col = 0;
        let placed: Vec<(&CudaWeight, usize)> = ws
            .iter()
            .map(|w| {
                let c = col;
                col += w.rows;
                (*w, c)
            })
            .collect();
        if x.rows > MV_MAX_TOKENS {
            let x16 = self.f16_of(x)?;
            for (w, c) in placed {
                self.gemm(w, x16, x.rows, out + 4 * c as u64, out_stride, add)?;
            }
            return Ok(());
        }
        let mode = if add { MV_ADD } else { MV_STORE };
        for float in [false, true] {
            let group: Vec<MvSeg> = placed
                .iter()
                .filter(|(w, _)| w.is_float() == float)
                .map(|(w, c)| w.seg(*c))
                .collect();
            if group.is_empty() {
                continue;
            }
            let input = if float { x.ptr } else { self.q8_of(x)? };
            self.matvec(&group, x, input, out, out_stride, mode, float);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn matvec(
        &mut self,
        segs: &[MvSeg],
        x: &CudaTensor,
        input: u64,
        out: u64,
        out_stride: usize,
        mode: i32,
        float: bool,
    ) {
        let mut a = MvArgs::default();
        a.seg[..segs.len()].copy_from_slice(segs);
        a.nseg = segs.len() as i32;
        a.total_rows = if mode >= MV_GLU_SILU {
            segs[0].rows
        } else {
            segs.iter().map(|s| s.rows).sum()
        };
        a.ncols = x.cols as i32;
        a.ntok = x.rows as i32;
        a.out_stride = out_stride as i32;
        a.mode = mode;
        let per_row = mv_threads_per_row(x.cols);
        let rows_per_block = MV_BLOCK / per_row;
        let grid = grid1(a.total_rows as usize, rows_per_block as usize);
        let (q8, f) = MATVEC_KERNELS[x.rows.next_power_of_two().trailing_zeros() as usize];
        let name = if float { f } else { q8 };
        let args = Args::new().arg(a).arg(input).arg(out);
        self.launch_block(name, grid, (per_row, rows_per_block, 1), args);
    }

    /// `out (rows, ldc) (=|+=) x16 · wᵀ` through cuBLAS, dequantizing w in tiles of rows.
    fn gemm(
        &mut self,
        w: &CudaWeight,
        x16: u64,
        rows: usize,
        out: u64,
        ldc: usize,
        add: bool,
    ) -> Result<(), CudaError> {
        let tile_rows = (GEMM_TILE_ELEMS / w.cols).clamp(1, w.rows);
        let need = tile_rows * w.cols * 2;
        if self.w16.as_ref().is_none_or(|b| b.bytes < need) {
            self.flush()?;
            self.gpu.synchronize()?; // the old scratch may still be read
            self.w16 = Some(self.gpu.alloc(need)?);
        }
        let w16 = self.w16.as_ref().unwrap().ptr;
        for r0 in (0..w.rows).step_by(tile_rows) {
            let nr = tile_rows.min(w.rows - r0);
            let args = Args::new()
                .arg(w.ptr)
                .arg(w.ty as u32 as i32)
                .arg(w.row_bytes as i32)
                .arg(w.cols as i32)
                .arg(r0 as i32)
                .arg(nr as i32)
                .arg(w16);
            self.launch("dequant_f16", grid1(nr * w.cols / 16, 256), 256, args);
            self.flush()?; // cuBLAS runs on the stream directly, after what is queued
            let beta = if add { 1.0 } else { 0.0 };
            let c = out + 4 * r0 as u64;
            self.blas.gemm(w16, x16, c, nr, rows, w.cols, ldc, beta)?;
        }
        Ok(())
    }

    /// rms_norm(x)·w over whole rows, with the side copy the next projection reads: Q8_1 for
    /// a few rows, f16 for a GEMM.
    fn norm_for_projection(
        &mut self,
        x: &CudaTensor,
        w: &CudaWeight,
        eps: f32,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[x])?;
        let mut out = self.tensor(x.rows, x.cols)?;
        let (mut q8, mut f16) = (0u64, 0u64);
        if x.rows <= MV_MAX_TOKENS && x.cols.is_multiple_of(32) {
            q8 = self.arena.alloc(&self.gpu, x.n() / 32 * Q8_1_BYTES)?;
            out.q8 = Some(q8);
        } else if x.rows > MV_MAX_TOKENS {
            f16 = self.arena.alloc(&self.gpu, x.n() * 2)?;
            out.f16 = Some(f16);
        }
        self.norm_launch(x, w, x.cols, eps, out.ptr, false, q8, f16)?;
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn norm_launch(
        &mut self,
        x: &CudaTensor,
        w: &CudaWeight,
        group: usize,
        eps: f32,
        out: u64,
        add: bool,
        q8: u64,
        f16: u64,
    ) -> Result<(), CudaError> {
        if group == 0 || !x.cols.is_multiple_of(group) || w.rows * w.cols != group {
            return Err(CudaError::BadInput(format!(
                "{}: norm of {group} values over rows of {}",
                w.name, x.cols
            )));
        }
        let args = Args::new()
            .arg(x.ptr)
            .arg(w.ptr)
            .arg(NormArgs {
                group: group as i32,
                eps,
                add: add as i32,
            })
            .arg(out)
            .arg(q8)
            .arg(f16);
        // enough warps that the Q8_1 pass (a warp per 32 values) takes one or two steps
        let block = group.next_multiple_of(32).clamp(32, 1024) as u32;
        self.launch("rms_norm", grid1(x.n() / group, 1), block, args);
        Ok(())
    }

    fn rope_args(&self, p: &RopeParams, ff: Option<&CudaWeight>) -> RopeArgs {
        RopeArgs {
            style: match p.style {
                RopeStyle::Interleaved => 0,
                RopeStyle::Neox => 1,
            },
            head_dim: p.head_dim as i32,
            n_rot: p.n_rot as i32,
            theta_scale: quant::math::powf(p.freq_base, -2.0 / p.n_rot as f32),
            freq_scale: p.freq_scale,
            attn_factor: p.attn_factor,
            freq_factors: ff.map_or(0, |w| w.ptr),
        }
    }

    fn elementwise(&mut self, name: &'static str, args: Args, n: usize) {
        self.launch(name, grid1(n, 256), 256, args.arg(n as u64));
    }

    /// `a op= b` for two tensors of one size (elementwise.cu's `add`, `div_f32`).
    fn binary_in_place(
        &mut self,
        op: &str,
        kernel: &'static str,
        a: &mut CudaTensor,
        b: &CudaTensor,
    ) -> Result<(), CudaError> {
        self.check(&[a, b])?;
        if a.n() != b.n() {
            return Err(CudaError::BadInput(format!(
                "{op} of tensors of different shapes"
            )));
        }
        self.elementwise(kernel, Args::new().arg(a.ptr).arg(b.ptr), a.n());
        a.modified();
        Ok(())
    }
}

/// `WASM_CHORD_CUDA_SYNC=1`: wait for the GPU after every flush (for telling a race between
/// the host and the GPU from a wrong kernel; slow).
fn sync_flushes() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("WASM_CHORD_CUDA_SYNC").is_ok_and(|v| v == "1"))
}

fn act_id(act: GatedActivation) -> i32 {
    match act {
        GatedActivation::Silu => 0,
        GatedActivation::Gelu => 1,
    }
}

/// Every weight type the kernels read (formats.cuh).
pub const FORMATS: [GgmlType; 13] = {
    use GgmlType::*;
    [
        F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
    ]
};

fn supported(ty: GgmlType) -> bool {
    FORMATS.contains(&ty)
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

impl Backend for CudaBackend {
    type Tensor = CudaTensor;
    type Weight = CudaWeight;
    type Error = CudaError;

    fn plan_memory(&mut self, p: &MemoryPlan) -> Result<(), CudaError> {
        let kv = 2 * (p.n_layer * p.n_ctx * p.kv_dim * 2) as u64;
        // a pass of max_rows: the residual, norms, q|k|v, the FFN's gate|up, attention,
        // the logits of every row (perplexity), and their Q8/f16 side copies; with experts,
        // each row's k expert FFNs (up, gate, act: n_ff; down: n_embd) and its router
        let ffn_rows = p.moe.map_or(1, |m| m.n_expert_used);
        let router = p.moe.map_or(0, |m| m.n_expert + 2 * m.n_expert_used);
        // qwen2moe's shared expert: its gate, up and act, its down and scaled output, its gate
        let shared = p
            .moe
            .and_then(|m| m.n_ff_shared)
            .map_or(0, |n| 3 * n + 2 * p.n_embd + 2);
        let row_floats = 8 * p.n_embd
            + 3 * p.n_ff * ffn_rows
            + p.n_embd * (ffn_rows - 1)
            + router
            + shared
            + 2 * p.kv_dim
            + p.n_vocab;
        let arena = (p.max_rows * row_floats * 4 * 3 / 2) as u64;
        let scratch = arena + (GEMM_TILE_ELEMS * 2) as u64;
        let need = p.weight_bytes + kv + scratch + DRIVER_RESERVE_BYTES;
        let (free, total) = self.gpu.mem_info()?;
        if need > free as u64 {
            return Err(CudaError::OutOfMemory(format!(
                "the model needs {:.2} GiB (weights {:.2}, KV cache {:.2} at -c {}, scratch {:.2}); \
                 the card ({}) has {:.2} GiB free of {:.2}; use a smaller -c or a smaller quantization",
                gib(need),
                gib(p.weight_bytes),
                gib(kv),
                p.n_ctx,
                gib(scratch + DRIVER_RESERVE_BYTES),
                self.gpu.name,
                gib(free as u64),
                gib(total as u64)
            )));
        }
        self.arena = Arena::new(&self.gpu, arena as usize)?;
        Ok(())
    }

    fn load_weight(&mut self, desc: &WeightDesc, bytes: &[u8]) -> Result<CudaWeight, CudaError> {
        self.gpu.bind()?;
        let bad = |m: String| CudaError::BadInput(format!("tensor '{}': {m}", desc.name));
        let row_bytes = desc.row_bytes_checked(bytes.len()).map_err(bad)?;
        if !supported(desc.ty) {
            return Err(CudaError::Unsupported(format!(
                "tensor '{}' is {}, which the CUDA kernels do not read",
                desc.name,
                desc.ty.name()
            )));
        }
        // Vectors (norms, biases, rope factors) are read as f32 by the kernels.
        if desc.rows == 1 && desc.ty != GgmlType::F32 {
            let mut f = vec![0f32; desc.cols];
            quant::dequantize_row(desc.ty, bytes, &mut f).map_err(|e| bad(e.to_string()))?;
            let buf = self.gpu.alloc(f.len() * 4)?;
            self.gpu.upload(buf.ptr, &f)?;
            return Ok(CudaWeight {
                ptr: buf.ptr,
                _buf: buf,
                ty: GgmlType::F32,
                rows: 1,
                cols: desc.cols,
                row_bytes: desc.cols * 4,
                name: desc.name.clone(),
            });
        }
        if desc.rows > 1 && !desc.cols.is_multiple_of(32) {
            return Err(CudaError::Unsupported(format!(
                "tensor '{}' has rows of {} values (a multiple of 32 is needed)",
                desc.name, desc.cols
            )));
        }
        let buf = self.gpu.alloc(bytes.len())?;
        self.gpu.upload(buf.ptr, bytes)?;
        Ok(CudaWeight {
            ptr: buf.ptr,
            _buf: buf,
            ty: desc.ty,
            rows: desc.rows,
            cols: desc.cols,
            row_bytes,
            name: desc.name.clone(),
        })
    }

    fn init_kv_cache(
        &mut self,
        n_layer: usize,
        n_ctx: usize,
        kv_dim: usize,
    ) -> Result<(), CudaError> {
        self.gpu.bind()?;
        self.gpu.synchronize()?; // uploads from pageable memory are done before loading ends
        let bytes = n_layer * n_ctx * kv_dim * 2;
        // up to 64 splits of at least 64 keys: a short context still spreads over many blocks
        // (the merge skips splits with no keys yet); WASM_CHORD_CUDA_ATT_SPLITS=N caps the
        // splits (1: no split-K, for checking the merge)
        let max_splits = std::env::var("WASM_CHORD_CUDA_ATT_SPLITS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(64, |n| n.clamp(1, 64));
        let split_len = n_ctx
            .div_ceil(max_splits)
            .next_multiple_of(ATT_TILE)
            .max(64);
        self.kv = Some(KvCache {
            k: self.gpu.alloc(bytes)?,
            v: self.gpu.alloc(bytes)?,
            n_layer,
            n_ctx,
            kv_dim,
            n_split: n_ctx.div_ceil(split_len),
            split_len,
        });
        Ok(())
    }

    fn embed(&mut self, table: &CudaWeight, ids: &[u32]) -> Result<CudaTensor, CudaError> {
        self.gpu.bind()?;
        // a new forward pass: what the last one queued runs with its own step first
        self.flush()?;
        if self.arena.needs_merge() {
            self.gpu.synchronize()?;
        }
        self.arena.reset(&self.gpu)?;
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= table.rows) {
            return Err(CudaError::BadInput(format!(
                "token id {bad} is outside the vocabulary of {}",
                table.rows
            )));
        }
        let need = std::mem::size_of::<StepHeader>() + 4 * ids.len();
        if self.step_buf.bytes < need {
            self.gpu.synchronize()?;
            self.step_buf = self.gpu.alloc(need)?;
        }
        self.step_ids = ids.to_vec();
        self.step.n_ids = ids.len() as i32;
        self.pos_set = false;
        let out = self.tensor(ids.len(), table.cols)?;
        let args = Args::new()
            .arg(table.ptr)
            .arg(table.ty as u32 as i32)
            .arg(table.row_bytes as i32)
            .arg(table.cols as i32)
            .arg(table.rows as i32)
            .arg(self.step_buf.ptr)
            .arg(1.0f32)
            .arg(out.ptr);
        let granules = table.cols / 16;
        self.launch(
            "embed",
            (granules.div_ceil(128) as u32, ids.len() as u32, 1),
            128,
            args,
        );
        Ok(out)
    }

    fn matmul(&mut self, w: &CudaWeight, x: &CudaTensor) -> Result<CudaTensor, CudaError> {
        let out = self.tensor(x.rows, w.rows)?;
        self.project(&[w], x, out.ptr, w.rows, false)?;
        Ok(out)
    }

    fn add_bias(&mut self, x: &mut CudaTensor, bias: &CudaWeight) -> Result<(), CudaError> {
        self.check(&[x])?;
        if bias.cols * bias.rows != x.cols {
            return Err(CudaError::BadInput(format!(
                "{}: bias of {} for rows of {}",
                bias.name, bias.cols, x.cols
            )));
        }
        let args = Args::new().arg(x.ptr).arg(bias.ptr).arg(x.cols as i32);
        self.elementwise("add_bias", args, x.n());
        x.modified();
        Ok(())
    }

    fn rms_norm(
        &mut self,
        x: &CudaTensor,
        weight: &CudaWeight,
        group: usize,
        eps: f32,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[x])?;
        let out = self.tensor(x.rows, x.cols)?;
        self.norm_launch(x, weight, group, eps, out.ptr, false, 0, 0)?;
        Ok(out)
    }

    fn layer_norm(
        &mut self,
        x: &CudaTensor,
        weight: &CudaWeight,
        bias: &CudaWeight,
        group: usize,
        eps: f32,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[x])?;
        let n = |w: &CudaWeight| w.rows * w.cols;
        if group == 0 || !x.cols.is_multiple_of(group) || n(weight) != group || n(bias) != group {
            return Err(CudaError::BadInput(format!(
                "{} / {}: layer norm of {group} values over rows of {}",
                weight.name, bias.name, x.cols
            )));
        }
        let out = self.tensor(x.rows, x.cols)?;
        let args = Args::new()
            .arg(x.ptr)
            .arg(weight.ptr)
            .arg(bias.ptr)
            .arg(group as i32)
            .arg(eps)
            .arg(out.ptr);
        let block = group.next_multiple_of(32).clamp(32, 1024) as u32;
        self.launch("layer_norm", grid1(x.n() / group, 1), block, args);
        Ok(out)
    }

    fn activation(
        &mut self,
        x: &CudaTensor,
        act: GatedActivation,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[x])?;
        let out = self.tensor(x.rows, x.cols)?;
        let args = Args::new().arg(x.ptr).arg(act_id(act)).arg(out.ptr);
        self.elementwise("activation", args, x.n());
        Ok(out)
    }

    fn rope(
        &mut self,
        x: &mut CudaTensor,
        pos0: usize,
        params: &RopeParams,
        freq_factors: Option<&CudaWeight>,
    ) -> Result<(), CudaError> {
        self.check(&[x])?;
        if params.head_dim > ROPE_MAX_HEAD_DIM || !x.cols.is_multiple_of(params.head_dim) {
            return Err(CudaError::Unsupported(format!(
                "RoPE over heads of {}",
                params.head_dim
            )));
        }
        self.set_pos(pos0)?;
        let n_heads = x.cols / params.head_dim;
        let args = Args::new()
            .arg(x.ptr)
            .arg(n_heads as i32)
            .arg(self.rope_args(params, freq_factors))
            .arg(self.step_buf.ptr);
        self.launch("rope", (x.rows as u32, n_heads as u32, 1), 128, args);
        x.modified();
        Ok(())
    }

    fn scale(&mut self, x: &mut CudaTensor, s: f32) -> Result<(), CudaError> {
        self.check(&[x])?;
        self.elementwise("scale", Args::new().arg(x.ptr).arg(s), x.n());
        x.modified();
        Ok(())
    }

    fn add(&mut self, a: &mut CudaTensor, b: &CudaTensor) -> Result<(), CudaError> {
        self.binary_in_place("add", "add", a, b)
    }

    fn div(&mut self, a: &mut CudaTensor, b: &CudaTensor) -> Result<(), CudaError> {
        self.binary_in_place("div", "div_f32", a, b)
    }

    fn gated_activation(
        &mut self,
        gate: &CudaTensor,
        up: &CudaTensor,
        act: GatedActivation,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[gate, up])?;
        let out = self.tensor(gate.rows, gate.cols)?;
        let args = Args::new()
            .arg(gate.ptr)
            .arg(up.ptr)
            .arg(act_id(act))
            .arg(out.ptr);
        self.elementwise("gated_activation", args, gate.n());
        Ok(out)
    }

    fn store_kv(
        &mut self,
        layer: usize,
        pos0: usize,
        k: &CudaTensor,
        v: &CudaTensor,
    ) -> Result<(), CudaError> {
        self.check(&[k, v])?;
        let kv = self.kv()?;
        if layer >= kv.n_layer || pos0 + k.rows > kv.n_ctx || k.cols != kv.kv_dim {
            return Err(CudaError::BadInput(format!(
                "store of {} rows at {pos0} in layer {layer} of a {}-position cache",
                k.rows, kv.n_ctx
            )));
        }
        let (kc, vc) = kv.layer(layer);
        let kv_dim = kv.kv_dim;
        self.set_pos(pos0)?;
        let args = Args::new()
            .arg(k.ptr)
            .arg(v.ptr)
            .arg(kv_dim as i32)
            .arg(self.step_buf.ptr)
            .arg(kc)
            .arg(vc);
        self.launch(
            "store_kv",
            (kv_dim.div_ceil(256) as u32, k.rows as u32, 1),
            256,
            args,
        );
        Ok(())
    }

    fn attention(&mut self, q: &CudaTensor, p: &AttentionParams) -> Result<CudaTensor, CudaError> {
        self.check(&[q])?;
        let kv = self.kv()?;
        let hd = p.head_dim;
        // any even head size up to 256 (attention.cu: u32 loads of key/value pairs)
        if hd == 0
            || hd > ATT_MAX_HEAD_DIM
            || !hd.is_multiple_of(2)
            || p.n_head_kv == 0
            || !p.n_head.is_multiple_of(p.n_head_kv)
        {
            return Err(CudaError::Unsupported(format!(
                "attention with heads of {hd} ({} query, {} key/value heads)",
                p.n_head, p.n_head_kv
            )));
        }
        if p.pos0 + q.rows > kv.n_ctx || p.layer >= kv.n_layer {
            return Err(CudaError::BadInput(format!(
                "attention over positions up to {} in a {}-position cache",
                p.pos0 + q.rows,
                kv.n_ctx
            )));
        }
        let (kc, vc) = kv.layer(p.layer);
        let decode = q.rows <= MV_MAX_TOKENS;
        let group = p.n_head / p.n_head_kv;
        let tiles = (q.rows * group).div_ceil(ATT_WARPS as usize) * p.n_head_kv;
        let (n_split, split_len) = if decode && tiles <= ATT_MAX_SPLIT_TILES {
            (kv.n_split, kv.split_len)
        } else {
            (1, kv.n_ctx.next_multiple_of(ATT_TILE))
        };
        let a = AttnArgs {
            rows: q.rows as i32,
            n_head: p.n_head as i32,
            n_head_kv: p.n_head_kv as i32,
            head_dim: hd as i32,
            kv_dim: kv.kv_dim as i32,
            window: p.window.map_or(0, |w| w.min(i32::MAX as usize) as i32),
            n_split: n_split as i32,
            split_len: split_len as i32,
            // with a softcap the kernel takes cap·tanh(q·k · scale), scale = kq_scale/cap
            scale: p.softcap.map_or(p.kq_scale, |cap| p.kq_scale / cap),
            softcap: p.softcap.unwrap_or(0.0),
        };
        self.set_pos(p.pos0)?;
        let mut out = self.tensor(q.rows, p.n_head * hd)?;
        // the Q8_1 copy for the output projection, where a 32-value block never spans heads
        let q8 = if decode && hd.is_multiple_of(32) {
            let q8 = self.arena.alloc(&self.gpu, out.n() / 32 * Q8_1_BYTES)?;
            out.q8 = Some(q8);
            q8
        } else {
            0
        };
        let part = if n_split > 1 {
            self.arena
                .alloc(&self.gpu, n_split * q.rows * p.n_head * (hd + 2) * 4)?
        } else {
            0
        };
        let grid = (
            (q.rows * group).div_ceil(ATT_WARPS as usize) as u32,
            p.n_head_kv as u32,
            n_split as u32,
        );
        let args = Args::new()
            .arg(q.ptr)
            .arg(kc)
            .arg(vc)
            .arg(a)
            .arg(self.step_buf.ptr)
            .arg(out.ptr)
            .arg(q8)
            .arg(part)
            .arg(self.att_counters.ptr);
        self.launch(attention_kernel(hd), grid, 32 * ATT_WARPS, args);
        Ok(out)
    }

    fn moe_route(
        &mut self,
        logits: &CudaTensor,
        k: usize,
        norm: bool,
    ) -> Result<(CudaTensor, CudaTensor), CudaError> {
        self.check(&[logits])?;
        let n_expert = logits.cols;
        if k == 0 || k > n_expert {
            return Err(CudaError::BadInput(format!(
                "top {k} of {n_expert} experts"
            )));
        }
        // (rows, k) each: ids as whole numbers in f32, weights
        let ids = self.tensor(logits.rows, k)?;
        let weights = self.tensor(logits.rows, k)?;
        let args = Args::new()
            .arg(logits.ptr)
            .arg(logits.rows as i32)
            .arg(n_expert as i32)
            .arg(k as i32)
            .arg(norm as i32)
            .arg(ids.ptr)
            .arg(weights.ptr);
        self.launch("moe_route", grid1(logits.rows, 64), 64, args);
        Ok((ids, weights))
    }

    fn matmul_id(
        &mut self,
        w: &CudaWeight,
        n_expert: usize,
        x: &CudaTensor,
        ids: &CudaTensor,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[x, ids])?;
        let k = ids.cols;
        let pairs = ids.n();
        let shape = || {
            CudaError::BadInput(format!(
                "{}: {}×{} as {n_expert} experts, x {}×{}, ids {}×{k}",
                w.name, w.rows, w.cols, x.rows, x.cols, ids.rows
            ))
        };
        if n_expert == 0 || !w.rows.is_multiple_of(n_expert) || k == 0 || x.cols != w.cols {
            return Err(shape());
        }
        // one input row per row (up, gate: shared by its k slots) or per pair (down)
        let shared = if x.rows == ids.rows {
            true
        } else if x.rows == pairs {
            false
        } else {
            return Err(shape());
        };
        if pairs > 65535 {
            return Err(CudaError::Unsupported(format!(
                "{pairs} (row, expert) pairs in one pass (65535 at most)"
            )));
        }
        let per_expert = w.rows / n_expert;
        let out = self.tensor(pairs, per_expert)?; // (pairs, per_expert)
        let a = IdArgs {
            w: w.ptr,
            ty: w.ty as u32 as i32,
            rows: per_expert as i32,
            row_bytes: w.row_bytes as i32,
            ncols: w.cols as i32,
            n_expert: n_expert as i32,
            k: k as i32,
            shared: shared as i32,
        };
        let (name, input) = if w.is_float() {
            ("matmul_id_f", x.ptr)
        } else {
            ("matmul_id_q8", self.q8_of(x)?)
        };
        let per_row = mv_threads_per_row(w.cols);
        let rows_per_block = MV_BLOCK / per_row;
        let grid = (
            per_expert.div_ceil(rows_per_block as usize) as u32,
            pairs as u32,
            1,
        );
        let args = Args::new().arg(a).arg(input).arg(ids.ptr).arg(out.ptr);
        self.launch_block(name, grid, (per_row, rows_per_block, 1), args);
        Ok(out)
    }

    fn moe_combine(
        &mut self,
        y: &CudaTensor,
        weights: &CudaTensor,
    ) -> Result<CudaTensor, CudaError> {
        self.check(&[y, weights])?;
        let (rows, k) = (weights.rows, weights.cols);
        if k == 0 || y.rows != rows * k {
            return Err(CudaError::BadInput(format!(
                "{} expert outputs for {rows} rows of {k} weights",
                y.rows
            )));
        }
        let out = self.tensor(rows, y.cols)?;
        let args = Args::new()
            .arg(y.ptr)
            .arg(weights.ptr)
            .arg(k as i32)
            .arg(y.cols as i32)
            .arg(out.ptr);
        self.elementwise("moe_combine", args, out.n());
        Ok(out)
    }

    fn last_row(&mut self, x: &CudaTensor) -> Result<CudaTensor, CudaError> {
        self.check(&[x])?;
        let skip = (x.rows.max(1) - 1) as u64;
        // a view of the last row: no copy
        Ok(CudaTensor {
            ptr: x.ptr + skip * x.cols as u64 * 4,
            rows: 1,
            cols: x.cols,
            epoch: x.epoch,
            q8: x.q8.map(|q| q + skip * (x.cols / 32 * Q8_1_BYTES) as u64),
            f16: x.f16.map(|h| h + skip * x.cols as u64 * 2),
        })
    }

    fn read(&mut self, x: &CudaTensor) -> Result<Vec<f32>, CudaError> {
        self.check(&[x])?;
        self.gpu.bind()?;
        self.flush()?;
        let mut out = vec![0f32; x.n()];
        self.gpu.download(&mut out, x.ptr)?;
        Ok(out)
    }

    // --- fused steps ---

    fn attention_input(
        &mut self,
        x: &CudaTensor,
        a: &AttnInput<'_, CudaWeight>,
    ) -> Result<CudaTensor, CudaError> {
        let kv = self.kv()?;
        let hd = a.rope.head_dim;
        let (nq, nkv) = (a.wq.rows, a.wk.rows);
        if hd > ROPE_MAX_HEAD_DIM || !nq.is_multiple_of(hd) || nkv != kv.kv_dim || a.wv.rows != nkv
        {
            return Err(CudaError::BadInput(format!(
                "q/k/v of {nq}/{nkv}/{} rows for heads of {hd} and a cache of {}",
                a.wv.rows, kv.kv_dim
            )));
        }
        if a.pos0 + x.rows > kv.n_ctx {
            return Err(CudaError::BadInput(format!(
                "positions up to {} in a {}-position cache",
                a.pos0 + x.rows,
                kv.n_ctx
            )));
        }
        let (kc, vc) = kv.layer(a.layer);
        let h = self.norm_for_projection(x, a.norm, a.eps)?;
        let width = nq + 2 * nkv;
        let qkv = self.tensor(x.rows, width)?;
        self.project(&[a.wq, a.wk, a.wv], &h, qkv.ptr, width, false)?;
        let q = self.tensor(x.rows, nq)?;
        self.set_pos(a.pos0)?;
        let ptr = |w: Option<&CudaWeight>| w.map_or(0, |w| w.ptr);
        let args = Args::new()
            .arg(qkv.ptr)
            .arg(QkvArgs {
                n_head: (nq / hd) as i32,
                n_head_kv: (nkv / hd) as i32,
                kv_dim: nkv as i32,
                bq: ptr(a.bq),
                bk: ptr(a.bk),
                bv: ptr(a.bv),
                q_norm: ptr(a.qk_norm.map(|n| n.0)),
                k_norm: ptr(a.qk_norm.map(|n| n.1)),
                eps: a.eps,
                q_scale: a.q_scale.unwrap_or(1.0),
            })
            .arg(self.rope_args(&a.rope, a.rope_freqs))
            .arg(self.step_buf.ptr)
            .arg(q.ptr)
            .arg(kc)
            .arg(vc);
        let heads = (nq + 2 * nkv) / hd;
        self.launch(
            "qkv_rope_store",
            (x.rows as u32, heads as u32, 1),
            128,
            args,
        );
        Ok(q)
    }

    fn ffn_input(
        &mut self,
        x: &CudaTensor,
        f: &FfnInput<'_, CudaWeight>,
    ) -> Result<CudaTensor, CudaError> {
        let n_ff = f.gate.rows;
        if f.up.rows != n_ff {
            return Err(CudaError::BadInput(format!(
                "{}: {} rows, {} has {n_ff}",
                f.up.name, f.up.rows, f.gate.name
            )));
        }
        let h = self.norm_for_projection(x, f.norm, f.eps)?;
        let out = self.tensor(x.rows, n_ff)?;
        let quantized = !f.gate.is_float() && !f.up.is_float();
        if x.rows <= MV_MAX_TOKENS && quantized {
            let q8 = self.q8_of(&h)?;
            let mode = match f.act {
                GatedActivation::Silu => MV_GLU_SILU,
                GatedActivation::Gelu => MV_GLU_GELU,
            };
            self.matvec(
                &[f.gate.seg(0), f.up.seg(0)],
                &h,
                q8,
                out.ptr,
                n_ff,
                mode,
                false,
            );
            return Ok(out);
        }
        let gu = self.tensor(x.rows, 2 * n_ff)?;
        self.project(&[f.gate, f.up], &h, gu.ptr, 2 * n_ff, false)?;
        let args = Args::new()
            .arg(gu.ptr)
            .arg(n_ff as i32)
            .arg(act_id(f.act))
            .arg(out.ptr);
        self.elementwise("glu_split", args, out.n());
        Ok(out)
    }

    fn matmul_add(
        &mut self,
        w: &CudaWeight,
        x: &CudaTensor,
        acc: &mut CudaTensor,
    ) -> Result<(), CudaError> {
        self.check(&[acc])?;
        if acc.rows != x.rows || acc.cols != w.rows {
            return Err(CudaError::BadInput(format!(
                "{}: adding ({}, {}) into ({}, {})",
                w.name, x.rows, w.rows, acc.rows, acc.cols
            )));
        }
        self.project(&[w], x, acc.ptr, acc.cols, true)?;
        acc.modified();
        Ok(())
    }

    fn rms_norm_add(
        &mut self,
        x: &CudaTensor,
        weight: &CudaWeight,
        group: usize,
        eps: f32,
        acc: &mut CudaTensor,
    ) -> Result<(), CudaError> {
        self.check(&[x, acc])?;
        if acc.n() != x.n() {
            return Err(CudaError::BadInput(
                "norm added into a tensor of another shape".into(),
            ));
        }
        self.norm_launch(x, weight, group, eps, acc.ptr, true, 0, 0)?;
        acc.modified();
        Ok(())
    }

    fn norm_matmul(
        &mut self,
        x: &CudaTensor,
        norm: &CudaWeight,
        group: usize,
        eps: f32,
        w: &CudaWeight,
    ) -> Result<CudaTensor, CudaError> {
        if group != x.cols {
            let h = self.rms_norm(x, norm, group, eps)?;
            return self.matmul(w, &h);
        }
        let h = self.norm_for_projection(x, norm, eps)?;
        self.matmul(w, &h)
    }
}
