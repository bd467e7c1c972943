//! `Model::poll_step`, the non-blocking generation loop the browser's WebGPU path runs (the wasm
//! worker may not block on the GPU: it returns to its event loop while a read is in flight), here
//! natively on the same backend: the same tokens as the blocking `step`, every decoded token
//! waits for the device at least once, and a cancel while a read is in flight leaves the engine
//! usable.

use gpu::GpuBackend;
use model::{FinishReason, GenerateOptions, Generation, Model, SamplingParams, Step};
use std::task::Poll;

fn load() -> Model<GpuBackend> {
    load_variant("llama-spm-q8_0")
}

fn load_variant(variant: &str) -> Model<GpuBackend> {
    let path = testkit::llama_test_model(variant)
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
        cache_prompt: false,
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

/// The browser's upload path (`load_weight_from`: each tensor copied piece by piece, here in
/// pieces smaller than a chunk and chunks smaller than a tensor) gives the same weights as
/// `load_weight`: the same greedy tokens.
#[test]
fn weights_uploaded_piece_by_piece_give_the_same_tokens() {
    let path = testkit::llama_test_model("llama-spm-q4_0")
        .to_string_lossy()
        .into_owned();
    let file = std::fs::read(&path).unwrap();
    let header = gguf::parse_header(&file).unwrap();
    let mut gpu = GpuBackend::new().unwrap_or_else(|e| panic!("{e}"));
    gpu.set_chunk_limit(Some(40_000)); // several chunks per matrix,
    gpu.set_upload_piece(4_099); // several pieces per chunk, chunks not a multiple of a piece
    let mut builder = model::ModelBuilder::new(&header, gpu, Some(256)).unwrap();
    let mut pieces = 0;
    while let Some(t) = builder.next_tensor() {
        let bytes = &file[t.range.start as usize..t.range.end as usize];
        builder
            .load_tensor_with(|be, desc, len| {
                assert_eq!(len, bytes.len());
                be.load_weight_from(desc, len, &mut |at, dst| {
                    pieces += 1;
                    dst.copy_from_slice(&bytes[at..at + dst.len()]);
                    Ok(())
                })
            })
            .unwrap();
    }
    let mut streamed = builder.finish().unwrap();
    let mut plain = load_variant("llama-spm-q4_0");
    let prompt = plain
        .tokenizer
        .encode("Once upon a time", true, true)
        .unwrap();
    let want = plain.generate(&prompt, &greedy(8), &mut |_| true).unwrap();
    let got = streamed
        .generate(&prompt, &greedy(8), &mut |_| true)
        .unwrap();
    assert_eq!(got.generated_tokens, want.generated_tokens);
    assert!(pieces > 0);
    let (a, _) = plain.eval(&prompt).unwrap();
    let (b, _) = streamed.eval(&prompt).unwrap();
    assert_eq!(a, b, "the same weights give bit-identical logits");
}
