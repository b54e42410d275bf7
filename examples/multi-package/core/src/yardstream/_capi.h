/* The C API that yardstream._core exports as the capsule "yardstream._core._C_API".
 *
 * Other extensions (yardstream-s3) import it with PyCapsule_Import and must check api_version
 * before using any member. Append members only; bump YARDSTREAM_CAPI_VERSION when the meaning
 * of an existing member changes.
 */
#ifndef YARDSTREAM_CAPI_H
#define YARDSTREAM_CAPI_H

#include <stddef.h>
#include <stdint.h>

#define YARDSTREAM_CAPI_VERSION 1
#define YARDSTREAM_CAPI_NAME "yardstream._core._C_API"

typedef struct {
    int api_version;
    /* CRC-32C (Castagnoli), continuing from `crc` (0 to start). */
    uint32_t (*crc32c)(uint32_t crc, const void *data, size_t n);
    /* Length of the next content-defined chunk of data[0:n]. */
    size_t (*next_chunk)(const uint8_t *data, size_t n, size_t min_size, int bits, size_t max_size);
} YardstreamCAPI;

#endif /* YARDSTREAM_CAPI_H */
