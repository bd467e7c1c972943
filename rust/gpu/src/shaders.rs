//! The WGSL sources of `shaders/`, composed into modules, and the pipeline cache.
//!
//! WGSL has no `#include`, so a module is a concatenation: `half.wgsl` (f16 conversions) for every
//! op; for the ops that read weights (`matvec`, `matvec_coop`, `matvec_rows`, `matmul`,
//! `matmul_tiled`, `matmul_wide`, `matmul_id`, `embed`) also `formats/bytes.wgsl` (the weight binding and byte reads) and the
//! format's decoder `formats/<type>.wgsl` (with `formats/kscales.wgsl` for Q4_K/Q5_K); for the
//! weight products also `mat_io.wgsl` (their shared params and bindings); then the op file.
//! `matvec_rows` and `gated_activation` also take `activation.wgsl`; `matvec_rows` also takes a slice decoder: the format's own (`formats/q4_k_slice.wgsl`, which
//! reads the weight as vec4 and so replaces bytes.wgsl and the decoder; `formats/q6_k_slice.wgsl`)
//! or the generic `formats/slice.wgsl` over dequant4; `embed`, `matmul_tiled` and `matmul_wide` take the format's
//! `dequant32` (in the decoder file for Q4_K/Q6_K, else `formats/dequant32.wgsl`). So each op and each format has exactly one
//! file, and the (op × format) modules are built here; every one of them is validated by naga in
//! tests/shaders.rs.

use quant::GgmlType;
use std::collections::HashMap;

const HALF: &str = include_str!("../../../shaders/half.wgsl");
const BYTES: &str = include_str!("../../../shaders/formats/bytes.wgsl");
const KSCALES: &str = include_str!("../../../shaders/formats/kscales.wgsl");
/// Params and bindings of the weight products (matvec, matvec_coop, matvec_rows, matmul,
/// matmul_tiled, matmul_wide).
const MAT_IO: &str = include_str!("../../../shaders/mat_io.wgsl");
/// matvec_rows' slice decoders: generic (over dequant4), Q4_K's and Q6_K's own.
const SLICE: &str = include_str!("../../../shaders/formats/slice.wgsl");
const Q4_K_SLICE: &str = include_str!("../../../shaders/formats/q4_k_slice.wgsl");
const Q6_K_SLICE: &str = include_str!("../../../shaders/formats/q6_k_slice.wgsl");
/// dequant32 over dequant4, for the formats without their own (embed, matmul_tiled, matmul_wide).
const DEQUANT32: &str = include_str!("../../../shaders/formats/dequant32.wgsl");
/// The gated activations (gated_activation, matvec_rows' GLU epilogue).
const ACTIVATION: &str = include_str!("../../../shaders/activation.wgsl");

/// Ops whose module is the op file alone (plus half.wgsl).
pub const PLAIN_OPS: &[(&str, &str)] = &[
    ("rms_norm", include_str!("../../../shaders/rms_norm.wgsl")),
    (
        "layer_norm",
        include_str!("../../../shaders/layer_norm.wgsl"),
    ),
    ("rope", include_str!("../../../shaders/rope.wgsl")),
    ("scale", include_str!("../../../shaders/scale.wgsl")),
    ("add", include_str!("../../../shaders/add.wgsl")),
    ("div", include_str!("../../../shaders/add.wgsl")),
    (
        "gated_activation",
        include_str!("../../../shaders/gated_activation.wgsl"),
    ),
    ("store_kv", include_str!("../../../shaders/store_kv.wgsl")),
    (
        "qkv_rope_store",
        include_str!("../../../shaders/qkv_rope_store.wgsl"),
    ),
    ("attention", include_str!("../../../shaders/attention.wgsl")),
    ("moe_route", include_str!("../../../shaders/moe_route.wgsl")),
    (
        "moe_combine",
        include_str!("../../../shaders/moe_combine.wgsl"),
    ),
];

/// Ops that read a weight, composed with a format decoder.
pub const WEIGHT_OPS: &[(&str, &str)] = &[
    ("matvec", include_str!("../../../shaders/matvec.wgsl")),
    (
        "matvec_coop",
        include_str!("../../../shaders/matvec_coop.wgsl"),
    ),
    (
        "matvec_rows",
        include_str!("../../../shaders/matvec_rows.wgsl"),
    ),
    ("matmul", include_str!("../../../shaders/matmul.wgsl")),
    (
        "matmul_tiled",
        include_str!("../../../shaders/matmul_tiled.wgsl"),
    ),
    (
        "matmul_wide",
        include_str!("../../../shaders/matmul_wide.wgsl"),
    ),
    ("embed", include_str!("../../../shaders/embed.wgsl")),
    ("matmul_id", include_str!("../../../shaders/matmul_id.wgsl")),
];

/// Every weight format with a GPU decoder (all the core's types but Q8_1/Q8_K, which are
/// activation-only formats and never stored in GGUF weights).
pub const FORMATS: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// The decoder source of a format, or None when the GPU has no decoder for it.
fn format_source(ty: GgmlType) -> Option<&'static str> {
    Some(match ty {
        GgmlType::F32 => include_str!("../../../shaders/formats/f32.wgsl"),
        GgmlType::F16 => include_str!("../../../shaders/formats/f16.wgsl"),
        GgmlType::BF16 => include_str!("../../../shaders/formats/bf16.wgsl"),
        GgmlType::Q4_0 => include_str!("../../../shaders/formats/q4_0.wgsl"),
        GgmlType::Q4_1 => include_str!("../../../shaders/formats/q4_1.wgsl"),
        GgmlType::Q5_0 => include_str!("../../../shaders/formats/q5_0.wgsl"),
        GgmlType::Q5_1 => include_str!("../../../shaders/formats/q5_1.wgsl"),
        GgmlType::Q8_0 => include_str!("../../../shaders/formats/q8_0.wgsl"),
        GgmlType::Q2_K => include_str!("../../../shaders/formats/q2_k.wgsl"),
        GgmlType::Q3_K => include_str!("../../../shaders/formats/q3_k.wgsl"),
        GgmlType::Q4_K => include_str!("../../../shaders/formats/q4_k.wgsl"),
        GgmlType::Q5_K => include_str!("../../../shaders/formats/q5_k.wgsl"),
        GgmlType::Q6_K => include_str!("../../../shaders/formats/q6_k.wgsl"),
        _ => return None,
    })
}

/// Whether the format's decoder file has its own dequant32 (else formats/dequant32.wgsl).
fn has_dequant32(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_K | GgmlType::Q6_K)
}

/// formats/kscales.wgsl where the format's decoder needs it.
fn kscales(ty: GgmlType) -> &'static str {
    if matches!(ty, GgmlType::Q4_K | GgmlType::Q5_K) {
        KSCALES
    } else {
        ""
    }
}

/// The full WGSL module of `op` (with `ty`'s decoder for weight ops), or None if unknown.
pub fn module_source(op: &str, ty: Option<GgmlType>) -> Option<String> {
    if let Some((_, src)) = PLAIN_OPS.iter().find(|(name, _)| *name == op) {
        let act = if op == "gated_activation" {
            ACTIVATION
        } else {
            ""
        };
        return Some(format!("{HALF}\n{act}\n{src}"));
    }
    let (_, src) = WEIGHT_OPS.iter().find(|(name, _)| *name == op)?;
    let ty = ty?;
    let fmt = format_source(ty)?;
    if op == "matvec_rows" {
        return Some(match ty {
            GgmlType::Q4_K => format!("{HALF}\n{ACTIVATION}\n{MAT_IO}\n{Q4_K_SLICE}\n{src}"),
            GgmlType::Q6_K => {
                format!("{HALF}\n{ACTIVATION}\n{BYTES}\n{MAT_IO}\n{Q6_K_SLICE}\n{src}")
            }
            _ => format!(
                "{HALF}\n{ACTIVATION}\n{BYTES}\n{}\n{fmt}\n{MAT_IO}\n{SLICE}\n{src}",
                kscales(ty)
            ),
        });
    }
    let io = if op == "embed" { "" } else { MAT_IO };
    let d32 = if matches!(op, "embed" | "matmul_tiled" | "matmul_wide") && !has_dequant32(ty) {
        DEQUANT32
    } else {
        ""
    };
    Some(format!(
        "{HALF}\n{BYTES}\n{}\n{fmt}\n{d32}\n{io}\n{src}",
        kscales(ty)
    ))
}

/// Every module the backend can build, as (label, source): what the naga test validates.
pub fn all_modules() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (op, _) in PLAIN_OPS {
        out.push((op.to_string(), module_source(op, None).expect("plain op")));
    }
    for (op, _) in WEIGHT_OPS {
        for &ty in FORMATS {
            out.push((
                format!("{op}_{}", ty.name().to_lowercase()),
                module_source(op, Some(ty)).expect("format"),
            ));
        }
    }
    // matvec_rows at the extremes of WASM_CHORD_GPU_MATVEC's shapes
    for shape in ["32x2", "256x8"] {
        let src = module_source("matvec_rows", Some(GgmlType::Q4_K)).expect("q4_k");
        let shaped = MatvecShape::parse(shape).expect("valid").apply(&src);
        out.push((format!("matvec_rows_q4_k_{shape}"), shaped));
    }
    out
}

/// A compiled kernel and its bind group layout (fetched once: `get_bind_group_layout` makes a
/// new handle on every call, and the backend binds a group per dispatch).
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// matvec_rows' workgroup shape: `threads` (its WG) and weight `rows` (its R) per workgroup.
/// 64×4 unless `WASM_CHORD_GPU_MATVEC=WGxR` says otherwise (a tuning knob, to sweep shapes on a
/// card in one run; WG ∈ {32, 64, 128, 256}, R ∈ {2, 4, 8}, WG ≥ 8·R).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatvecShape {
    pub threads: u32,
    pub rows: u32,
}

impl Default for MatvecShape {
    fn default() -> Self {
        MatvecShape {
            threads: 64,
            rows: 4,
        }
    }
}

impl MatvecShape {
    /// `WGxR`, e.g. "128x2"; None when malformed or outside the kernel's limits.
    pub fn parse(text: &str) -> Option<Self> {
        let (wg, r) = text.split_once('x')?;
        let shape = MatvecShape {
            threads: wg.trim().parse().ok()?,
            rows: r.trim().parse().ok()?,
        };
        let ok = [32, 64, 128, 256].contains(&shape.threads)
            && [2, 4, 8].contains(&shape.rows)
            && shape.threads >= 8 * shape.rows;
        ok.then_some(shape)
    }

    /// The shape `WASM_CHORD_GPU_MATVEC` asks for (a bad value is reported, then ignored).
    pub fn from_env() -> Self {
        match std::env::var("WASM_CHORD_GPU_MATVEC") {
            Ok(v) => Self::parse(&v).unwrap_or_else(|| {
                eprintln!("WASM_CHORD_GPU_MATVEC={v}: not WGxR with WG in 32/64/128/256, R in 2/4/8, WG >= 8R; using 64x4");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Gate rows per workgroup in the GLU epilogue (each with its up row).
    pub fn glu_rows(self) -> u32 {
        self.rows / 2
    }

    /// matvec_rows' source with this shape's WG and R.
    pub fn apply(self, src: &str) -> String {
        const WG_LINE: &str = "const WG: u32 = 64u;";
        const R_LINE: &str = "const R: u32 = 4u;";
        assert!(
            src.contains(WG_LINE) && src.contains(R_LINE),
            "matvec_rows' shape lines"
        );
        src.replacen(WG_LINE, &format!("const WG: u32 = {}u;", self.threads), 1)
            .replacen(R_LINE, &format!("const R: u32 = {}u;", self.rows), 1)
    }
}

/// Compiled pipelines, one per (op, format); built on first use.
#[derive(Default)]
pub struct Pipelines {
    cache: HashMap<(&'static str, Option<GgmlType>), Kernel>,
    /// matvec_rows' shape (set before the first matvec_rows pipeline is built)
    pub matvec: MatvecShape,
}

/// Whether naga's own bounds checks and loop bounding are compiled into the kernels
/// (`WASM_CHORD_GPU_CHECKED=1`). Off by default natively: every index in our kernels comes from
/// shapes the backend validated before dispatching (kernel tests cover each op at ragged sizes),
/// their loops run to uniform bounds, and Vulkan/Metal/DX12 still bound buffer accesses
/// themselves (robust buffer access) — the checks only cost ALU and registers in the matvec
/// inner loops. The browser's WebGPU always compiles its own checks in; this changes nothing there.
fn runtime_checks() -> wgpu::ShaderRuntimeChecks {
    if std::env::var("WASM_CHORD_GPU_CHECKED").is_ok_and(|v| v == "1") {
        wgpu::ShaderRuntimeChecks::checked()
    } else {
        wgpu::ShaderRuntimeChecks::unchecked()
    }
}

impl Pipelines {
    /// An empty cache whose matvec_rows kernels get `matvec`'s shape.
    pub fn new(matvec: MatvecShape) -> Self {
        Pipelines {
            cache: HashMap::new(),
            matvec,
        }
    }

    /// The kernel of `op` (entry point = op name), compiling it the first time.
    pub fn get(
        &mut self,
        device: &wgpu::Device,
        op: &'static str,
        ty: Option<GgmlType>,
    ) -> Option<&Kernel> {
        if !self.cache.contains_key(&(op, ty)) {
            let mut src = module_source(op, ty)?;
            if op == "matvec_rows" {
                src = self.matvec.apply(&src);
            }
            let label = match ty {
                Some(t) => format!("{op}_{}", t.name()),
                None => op.to_string(),
            };
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(&label),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            };
            // SAFETY: see `runtime_checks` — in-bounds indexing and bounded loops are properties
            // of our own kernels, tested against the CPU reference at ragged shapes.
            let module = unsafe { device.create_shader_module_trusted(desc, runtime_checks()) };
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: None,
                module: &module,
                entry_point: Some(op),
                compilation_options: Default::default(),
                cache: None,
            });
            let layout = pipeline.get_bind_group_layout(0);
            self.cache.insert((op, ty), Kernel { pipeline, layout });
        }
        self.cache.get(&(op, ty))
    }
}
