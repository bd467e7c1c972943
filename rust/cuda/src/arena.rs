//! Activation memory: a bump allocator over device chunks, reset at the start of every forward
//! pass. Tensors of one pass never outlive it (the model reads what it needs to the host), and
//! a pass with the same shapes as the one before gets the same addresses: what lets a decode
//! step's launch list repeat exactly and be replayed as a CUDA graph (launch.rs).

use crate::driver::{DevBuf, Gpu};
use crate::CudaError;

const ALIGN: usize = 256;

pub struct Arena {
    chunks: Vec<DevBuf>,
    /// Bytes used in the last chunk.
    used: usize,
    /// Counts resets; a tensor remembers the epoch it was made in.
    pub epoch: u64,
}

impl Arena {
    pub fn new(gpu: &Gpu, bytes: usize) -> Result<Arena, CudaError> {
        Ok(Arena {
            chunks: vec![gpu.alloc(bytes)?],
            used: 0,
            epoch: 0,
        })
    }

    pub fn alloc(&mut self, gpu: &Gpu, bytes: usize) -> Result<u64, CudaError> {
        let bytes = bytes.max(1).next_multiple_of(ALIGN);
        let last = self.chunks.last().expect("an arena has a chunk");
        if self.used + bytes > last.bytes {
            // a new chunk; `reset` merges them once the pass is over
            let size = bytes.max(last.bytes);
            self.chunks.push(gpu.alloc(size)?);
            self.used = 0;
        }
        let ptr = self.chunks.last().unwrap().ptr + self.used as u64;
        self.used += bytes;
        Ok(ptr)
    }

    /// Whether `reset` will reallocate (the caller must have waited for the device first).
    pub fn needs_merge(&self) -> bool {
        self.chunks.len() > 1
    }

    /// Frees everything for the next pass; chunks added during the last one are merged into one
    /// big enough for it (addresses change then, once).
    pub fn reset(&mut self, gpu: &Gpu) -> Result<(), CudaError> {
        if self.needs_merge() {
            let total: usize = self.chunks.iter().map(|c| c.bytes).sum();
            self.chunks.clear();
            self.chunks.push(gpu.alloc(total)?);
        }
        self.used = 0;
        self.epoch += 1;
        Ok(())
    }
}
