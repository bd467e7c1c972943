//! Investigation tool, not a check (ignored by default): runs prompt ids and then the given
//! tokens one by one through the CPU backend and writes every named intermediate to a binary file
//! in the format of the llama.cpp dumper used to diff the two layer by layer
//! (`[u32 keylen][key][u32 step][i64 ne0..3][f32 data]`).
//!
//! WC_MODEL=... WC_PROMPT=2,651,... WC_GEN=5,9 WC_OUT=ours.bin \
//!   cargo test -p wasm-chord-cpu --test trace_dump -- --ignored

use cpu::CpuBackend;
use model::Model;
use std::io::Write;

fn ids(var: &str) -> Vec<u32> {
    std::env::var(var)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

#[test]
#[ignore]
fn dump_trace() {
    let path = std::env::var("WC_MODEL").expect("WC_MODEL");
    let (prompt, gen) = (ids("WC_PROMPT"), ids("WC_GEN"));
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(std::env::var("WC_OUT").unwrap()).unwrap());
    let mut file = model::file::open(&path).unwrap();
    let mut model: Model<CpuBackend> = file.load_model(CpuBackend::new(2), Some(2048)).unwrap();
    let mut step = 0u32;
    let mut rows = prompt.len();
    let mut run =
        |model: &mut Model<CpuBackend>, toks: &[u32], pos: usize, step: u32, rows: usize| {
            let mut hook = |name: &str, layer: Option<usize>, v: &[f32]| {
                let key = layer.map_or(name.to_string(), |l| format!("{name}-{l}"));
                out.write_all(&(key.len() as u32).to_le_bytes()).unwrap();
                out.write_all(key.as_bytes()).unwrap();
                out.write_all(&step.to_le_bytes()).unwrap();
                let r = if v.len() % rows == 0 { rows } else { 1 };
                for ne in [(v.len() / r) as i64, r as i64, 1, 1] {
                    out.write_all(&ne.to_le_bytes()).unwrap();
                }
                for x in v {
                    out.write_all(&x.to_le_bytes()).unwrap();
                }
            };
            model.forward_traced(toks, pos, Some(&mut hook)).unwrap();
        };
    run(&mut model, &prompt, 0, step, rows);
    for (i, &t) in gen.iter().enumerate() {
        step += 1;
        rows = 1;
        run(&mut model, &[t], prompt.len() + i, step, rows);
    }
}
