//! Token sampling: greedy, or a chain in llama.cpp's default order — repetition penalty →
//! top-k → top-p → min-p → temperature → draw — driven by a seeded PRNG so a seed reproduces a run.

use crate::ModelError;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct SamplingParams {
    /// 0 means greedy (argmax); otherwise logits are divided by it before the draw.
    pub temperature: f32,
    /// Keep the k most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches p (1.0 = off).
    pub top_p: f32,
    /// Drop tokens whose probability is below min_p × the top probability (0 = off).
    pub min_p: f32,
    /// Divide positive / multiply negative logits of recently seen tokens (1.0 = off).
    pub repetition_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub penalty_last_n: usize,
    pub seed: u64,
}

impl Default for SamplingParams {
    /// The same defaults as llama.cpp's CLI.
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.0,
            penalty_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplingParams {
    pub fn greedy() -> Self {
        SamplingParams {
            temperature: 0.0,
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::BadSampling(m));
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return bad(format!("temperature must be ≥ 0, got {}", self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad(format!("min_p must be in [0, 1], got {}", self.min_p));
        }
        if !(self.repetition_penalty > 0.0 && self.repetition_penalty.is_finite()) {
            return bad(format!(
                "repetition_penalty must be > 0, got {}",
                self.repetition_penalty
            ));
        }
        Ok(())
    }
}

/// xoshiro256** seeded through splitmix64: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
    recent: VecDeque<u32>,
    /// Scratch list of (token, logit) candidates, reused between calls.
    candidates: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Result<Self, ModelError> {
        params.validate()?;
        let rng = Rng::new(params.seed);
        Ok(Sampler {
            params,
            rng,
            recent: VecDeque::new(),
            candidates: Vec::new(),
        })
    }

    /// Records a token the model has seen (prompt or generated), for the repetition penalty.
    pub fn accept(&mut self, token: u32) {
        if self.params.penalty_last_n == 0 {
            return;
        }
        if self.recent.len() == self.params.penalty_last_n {
            self.recent.pop_front();
        }
        self.recent.push_back(token);
    }

    /// Picks the next token from `logits (n_vocab)`.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.params.temperature == 0.0 && self.params.repetition_penalty == 1.0 {
            return argmax(logits);
        }
        let p = self.params.clone();
        let cands = &mut self.candidates;
        cands.clear();
        cands.extend(logits.iter().enumerate().map(|(i, &l)| (i as u32, l)));

        if p.repetition_penalty != 1.0 {
            let mut seen: Vec<u32> = self.recent.iter().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                if let Some(c) = cands.get_mut(id as usize) {
                    c.1 = if c.1 > 0.0 {
                        c.1 / p.repetition_penalty
                    } else {
                        c.1 * p.repetition_penalty
                    };
                }
            }
        }
        if p.temperature == 0.0 {
            return cands
                .iter()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, &c| if c.1 > b.1 { c } else { b },
                )
                .0;
        }

        // Most likely first; ties keep the lower id first so results are deterministic.
        let k = if p.top_k == 0 {
            cands.len()
        } else {
            p.top_k.min(cands.len())
        };
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k < cands.len() {
            cands.select_nth_unstable_by(k - 1, by_logit);
            cands.truncate(k);
        }
        cands.sort_unstable_by(by_logit);

        let probs = softmax(cands.iter().map(|c| c.1), 1.0);
        if p.top_p < 1.0 {
            let mut cum = 0.0;
            let mut keep = cands.len();
            for (i, pr) in probs.iter().enumerate() {
                cum += pr;
                if cum >= p.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
            cands.truncate(keep);
        }
        if p.min_p > 0.0 {
            let floor = probs[0] * p.min_p as f64;
            let keep = probs
                .iter()
                .take(cands.len())
                .take_while(|&&pr| pr >= floor)
                .count()
                .max(1);
            cands.truncate(keep);
        }

        let probs = softmax(cands.iter().map(|c| c.1), p.temperature);
        let mut r = self.rng.next_f64();
        for (c, pr) in cands.iter().zip(&probs) {
            if r < *pr {
                return c.0;
            }
            r -= pr;
        }
        cands.last().map(|c| c.0).unwrap_or(0)
    }
}

/// Index of the largest logit; the first one on ties (as llama.cpp's greedy sampler).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Probabilities of `logits / temperature`, computed in f64 for a stable sum.
fn softmax(logits: impl Iterator<Item = f32> + Clone, temperature: f32) -> Vec<f64> {
    let t = temperature as f64;
    let max = logits.clone().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.map(|l| ((l as f64 - max) / t).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_first_max() {
        assert_eq!(argmax(&[0.0, 3.0, 3.0, 1.0]), 1);
    }

    #[test]
    fn same_seed_same_tokens() {
        let logits: Vec<f32> = (0..100).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let params = SamplingParams {
            seed: 42,
            ..Default::default()
        };
        let draw = |p: SamplingParams| {
            let mut s = Sampler::new(p).unwrap();
            (0..20).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        assert_eq!(draw(params.clone()), draw(params.clone()));
        assert_ne!(
            draw(params.clone()),
            draw(SamplingParams { seed: 43, ..params })
        );
    }

    #[test]
    fn top_k_one_is_greedy() {
        let logits = [0.1, 2.0, 1.9, -1.0];
        let mut s = Sampler::new(SamplingParams {
            top_k: 1,
            temperature: 1.5,
            seed: 7,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..10 {
            assert_eq!(s.sample(&logits), 1);
        }
    }

    #[test]
    fn min_p_drops_unlikely_tokens() {
        // Token 0 dominates; with min_p 0.5 only it survives.
        let logits = [10.0, 0.0, 0.0, 0.0];
        let p = SamplingParams {
            top_k: 0,
            top_p: 1.0,
            min_p: 0.5,
            temperature: 1.0,
            seed: 1,
            ..Default::default()
        };
        let mut s = Sampler::new(p).unwrap();
        assert!((0..50).all(|_| s.sample(&logits) == 0));
    }

    #[test]
    fn repetition_penalty_changes_greedy_choice() {
        let logits = [1.0, 0.9];
        let mut s = Sampler::new(SamplingParams {
            repetition_penalty: 2.0,
            ..SamplingParams::greedy()
        })
        .unwrap();
        s.accept(0);
        assert_eq!(s.sample(&logits), 1);
    }

    #[test]
    fn bad_params_are_rejected() {
        assert!(Sampler::new(SamplingParams {
            top_p: 0.0,
            ..Default::default()
        })
        .is_err());
        assert!(Sampler::new(SamplingParams {
            temperature: -1.0,
            ..Default::default()
        })
        .is_err());
        assert!(Sampler::new(SamplingParams {
            min_p: 2.0,
            ..Default::default()
        })
        .is_err());
    }
}
