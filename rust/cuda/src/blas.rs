//! cuBLAS for prefill: `out (rows, ldc) [+]= x16 (rows, k) · w16ᵀ` on f16 inputs with f32
//! accumulation (tensor cores). The caller dequantizes the weight to f16 tiles first.

use crate::CudaError;
use cudarc::cublas::{result, sys};
use cudarc::driver::sys as dsys;

pub struct Blas {
    handle: sys::cublasHandle_t,
}

impl Blas {
    pub fn new(stream: dsys::CUstream) -> Result<Blas, CudaError> {
        let handle = result::create_handle()
            .map_err(|e| CudaError::Unavailable(format!("cuBLAS could not start: {e:?}")))?;
        // SAFETY: handle is live; the stream belongs to the current context.
        unsafe { result::set_stream(handle, stream as sys::cudaStream_t) }
            .map_err(|e| CudaError::Driver(format!("cublasSetStream: {e:?}")))?;
        Ok(Blas { handle })
    }

    /// Row-major `out[t][c] = beta·out[t][c] + Σ_k x[t][k]·w[c][k]` for `t < rows`, `c < n`:
    /// `w16` is (n, k) f16, `x16` (rows, k) f16, `out` f32 with `ldc` floats per row.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        &self,
        w16: u64,
        x16: u64,
        out: u64,
        n: usize,
        rows: usize,
        k: usize,
        ldc: usize,
        beta: f32,
    ) -> Result<(), CudaError> {
        let alpha = 1.0f32;
        // Column-major view: C (n × rows, ldc) = op(A)ᵀ·B with A = w (k × n, lda k), B = x
        // (k × rows, ldb k).
        // SAFETY: the pointers are live device buffers of the sizes above.
        unsafe {
            result::gemm_ex(
                self.handle,
                sys::cublasOperation_t::CUBLAS_OP_T,
                sys::cublasOperation_t::CUBLAS_OP_N,
                n as i32,
                rows as i32,
                k as i32,
                (&alpha as *const f32).cast(),
                w16 as *const _,
                sys::cudaDataType::CUDA_R_16F,
                k as i32,
                x16 as *const _,
                sys::cudaDataType::CUDA_R_16F,
                k as i32,
                (&beta as *const f32).cast(),
                out as *mut _,
                sys::cudaDataType::CUDA_R_32F,
                ldc as i32,
                sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                sys::cublasGemmAlgo_t::CUBLAS_GEMM_DFALT,
            )
        }
        .map_err(|e| CudaError::Driver(format!("cublasGemmEx: {e:?}")))
    }
}

impl Drop for Blas {
    fn drop(&mut self) {
        // SAFETY: destroyed once.
        unsafe {
            let _ = result::destroy_handle(self.handle);
        }
    }
}
