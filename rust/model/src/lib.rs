//! The model: configuration from GGUF metadata, tensor declarations, one llama-family forward
//! pass written against the `Backend` trait, sampling and the generation loop.
//!
//! Supported architectures: `llama` (LLaMA 1/2/3, TinyLlama, Mistral-style), `gemma` (Gemma 1),
//! `gemma2`, `gemma3`, `qwen2` (Qwen 2 / 2.5), `qwen3` (dense Qwen 3), `phi2` and `phi3` (Phi-3 /
//! Phi-3.5-mini).

pub mod all_logits;
pub mod backend;
pub mod chat;
pub mod compose;
pub mod config;
mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod file;
pub mod forward;
pub mod generation;
pub mod model;
pub mod sampler;
pub mod weights;

pub use backend::Backend;
pub use config::{Arch, Config};
pub use error::ModelError;
pub use generation::{FinishReason, GenerateOptions, Generation, GenerationStats, Step};
pub use model::{Model, ModelBuilder, DEFAULT_N_CTX, PREFILL_CHUNK};
pub use sampler::{Sampler, SamplingParams};
pub use weights::{PlannedTensor, TensorReader};
