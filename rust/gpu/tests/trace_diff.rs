//! Investigation tool (ignored by default): runs Gemma 3 270M on the GPU and the CPU with the
//! forward pass's debug hook and prints, per named intermediate, the largest difference relative
//! to the tensor's largest value — to find the layer and op where the two backends part.
//!
//!     cargo test -p wasm-chord-gpu --test trace_diff -- --ignored --nocapture

use cpu::CpuBackend;
use gpu::GpuBackend;
use model::Model;

#[test]
#[ignore]
fn trace_diff_gemma3() {
    let path = testkit::gemma3_path().to_string_lossy().into_owned();
    let mut gm: Model<GpuBackend> = model::file::open(&path)
        .unwrap()
        .load_model(GpuBackend::new().unwrap(), Some(256))
        .unwrap();
    let mut cm: Model<CpuBackend> = model::file::open(&path)
        .unwrap()
        .load_model(CpuBackend::new(0), Some(256))
        .unwrap();
    let prompt = cm
        .tokenizer
        .encode("The capital of France is", true, true)
        .unwrap();
    for (pos0, tokens) in [(0, prompt.clone()), (prompt.len(), vec![1u32 << 10])] {
        let mut cpu_vals: Vec<(String, Vec<f32>)> = Vec::new();
        let mut hook = |name: &str, layer: Option<usize>, v: &[f32]| {
            cpu_vals.push((
                format!("{name}-{}", layer.map_or(-1, |l| l as i64)),
                v.to_vec(),
            ));
        };
        cm.forward_traced(&tokens, pos0, Some(&mut hook)).unwrap();
        let mut i = 0;
        let mut hook = |name: &str, layer: Option<usize>, v: &[f32]| {
            let (label, c) = &cpu_vals[i];
            i += 1;
            let max = c.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-30);
            let diff = c
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            eprintln!(
                "{pos0:>3} {label:>16} {name}: max|Δ|/max|x| = {:.2e} (max {max:.3})",
                diff / max
            );
            let _ = layer;
        };
        gm.forward_traced(&tokens, pos0, Some(&mut hook)).unwrap();
    }
}
