//! Adapter and device setup. Limits are read from the adapter and requested in full, so the
//! largest weight chunk a binding may hold is what this adapter really allows (lavapipe: 128 MiB
//! storage bindings; SwiftShader in Chromium: 1 GiB buffers).

use crate::GpuError;
use std::sync::{Arc, Mutex};

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
    /// The first validation/out-of-memory error wgpu reported asynchronously, if any: wgpu's default
    /// handler panics, we turn it into a `GpuError` at the next read instead.
    pub(crate) error: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Opens the first adapter wgpu offers (high performance preferred), on the native backends
    /// compiled in (Vulkan; Metal with the `metal` feature; DX12 on Windows). `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` are honoured, as in every wgpu program.
    pub fn new() -> Result<Gpu, GpuError> {
        pollster::block_on(Self::new_async())
    }

    pub async fn new_async() -> Result<Gpu, GpuError> {
        let instance = wgpu::Instance::new(&wgpu::InstanceDescriptor {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all()),
            ..Default::default()
        });
        let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
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
        let error = Arc::new(Mutex::new(None::<String>));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        Ok(Gpu {
            device,
            queue,
            adapter_name: format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type),
            is_cpu: info.device_type == wgpu::DeviceType::Cpu,
            max_binding: u64::from(limits.max_storage_buffer_binding_size),
            max_buffer: limits.max_buffer_size,
            error,
        })
    }

    /// The first asynchronous wgpu error since the device opened, as a `GpuError`.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        let slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(e) => Err(GpuError::Wgpu(e.clone())),
            None => Ok(()),
        }
    }

    /// Largest byte size of one weight chunk / cache buffer: within both limits, a multiple of 4.
    pub fn max_chunk_bytes(&self) -> u64 {
        self.max_binding.min(self.max_buffer) / 4 * 4
    }
}
