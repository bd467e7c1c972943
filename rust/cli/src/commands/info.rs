//! `wasm-chord info`: what a GGUF file holds — architecture, sizes, quant types, tokenizer,
//! chat template. Reads only the header; works on architectures we cannot run, and says so.

use super::*;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

pub fn main(argv: &[String]) -> Result<(), String> {
    if wants_help(argv) {
        println!("usage: wasm-chord info -m MODEL [--json]");
        return Ok(());
    }
    let a = Args::parse(argv, &[MODEL, switch(&["--json"])])?;
    let path = a.require("-m")?;
    let f = load::open(path).map_err(|e| e.to_string())?;
    let g = &f.gguf;

    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let mut n_params: u64 = 0;
    for t in &g.tensors {
        *types.entry(t.type_name()).or_default() += 1;
        n_params = n_params.saturating_add(t.n_elements());
    }
    let str_key = |k: &str| g.get_str_opt(k).ok().flatten().map(str::to_string);
    let arch = str_key("general.architecture").unwrap_or_else(|| "(none)".into());

    let mut info = Map::new();
    info.insert("file".into(), json!(path));
    info.insert("file_size".into(), json!(f.len));
    info.insert("gguf_version".into(), json!(g.version));
    info.insert("architecture".into(), json!(arch));
    info.insert("name".into(), json!(str_key("general.name")));
    info.insert("parameters".into(), json!(n_params));
    info.insert("tensors".into(), json!(g.tensors.len()));
    info.insert("tensor_types".into(), json!(types));
    match model::Config::from_gguf(g) {
        Ok(c) => {
            info.insert("supported".into(), json!(true));
            info.insert("context_length".into(), json!(c.n_ctx_train));
            info.insert("embedding_length".into(), json!(c.n_embd));
            info.insert("layers".into(), json!(c.n_layer));
            info.insert("heads".into(), json!(c.n_head));
            info.insert("kv_heads".into(), json!(c.n_head_kv));
            info.insert("head_dim".into(), json!(c.head_dim));
            info.insert("feed_forward_length".into(), json!(c.n_ff));
            info.insert("vocab_size".into(), json!(c.n_vocab));
            info.insert("sliding_window".into(), json!(c.sliding_window));
            let swa_layers = c.swa_layers.iter().filter(|&&s| s).count();
            info.insert("sliding_window_layers".into(), json!(swa_layers));
            info.insert("attn_logit_softcap".into(), json!(c.attn_softcap));
            info.insert("final_logit_softcap".into(), json!(c.final_logit_softcap));
            // mixture of experts: experts per layer and how many each token uses (0 when dense)
            let (n_expert, n_used) = c.moe.map_or((0, 0), |m| (m.n_expert, m.n_expert_used));
            info.insert("experts".into(), json!(n_expert));
            info.insert("experts_used".into(), json!(n_used));
        }
        Err(e) => {
            info.insert("supported".into(), json!(false));
            info.insert("unsupported_reason".into(), json!(e.to_string()));
        }
    }
    match tokenizer::Tokenizer::from_gguf(g) {
        Ok(t) => {
            info.insert(
                "tokenizer".into(),
                json!({
                    "model": str_key("tokenizer.ggml.model"),
                    "pre": str_key("tokenizer.ggml.pre"),
                    "kind": format!("{:?}", t.kind()),
                    "vocab_size": t.vocab_size(),
                    "bos": t.bos_id().and_then(|i| t.token_text(i)),
                    "eos": t.eos_id().and_then(|i| t.token_text(i)),
                }),
            );
            let template = match model::chat::ChatTemplate::for_model(g, &t) {
                Ok(model::chat::ChatTemplate::Jinja { source, .. }) => {
                    format!("from the file ({} characters)", source.len())
                }
                Ok(model::chat::ChatTemplate::Builtin(b)) => {
                    format!("none in the file; built-in {b:?} will be used")
                }
                Err(e) => format!("none ({e})"),
            };
            info.insert("chat_template".into(), json!(template));
        }
        Err(e) => {
            info.insert("tokenizer".into(), json!({ "error": e.to_string() }));
        }
    }

    if a.has("--json") {
        println!("{}", Json::Object(info));
    } else {
        for (k, v) in &info {
            let shown = match v {
                Json::String(s) => s.clone(),
                Json::Object(m) => m
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_string)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            println!("{k:20} {shown}");
        }
    }
    Ok(())
}
