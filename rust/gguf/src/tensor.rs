//! Tensor infos: shape, type, and where the bytes are.

use std::ops::Range;

use crate::{GgmlType, Gguf, GgufError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// `ne[0]` first, as ggml: for a weight matrix, `dims[0]` is the row length (the input
    /// dimension) and `dims[1]` the number of rows. At most [`crate::MAX_DIMS`].
    pub dims: Vec<u64>,
    /// Raw ggml type id. Unknown ids are kept so tools can show them; `ty` rejects them.
    pub ggml_type: u32,
    /// Relative to `Gguf::data_offset`; a multiple of `Gguf::alignment`.
    pub offset: u64,
}

impl TensorInfo {
    /// Product of the dims (1 for a scalar). Exact for anything `parse_header` returned,
    /// which proved the product fits i64; a hand-built info that overflows saturates.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().fold(1u64, |n, &d| n.saturating_mul(d))
    }

    pub fn ty(&self) -> Result<GgmlType, GgufError> {
        GgmlType::from_id(self.ggml_type).ok_or_else(|| GgufError::UnknownTensorType {
            name: self.name.clone(),
            type_id: self.ggml_type,
        })
    }

    /// The type's ggml name ("Q4_K"), or "unknown(N)" for a type id we do not know, for reports
    /// that must describe files we cannot run.
    pub fn type_name(&self) -> String {
        GgmlType::from_id(self.ggml_type).map_or_else(
            || format!("unknown({})", self.ggml_type),
            |ty| ty.name().to_string(),
        )
    }

    /// Bytes of tensor data: whole blocks of the type along `ne[0]`, rows packed.
    pub fn byte_size(&self) -> Result<u64, GgufError> {
        let ty = self.ty()?;
        let block = ty.block_size() as u64;
        // ggml quantizes each row on its own, so a row must hold whole blocks.
        let ne0 = self.dims.first().copied().unwrap_or(1);
        if ne0 % block != 0 {
            return Err(GgufError::BadDims {
                name: self.name.clone(),
                dims: self.dims.clone(),
                reason: format!(
                    "ne[0] = {ne0} (dims {:?}) is not a multiple of {}'s block size {block}",
                    self.dims,
                    ty.name()
                ),
            });
        }
        let overflow = || GgufError::Overflow {
            what: format!(
                "the byte size of tensor '{}' with dims {:?}",
                self.name, self.dims
            ),
        };
        let n = self
            .dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .ok_or_else(overflow)?;
        (n / block)
            .checked_mul(ty.type_size() as u64)
            .ok_or_else(overflow)
    }
}

impl Gguf {
    /// Absolute byte range of a tensor's data in the file.
    pub fn tensor_range(&self, t: &TensorInfo) -> Result<Range<u64>, GgufError> {
        let size = t.byte_size()?;
        let overflow = || GgufError::Overflow {
            what: format!(
                "the byte range of tensor '{}' (data offset {} + offset {} + size {size})",
                t.name, self.data_offset, t.offset
            ),
        };
        let start = self
            .data_offset
            .checked_add(t.offset)
            .ok_or_else(overflow)?;
        let end = start.checked_add(size).ok_or_else(overflow)?;
        Ok(start..end)
    }

    /// Every tensor has a known type and sane shape, lies inside a file of `file_len`
    /// bytes, and shares no byte with another tensor. Call this once the file length is
    /// known, before handing any tensor bytes to a backend.
    pub fn check_tensor_bounds(&self, file_len: u64) -> Result<(), GgufError> {
        let mut ranges = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let range = self.tensor_range(t)?;
            if range.end > file_len {
                return Err(GgufError::TensorOutOfBounds {
                    name: t.name.clone(),
                    start: range.start,
                    end: range.end,
                    file_len,
                });
            }
            if !range.is_empty() {
                ranges.push((range, t.name.as_str()));
            }
        }
        // Sorted by start, any overlap shows up between neighbours: if A overlaps a later
        // C, then A.start <= B.start <= C.start < A.end, so A overlaps B as well.
        ranges.sort_by_key(|(range, _)| range.start);
        for pair in ranges.windows(2) {
            let ((a, a_name), (b, b_name)) = (&pair[0], &pair[1]);
            if b.start < a.end {
                return Err(GgufError::TensorOverlap {
                    first: a_name.to_string(),
                    first_start: a.start,
                    first_end: a.end,
                    second: b_name.to_string(),
                    second_start: b.start,
                    second_end: b.end,
                });
            }
        }
        Ok(())
    }
}
