//! `Model::poll_step`, the non-blocking generation loop the browser's WebGPU path runs (the wasm
//! worker may not block on the GPU: it returns to its event loop while a read is in flight), here
//! natively on the same backend: the same tokens as the blocking `step`, every decoded token
//! waits for the device at least once, and a cancel while a read is in flight leaves the engine
//! usable.

use gpu::GpuBackend;
use model::{FinishReason, GenerateOptions, Generation, Model, SamplingParams, Step};
use std::task::Poll;

fn load() -> Model<GpuBackend> {
    let path = testkit::llama_test_model("llama-spm-q8_0")
        .to_string_lossy()
        .into_owned();
    let gpu = GpuBackend::new().unwrap_or_else(|e| panic!("{e}"));
    model::file::open(&path)
        .unwrap()
        .load_model(gpu, Some(256))
        .unwrap()
}

fn greedy(n: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens: n,
        sampling: SamplingParams {
            temperature: 0.0,
            ..SamplingParams::default()
        },
        ignore_eos: true,
    }
}

/// Polls to the end; returns the tokens and how many polls were `Pending`.
fn poll_to_end(
    model: &mut Model<GpuBackend>,
    gen: &mut Generation<GpuBackend>,
) -> (Vec<u32>, usize) {
    let mut pending = 0;
    loop {
        match model.poll_step(gen).unwrap() {
            // (natively `read_ready` polls the device, so polling again makes progress; the
            // browser awaits `read_wait` here instead)
            Poll::Pending => pending += 1,
            Poll::Ready(Step::Finished { stats, .. }) => return (stats.generated_tokens, pending),
            Poll::Ready(_) => {}
        }
    }
}

#[test]
fn poll_step_gives_the_tokens_of_step_without_blocking() {
    let mut model = load();
    let prompt = model
        .tokenizer
        .encode("Once upon a time", true, true)
        .unwrap();
    let want = model.generate(&prompt, &greedy(12), &mut |_| true).unwrap();

    model.reset();
    let mut gen = model.begin(&prompt, &greedy(12)).unwrap();
    let (tokens, pending) = poll_to_end(&mut model, &mut gen);
    assert_eq!(tokens, want.generated_tokens);
    // the prompt's logits and those of each token after the first come back asynchronously
    assert!(pending >= 12, "{pending} pending polls for 12 tokens");

    // A generation abandoned with a read in flight does not disturb the next one.
    model.reset();
    let mut gen = model.begin(&prompt, &greedy(4)).unwrap();
    while !matches!(model.poll_step(&mut gen).unwrap(), Poll::Pending) {}
    let mut gen2 = model.begin(&prompt, &greedy(4)).unwrap();
    let (tokens, _) = poll_to_end(&mut model, &mut gen2);
    assert_eq!(tokens, want.generated_tokens[..4]);
}

#[test]
fn cancel_while_a_read_is_in_flight_leaves_the_engine_usable() {
    let mut model = load();
    let prompt = model
        .tokenizer
        .encode("The quick brown fox", true, true)
        .unwrap();
    let want = model.generate(&prompt, &greedy(6), &mut |_| true).unwrap();

    model.reset();
    let mut gen = model.begin(&prompt, &greedy(6)).unwrap();
    // Run until a token has come out and the next one's read is in flight, then cancel.
    let mut seen_token = false;
    loop {
        match model.poll_step(&mut gen).unwrap() {
            Poll::Ready(Step::Token { .. }) => seen_token = true,
            Poll::Pending if seen_token => break,
            _ => {}
        }
    }
    gen.cancel();
    match model.poll_step(&mut gen).unwrap() {
        Poll::Ready(Step::Finished { stats, .. }) => {
            assert_eq!(stats.finish_reason, FinishReason::Abort);
            assert_eq!(stats.generated_tokens, want.generated_tokens[..1]);
        }
        other => panic!("expected the request to finish, got {other:?}"),
    }
    let mut again = model.begin(&prompt, &greedy(6)).unwrap();
    let (tokens, _) = poll_to_end(&mut model, &mut again);
    assert_eq!(tokens, want.generated_tokens);
}
