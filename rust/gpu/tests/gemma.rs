//! Gemma 3 270M (Q4_K_M: Q8_0 embeddings, Q5_0, Q4_K, Q6_K, Q8_0, F32) on the GPU against the CPU
//! backend, greedy: the CPU's continuation is fed to both (teacher forcing) and at every step the
//! GPU's top token must be the CPU's — except at near-ties, where each backend must rate the
//! other's pick within TIE of its own best, because the GPU's matmuls keep activations in f32 where the CPU
//! quantizes them to Q8_0/Q8_K as ggml does (see README "Numerics"): a deliberate, documented
//! difference of ~1e-2 logit. Free-running GPU text must then equal the CPU's up to such a tie.

use cpu::CpuBackend;
use gpu::GpuBackend;
use model::Model;

/// Largest logit deficit allowed at a step where the backends pick different tokens: how far below
/// its own best each backend rates the other's pick. Gemma's logits are ~10–30 and the CPU's
/// activation quantization moves them by up to ~2 (measured: max |Δlogit| 1.1–1.9 over a whole
/// vocabulary), but at the top the two rankings stay within a few hundredths.
const TIE: f32 = 0.3;
/// Steps generated per prompt (lavapipe is a CPU rasteriser: keep the test a few minutes long).
const STEPS: usize = 12;

#[test]
fn gemma3_greedy_on_the_gpu_follows_the_cpu() {
    let path = testkit::gemma3_path().to_string_lossy().into_owned();
    let gpu = GpuBackend::new().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("adapter: {}", gpu.gpu().adapter_name);
    let mut gm: Model<GpuBackend> = model::file::open(&path)
        .unwrap()
        .load_model(gpu, Some(512))
        .unwrap();
    let mut cm: Model<CpuBackend> = model::file::open(&path)
        .unwrap()
        .load_model(CpuBackend::new(0), Some(512))
        .unwrap();

    let prompts = [
        "The capital of France is",
        "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
        "def fibonacci(n):",
    ];
    let mut ties = 0;
    for prompt in prompts {
        let mut tokens = cm.tokenizer.encode(prompt, true, true).unwrap();
        gm.reset();
        cm.reset();
        let mut worst_logit = 0.0f32;
        // free-running GPU text equals the CPU's through the first step where the top-1 differs
        let mut equal_prefix = None;
        for step in 0..STEPS {
            let (cl, _) = cm.eval(&tokens).unwrap();
            let (gl, _) = gm.eval(&tokens).unwrap();
            assert_eq!(cl.len(), gl.len());
            let diff = cl
                .iter()
                .zip(&gl)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            worst_logit = worst_logit.max(diff);
            let (c_top, c_best, c_second) = testkit::top2(&cl);
            let (g_top, g_best, _) = testkit::top2(&gl);
            if g_top != c_top {
                let gap = c_best - c_second;
                let (g_deficit, c_deficit) = (g_best - gl[c_top], c_best - cl[g_top]);
                assert!(
                    g_deficit < TIE && c_deficit < TIE,
                    "{prompt:?} step {step}: GPU picks {g_top} ({g_best}), CPU {c_top} ({c_best}, runner-up {c_second}); \
                     the GPU rates the CPU's pick {g_deficit} below its own, the CPU the GPU's {c_deficit}; max |Δlogit| {diff}"
                );
                ties += 1;
                equal_prefix.get_or_insert(step);
                eprintln!("{prompt:?} step {step}: near-tie (CPU gap {gap}, deficits {g_deficit} / {c_deficit}) resolved differently");
            }
            tokens.push(c_top as u32);
        }
        eprintln!(
            "{prompt:?}: free-running greedy text equal for {} of {STEPS} tokens; max |gpu − cpu| logit {worst_logit}",
            equal_prefix.unwrap_or(STEPS)
        );
    }
    eprintln!("near-ties resolved differently: {ties}");
}
