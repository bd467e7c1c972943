use thiserror::Error;

/// Everything that can go wrong between a GGUF file and generated text.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("{0}")]
    Gguf(#[from] gguf::GgufError),
    #[error("{0}")]
    Tokenizer(#[from] tokenizer::TokenizerError),
    #[error("unsupported architecture '{0}' (supported: llama, gemma, gemma2, gemma3, qwen2, qwen3, phi2, phi3)")]
    UnsupportedArchitecture(String),
    #[error("model metadata: {0}")]
    BadConfig(String),
    #[error("tensor '{name}': {problem}")]
    BadTensor { name: String, problem: String },
    #[error("missing tensor '{0}'")]
    MissingTensor(String),
    #[error("the prompt is {prompt} tokens but the context holds {n_ctx}; shorten the prompt or raise the context size")]
    PromptTooLong { prompt: usize, n_ctx: usize },
    #[error(
        "the prompt is empty (nothing to condition on): give some text, or let the model add BOS"
    )]
    EmptyPrompt,
    #[error("token id {id} is outside the vocabulary ({n_vocab} tokens)")]
    TokenOutOfRange { id: u32, n_vocab: usize },
    #[error("invalid sampling parameter: {0}")]
    BadSampling(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("chat template: {0}")]
    ChatTemplate(String),
    #[error("{0}")]
    File(String),
    #[error("backend: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl ModelError {
    pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        ModelError::Backend(Box::new(e))
    }
}
