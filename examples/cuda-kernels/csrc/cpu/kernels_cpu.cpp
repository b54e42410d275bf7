// CPU implementations: the whole library in the cpu variant, the fallback in CUDA builds.
#include <algorithm>

#include "cuda_kernels/kernels.h"

extern "C" {

int ck_saxpy_cpu(size_t n, float a, const float* x, const float* y, float* out) {
    for (size_t i = 0; i < n; ++i) out[i] = a * x[i] + y[i];
    return CK_OK;
}

int ck_sum_cpu(size_t n, const float* x, double* out) {
    // Pairwise blocks of 256 keep the rounding error close to the GPU's tree reduction.
    double total = 0.0;
    for (size_t start = 0; start < n; start += 256) {
        double block = 0.0;
        const size_t end = std::min(n, start + 256);
        for (size_t i = start; i < end; ++i) block += x[i];
        total += block;
    }
    *out = total;
    return CK_OK;
}

int ck_matmul_cpu(size_t m, size_t k, size_t n, const float* a, const float* b, float* c) {
    std::fill(c, c + m * n, 0.0f);
    for (size_t i = 0; i < m; ++i) {
        for (size_t p = 0; p < k; ++p) {
            const float av = a[i * k + p];
            for (size_t j = 0; j < n; ++j) c[i * n + j] += av * b[p * n + j];
        }
    }
    return CK_OK;
}

}  // extern "C"
