//! A parsed header: what `parse_header` returns.

use crate::{TensorInfo, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    /// 2 or 3 (same layout).
    pub version: u32,
    /// Key-value pairs in file order; keys are unique.
    pub metadata: Vec<(String, Value)>,
    /// Tensor infos in file order; names are unique, offsets multiples of `alignment`.
    pub tensors: Vec<TensorInfo>,
    /// From `general.alignment`, else 32. A power of two.
    pub alignment: u64,
    /// Absolute file offset of the tensor data section: the header end rounded up to
    /// `alignment`. Tensor offsets are relative to it.
    pub data_offset: u64,
}

impl Gguf {
    /// Linear scan: headers hold tens of keys, and a map would go stale whenever a
    /// caller edits the public `metadata`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Linear scan too: a few hundred tensors, each looked up once at load.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}
