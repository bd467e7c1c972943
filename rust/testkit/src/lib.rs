//! Where the integration tests find their models. Nothing is ever skipped: a missing model is
//! fetched (the real one, by scripts/test-model.sh) or generated (the random llama ones, by
//! tests/models/make_llama.py, which also checks their sha256).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Gemma 3 270M Q4_K_M, fetched and sha256-checked on first use.
pub fn gemma3_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/test-model.sh"))
            .output()
            .expect("run scripts/test-model.sh");
        assert!(
            out.status.success(),
            "scripts/test-model.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
    })
    .clone()
}

/// A random-weight llama model such as `llama-spm-q4_0`, (re)generated and hash-checked.
pub fn llama_test_model(variant: &str) -> PathBuf {
    // Tests of one binary run in parallel threads; one build at a time is enough.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    run_ok(
        Command::new("python3")
            .arg(repo_root().join("tests/models/make_llama.py"))
            .args(["--only", variant, "--check"]),
        "tests/models/make_llama.py (needs: pip install -r scripts/oracle/requirements.txt)",
    );
    let cache = std::env::var("WASM_CHORD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/wasm-chord")
        });
    let path = cache.join("models/test").join(format!("{variant}.gguf"));
    assert!(path.exists(), "{} was not generated", path.display());
    path
}

/// Runs a helper script; its stdout, or a panic naming it with its stderr.
fn run_ok(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// KL(base ‖ this) in nats between the softmax distributions of two logit rows (f64 sums):
/// how far `this` backend's next-token distribution is from the reference's.
pub fn kl_divergence(base: &[f32], this: &[f32]) -> f64 {
    assert_eq!(base.len(), this.len(), "logit rows of different lengths");
    let log_softmax = |l: &[f32]| -> Vec<f64> {
        let max = l.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
        let sum: f64 = l.iter().map(|&x| (x as f64 - max).exp()).sum();
        let log_z = max + sum.ln();
        l.iter().map(|&x| x as f64 - log_z).collect()
    };
    let (b, t) = (log_softmax(base), log_softmax(this));
    b.iter().zip(&t).map(|(lb, lt)| lb.exp() * (lb - lt)).sum()
}

/// The top entry of `logits` and the two highest values: (index of the best, best, second best).
pub fn top2(logits: &[f32]) -> (usize, f32, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &x) in logits.iter().enumerate() {
        if x > best.1 {
            second = best.1;
            best = (i, x);
        } else if x > second {
            second = x;
        }
    }
    (best.0, best.1, second)
}
