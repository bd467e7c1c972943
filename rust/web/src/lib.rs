//! The wasm-bindgen boundary between the Rust core and the `wasm-chord` npm package: thin glue,
//! typed in and out (serde-wasm-bindgen, camelCase keys), nothing model-specific. The contract is
//! written down in `rust/web/API.md`; the TypeScript package codes against it.
//!
//! Everything here is synchronous and does bounded work per call (one tensor, one prompt chunk,
//! one token), so the Web Worker that drives it returns to its event loop between calls and an
//! abort message always gets through.

mod errors;
mod info;
mod options;

use cpu::CpuBackend;
use errors::{js_error, ErrorCode, JsResult};
use info::ModelInfo;
use model::{Generation, Model, ModelBuilder, Step};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `initThreadPool(n)` (threaded build only): starts n Web Workers as the rayon pool the CPU
/// backend runs on. The package awaits it once, before loading a model.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen(start)]
fn start() {
    // A Rust panic (a bug) shows its message in the console instead of "unreachable executed".
    console_error_panic_hook::set_once();
}

/// Converts a result struct into a plain JS object.
fn to_js<T: Serialize>(value: &T) -> JsResult<JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| js_error(ErrorCode::Internal, &e.to_string()))
}

/// Runs `quant::simd::self_check` (this build's SIMD kernels against the portable specification,
/// bit for bit, on this JS engine's own SIMD lowering) and names the kernels in use; an
/// `InternalError` if any differs, so a miscompiling engine is reported instead of giving text
/// that no longer matches llama.cpp's. Takes a few milliseconds; the package calls it once.
#[wasm_bindgen(js_name = kernelSelfCheck)]
pub fn kernel_self_check() -> JsResult<String> {
    match quant::simd::self_check() {
        Ok(_) => Ok(quant::simd::implementation().to_string()),
        Err(e) => Err(js_error(
            ErrorCode::Internal,
            &format!("the CPU kernels failed their self-check on this engine: {e}"),
        )),
    }
}

/// 0 when `prefix` (the first bytes of a file) holds the whole GGUF header; otherwise how many
/// leading bytes to read next (more than `prefix.length`; may pass the end of the file, so clamp).
#[wasm_bindgen(js_name = ggufHeaderBytesNeeded)]
pub fn gguf_header_bytes_needed(prefix: &[u8]) -> JsResult<f64> {
    match gguf::parse_header(prefix) {
        Ok(_) => Ok(0.0),
        // The parser only promises that `needed` bytes make progress (often a few more), and
        // every call re-parses from the start: at least doubling keeps a big header (Gemma's
        // vocabulary is 6 MB) to a handful of reads.
        Err(gguf::GgufError::NeedMore { needed }) => {
            Ok((needed as u64).max(2 * prefix.len() as u64) as f64)
        }
        Err(e) => Err(js_error(ErrorCode::BadGguf, &e.to_string())),
    }
}

/// Loads a model push-style: JS reads each tensor's byte range (from OPFS, a Blob, a file) and
/// hands it over, so the file is never held whole in the wasm heap next to the weights.
#[wasm_bindgen]
pub struct ModelLoader {
    builder: ModelBuilder<CpuBackend>,
    info: ModelInfo,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `header`: at least the first `ggufHeaderBytesNeeded` bytes of a file of `file_size` bytes.
    /// Checks the config, tokenizer and every tensor's shape, type and byte range up front.
    #[wasm_bindgen(constructor)]
    pub fn new(header: &[u8], file_size: f64, options: JsValue) -> JsResult<ModelLoader> {
        let options = options::LoadOptions::from_js(options)?;
        let gguf = gguf::parse_header(header).map_err(|e| match e {
            gguf::GgufError::NeedMore { needed } => js_error(
                ErrorCode::InvalidRequest,
                &format!(
                    "the header needs {needed} bytes but only {} were given",
                    header.len()
                ),
            ),
            e => js_error(ErrorCode::BadGguf, &e.to_string()),
        })?;
        gguf.check_tensor_bounds(file_size as u64)
            .map_err(|e| js_error(ErrorCode::BadGguf, &e.to_string()))?;
        let backend = CpuBackend::new(options.threads);
        let builder =
            ModelBuilder::new(&gguf, backend, options.n_ctx).map_err(errors::model_error)?;
        let info = ModelInfo::new(&gguf, file_size as u64, &builder);
        Ok(ModelLoader { builder, info })
    }

    pub fn info(&self) -> JsResult<JsValue> {
        to_js(&self.info)
    }

    /// The next tensor's absolute byte range `[start, end)`, in ascending file order; undefined
    /// when every tensor is loaded.
    #[wasm_bindgen(js_name = nextRange)]
    pub fn next_range(&self) -> Option<Vec<f64>> {
        self.builder
            .next_tensor()
            .map(|t| vec![t.range.start as f64, t.range.end as f64])
    }

    /// The bytes of the range `nextRange()` returned.
    #[wasm_bindgen(js_name = loadTensor)]
    pub fn load_tensor(&mut self, bytes: &[u8]) -> JsResult<()> {
        self.builder.load_tensor(bytes).map_err(errors::model_error)
    }

    #[wasm_bindgen(js_name = totalBytes)]
    pub fn total_bytes(&self) -> f64 {
        self.builder.total_bytes() as f64
    }

    #[wasm_bindgen(js_name = loadedBytes)]
    pub fn loaded_bytes(&self) -> f64 {
        self.builder.loaded_bytes() as f64
    }

    /// The ready engine, once every tensor is loaded. Consumes the loader.
    pub fn finish(self) -> JsResult<Engine> {
        let model = self.builder.finish().map_err(errors::model_error)?;
        Ok(Engine {
            model,
            info: self.info,
            generation: None,
        })
    }
}

/// A loaded model with its KV cache, and at most one request in progress.
#[wasm_bindgen]
pub struct Engine {
    model: Model<CpuBackend>,
    info: ModelInfo,
    generation: Option<Generation<CpuBackend>>,
}

#[wasm_bindgen]
impl Engine {
    pub fn info(&self) -> JsResult<JsValue> {
        to_js(&self.info)
    }

    /// Text → token ids (see `Tokenizer::encode` for what the flags mean).
    pub fn tokenize(
        &self,
        text: &str,
        #[wasm_bindgen(js_name = addSpecial)] add_special: bool,
        #[wasm_bindgen(js_name = parseSpecial)] parse_special: bool,
    ) -> JsResult<Vec<u32>> {
        self.model
            .tokenizer
            .encode(text, add_special, parse_special)
            .map_err(|e| js_error(ErrorCode::InvalidRequest, &e.to_string()))
    }

    /// Token ids → text, as llama.cpp detokenizes (control tokens print nothing).
    pub fn detokenize(&self, ids: &[u32]) -> String {
        self.model.tokenizer.decode(ids)
    }

    /// Starts a request after `prompt`, replacing any unfinished one.
    pub fn begin(&mut self, prompt: &[u32], options: JsValue) -> JsResult<()> {
        let opts = options::generate_options(options)?;
        self.generation = None;
        let mut generation = self
            .model
            .begin(prompt, &opts)
            .map_err(errors::model_error)?;
        // One layer of a prompt chunk per step: the worker gets control back often enough for an
        // abort to land quickly even on a long prompt (a 256-token chunk is many seconds in wasm).
        generation.set_layers_per_step(1);
        self.generation = Some(generation);
        Ok(())
    }

    /// One unit of work: a prompt chunk or a token. See API.md for the events.
    pub fn step(&mut self) -> JsResult<JsValue> {
        let Some(generation) = self.generation.as_mut() else {
            return Err(js_error(
                ErrorCode::InvalidRequest,
                "no generation in progress: call begin() first",
            ));
        };
        let step = self.model.step(generation).map_err(errors::model_error)?;
        if matches!(step, Step::Finished { .. }) {
            self.generation = None;
        }
        to_js(&options::StepEvent::from(step))
    }

    /// Ends the current request: the next `step()` finishes it with reason "abort".
    pub fn cancel(&mut self) {
        if let Some(g) = self.generation.as_mut() {
            g.cancel();
        }
    }

    /// Forgets the KV cache (and any request in progress).
    pub fn reset(&mut self) {
        self.generation = None;
        self.model.reset();
    }
}
