//! The argument structs the kernels take by value, laid out exactly as their C twins in
//! `kernels/*.cu` (#[repr(C)], device pointers as u64), and the kernels' compile-time limits.

/// Activation rows one matvec launch handles (matvec.cu's MV_MAX_TOKENS); more go to cuBLAS.
pub const MV_MAX_TOKENS: usize = 8;
/// Threads per matvec block (MV_BLOCK): `rows × threads per row`, see `mv_threads_per_row`.
pub const MV_BLOCK: u32 = 128;

/// Threads that share one matvec row of `ncols` values: enough that each walks about two
/// 16-value granules, so that all of a row's loads are in flight at once (a decode matvec of
/// a small model waits on memory latency, not bandwidth). `WASM_CHORD_CUDA_MV_THREADS=32|64|128`
/// fixes it instead (for measuring).
pub fn mv_threads_per_row(ncols: usize) -> u32 {
    static FIXED: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    let fixed = FIXED.get_or_init(|| {
        std::env::var("WASM_CHORD_CUDA_MV_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|t| [32, 64, 128].contains(t))
    });
    fixed.unwrap_or_else(|| {
        let granules = ncols / 16;
        (granules / 2)
            .next_power_of_two()
            .clamp(32, MV_BLOCK as usize) as u32
    })
}
/// matvec.cu's instances for 1, 2, 4 and 8 activation rows: (quantized, float weights), by
/// log2 of the rows rounded up to a power of two.
pub const MATVEC_KERNELS: [(&str, &str); 4] = [
    ("matvec_q8_t1", "matvec_f_t1"),
    ("matvec_q8_t2", "matvec_f_t2"),
    ("matvec_q8_t4", "matvec_f_t4"),
    ("matvec_q8_t8", "matvec_f_t8"),
];
pub const MV_STORE: i32 = 0;
pub const MV_ADD: i32 = 1;
pub const MV_GLU_SILU: i32 = 2;
pub const MV_GLU_GELU: i32 = 3;

/// attention.cu's warps per block and keys per tile; the largest head it is compiled for (its
/// ATTENTION_FOR instances).
pub const ATT_WARPS: u32 = 8;
pub const ATT_TILE: usize = 32;
pub const ATT_MAX_HEAD_DIM: usize = 256;
/// attention.cu's instances for head sizes that are multiples of 32, by head size / 32 - 1.
pub const ATTENTION_KERNELS: [&str; ATT_MAX_HEAD_DIM / 32] = [
    "attention_hd32",
    "attention_hd64",
    "attention_hd96",
    "attention_hd128",
    "attention_hd160",
    "attention_hd192",
    "attention_hd224",
    "attention_hd256",
];
/// attention.cu's instances for any other even head size (read at run time), by
/// ceil(head size / 32) - 1: lanes past the head size idle.
pub const ATTENTION_ANY_KERNELS: [&str; ATT_MAX_HEAD_DIM / 32] = [
    "attention_any32",
    "attention_any64",
    "attention_any96",
    "attention_any128",
    "attention_any160",
    "attention_any192",
    "attention_any224",
    "attention_any256",
];

/// The attention instance for heads of `hd` (even, 2..=ATT_MAX_HEAD_DIM).
pub fn attention_kernel(hd: usize) -> &'static str {
    if hd.is_multiple_of(32) {
        ATTENTION_KERNELS[hd / 32 - 1]
    } else {
        ATTENTION_ANY_KERNELS[hd.div_ceil(32) - 1]
    }
}
/// Split-K tiles one decode attention launch may have (grid x × y): each has a counter in a
/// buffer of this many that the last split block of the tile resets.
pub const ATT_MAX_SPLIT_TILES: usize = 4096;
/// rope.cu's ROPE_MAX_HEAD_DIM.
pub const ROPE_MAX_HEAD_DIM: usize = 1024;

/// Bytes of one Q8_1 block (32 activations).
pub const Q8_1_BYTES: usize = 36;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct MvSeg {
    pub w: u64,
    pub ty: i32,
    pub rows: i32,
    pub row_bytes: i32,
    pub out_col: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct MvArgs {
    pub seg: [MvSeg; 3],
    pub nseg: i32,
    pub total_rows: i32,
    pub ncols: i32,
    pub ntok: i32,
    pub out_stride: i32,
    pub mode: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NormArgs {
    pub group: i32,
    pub eps: f32,
    pub add: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RopeArgs {
    pub style: i32,
    pub head_dim: i32,
    pub n_rot: i32,
    /// base^(-2/n_rot), computed on the host as the CPU backend does.
    pub theta_scale: f32,
    pub freq_scale: f32,
    /// cos and sin are multiplied by it (ggml's mscale; LongRoPE's rope.scaling.attn_factor).
    pub attn_factor: f32,
    pub freq_factors: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QkvArgs {
    pub n_head: i32,
    pub n_head_kv: i32,
    pub kv_dim: i32,
    pub bq: u64,
    pub bk: u64,
    pub bv: u64,
    pub q_norm: u64,
    pub k_norm: u64,
    pub eps: f32,
    pub q_scale: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AttnArgs {
    pub rows: i32,
    pub n_head: i32,
    pub n_head_kv: i32,
    pub head_dim: i32,
    pub kv_dim: i32,
    pub window: i32,
    pub n_split: i32,
    pub split_len: i32,
    pub scale: f32,
    pub softcap: f32,
}

/// moe.cu's matmul_id arguments.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IdArgs {
    pub w: u64,
    pub ty: i32,
    /// Rows per expert.
    pub rows: i32,
    pub row_bytes: i32,
    pub ncols: i32,
    pub n_expert: i32,
    /// Slots (experts used) per activation row.
    pub k: i32,
    /// 1: one input row per row serves its k slots; 0: one input row per (row, slot) pair.
    pub shared: i32,
}

/// The host side of kernels/common.cuh's `Step` header (the ids follow it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StepHeader {
    pub pos0: i32,
    pub n_ids: i32,
}

// The sizes the C side has (checked by the kernel tests through a real launch too).
const _: () = assert!(std::mem::size_of::<MvSeg>() == 24);
const _: () = assert!(std::mem::size_of::<MvArgs>() == 96);
const _: () = assert!(std::mem::size_of::<QkvArgs>() == 64);
const _: () = assert!(std::mem::size_of::<RopeArgs>() == 32);
const _: () = assert!(std::mem::size_of::<IdArgs>() == 40);
