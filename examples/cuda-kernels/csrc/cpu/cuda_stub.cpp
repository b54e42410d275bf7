// The CUDA half of the interface in the CPU-only build: no devices, every call says so.
#include "cuda_kernels/kernels.h"

namespace {
const char kNoCuda[] = "cuda_kernels was built without CUDA (the cpu variant)";
}

extern "C" {

int ck_cuda_compiled(void) { return 0; }
int ck_device_count(void) { return 0; }
int ck_runtime_version(void) { return 0; }
int ck_driver_version(void) { return 0; }

int ck_device_name(int, char* buffer, size_t size) {
    if (size) buffer[0] = '\0';
    return CK_ENODEV;
}

const char* ck_last_error(void) { return kNoCuda; }

int ck_saxpy_cuda(size_t, float, const float*, const float*, float*) { return CK_ENOCUDA; }
int ck_sum_cuda(size_t, const float*, double*) { return CK_ENOCUDA; }
int ck_matmul_cuda(size_t, size_t, size_t, const float*, const float*, float*) { return CK_ENOCUDA; }

}  // extern "C"
