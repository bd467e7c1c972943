//! Adapter and device setup. Limits are read from the adapter and requested in full, so the
//! largest weight chunk a binding may hold is what this adapter really allows (lavapipe: 128 MiB
//! storage bindings; SwiftShader in Chromium: 1 GiB buffers).
//!
//! Natively wgpu runs on Vulkan / Metal / DX12 and `Gpu::new` blocks until the device is open. In
//! a browser (wasm32) it runs on wgpu's `webgpu` backend, on `navigator.gpu` of the page or the
//! dedicated worker, and only `Gpu::new_async` exists: nothing may block there.

use crate::GpuError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

/// What the device reports asynchronously, shared with wgpu's callbacks: errors, device loss,
/// and the completion of the read in flight (see `GpuBackend::begin_read`). Whoever awaits a
/// read leaves its waker here; every callback wakes it, so a lost device or a validation error
/// ends the wait with that error instead of leaving it hanging.
#[derive(Default)]
pub(crate) struct Signals {
    /// The first validation/out-of-memory error or device loss wgpu reported.
    pub error: Option<String>,
    /// `(read id, outcome)` of the last `map_async` that completed.
    pub read: Option<(u64, Result<(), String>)>,
    pub waker: Option<Waker>,
}

pub(crate) type SharedSignals = Arc<Mutex<Signals>>;

pub(crate) fn lock(s: &SharedSignals) -> MutexGuard<'_, Signals> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// An open device with its queue and the limits that shape uploads and dispatches.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)".
    pub adapter_name: String,
    /// A software rasteriser (lavapipe, SwiftShader): kernels without barriers run best there.
    pub is_cpu: bool,
    /// Bytes one storage binding may cover (max_storage_buffer_binding_size).
    pub max_binding: u64,
    /// Bytes one buffer may hold (max_buffer_size).
    pub max_buffer: u64,
    /// The first validation/out-of-memory error (or device loss) wgpu reported asynchronously, if
    /// any: wgpu's default handler panics, we turn it into a `GpuError` at the next read instead.
    pub(crate) signals: SharedSignals,
}

impl Gpu {
    /// Opens the first adapter wgpu offers (high performance preferred), on the native backends
    /// compiled in (Vulkan; Metal with the `metal` feature; DX12 on Windows). `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` are honoured, as in every wgpu program.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Gpu, GpuError> {
        pollster::block_on(Self::new_async())
    }

    /// Opens the adapter and device without blocking: natively what `new` does; in a browser the
    /// WebGPU adapter of `navigator.gpu` (a missing `navigator.gpu` or a refused adapter or
    /// device is a `NoAdapter` / `Device` error, never a hang).
    pub async fn new_async() -> Result<Gpu, GpuError> {
        #[cfg(not(target_arch = "wasm32"))]
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
        #[cfg(target_arch = "wasm32")]
        let backends = wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(&wgpu::InstanceDescriptor {
            backends,
            ..Default::default()
        });
        #[cfg(target_arch = "wasm32")]
        let env_adapter: Result<String, ()> = Err(());
        #[cfg(not(target_arch = "wasm32"))]
        let env_adapter = std::env::var("WGPU_ADAPTER_NAME");
        let adapter = match env_adapter {
            Ok(_) => wgpu::util::initialize_adapter_from_env_or_default(&instance, None)
                .await
                .map_err(|e| GpuError::NoAdapter(e.to_string()))?,
            Err(_) => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    force_fallback_adapter: false,
                    compatible_surface: None,
                })
                .await
                .map_err(|e| GpuError::NoAdapter(e.to_string()))?,
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        // Timestamp queries only for the profiler (crate::profile), where the adapter has them.
        let features = if crate::profile::enabled() {
            adapter.features() & wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wasm-chord"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let signals = SharedSignals::default();
        let sink = signals.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            report(&sink, e.to_string());
        }));
        let sink = signals.clone();
        device.set_device_lost_callback(move |reason, message| {
            // (also called when our own drop destroys the device: then nothing reads this)
            report(
                &sink,
                format!("the GPU device was lost ({reason:?}: {message}); create the engine again, or reload the page"),
            );
        });
        Ok(Gpu {
            device,
            queue,
            adapter_name: format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type),
            is_cpu: info.device_type == wgpu::DeviceType::Cpu,
            max_binding: u64::from(limits.max_storage_buffer_binding_size),
            max_buffer: limits.max_buffer_size,
            signals,
        })
    }

    /// Where the backend runs, for a caller that knows better than wgpu: in a browser wgpu's
    /// adapter info is empty, so the page tells the name and whether it is a software adapter
    /// (SwiftShader), which picks the decode kernel.
    pub fn set_adapter_description(&mut self, name: String, is_cpu: bool) {
        self.adapter_name = name;
        self.is_cpu = is_cpu;
    }

    /// The first asynchronous wgpu error since the device opened, as a `GpuError`.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        match lock(&self.signals).error.as_ref() {
            Some(e) => Err(GpuError::Wgpu(e.clone())),
            None => Ok(()),
        }
    }

    /// Largest byte size of one weight chunk / cache buffer: within both limits, a multiple of 4.
    pub fn max_chunk_bytes(&self) -> u64 {
        self.max_binding.min(self.max_buffer) / 4 * 4
    }
}

/// Keeps the first asynchronous error and wakes whoever awaits a read.
fn report(signals: &SharedSignals, message: String) {
    let mut s = lock(signals);
    if s.error.is_none() {
        s.error = Some(message);
    }
    if let Some(w) = s.waker.take() {
        w.wake();
    }
}
