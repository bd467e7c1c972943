//! Device-resident activations and weights.

use quant::GgmlType;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Free activation buffers by size class. A `Tensor` returns its buffer here when dropped, and the
/// next tensor of the same class takes it: a decode step allocates nothing after the first one.
/// Sizes are rounded up to a power of two (at least 256 B) so that tensors whose size grows with
/// the position (attention scratch) or the prompt length reuse a bounded set of buffers instead of
/// leaving one per size behind; kernels get their real extents from their parameters.
/// Reuse is safe without fences because all work goes through one queue in recording order.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
}

pub(crate) type SharedPool = Rc<RefCell<BufferPool>>;

impl BufferPool {
    /// A buffer of at least `bytes`; `cap` (the binding limit) bounds the rounding.
    pub(crate) fn take(
        pool: &SharedPool,
        device: &wgpu::Device,
        bytes: u64,
        cap: u64,
    ) -> wgpu::Buffer {
        let class = bytes.max(256).next_power_of_two();
        let bytes = if class <= cap { class } else { bytes };
        if let Some(b) = pool.borrow_mut().free.get_mut(&bytes).and_then(|v| v.pop()) {
            return b;
        }
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("activation"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }
}

/// f32 activations `(rows, cols)`, row-major, in a device buffer of `4 · rows · cols` bytes
/// (at least 4).
pub struct Tensor {
    pub rows: usize,
    pub cols: usize,
    pub(crate) buf: Option<wgpu::Buffer>,
    pub(crate) pool: SharedPool,
}

impl Tensor {
    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buf.as_ref().expect("tensor buffer present until drop")
    }
    pub(crate) fn bytes(rows: usize, cols: usize) -> u64 {
        (4 * rows * cols).max(4) as u64
    }
}

impl Drop for Tensor {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            let size = b.size();
            self.pool.borrow_mut().free.entry(size).or_default().push(b);
        }
    }
}

/// Rows `row0 .. row0 + rows` of a weight in one buffer: raw GGUF bytes (layout.rs),
/// `(rows · row_bytes)` bytes + padding, from byte `offset` of `buf` (0, or where
/// `stack_weights` put the weight in a buffer it shares with others).
pub(crate) struct Chunk {
    pub buf: wgpu::Buffer,
    pub offset: u64,
    pub row0: usize,
    pub rows: usize,
}

impl Chunk {
    /// Bytes a kernel binds: the rows, padded as layout::chunk_buffer_bytes says.
    pub fn bound_bytes(&self, row_bytes: usize) -> u64 {
        crate::layout::chunk_buffer_bytes(self.rows, row_bytes)
    }
}

/// A weight as stored in the file, `rows` rows of `cols` elements of `ty`, on the device.
pub struct Weight {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub(crate) row_bytes: usize,
    pub(crate) chunks: Vec<Chunk>,
    /// Vectors (norm weights, biases, rope factors): also dequantized, `(cols)` f32 on the device
    /// for the element-wise kernels and on the host for the RoPE table.
    pub(crate) vector: Option<(wgpu::Buffer, Vec<f32>)>,
}
