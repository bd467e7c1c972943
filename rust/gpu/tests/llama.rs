//! The random-weight llama test models (tests/models/make_llama.py: SPM vocabulary, 4 layers,
//! grouped-query attention, interleaved RoPE, SwiGLU) in every weight type they come in — F32,
//! F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 — greedy on the GPU against the CPU backend,
//! teacher-forced as in tests/gemma.rs (and the same for the qwen2 / qwen3 models there): the GPU's top token must be the CPU's at every step, or
//! each backend must rate the other's pick within TIE of its own best (the CPU quantizes
//! activations to Q8_0/Q8_1 as ggml does, the GPU keeps them f32; see tests/gemma.rs).

use cpu::CpuBackend;
use gpu::GpuBackend;
use model::Model;

/// Logits of these models are ~10–15; the activation quantization moves them by up to ~0.2.
const TIE: f32 = 0.3;
const STEPS: usize = 16;

#[test]
fn random_llama_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]
        .map(|ty| format!("llama-spm-{ty}"));
    follow_the_cpu(&variants);
}

/// The Qwen test models: q/k/v biases, NeoX RoPE, tied embeddings (qwen2); per-head Q/K norms
/// and a head size of 32 over a 128-wide embedding (qwen3).
#[test]
fn random_qwen_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = [
        "qwen2-bpe-f32",
        "qwen2-bpe-q8_0",
        "qwen3-bpe-f32",
        "qwen3-bpe-q8_0",
    ]
    .map(String::from);
    follow_the_cpu(&variants);
}

/// The Phi-3 test models: fused attn_qkv and gate+up ffn_up (split at load), NeoX RoPE with
/// LongRoPE (short) frequency factors, Q scaled before the attention kernel.
#[test]
fn random_phi3_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["phi3-spm-f32", "phi3-spm-q8_0"].map(String::from);
    follow_the_cpu(&variants);
}

/// The Gemma test models: GeGLU, √n_embd embeddings, tied head, head size 32 over a 128-wide
/// embedding; gemma2 adds post-norms, the attention score softcap (in the attention kernel),
/// the logit softcap and a 16-position window on its even layers (the 16 steps here go past it).
#[test]
fn random_gemma_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = [
        "gemma-spm-f32",
        "gemma-spm-q8_0",
        "gemma2-spm-f32",
        "gemma2-spm-q8_0",
    ]
    .map(String::from);
    follow_the_cpu(&variants);
}

/// The Phi-2 test models: LayerNorm with bias (layer_norm.wgsl), attention and the ungated GELU
/// FFN side by side, biases everywhere, partial NeoX RoPE (12 of 32 dimensions).
#[test]
fn random_phi2_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["phi2-bpe-f32", "phi2-bpe-q8_0"].map(String::from);
    follow_the_cpu(&variants);
}

/// The mixtral-style MoE test models: the router (moe_route.wgsl: softmax, top-2, normalized
/// weights), the experts' up/gate/down read by id on the device (matmul_id.wgsl), their
/// weighted sum (moe_combine.wgsl). With f32 weights the logits agree to ~4e-3. With q8_0 the
/// CPU's Q8_0 activations move the router's input a little, and where two experts are nearly
/// tied that picks another expert for a token, which moves later logits by up to ~3 (measured
/// 2.77): the greedy tokens still agree or are near-ties within TIE.
#[test]
fn random_mixtral_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["mixtral-spm-f32", "mixtral-spm-q8_0"].map(String::from);
    follow_the_cpu(&variants);
}

/// The qwen3moe test models: Qwen 3's attention (q/k norms, head 32) with the same expert
/// kernels as the mixtral-style files, 8 experts of 96, 2 routed per token.
#[test]
fn random_qwen3moe_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["qwen3moe-bpe-f32", "qwen3moe-bpe-q8_0"].map(String::from);
    follow_the_cpu(&variants);
}

fn follow_the_cpu(variants: &[String]) {
    let mut report = Vec::new();
    for variant in variants {
        let path = testkit::llama_test_model(variant)
            .to_string_lossy()
            .into_owned();
        let gpu = GpuBackend::new().unwrap_or_else(|e| panic!("{e}"));
        let mut gm: Model<GpuBackend> = model::file::open(&path)
            .unwrap()
            .load_model(gpu, Some(256))
            .unwrap();
        let mut cm: Model<CpuBackend> = model::file::open(&path)
            .unwrap()
            .load_model(CpuBackend::new(1), Some(256))
            .unwrap();
        let mut tokens = cm
            .tokenizer
            .encode("Once upon a time, in a land far away", true, true)
            .unwrap();
        let (mut ties, mut worst) = (0, 0.0f32);
        for step in 0..STEPS {
            let (cl, _) = cm.eval(&tokens).unwrap();
            let (gl, _) = gm.eval(&tokens).unwrap();
            worst = cl
                .iter()
                .zip(&gl)
                .map(|(a, b)| (a - b).abs())
                .fold(worst, f32::max);
            let (c_top, c_best, c_second) = testkit::top2(&cl);
            let (g_top, g_best, _) = testkit::top2(&gl);
            if g_top != c_top {
                let (g_deficit, c_deficit) = (g_best - gl[c_top], c_best - cl[g_top]);
                assert!(
                    g_deficit < TIE && c_deficit < TIE,
                    "{variant} step {step}: GPU picks {g_top} ({g_best}), CPU {c_top} ({c_best}, runner-up {c_second}); \
                     the GPU rates the CPU's pick {g_deficit} below its own, the CPU the GPU's {c_deficit}"
                );
                ties += 1;
            }
            tokens.push(c_top as u32);
        }
        report.push(format!(
            "{variant}: max |Δlogit| {worst:.4}, near-ties resolved differently {ties}/{STEPS}"
        ));
    }
    eprintln!("{}", report.join("\n"));
}
