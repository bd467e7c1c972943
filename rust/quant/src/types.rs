//! [`GgmlType`]: the ggml tensor types this crate implements, with ggml's ids and sizes.

use crate::blocks::*;
use crate::QuantError;
use std::fmt;

/// A ggml tensor element type, with the numeric id ggml and GGUF use (`enum ggml_type`).
///
/// Only the types this crate can dequantize, quantize and dot are listed; [`GgmlType::from_id`] returns
/// `None` for the others (IQ*, TQ*, MXFP4, ...).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    BF16 = 30,
}

impl GgmlType {
    /// Every type, in id order.
    pub const ALL: [GgmlType; 15] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
        GgmlType::BF16,
    ];

    /// The type with ggml id `id`, or `None` for ids this crate does not implement.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GgmlType::ALL.into_iter().find(|t| *t as u32 == id)
    }

    /// ggml's id (`enum ggml_type`), as stored in GGUF tensor infos.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The name in upper case, as GGUF tools print it ("Q4_K", "F32", "BF16"). (ggml's own
    /// `ggml_type_name` spells the same names in lower case with an upper-case K: "q4_K".)
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q5_1 => "Q5_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q8_1 => "Q8_1",
            GgmlType::Q2_K => "Q2_K",
            GgmlType::Q3_K => "Q3_K",
            GgmlType::Q4_K => "Q4_K",
            GgmlType::Q5_K => "Q5_K",
            GgmlType::Q6_K => "Q6_K",
            GgmlType::Q8_K => "Q8_K",
            GgmlType::BF16 => "BF16",
        }
    }

    /// Elements per block: 1 for the float types, 32 for Q4_0..Q8_1, [`QK_K`] (256) for the K-quants.
    pub fn block_size(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 => QK4_0,
            GgmlType::Q4_1 => QK4_1,
            GgmlType::Q5_0 => QK5_0,
            GgmlType::Q5_1 => QK5_1,
            GgmlType::Q8_0 => QK8_0,
            GgmlType::Q8_1 => QK8_1,
            GgmlType::Q2_K
            | GgmlType::Q3_K
            | GgmlType::Q4_K
            | GgmlType::Q5_K
            | GgmlType::Q6_K
            | GgmlType::Q8_K => QK_K,
        }
    }

    /// Bytes per block (ggml's `type_size`): the size of the block struct.
    pub fn type_size(self) -> usize {
        use std::mem::size_of;
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => size_of::<BlockQ4_0>(),
            GgmlType::Q4_1 => size_of::<BlockQ4_1>(),
            GgmlType::Q5_0 => size_of::<BlockQ5_0>(),
            GgmlType::Q5_1 => size_of::<BlockQ5_1>(),
            GgmlType::Q8_0 => size_of::<BlockQ8_0>(),
            GgmlType::Q8_1 => size_of::<BlockQ8_1>(),
            GgmlType::Q2_K => size_of::<BlockQ2K>(),
            GgmlType::Q3_K => size_of::<BlockQ3K>(),
            GgmlType::Q4_K => size_of::<BlockQ4K>(),
            GgmlType::Q5_K => size_of::<BlockQ5K>(),
            GgmlType::Q6_K => size_of::<BlockQ6K>(),
            GgmlType::Q8_K => size_of::<BlockQ8K>(),
        }
    }

    /// Bytes in a row of `n` elements; `n` must be a multiple of [`block_size`](Self::block_size).
    pub fn row_bytes(self, n: usize) -> Result<usize, QuantError> {
        let block_size = self.block_size();
        if !n.is_multiple_of(block_size) {
            return Err(QuantError::NotBlockMultiple {
                ty: self,
                n,
                block_size,
            });
        }
        (n / block_size)
            .checked_mul(self.type_size())
            .ok_or(QuantError::TooLarge { ty: self, n })
    }

    /// Whether the type is block-quantized (everything except F32, F16, BF16).
    pub fn is_quantized(self) -> bool {
        !matches!(self, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
    }

    /// The type ggml's CPU backend quantizes activations to before calling `vec_dot` on a row of
    /// this type (`type_traits_cpu[ty].vec_dot_type`): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
    /// Q8_K for the K-quants, the type itself for F32/F16/BF16.
    ///
    /// Q8_1 and Q8_K are activation formats with no `vec_dot` of their own; they map to themselves
    /// (ggml says Q8_1 for Q8_1 and leaves Q8_K unset), and [`vec_dot`](crate::vec_dot) refuses them.
    pub fn vec_dot_type(self) -> GgmlType {
        match self {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => GgmlType::Q8_0,
            GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q8_1 => GgmlType::Q8_1,
            GgmlType::Q2_K
            | GgmlType::Q3_K
            | GgmlType::Q4_K
            | GgmlType::Q5_K
            | GgmlType::Q6_K
            | GgmlType::Q8_K => GgmlType::Q8_K,
            GgmlType::F32 => GgmlType::F32,
            GgmlType::F16 => GgmlType::F16,
            GgmlType::BF16 => GgmlType::BF16,
        }
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
