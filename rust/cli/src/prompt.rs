//! Prompt text from `-p` or `-f`, treated exactly as llama.cpp's tools treat it, so the same
//! arguments give the same tokens: backslash escapes (\n \r \t \' \" \\ \xHH) are processed
//! in both unless `--no-escape` is given; for generation `-f` drops one trailing newline (as
//! llama-completion), for tokenization the file is taken verbatim (as llama-tokenize, since a
//! trailing newline is itself a token).

use crate::args::Args;

pub fn read_prompt(args: &Args, strip_file_newline: bool) -> Result<String, String> {
    let mut text = match (args.get("-p"), args.get("-f")) {
        (Some(_), Some(_)) => return Err("give either -p TEXT or -f FILE, not both".into()),
        (Some(p), None) => p.to_string(),
        (None, Some(f)) => {
            let bytes =
                std::fs::read(f).map_err(|e| format!("cannot read prompt file '{f}': {e}"))?;
            let mut s = String::from_utf8(bytes)
                .map_err(|_| format!("prompt file '{f}' is not valid UTF-8"))?;
            if strip_file_newline && s.ends_with('\n') {
                s.pop();
            }
            s
        }
        (None, None) => return Err("a prompt is required: -p TEXT or -f FILE".into()),
    };
    if !args.has("--no-escape") {
        text = process_escapes(&text)?;
    }
    Ok(text)
}

pub fn process_escapes(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'\'' | b'"' | b'\\' => out.push(c),
            b'x' if i + 1 < b.len() && b[i].is_ascii_hexdigit() && b[i + 1].is_ascii_hexdigit() => {
                let hex = std::str::from_utf8(&b[i..i + 2]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            // Unknown escapes are kept as written.
            _ => out.extend_from_slice(&[b'\\', c]),
        }
    }
    String::from_utf8(out)
        .map_err(|_| "the prompt's \\x escapes do not form valid UTF-8 (use --no-escape)".into())
}

#[cfg(test)]
mod tests {
    use super::process_escapes;

    #[test]
    fn escapes_as_llama_cpp() {
        assert_eq!(
            process_escapes(r"a\nb\tc\\d\x41\q").unwrap(),
            "a\nb\tc\\dA\\q"
        );
        assert_eq!(process_escapes("trailing\\").unwrap(), "trailing\\");
        assert_eq!(process_escapes(r"\x4").unwrap(), r"\x4");
    }
}
