//! The workspace's llama.cpp tokenization goldens (tests/golden/tokenize/*.jsonl, made by
//! scripts/oracle/make-tokenize-goldens.py): every case of every file must match.
//! `gemma3` is the real test model; `llama-spm` / `llama-bpe` are the random-weight models of
//! tests/models/make_llama.py, generated (and hash-checked) here when missing from the cache.
mod common;

use std::path::PathBuf;

use common::*;

fn model_for(name: &str) -> PathBuf {
    if name == "gemma3" {
        return gemma3_path();
    }
    testkit::llama_test_model(&format!("{name}-f32"))
}

#[test]
fn workspace_tokenize_goldens_match() {
    let dir = repo_root().join("tests/golden/tokenize");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no goldens in {}", dir.display());
    let mut report = Vec::new();
    let mut total = 0;
    for file in &files {
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        let tok = load(&model_for(&name));
        let text = std::fs::read_to_string(file).unwrap();
        for (lineno, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", lineno + 1));
            let input = v["text"].as_str().expect("text");
            let add = v["add_special"].as_bool().expect("add_special");
            let parse = v["parse_special"].as_bool().expect("parse_special");
            let want: Vec<u32> = v["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            let got = tok.encode(input, add, parse).expect("encode");
            total += 1;
            if got != want {
                report.push(format!("{name}:{}: {input:?} add={add} parse={parse}\n  llama.cpp {want:?}\n  ours      {got:?}", lineno + 1));
            }
        }
    }
    eprintln!("{total} cases from {} files", files.len());
    assert!(
        report.is_empty(),
        "{} of {total} differ:\n{}",
        report.len(),
        report.join("\n")
    );
}
