//! The wgpu backend: the `Backend` trait on Vulkan / Metal / DX12 and browser WebGPU (wasm32),
//! with the hand-written kernels of `shaders/`.
//!
//! - Weights are uploaded tensor by tensor straight from their GGUF bytes (no repacking, see
//!   `layout.rs`), split into row chunks that fit the adapter's binding limit.
//! - Activations live in device buffers recycled through a size-keyed pool (`tensor.rs`).
//! - Ops are recorded into one command encoder and submitted when a result is read (or every
//!   `FLUSH_EVERY` passes), so a forward step is a handful of submissions.
//! - Pipelines are compiled once per (op, format) and cached (`shaders.rs`).
//! - The KV cache is f16, two values per u32, as the CPU backend's.

mod backend;
pub mod device;
pub mod host;
pub mod layout;
mod params;
mod profile;
pub mod shaders;
mod tensor;

pub use backend::{GpuBackend, MatmulKernel, MatvecKernel, ReadPiece};
pub use device::Gpu;
pub use tensor::{Tensor, Weight};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter: {0} (on Linux without a GPU, install Mesa's lavapipe: scripts/install-vulkan.sh)")]
    NoAdapter(String),
    #[error("cannot open the GPU device: {0}")]
    Device(String),
    #[error("weight '{name}': {problem}")]
    BadWeight { name: String, problem: String },
    #[error("shape mismatch in {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("KV cache: {0}")]
    Cache(String),
    #[error("GPU: {0}")]
    Wgpu(String),
    #[error("{0}")]
    Quant(#[from] quant::QuantError),
}
