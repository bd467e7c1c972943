//! The CUDA backend: `model::Backend` on an NVIDIA GPU through cudarc.
//!
//! - `driver`: the availability check (libcuda, NVRTC, cuBLAS, a device) and device buffers;
//! - `compile`: the CUDA C of `kernels/`, compiled at run time by NVRTC, cached on disk;
//! - `launch`: the launch queue, replayed as a CUDA graph when a decode step repeats;
//! - `arena`: activation memory, reset per forward pass (stable addresses for the graph);
//! - `kernels`: one typed launcher per kernel, mirroring its C signature;
//! - `blas`: prefill GEMMs through cuBLAS on weights dequantized to f16 tiles;
//! - `backend`: the `Backend` implementation (the primitive ops and the fused steps).
//!
//! Decode multiplies quantized weights with activations quantized to Q8_1 (integer dp4a dots);
//! prefill (more than `kernels::MV_MAX_TOKENS` rows) goes through cuBLAS tensor-core GEMMs. The
//! KV cache is f16. Numbers are not bit-exact with the CPU: checks are KL divergence and top-1
//! agreement against the CPU's logits (`wasm-chord perplexity --kl-base`).

mod arena;
mod backend;
mod blas;
pub mod compile;
mod driver;
mod kernels;
mod launch;

pub use backend::{CudaBackend, CudaTensor, CudaWeight, FORMATS};
pub use launch::LaunchStats;

/// What went wrong on the CUDA side.
#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    /// No usable driver, library or device here (the CLI's `error: CUDA is not available: …`).
    #[error("CUDA is not available: {0}")]
    Unavailable(String),
    #[error("CUDA driver error: {0}")]
    Driver(String),
    #[error("CUDA kernel compilation failed: {0}")]
    Compile(String),
    #[error("not enough GPU memory: {0}")]
    OutOfMemory(String),
    #[error("the CUDA backend cannot run this: {0}")]
    Unsupported(String),
    #[error("{0}")]
    BadInput(String),
}

impl CudaError {
    pub(crate) fn driver(e: cudarc::driver::DriverError) -> CudaError {
        CudaError::Driver(e.to_string())
    }
}
