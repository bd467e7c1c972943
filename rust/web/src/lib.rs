//! The wasm-bindgen boundary between the Rust core and the `wasm-chord` npm package: thin glue,
//! typed in and out (serde-wasm-bindgen, camelCase keys), nothing model-specific. The contract is
//! written down in `rust/web/API.md`; the TypeScript package codes against it.
//!
//! Everything here is synchronous and does bounded work per call (one tensor, one prompt chunk,
//! one token), so the Web Worker that drives it returns to its event loop between calls and an
//! abort message always gets through.
//!
//! Two backends: the CPU (SIMD wasm, optionally threads) and WebGPU (rust/gpu on wgpu's `webgpu`
//! backend). WebGPU adds two asynchronous calls, and nothing else changes shape: `openWebGpu`
//! opens the device (a Promise) and is handed to the `ModelLoader`; while generating, `step` may
//! answer `{ type: "pending" }` (the logits are on their way back from the GPU: it never blocks,
//! see `Model::poll_step`), after which the caller awaits `Engine.ready()` and steps again.

mod errors;
mod info;
mod options;

use cpu::CpuBackend;
use errors::{js_error, ErrorCode, JsResult};
use gpu::{Gpu, GpuBackend};
use info::ModelInfo;
use model::{Backend, Generation, Model, ModelBuilder, ModelError, Step};
use serde::Serialize;
use std::task::Poll;
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

/// An open WebGPU device, to hand to a `ModelLoader`.
#[wasm_bindgen]
pub struct WebGpu {
    gpu: Gpu,
}

/// Opens the WebGPU adapter and device of this page or worker (`navigator.gpu`), with the
/// adapter's own limits. `adapterName` and `isSoftware` describe the adapter as the page sees it
/// (wgpu cannot read `GPUAdapter.info`): a software adapter (SwiftShader) gets the decode kernel
/// without barriers. Rejects with BACKEND_UNAVAILABLE when there is no adapter or device.
#[wasm_bindgen(js_name = openWebGpu)]
pub async fn open_webgpu(
    #[wasm_bindgen(js_name = adapterName)] adapter_name: String,
    #[wasm_bindgen(js_name = isSoftware)] is_software: bool,
) -> JsResult<WebGpu> {
    let mut gpu = Gpu::new_async()
        .await
        .map_err(|e| js_error(ErrorCode::BackendUnavailable, &e.to_string()))?;
    gpu.set_adapter_description(adapter_name, is_software);
    Ok(WebGpu { gpu })
}

/// `ModelBuilder` on either backend (boxed: they are kilobytes, and of different sizes).
enum Builder {
    Cpu(Box<ModelBuilder<CpuBackend>>),
    Gpu(Box<ModelBuilder<GpuBackend>>),
}

/// Runs `$body` with `$b` bound to the `ModelBuilder` of whichever backend.
macro_rules! with_builder {
    ($builder:expr, $b:ident => $body:expr) => {
        match $builder {
            Builder::Cpu($b) => $body,
            Builder::Gpu($b) => $body,
        }
    };
}

/// Loads a model push-style: JS reads each tensor's byte range (from OPFS, a Blob, a file) and
/// hands it over, so the file is never held whole in the wasm heap next to the weights. With
/// WebGPU each tensor goes on to GPU buffers at once and leaves the wasm heap after the call.
#[wasm_bindgen]
pub struct ModelLoader {
    builder: Builder,
    info: ModelInfo,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `header`: at least the first `ggufHeaderBytesNeeded` bytes of a file of `file_size` bytes.
    /// Checks the config, tokenizer and every tensor's shape, type and byte range up front.
    /// With `gpu` (from `openWebGpu`, consumed) the model runs on WebGPU, else on the CPU.
    #[wasm_bindgen(constructor)]
    pub fn new(
        header: &[u8],
        file_size: f64,
        options: JsValue,
        gpu: Option<WebGpu>,
    ) -> JsResult<ModelLoader> {
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
        let file_size = file_size as u64;
        let (builder, info) = match gpu {
            None => {
                let backend = CpuBackend::new(options.threads);
                let b = ModelBuilder::new(&gguf, backend, options.n_ctx)
                    .map_err(errors::model_error)?;
                let info = ModelInfo::new(&gguf, file_size, &b, "cpu", None);
                (Builder::Cpu(Box::new(b)), info)
            }
            Some(WebGpu { gpu }) => {
                let adapter = gpu.adapter_name.clone();
                let b = ModelBuilder::new(&gguf, GpuBackend::with_gpu(gpu), options.n_ctx)
                    .map_err(errors::model_error)?;
                let info = ModelInfo::new(&gguf, file_size, &b, "webgpu", Some(adapter));
                (Builder::Gpu(Box::new(b)), info)
            }
        };
        Ok(ModelLoader { builder, info })
    }

    pub fn info(&self) -> JsResult<JsValue> {
        to_js(&self.info)
    }

    /// The next tensor's absolute byte range `[start, end)`, in ascending file order; undefined
    /// when every tensor is loaded.
    #[wasm_bindgen(js_name = nextRange)]
    pub fn next_range(&self) -> Option<Vec<f64>> {
        with_builder!(&self.builder, b => b
            .next_tensor()
            .map(|t| vec![t.range.start as f64, t.range.end as f64]))
    }

    /// The bytes of the range `nextRange()` returned.
    #[wasm_bindgen(js_name = loadTensor)]
    pub fn load_tensor(&mut self, bytes: &[u8]) -> JsResult<()> {
        with_builder!(&mut self.builder, b => b.load_tensor(bytes)).map_err(errors::model_error)
    }

    /// `loadTensor` from a JS `Uint8Array` left where it is: the CPU backend copies it into the
    /// wasm heap (it keeps the weights there); the WebGPU backend copies it piece by piece on to
    /// GPU buffers, so the tensor never sits whole in the wasm heap.
    #[wasm_bindgen(js_name = loadTensorFrom)]
    pub fn load_tensor_from(&mut self, bytes: js_sys::Uint8Array) -> JsResult<()> {
        let b = match &mut self.builder {
            Builder::Cpu(b) => return b.load_tensor(&bytes.to_vec()).map_err(errors::model_error),
            Builder::Gpu(b) => b,
        };
        let len = bytes.length() as usize;
        let expected = b
            .next_tensor()
            .map(|t| (t.desc.name.clone(), (t.range.end - t.range.start) as usize));
        if let Some((name, want)) = expected.filter(|(_, want)| *want != len) {
            return Err(errors::model_error(ModelError::BadTensor {
                name,
                problem: format!("expected {want} bytes, got {len}"),
            }));
        }
        b.load_tensor_with(|be, desc, len| {
            be.load_weight_from(desc, len, &mut |at, dst| {
                bytes
                    .subarray(at as u32, (at + dst.len()) as u32)
                    .copy_to(dst);
                Ok(())
            })
        })
        .map_err(errors::model_error)
    }

    #[wasm_bindgen(js_name = totalBytes)]
    pub fn total_bytes(&self) -> f64 {
        with_builder!(&self.builder, b => b.total_bytes()) as f64
    }

    #[wasm_bindgen(js_name = loadedBytes)]
    pub fn loaded_bytes(&self) -> f64 {
        with_builder!(&self.builder, b => b.loaded_bytes()) as f64
    }

    /// The ready engine, once every tensor is loaded. Consumes the loader.
    pub fn finish(self) -> JsResult<Engine> {
        let runner = match self.builder {
            Builder::Cpu(b) => {
                Runner::Cpu(Box::new(Run::new(b.finish().map_err(errors::model_error)?)))
            }
            Builder::Gpu(b) => {
                Runner::Gpu(Box::new(Run::new(b.finish().map_err(errors::model_error)?)))
            }
        };
        Ok(Engine {
            runner,
            info: self.info,
        })
    }
}

/// A model and its request in progress.
struct Run<B: Backend> {
    model: Model<B>,
    generation: Option<Generation<B>>,
}

impl<B: Backend> Run<B> {
    fn new(model: Model<B>) -> Self {
        Run {
            model,
            generation: None,
        }
    }

    fn begin(
        &mut self,
        prompt: &[u32],
        opts: &model::GenerateOptions,
        layers_per_step: usize,
    ) -> Result<(), ModelError> {
        self.generation = None;
        let mut generation = self.model.begin(prompt, opts)?;
        generation.set_layers_per_step(layers_per_step);
        self.generation = Some(generation);
        Ok(())
    }

    /// One step; `poll`: never wait for the device (WebGPU), `Poll::Pending` instead.
    fn step(&mut self, poll: bool) -> JsResult<Poll<Step>> {
        let Some(generation) = self.generation.as_mut() else {
            return Err(js_error(
                ErrorCode::InvalidRequest,
                "no generation in progress: call begin() first",
            ));
        };
        let step = if poll {
            self.model.poll_step(generation)
        } else {
            self.model.step(generation).map(Poll::Ready)
        };
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                // A failed step ends the request (the cache keeps what was complete).
                self.generation = None;
                return Err(errors::model_error(e));
            }
        };
        if matches!(step, Poll::Ready(Step::Finished { .. })) {
            self.generation = None;
        }
        Ok(step)
    }

    fn cancel(&mut self) {
        if let Some(g) = self.generation.as_mut() {
            g.cancel();
        }
    }

    fn reset(&mut self) {
        self.generation = None;
        self.model.reset();
    }
}

/// `Run` on either backend (boxed as `Builder`).
enum Runner {
    Cpu(Box<Run<CpuBackend>>),
    Gpu(Box<Run<GpuBackend>>),
}

/// Runs `$body` with `$r` bound to the `Run` of whichever backend.
macro_rules! with_run {
    ($runner:expr, $r:ident => $body:expr) => {
        match $runner {
            Runner::Cpu($r) => $body,
            Runner::Gpu($r) => $body,
        }
    };
}

/// A loaded model with its KV cache, and at most one request in progress.
#[wasm_bindgen]
pub struct Engine {
    runner: Runner,
    info: ModelInfo,
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
        with_run!(&self.runner, r => r.model.tokenizer.encode(text, add_special, parse_special))
            .map_err(|e| js_error(ErrorCode::InvalidRequest, &e.to_string()))
    }

    /// Token ids → text, as llama.cpp detokenizes (control tokens print nothing).
    pub fn detokenize(&self, ids: &[u32]) -> String {
        with_run!(&self.runner, r => r.model.tokenizer.decode(ids))
    }

    /// Starts a request after `prompt`, replacing any unfinished one.
    pub fn begin(&mut self, prompt: &[u32], options: JsValue) -> JsResult<()> {
        let opts = options::generate_options(options)?;
        match &mut self.runner {
            // One layer of a prompt chunk per step: the worker gets control back often enough
            // for an abort to land quickly even on a long prompt (a 256-token chunk is many
            // seconds in wasm).
            Runner::Cpu(r) => r.begin(prompt, &opts, 1),
            // A whole chunk per step: recording a chunk's passes is quick, and the GPU works
            // through them while the worker's event loop runs.
            Runner::Gpu(r) => r.begin(prompt, &opts, 0),
        }
        .map_err(errors::model_error)
    }

    /// One unit of work: a prompt chunk or a token. See API.md for the events; on WebGPU it may
    /// be `{ type: "pending" }`: await `ready()`, then step again.
    pub fn step(&mut self) -> JsResult<JsValue> {
        let step = match &mut self.runner {
            Runner::Cpu(r) => r.step(false)?,
            Runner::Gpu(r) => r.step(true)?,
        };
        match step {
            Poll::Ready(step) => to_js(&options::StepEvent::from(step)),
            Poll::Pending => to_js(&options::StepEvent::Pending {}),
        }
    }

    /// Resolves when the GPU read a "pending" step started has landed (at once on the CPU, or
    /// when nothing is in flight). Never rejects: a failure (a lost device) is thrown by the
    /// next `step()`.
    pub fn ready(&self) -> js_sys::Promise {
        let wait = match &self.runner {
            Runner::Cpu(_) => None,
            Runner::Gpu(r) => Some(r.model.backend().read_wait()),
        };
        wasm_bindgen_futures::future_to_promise(async move {
            if let Some(w) = wait {
                w.await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Ends the current request: the next `step()` finishes it with reason "abort".
    pub fn cancel(&mut self) {
        with_run!(&mut self.runner, r => r.cancel())
    }

    /// Forgets the KV cache (and any request in progress).
    pub fn reset(&mut self) {
        with_run!(&mut self.runner, r => r.reset())
    }
}
