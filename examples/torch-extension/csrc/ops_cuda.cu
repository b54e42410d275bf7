// The CUDA kernel of torch_extension::scaled_add, for CUDA tensors. The stream and device
// guard come from c10 (ATen/cuda/CUDAContext.h would also need the cuBLAS, cuSPARSE and
// cuSOLVER headers, which this kernel does not use).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

namespace {

__global__ void scaled_add_kernel(const float* x, const float* y, float alpha, float* out,
                                  int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] + alpha * y[i];
}

at::Tensor scaled_add_cuda(const at::Tensor& x, const at::Tensor& y, double alpha) {
  TORCH_CHECK(x.sizes() == y.sizes(), "scaled_add: x and y must have the same shape");
  TORCH_CHECK(x.scalar_type() == at::kFloat && y.scalar_type() == at::kFloat,
              "scaled_add: float32 tensors only");
  TORCH_CHECK(x.is_cuda() && y.is_cuda() && x.device() == y.device(),
              "scaled_add: both tensors on one CUDA device");
  const c10::cuda::CUDAGuard guard(x.device());
  at::Tensor xc = x.contiguous();
  at::Tensor yc = y.contiguous();
  at::Tensor out = at::empty_like(xc);
  const int64_t n = xc.numel();
  if (n > 0) {
    const int threads = 256;
    const int64_t blocks = (n + threads - 1) / threads;
    scaled_add_kernel<<<blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), yc.data_ptr<float>(), static_cast<float>(alpha),
        out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_extension, CUDA, m) { m.impl("scaled_add", &scaled_add_cuda); }
