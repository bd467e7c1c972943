//! Errors cross into JS as plain objects `{ name, code, message }`; the TypeScript layer rebuilds
//! its named error class from `code` (codes listed in API.md).

use model::ModelError;
use serde::Serialize;
use wasm_bindgen::JsValue;

pub type JsResult<T> = Result<T, JsValue>;

#[derive(Debug, Clone, Copy)]
pub enum ErrorCode {
    BadGguf,
    UnsupportedModel,
    PromptTooLong,
    InvalidRequest,
    /// No WebGPU adapter or device (the package picks the CPU for 'auto' before it gets here).
    BackendUnavailable,
    Internal,
}

impl ErrorCode {
    fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadGguf => "BAD_GGUF",
            ErrorCode::UnsupportedModel => "UNSUPPORTED_MODEL",
            ErrorCode::PromptTooLong => "PROMPT_TOO_LONG",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::BackendUnavailable => "BACKEND_UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// What crosses the boundary for every failure.
#[derive(Serialize)]
struct JsError<'a> {
    name: &'static str,
    code: &'static str,
    message: &'a str,
}

pub fn js_error(code: ErrorCode, message: &str) -> JsValue {
    let e = JsError {
        name: "WasmChordError",
        code: code.as_str(),
        message,
    };
    // Serializing three strings cannot fail; if it somehow did, the message alone still says why.
    serde_wasm_bindgen::to_value(&e).unwrap_or_else(|_| JsValue::from_str(message))
}

pub fn model_error(e: ModelError) -> JsValue {
    let code = match &e {
        ModelError::Gguf(_) => ErrorCode::BadGguf,
        ModelError::Tokenizer(_)
        | ModelError::UnsupportedArchitecture(_)
        | ModelError::BadConfig(_)
        | ModelError::BadTensor { .. }
        | ModelError::MissingTensor(_) => ErrorCode::UnsupportedModel,
        ModelError::PromptTooLong { .. } => ErrorCode::PromptTooLong,
        ModelError::EmptyPrompt
        | ModelError::TokenOutOfRange { .. }
        | ModelError::BadSampling(_)
        | ModelError::BadRequest(_) => ErrorCode::InvalidRequest,
        ModelError::ChatTemplate(_) | ModelError::File(_) | ModelError::Backend(_) => {
            ErrorCode::Internal
        }
    };
    js_error(code, &e.to_string())
}
