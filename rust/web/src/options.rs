//! Request and event shapes at the boundary (camelCase, as API.md spells them), converted to and
//! from the core's types. Defaults are llama.cpp's, as in the CLI.

use crate::errors::{js_error, ErrorCode, JsResult};
use model::{GenerateOptions, GenerationStats, SamplingParams, Step};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

fn from_js<T: for<'de> Deserialize<'de> + Default>(value: JsValue, what: &str) -> JsResult<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| js_error(ErrorCode::InvalidRequest, &format!("{what}: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadOptions {
    pub n_ctx: Option<usize>,
    /// 0 or absent = one per core (1 in a single-threaded wasm build).
    #[serde(default)]
    pub threads: usize,
}

impl LoadOptions {
    pub fn from_js(value: JsValue) -> JsResult<Self> {
        from_js(value, "load options")
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsGenerateOptions {
    max_tokens: Option<usize>,
    temperature: Option<f32>,
    top_k: Option<usize>,
    top_p: Option<f32>,
    min_p: Option<f32>,
    repetition_penalty: Option<f32>,
    repeat_last_n: Option<usize>,
    seed: Option<u32>,
    ignore_eos: Option<bool>,
    /// Reuse the longest cached prefix (default true; see `GenerateOptions::cache_prompt`).
    cache_prompt: Option<bool>,
}

pub fn generate_options(value: JsValue) -> JsResult<GenerateOptions> {
    let o: JsGenerateOptions = from_js(value, "generate options")?;
    let Some(max_tokens) = o.max_tokens else {
        return Err(js_error(
            ErrorCode::InvalidRequest,
            "generate options: maxTokens is required",
        ));
    };
    let d = SamplingParams::default();
    let sampling = SamplingParams {
        temperature: o.temperature.unwrap_or(d.temperature),
        top_k: o.top_k.unwrap_or(d.top_k),
        top_p: o.top_p.unwrap_or(d.top_p),
        min_p: o.min_p.unwrap_or(d.min_p),
        repetition_penalty: o.repetition_penalty.unwrap_or(d.repetition_penalty),
        penalty_last_n: o.repeat_last_n.unwrap_or(d.penalty_last_n),
        seed: o.seed.map_or_else(random_seed, u64::from),
    };
    Ok(GenerateOptions {
        max_tokens,
        sampling,
        ignore_eos: o.ignore_eos.unwrap_or(false),
        cache_prompt: o.cache_prompt.unwrap_or(true),
    })
}

/// A seed for requests that give none: different on every call, from the clock and a counter
/// (wasm32-unknown-unknown has no OS randomness without extra JS glue, and this needs none).
fn random_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ COUNTER
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StepEvent {
    /// WebGPU: the logits are on their way back from the GPU; await `Engine.ready()`.
    Pending {},
    Prefill {
        evaluated: usize,
        total: usize,
    },
    Token {
        token: u32,
        text: String,
    },
    #[serde(rename_all = "camelCase")]
    Finish {
        text: String,
        finish_reason: &'static str,
        usage: Usage,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    prompt_tokens: usize,
    prompt_evaluated: usize,
    completion_tokens: usize,
    prefill_ms: f64,
    decode_ms: f64,
    prefill_tokens_per_second: f64,
    decode_tokens_per_second: f64,
}

impl From<&GenerationStats> for Usage {
    fn from(s: &GenerationStats) -> Self {
        Usage {
            prompt_tokens: s.prompt_tokens,
            prompt_evaluated: s.prompt_evaluated,
            completion_tokens: s.generated_tokens.len(),
            prefill_ms: s.prompt_time.as_secs_f64() * 1e3,
            decode_ms: s.decode_time.as_secs_f64() * 1e3,
            prefill_tokens_per_second: s.prompt_tps(),
            decode_tokens_per_second: s.decode_tps(),
        }
    }
}

impl From<Step> for StepEvent {
    fn from(step: Step) -> Self {
        match step {
            Step::Prefill { evaluated, total } => StepEvent::Prefill { evaluated, total },
            Step::Token { token, text } => StepEvent::Token { token, text },
            Step::Finished { text, stats } => StepEvent::Finish {
                text,
                finish_reason: stats.finish_reason.as_str(),
                usage: Usage::from(&stats),
            },
        }
    }
}
