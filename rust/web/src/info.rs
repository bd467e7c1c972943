//! `ModelInfo`: what the package shows about a loaded model and needs for chat templates.

use model::{Backend, ModelBuilder};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    architecture: &'static str,
    name: Option<String>,
    file_size: u64,
    n_params: u64,
    n_ctx_train: usize,
    n_ctx: usize,
    n_vocab: usize,
    n_layer: usize,
    n_embd: usize,
    tensor_types: Vec<String>,
    tokenizer_model: String,
    chat_template: Option<String>,
    bos_token: Option<String>,
    eos_token: Option<String>,
    add_bos: bool,
    /// "cpu" or "webgpu".
    backend: &'static str,
    /// The GPU adapter as the page described it (WebGPU only).
    gpu_adapter: Option<String>,
}

impl ModelInfo {
    pub fn new<B: Backend>(
        g: &gguf::Gguf,
        file_size: u64,
        b: &ModelBuilder<B>,
        backend: &'static str,
        gpu_adapter: Option<String>,
    ) -> Self {
        let str_key = |k: &str| g.get_str_opt(k).ok().flatten().map(str::to_string);
        let tensor_types: BTreeSet<String> = g.tensors.iter().map(|t| t.type_name()).collect();
        let (cfg, tok) = (b.config(), b.tokenizer());
        let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).map(str::to_string);
        ModelInfo {
            architecture: cfg.arch.name(),
            name: str_key("general.name"),
            file_size,
            n_params: g.tensors.iter().map(|t| t.n_elements()).sum(),
            n_ctx_train: cfg.n_ctx_train,
            n_ctx: b.n_ctx(),
            n_vocab: cfg.n_vocab,
            n_layer: cfg.n_layer,
            n_embd: cfg.n_embd,
            tensor_types: tensor_types.into_iter().collect(),
            tokenizer_model: str_key("tokenizer.ggml.model").unwrap_or_default(),
            chat_template: str_key("tokenizer.chat_template"),
            bos_token: text(tok.bos_id()),
            eos_token: text(tok.eos_id()),
            add_bos: tok.add_bos(),
            backend,
            gpu_adapter,
        }
    }
}
