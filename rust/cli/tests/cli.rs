//! The `wasm-chord` binary as a user runs it: real files, real model, exit codes and stderr.
//! Every failure must be exactly one `error: …` line and a non-zero exit, never a panic.

use gguf::{GgufWriter, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasm-chord"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run wasm-chord")
}

fn gemma() -> String {
    testkit::gemma3_path().to_string_lossy().into_owned()
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasm-chord-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts a clean failure and returns the error line.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "{args:?} should fail; stderr: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: exit code; stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: expected one stderr line, got: {stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    lines[0].to_string()
}

#[test]
fn usage_mistakes_are_one_line_errors() {
    assert!(fails(&[]).contains("no command"));
    assert!(fails(&["fly"]).contains("unknown command 'fly'"));
    assert!(fails(&["run", "-p", "hi"]).contains("-m is required"));
    assert!(fails(&["run", "-m", "/nonexistent.gguf", "-p", "hi"]).contains("cannot open model"));
    assert!(fails(&["run", "-m", "x", "--bogus"]).contains("unknown argument"));
    assert!(fails(&["run", "-m", "x", "-p", "hi", "-n", "many"]).contains("not a valid number"));
    assert!(fails(&["run", "-m", "x", "-p", "hi", "--top-p", "0"]).contains("top_p"));
}

#[test]
fn malformed_and_hostile_files_are_one_line_errors() {
    let real = std::fs::read(gemma()).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.gguf", vec![], "truncated"),
        (
            "text.gguf",
            b"hello, this is not a model file at all".to_vec(),
            "magic",
        ),
        ("header-cut.gguf", real[..100_000].to_vec(), "truncated"),
        ("data-cut.gguf", real[..real.len() / 2].to_vec(), "tensor"),
        (
            "huge-count.gguf",
            [
                b"GGUF".as_slice(),
                &3u32.to_le_bytes(),
                &u64::MAX.to_le_bytes(),
                &u64::MAX.to_le_bytes(),
            ]
            .concat(),
            "",
        ),
        (
            "huge-string.gguf",
            [
                b"GGUF".as_slice(),
                &3u32.to_le_bytes(),
                &0u64.to_le_bytes(),
                &1u64.to_le_bytes(),
                &(1u64 << 62).to_le_bytes(),
            ]
            .concat(),
            "",
        ),
    ];
    for (name, bytes, expect) in cases {
        let path = temp_file(name, &bytes);
        for cmd in ["run", "info", "tokenize"] {
            let mut args = vec![cmd, "-m", path.to_str().unwrap()];
            if cmd != "info" {
                args.extend(["-p", "hi"]);
            }
            let line = fails(&args);
            assert!(
                line.to_lowercase().contains(expect),
                "{name} / {cmd}: {line}"
            );
        }
    }
}

fn small_gguf(arch: &str, tensor_type: u32) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.add("general.architecture", Value::String(arch.into()));
    w.add(format!("{arch}.embedding_length"), Value::U32(32));
    w.add(format!("{arch}.block_count"), Value::U32(1));
    w.add(format!("{arch}.feed_forward_length"), Value::U32(64));
    w.add(format!("{arch}.attention.head_count"), Value::U32(4));
    w.add(
        format!("{arch}.attention.layer_norm_rms_epsilon"),
        Value::F32(1e-5),
    );
    w.add("tokenizer.ggml.model", Value::String("llama".into()));
    let tokens = ["<unk>", "<s>", "</s>", "▁a", "a"];
    w.add(
        "tokenizer.ggml.tokens",
        Value::Array(
            tokens
                .iter()
                .map(|t| Value::String(t.to_string()))
                .collect(),
        ),
    );
    w.add(
        "tokenizer.ggml.scores",
        Value::Array(tokens.iter().map(|_| Value::F32(0.0)).collect()),
    );
    w.add(
        "tokenizer.ggml.token_type",
        Value::Array([2, 3, 3, 1, 1].iter().map(|&t| Value::I32(t)).collect()),
    );
    w.add("tokenizer.ggml.bos_token_id", Value::U32(1));
    w.add("tokenizer.ggml.eos_token_id", Value::U32(2));
    w.add_tensor(
        "token_embd.weight",
        &[32, 5],
        tensor_type,
        vec![0u8; 32 * 5 * 4],
    );
    w.finish()
}

#[test]
fn unsupported_architecture_and_tensor_type_are_named() {
    let mamba = temp_file("mamba.gguf", &small_gguf("mamba", 0));
    let line = fails(&["run", "-m", mamba.to_str().unwrap(), "-p", "a"]);
    assert!(line.contains("unsupported architecture 'mamba'"), "{line}");
    // info still describes it, and says why it cannot run.
    let out = run(&["info", "-m", mamba.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["architecture"], "mamba");
    assert_eq!(info["supported"], false);

    let odd = temp_file("odd-type.gguf", &small_gguf("llama", 99));
    let line = fails(&["run", "-m", odd.to_str().unwrap(), "-p", "a"]);
    assert!(
        line.contains("token_embd.weight") && line.contains("99"),
        "{line}"
    );
}

#[test]
fn info_describes_the_test_model() {
    let out = run(&["info", "-m", &gemma(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["architecture"], "gemma3");
    assert_eq!(info["tensors"], 236);
    assert_eq!(info["layers"], 18);
    assert_eq!(info["vocab_size"], 262144);
    assert_eq!(info["tensor_types"]["Q4_K"], 27);
    assert_eq!(info["tokenizer"]["model"], "llama");
    assert!(info["chat_template"].as_str().unwrap().contains("Gemma"));
}

/// `wasm-chord info --json` of one of tests/models/make_llama.py's random test models.
fn test_model_info(variant: &str) -> serde_json::Value {
    let path = testkit::llama_test_model(variant);
    let out = run(&["info", "-m", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn info_names_the_qwen_architectures() {
    // The random-weight Qwen models of tests/models/make_llama.py: qwen3's head size comes from
    // key_length (8 heads × 32 over a 128-wide embedding).
    for (variant, arch, head_dim) in [
        ("qwen2-bpe-q8_0", "qwen2", 16),
        ("qwen3-bpe-q8_0", "qwen3", 32),
    ] {
        let info = test_model_info(variant);
        assert_eq!(info["architecture"], arch);
        assert_eq!(info["supported"], true, "{info}");
        assert_eq!(info["head_dim"], head_dim);
        assert_eq!(info["tokenizer"]["pre"], "qwen2");
        assert!(info["chat_template"].as_str().unwrap().contains("ChatMl"));
    }
}

#[test]
fn info_names_phi3() {
    // The random-weight Phi-3 model of tests/models/make_llama.py: fused attn_qkv / ffn_up
    // (split at load), n_head_kv = n_head, the spm vocabulary with Phi-3's chat tokens (no
    // chat_template in the file, so the built-in Phi-3 format is picked).
    let info = test_model_info("phi3-spm-q8_0");
    assert_eq!(info["architecture"], "phi3");
    assert_eq!(info["supported"], true, "{info}");
    assert_eq!(info["head_dim"], 16);
    assert!(
        info["chat_template"].as_str().unwrap().contains("Phi3"),
        "{info}"
    );
}

#[test]
fn info_names_the_gemma_architectures() {
    // The random-weight Gemma models of tests/models/make_llama.py (head size 32 from
    // key_length, tied output, the spm vocabulary with Gemma's turn tokens): gemma2 has its two
    // softcaps and a sliding window on its even layers (2 of 4); gemma has none of these.
    for (variant, arch, swa_layers, softcaps) in [
        ("gemma-spm-q8_0", "gemma", 0, [None, None]),
        ("gemma2-spm-q8_0", "gemma2", 2, [Some(4.0), Some(8.0)]),
    ] {
        let info = test_model_info(variant);
        assert_eq!(info["architecture"], arch);
        assert_eq!(info["supported"], true, "{info}");
        assert_eq!(info["head_dim"], 32);
        assert_eq!(info["sliding_window_layers"], swa_layers, "{info}");
        assert_eq!(info["attn_logit_softcap"].as_f64(), softcaps[0], "{info}");
        assert_eq!(info["final_logit_softcap"].as_f64(), softcaps[1], "{info}");
        assert!(
            info["chat_template"].as_str().unwrap().contains("Gemma"),
            "{info}"
        );
    }
}

#[test]
fn info_names_phi2() {
    // The random-weight Phi-2 model of tests/models/make_llama.py: LayerNorm eps from
    // phi2.attention.layer_norm_epsilon, 4 heads of 32, the phi-2 pre-tokenizer.
    let info = test_model_info("phi2-bpe-q8_0");
    assert_eq!(info["architecture"], "phi2");
    assert_eq!(info["supported"], true, "{info}");
    assert_eq!(info["head_dim"], 32);
    assert_eq!(info["tokenizer"]["pre"], "phi-2");
}

#[test]
fn info_and_run_mixtral_style_moe() {
    // The random-weight mixtral-style model of tests/models/make_llama.py: general.architecture
    // llama with 4 experts per layer, 2 used per token (3-D expert tensors).
    let path = testkit::llama_test_model("mixtral-spm-q8_0");
    let path = path.to_str().unwrap();
    let out = run(&["info", "-m", path, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["architecture"], "llama");
    assert_eq!(info["supported"], true, "{info}");
    assert_eq!(
        (info["experts"].as_u64(), info["experts_used"].as_u64()),
        (Some(4), Some(2))
    );
    // a dense model says 0 experts
    let dense = testkit::llama_test_model("llama-spm-q8_0");
    let out = run(&["info", "-m", dense.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["experts"], 0);

    // greedy text on the CPU: llama.cpp's (tests/golden/generate/mixtral-spm-q8_0.jsonl)
    let golden = std::fs::read_to_string(
        testkit::repo_root().join("tests/golden/generate/mixtral-spm-q8_0.jsonl"),
    )
    .unwrap();
    let case: serde_json::Value = serde_json::from_str(golden.lines().next().unwrap()).unwrap();
    let prompt = case["prompt"].as_str().unwrap();
    let out = run(&["run", "-m", path, "-p", prompt, "-n", "32", "--temp", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (random weights write invalid UTF-8 too: the golden's bytes are then in text_hex)
    let want: Vec<u8> = match case["text_hex"].as_str() {
        Some(hex) => (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect(),
        None => case["text"].as_str().unwrap().as_bytes().to_vec(),
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn tokenize_matches_llama_cpp() {
    // Cases from tests/golden/tokenize/gemma3.jsonl (llama-tokenize), through the CLI's own
    // argument handling: escapes processed in -p, -f read verbatim.
    let out = run(&[
        "tokenize",
        "-m",
        &gemma(),
        "-p",
        "<start_of_turn>user\\nHello",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[2,105,2364,107,9259]"
    );
    let file = temp_file("prompt.txt", "<start_of_turn>user\nHello".as_bytes());
    let out = run(&["tokenize", "-m", &gemma(), "-f", file.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[2,105,2364,107,9259]"
    );
}

#[test]
fn run_streams_llama_cpp_greedy_text() {
    // tests/golden/generate/gemma3.jsonl, prompt "The quick brown fox", 32 tokens.
    let out = run(&[
        "run",
        "-m",
        &gemma(),
        "-p",
        "The quick brown fox",
        "-n",
        "32",
        "--temp",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/generate/gemma3.jsonl"),
    )
    .unwrap();
    let case = golden
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| c["prompt"] == "The quick brown fox")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        case["text"].as_str().unwrap()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("prompt: 5 tokens") && stderr.contains("decode: 32 tokens"),
        "{stderr}"
    );
}

#[test]
fn over_long_prompt_is_refused() {
    let line = fails(&[
        "run",
        "-m",
        &gemma(),
        "-c",
        "8",
        "-p",
        "one two three four five six seven eight nine ten",
    ]);
    assert!(line.contains("context holds 8"), "{line}");
}

fn perplexity_text() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/perplexity.txt")
        .to_string_lossy()
        .into_owned()
}

/// `perplexity --json` on the CPU, parsed; panics with stderr on failure.
fn perplexity_json(extra: &[&str]) -> serde_json::Value {
    let (model, text) = (gemma(), perplexity_text());
    let mut args = vec!["perplexity", "-m", &model, "-f", &text, "--json"];
    args.extend(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn perplexity_of_the_test_text_on_cpu() {
    // Measured: PPL 30.8902 ± 5.41127 (llama-perplexity -b 64 prints the same digits; README).
    let j = perplexity_json(&["-c", "256", "--chunks", "2"]);
    let ppl = j["ppl"].as_f64().unwrap();
    assert!(ppl.is_finite() && (2.0..200.0).contains(&ppl), "PPL {ppl}");
    assert!(j["ppl_err"].as_f64().unwrap() > 0.0);
    assert_eq!(j["n_chunks"], 2);
    // The second half of each chunk: positions 128..=254 predict tokens 129..=255.
    assert_eq!(j["n_scored"], 2 * 127);
    assert_eq!(j["chunk_ppl"].as_array().unwrap().len(), 2);
    assert_eq!(j["chunk_ppl"][1].as_f64().unwrap(), ppl);
}

#[test]
fn perplexity_kl_divergence_against_a_saved_base() {
    let (model, text) = (gemma(), perplexity_text());
    let base = temp_file("ppl-base-128.bin", b"");
    let base = base.to_str().unwrap();
    let out = run(&[
        "perplexity",
        "-m",
        &model,
        "-f",
        &text,
        "-c",
        "128",
        "--chunks",
        "1",
        "-b",
        "32",
        "--save-logits",
        base,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("[1]") && stdout.contains("PPL = "),
        "{stdout}"
    );
    // Header, 128 token ids, 63 scored rows of the 262,144-token vocabulary as f32.
    assert_eq!(
        std::fs::metadata(base).unwrap().len(),
        32 + 4 * 128 + 4 * 262_144 * 63
    );

    // The same batching computes the same logits: KL exactly 0, full agreement.
    let same = perplexity_json(&["-c", "128", "--chunks", "1", "-b", "32", "--kl-base", base]);
    assert_eq!(same["kl_mean"], 0.0);
    assert_eq!(same["kl_max"], 0.0);
    assert_eq!(same["top1_agreement_pct"], 100.0);
    assert_eq!(same["kl_tokens"], 63.0);
    let ppl = same["ppl"].as_f64().unwrap();
    assert!((same["ppl_base"].as_f64().unwrap() - ppl).abs() < 1e-5 * ppl);

    // Other batching, other float order (ggml's kernels round by batch shape, and so do ours:
    // llama-perplexity gives the same two PPLs). Measured for -b 64 against -b 32: mean KL
    // 6.2e-3, top-1 96.8 %; -b 1 gives 5.9e-3 and 95.2 % (too slow for this test).
    let other = perplexity_json(&["-c", "128", "--chunks", "1", "-b", "64", "--kl-base", base]);
    let kl = other["kl_mean"].as_f64().unwrap();
    assert!(kl > 0.0 && kl < 0.02, "mean KL {kl}");
    assert!(other["kl_max"].as_f64().unwrap() >= kl);
    let top1 = other["top1_agreement_pct"].as_f64().unwrap();
    assert!(top1 >= 90.0, "top-1 agreement {top1} %");

    // A base made with another -c is refused before anything is evaluated.
    let line = fails(&[
        "perplexity",
        "-m",
        &model,
        "-f",
        &text,
        "-c",
        "64",
        "--chunks",
        "1",
        "--kl-base",
        base,
    ]);
    assert!(
        line.contains("-c 128") && line.contains("make it again with --save-logits"),
        "{line}"
    );
}

#[test]
fn perplexity_mistakes_are_one_line_errors() {
    let (model, text) = (gemma(), perplexity_text());
    let ppl = |extra: &[&str]| {
        let mut args = vec!["perplexity", "-m", model.as_str(), "-f", text.as_str()];
        args.extend(extra);
        fails(&args)
    };
    assert!(fails(&["perplexity", "-m", &model]).contains("-f FILE"));
    assert!(
        fails(&["perplexity", "-m", &model, "-f", "/nonexistent.txt"])
            .contains("cannot read text file")
    );
    let empty = temp_file("empty.txt", b"");
    assert!(fails(&["perplexity", "-m", &model, "-f", empty.to_str().unwrap()]).contains("empty"));
    let short = temp_file("short.txt", b"Only a few words here.");
    let line = fails(&[
        "perplexity",
        "-m",
        &model,
        "-f",
        short.to_str().unwrap(),
        "-c",
        "64",
    ]);
    assert!(
        line.contains("only 7 tokens") && line.contains("smaller -c"),
        "{line}"
    );
    assert!(ppl(&["--backend", "tpu"]).contains("unknown backend 'tpu'"));
    assert!(ppl(&["-c", "2"]).contains("too small"));
    assert!(ppl(&["-b", "0"]).contains("-b must be at least 1"));
    assert!(ppl(&["--kl-base", "/nonexistent.bin"]).contains("cannot open"));
    let not_base = temp_file("not-a-base.bin", &[7u8; 64]);
    assert!(ppl(&["--kl-base", not_base.to_str().unwrap()]).contains("wrong magic"));
    // A header for 1 chunk of 128 over Gemma's vocabulary, with no rows after it.
    let mut cut = b"WCHORDLP".to_vec();
    for v in [1u32, 262_144, 128, 1, 64, 63] {
        cut.extend_from_slice(&v.to_le_bytes());
    }
    let cut = temp_file("cut-base.bin", &cut);
    assert!(ppl(&["--kl-base", cut.to_str().unwrap()]).contains("truncated"));
    let tiny = temp_file("tiny-base.bin", b"WCHORD");
    assert!(ppl(&["--kl-base", tiny.to_str().unwrap()]).contains("truncated"));
}

/// Where there is no NVIDIA driver (the CI machine), `--backend cuda` is one clear line on every
/// command that takes it, before any model is read; never a panic from cudarc's loader.
#[test]
fn cuda_backend_without_a_driver_is_a_one_line_error() {
    if libcuda_present() {
        eprintln!("a CUDA driver is present here: the missing-driver error is not checked");
        return;
    }
    // the backend is opened before the model is read: no model needed
    let m = "no-such-model.gguf";
    let text = temp_file("cuda-ppl.txt", "some text to score ".repeat(50).as_bytes());
    let text = text.to_str().unwrap();
    for cmd in [
        vec!["run", "-m", m, "-p", "hi", "-n", "1", "--backend", "cuda"],
        vec!["bench", "-m", m, "--backend", "cuda"],
        vec!["perplexity", "-m", m, "-f", text, "--backend", "cuda"],
    ] {
        let line = fails(&cmd);
        assert!(
            line.starts_with("error: CUDA is not available: ") && line.contains("libcuda"),
            "{cmd:?}: {line}"
        );
    }
}

/// Whether the driver library is installed where Debian/Ubuntu put it.
fn libcuda_present() -> bool {
    ["libcuda.so.1", "libcuda.so"].iter().any(|n| {
        std::path::Path::new("/usr/lib/x86_64-linux-gnu")
            .join(n)
            .exists()
    })
}
