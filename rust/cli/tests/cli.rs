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
