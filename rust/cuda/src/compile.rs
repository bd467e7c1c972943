//! The kernels of `kernels/`, compiled at run time by NVRTC for the card at hand (no nvcc at
//! build time) into one CUBIN, cached on disk under `~/.cache/wasm-chord/cuda/` keyed by the
//! source, the architecture and the NVRTC version, then loaded as one module.

use crate::CudaError;
use cudarc::driver::{result, sys};
use cudarc::nvrtc;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// Every kernel file, in the order they are concatenated into one program.
const SOURCES: &[(&str, &str)] = &[
    ("common.cuh", include_str!("../kernels/common.cuh")),
    ("formats.cuh", include_str!("../kernels/formats.cuh")),
    ("matvec.cu", include_str!("../kernels/matvec.cu")),
    ("dequant.cu", include_str!("../kernels/dequant.cu")),
    ("norm.cu", include_str!("../kernels/norm.cu")),
    ("rope.cu", include_str!("../kernels/rope.cu")),
    ("attention.cu", include_str!("../kernels/attention.cu")),
    ("elementwise.cu", include_str!("../kernels/elementwise.cu")),
    // after matvec.cu (its row dot and reduction) and elementwise.cu (EW_INDEX)
    ("moe.cu", include_str!("../kernels/moe.cu")),
];

/// The `extern "C"` kernels the backend launches, besides the per-shape instances of
/// `kernels::MATVEC_KERNELS` and `kernels::ATTENTION_*KERNELS` (see `kernel_names`).
pub const KERNELS: &[&str] = &[
    "quantize_q8_1",
    "dequant_f16",
    "embed",
    "f32_to_f16",
    "rms_norm",
    "layer_norm",
    "rope",
    "qkv_rope_store",
    "store_kv",
    "add",
    "div_f32",
    "add_bias",
    "scale",
    "gated_activation",
    "activation",
    "glu_split",
    "copy_f32",
    "moe_route",
    "moe_combine",
    "matmul_id_q8",
    "matmul_id_f",
    "profile_hold",
];

/// Every kernel name the module must hold.
pub fn kernel_names() -> impl Iterator<Item = &'static str> {
    let matvecs = crate::kernels::MATVEC_KERNELS
        .iter()
        .flat_map(|&(a, b)| [a, b]);
    KERNELS
        .iter()
        .copied()
        .chain(matvecs)
        .chain(crate::kernels::ATTENTION_KERNELS)
        .chain(crate::kernels::ATTENTION_ANY_KERNELS)
}

/// The whole program: the files with `#line` markers, so NVRTC's errors name the right file.
/// A file of the same name in `$WASM_CHORD_CUDA_KERNEL_DIR` replaces the built-in one: for
/// trying a kernel variant on a GPU machine without rebuilding (the cache key is the text, so
/// each variant is compiled once).
pub fn program_source() -> String {
    let dir = std::env::var_os("WASM_CHORD_CUDA_KERNEL_DIR").map(PathBuf::from);
    let mut s = String::new();
    for (name, text) in SOURCES {
        let replaced = dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join(name)).ok());
        let text = replaced.as_deref().unwrap_or(text);
        s.push_str(&format!("#line 1 \"{name}\"\n{text}\n"));
    }
    s
}

fn nvrtc_version() -> (i32, i32) {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: writes two ints.
    unsafe { nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    (major, minor)
}

/// Compiles the program for `sm_{cc}` to a CUBIN; the NVRTC log on failure.
pub fn compile_cubin(cc: (i32, i32)) -> Result<Vec<u8>, CudaError> {
    let src = CString::new(program_source()).expect("kernel sources hold no NUL");
    let prog = nvrtc::result::create_program(&src, Some(c"wasm_chord.cu"))
        .map_err(|e| CudaError::Compile(format!("nvrtcCreateProgram: {e:?}")))?;
    let opts = [
        format!("--gpu-architecture=sm_{}{}", cc.0, cc.1),
        "--std=c++17".to_string(),
        // No --use_fast_math: its sincosf loses accuracy with the angle (RoPE at position
        // 10⁴ is 10⁴ radians) and its division is approximate; the one place that wants a
        // fast function (softmax's exp of values ≤ 0) asks for __expf itself.
        "-default-device".to_string(),
    ];
    // SAFETY: prog is a live program; the options outlive the call.
    let compiled = unsafe { nvrtc::result::compile_program(prog, &opts) };
    let out = (|| {
        if compiled.is_err() {
            // SAFETY: prog is live.
            let log = unsafe { nvrtc::result::get_program_log(prog) }.unwrap_or_default();
            // SAFETY: the log is NUL-terminated.
            let log = unsafe { CStr::from_ptr(log.as_ptr()) }.to_string_lossy();
            return Err(CudaError::Compile(format!(
                "NVRTC could not compile the kernels:\n{log}"
            )));
        }
        let mut size = 0usize;
        // SAFETY: prog is compiled; the buffer is sized by NVRTC itself.
        unsafe {
            nvrtc::sys::nvrtcGetCUBINSize(prog, &mut size)
                .result()
                .map_err(|e| CudaError::Compile(format!("nvrtcGetCUBINSize: {e:?}")))?;
            let mut cubin = vec![0u8; size];
            nvrtc::sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr().cast())
                .result()
                .map_err(|e| CudaError::Compile(format!("nvrtcGetCUBIN: {e:?}")))?;
            Ok(cubin)
        }
    })();
    // SAFETY: prog is destroyed once.
    unsafe {
        let _ = nvrtc::result::destroy_program(prog);
    }
    out
}

/// FNV-1a: a stable key for the cache file name (not security-relevant).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn cache_path(cc: (i32, i32)) -> Option<PathBuf> {
    let base = std::env::var_os("WASM_CHORD_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wasm-chord")))?;
    let (maj, min) = nvrtc_version();
    let key = fnv1a(&[
        program_source().as_bytes(),
        format!("{cc:?}{maj}.{min}").as_bytes(),
    ]);
    Some(
        base.join("cuda")
            .join(format!("kernels-sm{}{}-{key:016x}.cubin", cc.0, cc.1)),
    )
}

/// The CUBIN for `cc`: from the disk cache, else compiled (and cached; a cache that cannot be
/// written only costs the next start a compile).
pub fn cubin(cc: (i32, i32)) -> Result<Vec<u8>, CudaError> {
    let path = cache_path(cc);
    if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
        return Ok(bytes);
    }
    let bytes = compile_cubin(cc)?;
    if let Some(p) = path {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // a name of this writer's own: tests open backends on several threads at once
        let tmp = p.with_extension(format!(
            "{}-{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        if std::fs::write(&tmp, &bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &p);
        }
    }
    Ok(bytes)
}

/// The loaded module and its kernels by name.
pub struct Kernels {
    _module: sys::CUmodule,
    funcs: HashMap<&'static str, sys::CUfunction>,
}

impl Kernels {
    /// Loads the CUBIN (the context must be current).
    pub fn load(cubin: &[u8]) -> Result<Kernels, CudaError> {
        // SAFETY: cubin is a complete image from NVRTC (or our own cache of one).
        let module = unsafe { result::module::load_data(cubin.as_ptr().cast()) }
            .map_err(|e| CudaError::Compile(format!("cannot load the compiled kernels: {e}")))?;
        let mut funcs = HashMap::new();
        for name in kernel_names() {
            let cname = CString::new(name).unwrap();
            // SAFETY: module is loaded; the name is NUL-terminated.
            let f = unsafe { result::module::get_function(module, cname) }
                .map_err(|e| CudaError::Compile(format!("kernel {name} missing: {e}")))?;
            funcs.insert(name, f);
        }
        Ok(Kernels {
            _module: module,
            funcs,
        })
    }

    pub fn get(&self, name: &str) -> sys::CUfunction {
        self.funcs[name]
    }
}
