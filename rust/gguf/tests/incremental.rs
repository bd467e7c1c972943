//! Feeding a file in pieces, as a browser does with range requests: every prefix short of
//! the header is `NeedMore`, and following `needed` reaches a full parse.

mod common;

use common::{sample_file, sample_writer};
use gguf::{parse_header, GgufError};

fn files() -> Vec<(&'static str, Vec<u8>)> {
    let mut aligned = sample_writer(3);
    aligned.alignment(256);
    vec![
        ("v2", sample_file(2)),
        ("v3", sample_file(3)),
        ("align 256", aligned.finish()),
    ]
}

#[test]
fn every_truncation_of_the_header_needs_more() {
    for (label, file) in files() {
        let full = parse_header(&file).unwrap();
        let header_len = full.data_offset as usize;
        for n in 0..header_len {
            match parse_header(&file[..n]) {
                Err(GgufError::NeedMore { needed }) => assert!(
                    needed > n as u64 && needed <= full.data_offset,
                    "{label}: prefix {n} asked for {needed}, header is {header_len}"
                ),
                other => panic!("{label}: prefix of {n} bytes gave {other:?}"),
            }
        }
        // The header with its padding is enough; tensor data is not needed.
        assert_eq!(parse_header(&file[..header_len]).unwrap(), full, "{label}");
    }
}

#[test]
fn following_needed_reaches_the_full_header() {
    for (label, file) in files() {
        let full = parse_header(&file).unwrap();
        let mut have = 0u64;
        let mut steps = 0;
        let parsed = loop {
            match parse_header(&file[..have as usize]) {
                Ok(g) => break g,
                Err(GgufError::NeedMore { needed }) => {
                    assert!(needed > have, "{label}: no progress at {have}");
                    have = needed;
                    steps += 1;
                }
                Err(e) => panic!("{label}: {e} after {have} bytes"),
            }
        };
        assert_eq!(parsed, full, "{label}");
        assert_eq!(have, full.data_offset, "{label}");
        // Lookahead over counts and fixed-size arrays skips ahead, so far fewer round trips
        // than fields.
        assert!(steps < 150, "{label}: {steps} steps");
    }
}

#[test]
fn counts_are_looked_ahead_before_reading_entries() {
    let file = sample_file(3);
    let g = parse_header(&file).unwrap();
    // With only the fixed 24-byte header, the reader already knows the minimum size of
    // all key-value pairs (13 bytes each) and tensor infos (24 bytes each).
    let min = 24 + 13 * g.metadata.len() as u64 + 24 * g.tensors.len() as u64;
    assert_eq!(
        parse_header(&file[..24]),
        Err(GgufError::NeedMore { needed: min })
    );
}

#[test]
fn a_prefix_of_the_magic_needs_more_but_a_wrong_byte_fails_at_once() {
    assert_eq!(parse_header(b""), Err(GgufError::NeedMore { needed: 4 }));
    assert_eq!(parse_header(b"GG"), Err(GgufError::NeedMore { needed: 4 }));
    assert_eq!(
        parse_header(b"GGUF\x03"),
        Err(GgufError::NeedMore { needed: 8 })
    );
    assert!(matches!(
        parse_header(b"GX"),
        Err(GgufError::BadMagic { found }) if found == b"GX"
    ));
}
