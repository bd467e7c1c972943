//! The random-weight llama test models (tests/models/make_llama.py: SPM vocabulary, 4 layers,
//! grouped-query attention, interleaved RoPE, SwiGLU) in every weight type they come in — F32,
//! F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 — greedy on the GPU against the CPU backend,
//! teacher-forced on the CPU's greedy tokens, checked by the KL divergence of the next-token
//! distributions and top-1 agreement against the CPU (the CPU quantizes activations to
//! Q8_0/Q8_1 as ggml does, the GPU keeps them f32; see tests/gemma.rs). The other families'
//! test models (qwen2/3, phi3, phi2, gemma/2, mixtral-style and qwen3moe MoE) the same way.

use cpu::CpuBackend;
use gpu::GpuBackend;
use model::Model;

/// Teacher-forced steps (the CPU's greedy tokens) per model.
const STEPS: usize = 16;
/// The GPU against the CPU reference, the standard for non-CPU paths: the mean KL divergence of
/// the next-token distributions and how often the top tokens agree. The CPU quantizes
/// activations to Q8 as ggml does where the GPU keeps f32, which moves logits of these random
/// models by up to ~0.3 (and can flip a near-tied expert choice in the MoE models), so a top-1
/// difference at a near-tie is expected; measured on lavapipe: see the report each test prints.
const STRICT: Bounds = Bounds {
    kl_mean_max: 1e-2,
    top1_min: 14,
};
/// The MoE models with Q8_0 weights: where two experts are nearly tied for a token, the CPU's
/// Q8 activations and the GPU's f32 ones can route it to different experts. That is one step's
/// jump in KL (measured for qwen3moe q8_0 on lavapipe: ~1e-2 for 8 steps, 0.75 at step 8, then
/// elevated while that token's keys stay in the cache: mean 0.12, top-1 12/16), not a kernel
/// error: the same models with F32 weights hold STRICT.
const MOE_Q8: Bounds = Bounds {
    kl_mean_max: 0.2,
    top1_min: 12,
};

/// What the GPU must meet against the CPU over STEPS steps.
struct Bounds {
    kl_mean_max: f64,
    top1_min: usize,
}

#[test]
fn random_llama_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]
        .map(|ty| format!("llama-spm-{ty}"));
    follow_the_cpu(&variants, &STRICT);
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
    follow_the_cpu(&variants, &STRICT);
}

/// The Phi-3 test models: fused attn_qkv and gate+up ffn_up (split at load), NeoX RoPE with
/// LongRoPE (short) frequency factors, Q scaled before the attention kernel.
#[test]
fn random_phi3_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["phi3-spm-f32", "phi3-spm-q8_0"].map(String::from);
    follow_the_cpu(&variants, &STRICT);
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
    follow_the_cpu(&variants, &STRICT);
}

/// The Phi-2 test models: LayerNorm with bias (layer_norm.wgsl), attention and the ungated GELU
/// FFN side by side, biases everywhere, partial NeoX RoPE (12 of 32 dimensions).
#[test]
fn random_phi2_models_greedy_on_the_gpu_follow_the_cpu() {
    let variants = ["phi2-bpe-f32", "phi2-bpe-q8_0"].map(String::from);
    follow_the_cpu(&variants, &STRICT);
}

/// The mixtral-style MoE test models: the router (moe_route.wgsl: softmax, top-2, normalized
/// weights), the experts' up/gate/down read by id on the device (matmul_id.wgsl), their
/// weighted sum (moe_combine.wgsl). With f32 weights the logits agree to ~4e-3. With q8_0 the
/// CPU's Q8_0 activations move the router's input a little, and where two experts are nearly
/// tied that picks another expert for a token, which moves later logits by up to ~3 (measured
/// 2.77); KL and top-1 agreement still hold.
#[test]
fn random_mixtral_models_greedy_on_the_gpu_follow_the_cpu() {
    follow_the_cpu(&["mixtral-spm-f32".into()], &STRICT);
    follow_the_cpu(&["mixtral-spm-q8_0".into()], &MOE_Q8);
}

/// The qwen3moe test models: Qwen 3's attention (q/k norms, head 32) with the same expert
/// kernels as the mixtral-style files, 8 experts of 96, 2 routed per token.
#[test]
fn random_qwen3moe_models_greedy_on_the_gpu_follow_the_cpu() {
    follow_the_cpu(&["qwen3moe-bpe-f32".into()], &STRICT);
    follow_the_cpu(&["qwen3moe-bpe-q8_0".into()], &MOE_Q8);
}

/// The qwen2moe test models: Qwen 2's attention (biases) with 8 experts of 96 (weights not
/// normalized) and a shared expert gated per token by a sigmoid (`Backend::div`: silu(x)/x).
#[test]
fn random_qwen2moe_models_greedy_on_the_gpu_follow_the_cpu() {
    follow_the_cpu(&["qwen2moe-bpe-f32".into()], &STRICT);
    follow_the_cpu(&["qwen2moe-bpe-q8_0".into()], &MOE_Q8);
}

fn follow_the_cpu(variants: &[String], bounds: &Bounds) {
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
        let (mut agree, mut kl_sum, mut kl_max, mut worst) = (0, 0f64, 0f64, 0.0f32);
        let mut disagreements = Vec::new();
        for step in 0..STEPS {
            let (cl, _) = cm.eval(&tokens).unwrap();
            let (gl, _) = gm.eval(&tokens).unwrap();
            worst = cl
                .iter()
                .zip(&gl)
                .map(|(a, b)| (a - b).abs())
                .fold(worst, f32::max);
            let kl = testkit::kl_divergence(&cl, &gl);
            kl_sum += kl;
            kl_max = kl_max.max(kl);
            let (c_top, c_best, c_second) = testkit::top2(&cl);
            let (g_top, g_best, _) = testkit::top2(&gl);
            if g_top == c_top {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "step {step}: GPU {g_top} ({g_best:.3}), CPU {c_top} ({c_best:.3}, runner-up {c_second:.3}; GPU's pick {:.3})",
                    cl[g_top]
                ));
            }
            tokens.push(c_top as u32);
        }
        let kl_mean = kl_sum / STEPS as f64;
        let line = format!(
            "{variant}: KL mean {kl_mean:.2e} max {kl_max:.2e}, top-1 {agree}/{STEPS}, max |Δlogit| {worst:.4}"
        );
        assert!(
            kl_mean <= bounds.kl_mean_max && agree >= bounds.top1_min,
            "{line} (need KL mean ≤ {:e}, top-1 ≥ {}/{STEPS}); {}",
            bounds.kl_mean_max,
            bounds.top1_min,
            disagreements.join("; ")
        );
        report.push(line);
    }
    eprintln!("{}", report.join("\n"));
}
