//! Opening a GGUF file natively: the header is parsed incrementally from growing prefixes
//! (the same path a browser takes with byte ranges), then tensors are read one by one.
//! Native only (the browser feeds byte ranges from fetch/OPFS instead).

use crate::ModelError;
use gguf::{Gguf, GgufError};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

pub struct ModelFile {
    pub file: File,
    pub len: u64,
    pub gguf: Gguf,
}

/// First read; most headers fit, the Gemma vocabulary (262k tokens) needs a few more rounds.
const FIRST_READ: u64 = 1 << 20;

pub fn open(path: &str) -> Result<ModelFile, ModelError> {
    open_inner(path).map_err(ModelError::File)
}

fn open_inner(path: &str) -> Result<ModelFile, String> {
    let mut file =
        File::open(Path::new(path)).map_err(|e| format!("cannot open model '{path}': {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot stat '{path}': {e}"))?
        .len();
    let mut buf = Vec::new();
    let mut want = FIRST_READ.min(len);
    let gguf = loop {
        let have = buf.len() as u64;
        if want > have {
            buf.resize(want as usize, 0);
            file.read_exact(&mut buf[have as usize..])
                .map_err(|e| format!("reading '{path}': {e}"))?;
        }
        match gguf::parse_header(&buf) {
            Ok(g) => break g,
            Err(GgufError::NeedMore { needed }) if needed > len => {
                return Err(format!("'{path}' is truncated: its header needs at least {needed} bytes but the file has {len}"))
            }
            // Grow geometrically so a huge vocabulary takes a handful of reads, not thousands.
            Err(GgufError::NeedMore { needed }) => want = needed.max(want.saturating_mul(2)).min(len),
            Err(e) => return Err(format!("'{path}' is not a valid GGUF file: {e}")),
        }
    };
    gguf.check_tensor_bounds(len)
        .map_err(|e| format!("'{path}': {e}"))?;
    Ok(ModelFile { file, len, gguf })
}

/// Reads an absolute byte range of the file into `buf`.
pub fn read_range(
    file: &mut File,
    range: std::ops::Range<u64>,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let n = usize::try_from(range.end - range.start).map_err(std::io::Error::other)?;
    buf.resize(n, 0);
    file.seek(SeekFrom::Start(range.start))?;
    file.read_exact(buf)
}

impl ModelFile {
    /// Loads the model onto `backend`, reading tensors from this file.
    pub fn load_model<B: crate::Backend>(
        &mut self,
        backend: B,
        n_ctx: Option<usize>,
    ) -> Result<crate::Model<B>, ModelError> {
        let file = &mut self.file;
        crate::Model::load(
            &self.gguf,
            backend,
            &mut |r, buf| read_range(file, r, buf),
            n_ctx,
        )
    }
}
