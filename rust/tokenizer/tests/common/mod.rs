//! Shared helpers of the integration tests: finding and loading GGUFs, reading llama.cpp
//! goldens (see tests/oracle/ for how they are made).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tokenizer::Tokenizer;

#[allow(unused_imports)] // not every test file uses both
pub use testkit::{gemma3_path, repo_root};

/// Parses a GGUF header, reading only as much of the file as the header needs.
pub fn read_header(path: &Path) -> gguf::Gguf {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut buf = Vec::new();
    let mut want: u64 = 1 << 20;
    loop {
        let have = buf.len() as u64;
        if want > have {
            (&mut f)
                .take(want - have)
                .read_to_end(&mut buf)
                .expect("read GGUF");
        }
        match gguf::parse_header(&buf) {
            Ok(g) => return g,
            Err(gguf::GgufError::NeedMore { needed }) => {
                assert!(
                    (buf.len() as u64) < needed,
                    "GGUF needs more bytes than the file has"
                );
                want = needed.max(want * 2);
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

/// A vocabulary-only test GGUF of tests/data, committed as `<name>.gguf.json` (typed metadata, see
/// tests/oracle/gguf_json.py) and written here with the gguf crate's writer, then parsed back.
pub fn fixture(name: &str) -> gguf::Gguf {
    use gguf::Value;
    let path = data_dir().join(format!("{name}.gguf.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    let scalar = |ty: &str, v: &serde_json::Value| -> Value {
        let int = || v.as_i64().expect("integer");
        match ty {
            "u8" => Value::U8(int() as u8),
            "i8" => Value::I8(int() as i8),
            "u16" => Value::U16(int() as u16),
            "i16" => Value::I16(int() as i16),
            "u32" => Value::U32(int() as u32),
            "i32" => Value::I32(int() as i32),
            "u64" => Value::U64(v.as_u64().expect("u64")),
            "i64" => Value::I64(int()),
            // exact: the JSON number is the f32's own value
            "f32" => Value::F32(v.as_f64().expect("number") as f32),
            "f64" => Value::F64(v.as_f64().expect("number")),
            "bool" => Value::Bool(v.as_bool().expect("bool")),
            "string" => Value::String(v.as_str().expect("string").to_string()),
            other => panic!("{name}: unknown type {other}"),
        }
    };
    let mut w = gguf::GgufWriter::new();
    w.version(spec["version"].as_u64().expect("version") as u32);
    for m in spec["metadata"].as_array().expect("metadata") {
        let key = m["key"].as_str().expect("key");
        let value = match m["type"].as_str().expect("type") {
            "array" => Value::Array(
                m["value"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .map(|v| scalar(m["elem"].as_str().expect("elem"), v))
                    .collect(),
            ),
            ty => scalar(ty, &m["value"]),
        };
        w.add(key, value);
    }
    gguf::parse_header(&w.finish()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The tokenizer of a tests/data fixture (see [`fixture`]).
pub fn load_fixture(name: &str) -> Tokenizer {
    Tokenizer::from_gguf(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn load(path: &Path) -> Tokenizer {
    Tokenizer::from_gguf(&read_header(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// One line of llama_oracle output.
pub struct OracleCase {
    pub text: String,
    /// (add_special, parse_special) → ids
    pub ids: [(bool, bool, Vec<u32>); 4],
    pub detok: Vec<u8>,
}

fn ids_of(v: &serde_json::Value, k: &str) -> Option<Vec<u32>> {
    Some(
        v.get(k)?
            .as_array()?
            .iter()
            .map(|x| x.as_u64().expect("id") as u32)
            .collect(),
    )
}

pub fn read_oracle(path: &Path) -> Vec<OracleCase> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            // Lists equal to another are left out of the files (see llama_oracle.cpp).
            let ss = ids_of(&v, "ss").expect("ss");
            let sn = ids_of(&v, "sn").unwrap_or_else(|| ss.clone());
            let ns = ids_of(&v, "ns").unwrap_or_else(|| ss.clone());
            let nn = ids_of(&v, "nn").unwrap_or_else(|| ns.clone());
            OracleCase {
                text: String::from_utf8(unhex(v["hex"].as_str().expect("hex")))
                    .expect("cases are UTF-8"),
                ids: [
                    (true, true, ss),
                    (true, false, sn),
                    (false, true, ns),
                    (false, false, nn),
                ],
                detok: unhex(v["detok"].as_str().unwrap_or("")),
            }
        })
        .collect()
}

/// Compares every case and variant; returns a report of mismatches (empty = all equal).
pub fn compare(tok: &Tokenizer, cases: &[OracleCase]) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut bad = Vec::new();
    for c in cases {
        for (add, parse, want) in &c.ids {
            n += 1;
            let got = tok.encode(&c.text, *add, *parse).expect("encode");
            if &got != want {
                bad.push(format!(
                    "text {:?} add_special={add} parse_special={parse}\n  llama.cpp: {want:?}\n  ours:      {got:?}",
                    c.text
                ));
            }
        }
        n += 1;
        let detok = tok.decode(&c.ids[0].2);
        if detok.as_bytes() != c.detok.as_slice() && detok != String::from_utf8_lossy(&c.detok) {
            bad.push(format!(
                "decode of {:?}: llama.cpp {:?}, ours {:?}",
                c.text,
                String::from_utf8_lossy(&c.detok),
                detok
            ));
        }
    }
    (n, bad)
}

/// Our answer in llama_oracle's `--vocab` line format, one line per token.
pub fn vocab_lines(tok: &Tokenizer) -> Vec<String> {
    (0..tok.vocab_size() as u32)
        .map(|id| {
            let piece: String = tok
                .token_to_piece(id)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "{{\"id\":{id},\"attr\":{},\"piece\":\"{piece}\",\"eog\":{}}}",
                tok.token_attr(id).unwrap(),
                tok.is_end_of_generation(id)
            )
        })
        .collect()
}

/// FNV-1a 64 of the lines joined with '\n' (as tests/oracle/make_goldens.sh computes it).
pub fn fnv1a64(lines: &[String]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            h ^= u64::from(b'\n');
            h = h.wrapping_mul(0x100000001b3);
        }
        for &b in l.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

/// Checks the whole vocabulary (attributes, pieces, end-of-generation flags, special ids)
/// against a `--vocab` dump's digest file: line 1 the dump's header, line 2 `fnv1a64 <hex>`.
/// With `TOKENIZER_VOCAB_DUMP=<full dump>` set, reports the first differing tokens instead.
pub fn check_vocab(tok: &Tokenizer, digest_path: &Path) {
    let digest = std::fs::read_to_string(digest_path)
        .unwrap_or_else(|e| panic!("{}: {e}", digest_path.display()));
    let mut lines = digest.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("header json");
    let want_hash = lines
        .next()
        .and_then(|l| l.strip_prefix("fnv1a64 "))
        .expect("fnv1a64 line")
        .trim();
    let id = |k: &str| header[k].as_i64().expect(k);
    let opt = |x: Option<u32>| x.map_or(-1, i64::from);
    assert_eq!(tok.vocab_size() as i64, id("n_tokens"));
    assert_eq!(opt(tok.bos_id()), id("bos"), "bos");
    assert_eq!(opt(tok.eos_id()), id("eos"), "eos");
    assert_eq!(opt(tok.eot_id()), id("eot"), "eot");
    assert_eq!(opt(tok.pad_id()), id("pad"), "pad");
    assert_eq!(
        tok.add_bos(),
        header["add_bos"].as_bool().unwrap(),
        "add_bos"
    );
    assert_eq!(
        tok.add_eos(),
        header["add_eos"].as_bool().unwrap(),
        "add_eos"
    );
    let ours = vocab_lines(tok);
    if let Ok(dump) = std::env::var("TOKENIZER_VOCAB_DUMP") {
        let theirs: Vec<String> = std::fs::read_to_string(dump)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
        let diffs: Vec<_> = ours
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| a != b)
            .take(20)
            .collect();
        assert!(
            diffs.is_empty(),
            "vocabulary differs from llama.cpp: {diffs:#?}"
        );
    }
    assert_eq!(
        fnv1a64(&ours),
        want_hash,
        "vocabulary digest differs from llama.cpp's (rerun with TOKENIZER_VOCAB_DUMP to see where)"
    );
}
