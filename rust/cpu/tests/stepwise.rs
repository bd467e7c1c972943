//! The step-wise generation API (what the browser drives) against the one-call `generate`: a
//! prompt evaluated one layer per step, across several prefill chunks, gives the same tokens; a
//! request cancelled in the middle of a chunk leaves the engine usable and the next answer equal;
//! and reusing the KV cache of earlier requests never changes an answer.

use cpu::CpuBackend;
use model::{
    FinishReason, GenerateOptions, Generation, Model, SamplingParams, Step, PREFILL_CHUNK,
};

fn load() -> Model<CpuBackend> {
    let path = testkit::llama_test_model("llama-spm-q8_0");
    let mut file = model::file::open(path.to_str().unwrap()).unwrap();
    file.load_model(CpuBackend::new(0), Some(2048)).unwrap()
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        sampling: SamplingParams::greedy(),
        ignore_eos: true,
        // these tests pin fresh-run equality; `longest_prefix_*` below turn it on
        cache_prompt: false,
    }
}

/// A prompt longer than two prefill chunks.
fn long_prompt(model: &Model<CpuBackend>) -> Vec<u32> {
    let text = "the quick brown fox jumps over the lazy dog, ".repeat(120);
    let ids = model.tokenizer.encode(&text, true, false).unwrap();
    assert!(
        ids.len() > 2 * PREFILL_CHUNK + 10,
        "prompt of {} tokens",
        ids.len()
    );
    ids
}

/// Runs a generation to the end, returning its tokens and how many prefill steps it took.
fn run(model: &mut Model<CpuBackend>, gen: &mut Generation<CpuBackend>) -> (Vec<u32>, usize) {
    let mut prefill_steps = 0;
    loop {
        match model.step(gen).unwrap() {
            Step::Prefill { .. } => prefill_steps += 1,
            Step::Token { .. } => {}
            Step::Finished { stats, .. } => return (stats.generated_tokens, prefill_steps),
        }
    }
}

#[test]
fn layer_steps_give_the_same_tokens_as_whole_chunks() {
    let mut model = load();
    let prompt = long_prompt(&model);
    let whole = model.generate(&prompt, &greedy(8), &mut |_| true).unwrap();

    model.reset();
    let mut gen = model.begin(&prompt, &greedy(8)).unwrap();
    gen.set_layers_per_step(1);
    let (tokens, prefill_steps) = run(&mut model, &mut gen);
    assert_eq!(tokens, whole.generated_tokens);
    let chunks = prompt.len().div_ceil(PREFILL_CHUNK);
    assert_eq!(prefill_steps, chunks * model.config.n_layer);
}

#[test]
fn cancel_mid_chunk_leaves_the_engine_usable() {
    let mut model = load();
    let prompt = long_prompt(&model);
    let want = model.generate(&prompt, &greedy(8), &mut |_| true).unwrap();

    // Cancel after the first chunk and a layer of the second.
    model.reset();
    let mut gen = model.begin(&prompt, &greedy(8)).unwrap();
    gen.set_layers_per_step(1);
    for _ in 0..model.config.n_layer + 1 {
        assert!(matches!(
            model.step(&mut gen).unwrap(),
            Step::Prefill { .. }
        ));
    }
    gen.cancel();
    match model.step(&mut gen).unwrap() {
        Step::Finished { stats, .. } => {
            assert_eq!(stats.finish_reason, FinishReason::Abort);
            assert_eq!(stats.prompt_evaluated, PREFILL_CHUNK);
        }
        other => panic!("expected the request to finish, got {other:?}"),
    }
    assert!(
        model.step(&mut gen).is_err(),
        "a finished generation takes no more steps"
    );

    // The first chunk stays cached; the rest is evaluated again and the answer is the same.
    let again = model.generate(&prompt, &greedy(8), &mut |_| true).unwrap();
    assert_eq!(again.prompt_evaluated, prompt.len() - PREFILL_CHUNK);
    assert_eq!(again.generated_tokens, want.generated_tokens);
}

/// Answers after other requests (sharing a prefix, or the same prompt again) equal a fresh
/// engine's with `cache_prompt` off: only whole chunks computed exactly as a fresh evaluation
/// would are reused.
#[test]
fn cache_reuse_never_changes_an_answer() {
    let mut model = load();
    let long = long_prompt(&model);
    let short = model
        .tokenizer
        .encode("the quick brown fox", true, false)
        .unwrap();
    let fresh = |model: &mut Model<CpuBackend>, prompt: &[u32]| {
        model.reset();
        model.generate(prompt, &greedy(12), &mut |_| true).unwrap()
    };
    let want_long = fresh(&mut model, &long).generated_tokens;
    let want_short = fresh(&mut model, &short).generated_tokens;

    // The same short prompt again: nothing is reused (no whole chunk), the answer is the same.
    let again = model.generate(&short, &greedy(12), &mut |_| true).unwrap();
    assert_eq!(again.prompt_evaluated, short.len());
    assert_eq!(again.generated_tokens, want_short);

    // The long prompt after the short one, then again: whole chunks are reused the second time.
    let first = model.generate(&long, &greedy(12), &mut |_| true).unwrap();
    assert_eq!(first.generated_tokens, want_long);
    let second = model.generate(&long, &greedy(12), &mut |_| true).unwrap();
    assert_eq!(second.prompt_evaluated, long.len() - 2 * PREFILL_CHUNK);
    assert_eq!(second.generated_tokens, want_long);
}

/// With `cache_prompt`, a follow-up prompt that extends what is cached evaluates only its new
/// tokens: the earlier prompt and every reply token that went through the network (all but the
/// last one sampled). A prompt that parts from the cache midway keeps the part before. (That the
/// answers then equal llama.cpp's on its own cache is checked by golden_chat.rs.)
#[test]
fn longest_prefix_reuse_evaluates_only_new_tokens() {
    let mut model = load();
    let opts = GenerateOptions {
        cache_prompt: true,
        ..greedy(12)
    };
    let encode = |model: &Model<CpuBackend>, text: &str, bos: bool| {
        model.tokenizer.encode(text, bos, false).unwrap()
    };
    let first = encode(&model, "the quick brown fox", true);
    let a = model.generate(&first, &opts, &mut |_| true).unwrap();
    assert_eq!(a.prompt_evaluated, first.len());
    assert_eq!(a.generated_tokens.len(), 12);

    let mut follow = first.clone();
    follow.extend(&a.generated_tokens);
    follow.extend(encode(&model, " and then the dog", false));
    let b = model.generate(&follow, &opts, &mut |_| true).unwrap();
    let cached = first.len() + a.generated_tokens.len() - 1;
    assert_eq!(b.prompt_tokens - b.prompt_evaluated, cached);

    // The same prompt again: only its last token (for the logits).
    let c = model.generate(&follow, &opts, &mut |_| true).unwrap();
    assert_eq!(c.prompt_evaluated, 1);

    // Parting from the cache after the first prompt keeps exactly that much.
    let mut other = first.clone();
    other.extend(encode(&model, " sleeps all day long", false));
    let d = model.generate(&other, &opts, &mut |_| true).unwrap();
    assert_eq!(d.prompt_tokens - d.prompt_evaluated, first.len());

    // Off, the same follow-up reuses no partial chunk: it is evaluated as a fresh run is.
    let e = model.generate(&follow, &greedy(12), &mut |_| true).unwrap();
    assert_eq!(e.prompt_evaluated, follow.len());
}
