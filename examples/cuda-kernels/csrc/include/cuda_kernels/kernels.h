/* cuda_kernels: the C interface of the kernel library.
 *
 * Every operation exists twice: ck_*_cpu (always built) and ck_*_cuda (real kernels in CUDA
 * builds; in CPU builds, stubs that report CK_ENOCUDA). Arrays are float32 and live in host
 * memory: the CUDA entry points copy them to the device and back. Functions return CK_OK (0) or
 * a negative status; ck_last_error() describes the last failure on the calling thread.
 */
#ifndef CUDA_KERNELS_KERNELS_H
#define CUDA_KERNELS_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CK_OK = 0,
    CK_ENOCUDA = -1, /* built without CUDA */
    CK_ENODEV = -2,  /* no usable device or driver */
    CK_ECUDA = -3    /* a CUDA runtime call failed; see ck_last_error() */
};

/* 1 when the library holds CUDA kernels, 0 for the CPU-only build. */
int ck_cuda_compiled(void);
/* Number of usable CUDA devices; 0 without a GPU, without a driver, or in the CPU build. */
int ck_device_count(void);
/* CUDA runtime version the library was built with (e.g. 13000), 0 in the CPU build. */
int ck_runtime_version(void);
/* Newest CUDA version the installed driver supports, 0 without a driver. */
int ck_driver_version(void);
/* Name of device `index` into `buffer`; CK_ENODEV when there is no such device. */
int ck_device_name(int index, char *buffer, size_t size);
const char *ck_last_error(void);

/* out[i] = a * x[i] + y[i] */
int ck_saxpy_cpu(size_t n, float a, const float *x, const float *y, float *out);
int ck_saxpy_cuda(size_t n, float a, const float *x, const float *y, float *out);
/* *out = sum of x (accumulated in double) */
int ck_sum_cpu(size_t n, const float *x, double *out);
int ck_sum_cuda(size_t n, const float *x, double *out);
/* c (m x n) = a (m x k) * b (k x n), row-major */
int ck_matmul_cpu(size_t m, size_t k, size_t n, const float *a, const float *b, float *c);
int ck_matmul_cuda(size_t m, size_t k, size_t n, const float *a, const float *b, float *c);

#ifdef __cplusplus
}
#endif

#endif /* CUDA_KERNELS_KERNELS_H */
