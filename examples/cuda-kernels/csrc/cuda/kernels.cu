// CUDA kernels (saxpy, a two-pass sum reduction, a tiled matmul) and their host wrappers.
//
// Linked with cudart_static: the wheel needs no libcudart.so, and libcuda.so.1 (the driver) is
// only loaded when the first runtime call is made. Without a driver every entry point returns
// CK_ENODEV instead of failing at import.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

#include "cuda_kernels/kernels.h"

namespace {

constexpr int kThreads = 256;
constexpr int kTile = 16;
constexpr int kMaxBlocks = 1024;

thread_local char last_error[256] = "no error";

int fail(const char* what, cudaError_t err) {
    std::snprintf(last_error, sizeof last_error, "%s: %s (%s)", what, cudaGetErrorString(err),
                  cudaGetErrorName(err));
    cudaGetLastError();  // reset the runtime's last error so later calls start clean
    if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver) return CK_ENODEV;
    return CK_ECUDA;
}

#define CK_CHECK(call)                                          \
    do {                                                        \
        const cudaError_t err_ = (call);                        \
        if (err_ != cudaSuccess) return fail(#call, err_);      \
    } while (0)

// Device buffers released on scope exit, so every error path frees them.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (ptr_) cudaFree(ptr_);
    }
    cudaError_t allocate(size_t bytes) { return cudaMalloc(&ptr_, bytes ? bytes : 1); }
    template <class T>
    T* as() const {
        return static_cast<T*>(ptr_);
    }

private:
    void* ptr_ = nullptr;
};

int require_device() {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return fail("cudaGetDeviceCount", err);
    if (count == 0) {
        std::snprintf(last_error, sizeof last_error, "no CUDA device");
        return CK_ENODEV;
    }
    return CK_OK;
}

int blocks_for(size_t n) {
    const size_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<int>(blocks < kMaxBlocks ? (blocks ? blocks : 1) : kMaxBlocks);
}

__global__ void saxpy_kernel(size_t n, float a, const float* x, const float* y, float* out) {
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        out[i] = a * x[i] + y[i];
    }
}

// Each block reduces a grid-stride slice into partial[blockIdx.x]; no atomics, so it runs on
// every architecture in the variant's list.
template <class In>
__global__ void sum_kernel(size_t n, const In* x, double* partial) {
    __shared__ double cache[kThreads];
    double value = 0.0;
    for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        value += static_cast<double>(x[i]);
    }
    cache[threadIdx.x] = value;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) cache[threadIdx.x] += cache[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = cache[0];
}

__global__ void matmul_kernel(int m, int k, int n, const float* a, const float* b, float* c) {
    __shared__ float tile_a[kTile][kTile];
    __shared__ float tile_b[kTile][kTile];
    const int row = blockIdx.y * kTile + threadIdx.y;
    const int col = blockIdx.x * kTile + threadIdx.x;
    float acc = 0.0f;
    for (int t = 0; t < k; t += kTile) {
        const int ak = t + threadIdx.x;
        const int bk = t + threadIdx.y;
        tile_a[threadIdx.y][threadIdx.x] = (row < m && ak < k) ? a[row * k + ak] : 0.0f;
        tile_b[threadIdx.y][threadIdx.x] = (bk < k && col < n) ? b[bk * n + col] : 0.0f;
        __syncthreads();
        for (int p = 0; p < kTile; ++p) acc += tile_a[threadIdx.y][p] * tile_b[p][threadIdx.x];
        __syncthreads();
    }
    if (row < m && col < n) c[row * n + col] = acc;
}

}  // namespace

extern "C" {

int ck_cuda_compiled(void) { return 1; }

int ck_device_count(void) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return count;
}

int ck_runtime_version(void) { return CUDART_VERSION; }

int ck_driver_version(void) {
    int version = 0;
    if (cudaDriverGetVersion(&version) != cudaSuccess) return 0;
    return version;
}

int ck_device_name(int index, char* buffer, size_t size) {
    if (size) buffer[0] = '\0';
    if (index < 0 || index >= ck_device_count()) return CK_ENODEV;
    cudaDeviceProp prop;
    CK_CHECK(cudaGetDeviceProperties(&prop, index));
    std::snprintf(buffer, size, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
    return CK_OK;
}

const char* ck_last_error(void) { return last_error; }

int ck_saxpy_cuda(size_t n, float a, const float* x, const float* y, float* out) {
    if (const int status = require_device()) return status;
    const size_t bytes = n * sizeof(float);
    DeviceBuffer dx, dy, dout;
    CK_CHECK(dx.allocate(bytes));
    CK_CHECK(dy.allocate(bytes));
    CK_CHECK(dout.allocate(bytes));
    CK_CHECK(cudaMemcpy(dx.as<float>(), x, bytes, cudaMemcpyHostToDevice));
    CK_CHECK(cudaMemcpy(dy.as<float>(), y, bytes, cudaMemcpyHostToDevice));
    saxpy_kernel<<<blocks_for(n), kThreads>>>(n, a, dx.as<float>(), dy.as<float>(), dout.as<float>());
    CK_CHECK(cudaGetLastError());
    CK_CHECK(cudaMemcpy(out, dout.as<float>(), bytes, cudaMemcpyDeviceToHost));
    return CK_OK;
}

int ck_sum_cuda(size_t n, const float* x, double* out) {
    if (const int status = require_device()) return status;
    const int blocks = blocks_for(n);
    DeviceBuffer dx, partial, total;
    CK_CHECK(dx.allocate(n * sizeof(float)));
    CK_CHECK(partial.allocate(blocks * sizeof(double)));
    CK_CHECK(total.allocate(sizeof(double)));
    CK_CHECK(cudaMemcpy(dx.as<float>(), x, n * sizeof(float), cudaMemcpyHostToDevice));
    sum_kernel<float><<<blocks, kThreads>>>(n, dx.as<float>(), partial.as<double>());
    CK_CHECK(cudaGetLastError());
    sum_kernel<double><<<1, kThreads>>>(blocks, partial.as<double>(), total.as<double>());
    CK_CHECK(cudaGetLastError());
    CK_CHECK(cudaMemcpy(out, total.as<double>(), sizeof(double), cudaMemcpyDeviceToHost));
    return CK_OK;
}

int ck_matmul_cuda(size_t m, size_t k, size_t n, const float* a, const float* b, float* c) {
    if (m > 65535 * kTile || n > 2147483647 / kTile || m * k > 2147483647u || k * n > 2147483647u) {
        std::snprintf(last_error, sizeof last_error, "matmul: matrices too large for int indexing");
        return CK_ECUDA;
    }
    if (const int status = require_device()) return status;
    DeviceBuffer da, db, dc;
    CK_CHECK(da.allocate(m * k * sizeof(float)));
    CK_CHECK(db.allocate(k * n * sizeof(float)));
    CK_CHECK(dc.allocate(m * n * sizeof(float)));
    CK_CHECK(cudaMemcpy(da.as<float>(), a, m * k * sizeof(float), cudaMemcpyHostToDevice));
    CK_CHECK(cudaMemcpy(db.as<float>(), b, k * n * sizeof(float), cudaMemcpyHostToDevice));
    const dim3 threads(kTile, kTile);
    const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile),
                    static_cast<unsigned>((m + kTile - 1) / kTile));
    if (m && n) {
        matmul_kernel<<<grid, threads>>>(static_cast<int>(m), static_cast<int>(k),
                                         static_cast<int>(n), da.as<float>(), db.as<float>(),
                                         dc.as<float>());
        CK_CHECK(cudaGetLastError());
    }
    CK_CHECK(cudaMemcpy(c, dc.as<float>(), m * n * sizeof(float), cudaMemcpyDeviceToHost));
    return CK_OK;
}

}  // extern "C"
