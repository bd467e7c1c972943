//! The CUDA driver as this crate uses it: the availability check, the context and stream,
//! device buffers. cudarc opens libcuda, NVRTC and cuBLAS on first use and panics when one is
//! missing, so `Gpu::open` checks each library first and turns its absence into one clear
//! `CudaError::Unavailable`.

use crate::CudaError;
use cudarc::driver::{result, sys, CudaContext, CudaStream};
use std::sync::Arc;

/// The opened card: context, the one stream every kernel runs on, and what it is.
pub struct Gpu {
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub name: String,
    /// (major, minor), e.g. (9, 0) for an H100.
    pub compute_capability: (i32, i32),
}

/// Why CUDA cannot be used here, or None when the libraries and a device are there.
fn missing_library() -> Option<String> {
    // SAFETY: each check only dlopen()s candidate library names.
    unsafe {
        if !sys::is_culib_present() {
            return Some(
                "the NVIDIA driver library (libcuda.so.1) was not found; install the NVIDIA driver"
                    .into(),
            );
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            return Some(
                "NVRTC (libnvrtc.so.13) was not found; install the CUDA 13 toolkit or \
                 `pip install nvidia-cuda-nvrtc`, and put its lib directory on LD_LIBRARY_PATH"
                    .into(),
            );
        }
        if !cudarc::cublas::sys::is_culib_present() {
            return Some(
                "cuBLAS (libcublas.so.13) was not found; install the CUDA 13 toolkit or \
                 `pip install nvidia-cublas`, and put its lib directory on LD_LIBRARY_PATH"
                    .into(),
            );
        }
    }
    None
}

impl Gpu {
    /// Opens device 0.
    pub fn open() -> Result<Gpu, CudaError> {
        if let Some(why) = missing_library() {
            return Err(CudaError::Unavailable(why));
        }
        result::init().map_err(|e| CudaError::Unavailable(format!("cuInit failed: {e}")))?;
        let count = result::device::get_count()
            .map_err(|e| CudaError::Unavailable(format!("cannot count devices: {e}")))?;
        if count < 1 {
            return Err(CudaError::Unavailable("no CUDA device found".into()));
        }
        let ctx = CudaContext::new(0)
            .map_err(|e| CudaError::Unavailable(format!("cannot open device 0: {e}")))?;
        // Our buffers are used on one stream only; cudarc's per-buffer events are not needed.
        // SAFETY: no cudarc-managed buffers are shared between streams in this crate.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(CudaError::driver)?;
        let name = ctx.name().map_err(CudaError::driver)?;
        let compute_capability = ctx.compute_capability().map_err(CudaError::driver)?;
        Ok(Gpu {
            ctx,
            stream,
            name,
            compute_capability,
        })
    }

    pub fn cu_stream(&self) -> sys::CUstream {
        self.stream.cu_stream()
    }

    /// Makes this context current on the calling thread (raw driver calls need it).
    pub fn bind(&self) -> Result<(), CudaError> {
        self.ctx.bind_to_thread().map_err(CudaError::driver)
    }

    /// (free, total) bytes of device memory.
    pub fn mem_info(&self) -> Result<(usize, usize), CudaError> {
        self.bind()?;
        result::mem_get_info().map_err(CudaError::driver)
    }

    pub fn synchronize(&self) -> Result<(), CudaError> {
        self.stream.synchronize().map_err(CudaError::driver)
    }

    /// A zeroed device buffer of `bytes` bytes.
    pub fn alloc(&self, bytes: usize) -> Result<DevBuf, CudaError> {
        self.bind()?;
        let bytes = bytes.max(1);
        // SAFETY: plain allocation; the buffer frees itself on drop.
        let ptr = unsafe { result::malloc_sync(bytes) }.map_err(|e| {
            CudaError::OutOfMemory(format!("cannot allocate {} MiB: {e}", bytes >> 20))
        })?;
        // Zeroed on our stream, so ordered before every kernel that will use the buffer. (The
        // "synchronous" cuMemsetD8 is asynchronous for device memory and runs on the legacy
        // stream, which our non-blocking stream does not wait for: an arena chunk added in the
        // middle of a pass could be zeroed after a kernel had written it.)
        // (WASM_CHORD_CUDA_LEGACY_MEMSET=1 zeroes as before, on the legacy stream: only for
        // showing that race)
        // SAFETY: ptr is a fresh allocation of `bytes` bytes.
        unsafe {
            if legacy_memset() {
                result::memset_d8_sync(ptr, 0, bytes)
            } else {
                result::memset_d8_async(ptr, 0, bytes, self.cu_stream())
            }
        }
        .map_err(CudaError::driver)?;
        Ok(DevBuf { ptr, bytes })
    }

    /// Copies `src` to device memory at `dst`, ordered on the stream (the copy has left `src`
    /// when this returns: pageable memory is staged).
    pub fn upload<T>(&self, dst: sys::CUdeviceptr, src: &[T]) -> Result<(), CudaError> {
        // SAFETY: callers pass a destination with room for src (DevBuf/arena sizes are checked).
        unsafe { result::memcpy_htod_async(dst, src, self.cu_stream()) }.map_err(CudaError::driver)
    }

    /// Waits for the stream, then copies `dst.len()` elements from `src`.
    pub fn download<T>(&self, dst: &mut [T], src: sys::CUdeviceptr) -> Result<(), CudaError> {
        self.synchronize()?;
        // SAFETY: src holds at least dst.len() elements (the tensor's own size).
        unsafe { result::memcpy_dtoh_sync(dst, src) }.map_err(CudaError::driver)
    }
}

fn legacy_memset() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("WASM_CHORD_CUDA_LEGACY_MEMSET").is_ok_and(|v| v == "1"))
}

/// Device memory that frees itself.
pub struct DevBuf {
    pub ptr: sys::CUdeviceptr,
    pub bytes: usize,
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        // SAFETY: ptr came from malloc_sync and is freed once; a failure at teardown (a lost
        // device) leaves nothing to recover.
        unsafe {
            let _ = result::free_sync(self.ptr);
        }
    }
}
