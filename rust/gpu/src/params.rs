//! Small per-pass data — kernel parameters, RoPE tables — packed into one buffer per batch of
//! passes, so that recording a pass creates no buffer: the bytes are staged on the host while the
//! batch is recorded and written to the GPU just before it is submitted (`queue.write_buffer` is
//! ordered before that submit and after the earlier ones, so the buffer is reused every batch).

use std::num::NonZeroU64;

/// Bytes the ring starts with; it grows when one pass needs more.
const INITIAL_CAPACITY: usize = 1 << 20;

pub struct ParamRing {
    buffer: wgpu::Buffer,
    capacity: usize,
    /// Offsets are multiples of this (the adapter's uniform and storage offset alignments).
    align: usize,
    staged: Vec<u8>,
}

impl ParamRing {
    pub fn new(device: &wgpu::Device) -> ParamRing {
        let limits = device.limits();
        let align = limits
            .min_uniform_buffer_offset_alignment
            .max(limits.min_storage_buffer_offset_alignment) as usize;
        ParamRing {
            buffer: Self::buffer(device, INITIAL_CAPACITY),
            capacity: INITIAL_CAPACITY,
            align,
            staged: Vec::new(),
        }
    }

    fn buffer(device: &wgpu::Device, capacity: usize) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pass params"),
            size: capacity as u64,
            usage: wgpu::BufferUsages::UNIFORM
                | wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn padded(&self, len: usize) -> usize {
        len.max(4).next_multiple_of(self.align)
    }

    /// Whether `parts` fit after what this batch staged already.
    pub fn fits(&self, parts: &[&[u8]]) -> bool {
        let need: usize = parts.iter().map(|p| self.padded(p.len())).sum();
        self.staged.len() + need <= self.capacity
    }

    /// Stages `parts` and returns their bindings. The caller flushed first unless they fit; only
    /// with nothing staged does the ring grow (no recorded pass refers to the old buffer then).
    pub fn push(&mut self, device: &wgpu::Device, parts: &[&[u8]]) -> Vec<(u64, NonZeroU64)> {
        if !self.fits(parts) {
            assert!(
                self.staged.is_empty(),
                "flush before a pass that does not fit"
            );
            let need: usize = parts.iter().map(|p| self.padded(p.len())).sum();
            self.capacity = need.next_power_of_two();
            self.buffer = Self::buffer(device, self.capacity);
        }
        parts
            .iter()
            .map(|p| {
                let offset = self.staged.len();
                self.staged.extend_from_slice(p);
                self.staged.resize(offset + self.padded(p.len()), 0);
                let size = NonZeroU64::new(p.len().max(4) as u64).expect("at least 4 bytes");
                (offset as u64, size)
            })
            .collect()
    }

    pub fn buffer_ref(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Writes the staged bytes (before the batch is submitted) and starts the next batch.
    pub fn write(&mut self, queue: &wgpu::Queue) {
        if !self.staged.is_empty() {
            queue.write_buffer(&self.buffer, 0, &self.staged);
            self.staged.clear();
        }
    }
}
