/* nativecore: the C interface of the core library (what language bindings include).
 *
 * Element buffers are described by an nc_dtype tag; every function returns NC_OK (0) or a
 * negative nc_status, or a size where documented. No function allocates memory the caller
 * must free, and none keeps a pointer after it returns.
 */
#ifndef NATIVECORE_CAPI_H
#define NATIVECORE_CAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nc_dtype {
    NC_I8, NC_U8, NC_I16, NC_U16, NC_I32, NC_U32, NC_I64, NC_U64, NC_F32, NC_F64
} nc_dtype;

typedef enum nc_status {
    NC_OK = 0,
    NC_EDTYPE = -1,    /* the function does not support this element type */
    NC_EARG = -2,      /* an argument is out of range */
    NC_ESINGULAR = -3, /* the matrix is singular (or not positive definite) */
    NC_ECORRUPT = -4,  /* compressed input is malformed */
    NC_ESPACE = -5,    /* the output buffer is too small */
    NC_ENOMEM = -6
} nc_status;

typedef enum nc_sort_algorithm {
    NC_INTROSORT = 0, /* quicksort, heapsort when recursion gets deep; not stable */
    NC_MERGESORT = 1, /* stable */
    NC_RADIXSORT = 2  /* LSD radix on the key bits; stable; floats in IEEE total order */
} nc_sort_algorithm;

typedef struct nc_summary {
    uint64_t count;
    double sum;      /* compensated (Kahan-Babuska) sum */
    double mean;
    double variance; /* sample variance (n - 1); 0 when count < 2 */
    double min;
    double max;
} nc_summary;

/* Bumped whenever a declaration below changes: bindings compare it with nc_abi_version() to
 * refuse a stale prebuilt library. */
#define NC_ABI_VERSION 1

int nc_abi_version(void);
const char *nc_strerror(int status);

/* sort.cpp */
int nc_sort(nc_dtype dtype, void *data, size_t n, nc_sort_algorithm algorithm, int descending);
int nc_is_sorted(nc_dtype dtype, const void *data, size_t n, int descending); /* 1, 0 or < 0 */
int nc_argsort(nc_dtype dtype, const void *data, size_t n, int64_t *indices); /* stable */
/* Stable sort of keys, values moved along; values: NC_I32, NC_U32, NC_I64, NC_U64, NC_F32, NC_F64;
 * algorithm NC_MERGESORT or NC_RADIXSORT. */
int nc_sort_pairs(nc_dtype key_dtype, void *keys, nc_dtype value_dtype, void *values, size_t n,
                  nc_sort_algorithm algorithm, int descending);

/* select.cpp */
int64_t nc_top_k(nc_dtype dtype, const void *data, size_t n, size_t k, int largest, void *out);
int64_t nc_unique(nc_dtype dtype, const void *data, size_t n, void *values, int64_t *counts);
int nc_search_sorted(nc_dtype dtype, const void *sorted, size_t n, const void *queries, size_t m,
                     int right, int64_t *out);
int nc_rank(nc_dtype dtype, const void *data, size_t n, double *out);

/* hash.cpp */
uint64_t nc_xxh64(const void *data, size_t n, uint64_t seed);
uint64_t nc_fnv1a64(const void *data, size_t n);
uint32_t nc_crc32(uint32_t crc, const void *data, size_t n); /* zlib's CRC-32 */
void nc_murmur3_128(const void *data, size_t n, uint32_t seed, uint64_t out[2]);
int64_t nc_count_distinct(nc_dtype dtype, const void *data, size_t n);

/* stats.cpp */
int nc_summarize(nc_dtype dtype, const void *data, size_t n, nc_summary *out);
int nc_quantile(nc_dtype dtype, const void *data, size_t n, double q, double *out);
int nc_histogram(nc_dtype dtype, const void *data, size_t n, double lo, double hi, size_t bins,
                 uint64_t *counts);
int nc_correlation(nc_dtype dtype, const void *x, const void *y, size_t n, double *out);
int nc_spearman(nc_dtype dtype, const void *x, const void *y, size_t n, double *out);

/* matrix.cpp: row-major matrices of NC_F32 or NC_F64 */
int nc_matmul(nc_dtype dtype, const void *a, const void *b, void *c, size_t m, size_t k, size_t n);
int nc_solve(nc_dtype dtype, const void *a, const void *b, void *x, size_t n, size_t nrhs);
int nc_det(nc_dtype dtype, const void *a, size_t n, double *out);
int nc_inverse(nc_dtype dtype, const void *a, void *out, size_t n);
int nc_cholesky(nc_dtype dtype, const void *a, void *l, size_t n);
int nc_least_squares(nc_dtype dtype, const void *a, const void *b, void *x, size_t m, size_t n);
int nc_eigenvalues_symmetric(nc_dtype dtype, const void *a, void *w, size_t n);

/* codec.cpp: an LZ77 byte codec and a delta/zigzag/varint codec for integer arrays */
size_t nc_compress_bound(size_t n);
int64_t nc_compress(const void *src, size_t n, void *dst, size_t capacity);
int64_t nc_decompressed_size(const void *src, size_t n);
int64_t nc_decompress(const void *src, size_t n, void *dst, size_t capacity);
size_t nc_delta_bound(nc_dtype dtype, size_t count);
int64_t nc_delta_encode(nc_dtype dtype, const void *src, size_t count, void *dst, size_t capacity);
int64_t nc_delta_decode(nc_dtype dtype, const void *src, size_t n, void *dst, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* NATIVECORE_CAPI_H */
