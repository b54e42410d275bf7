// The C interface: dtype dispatch, argument checks, and no exception crosses it.
#include <new>
#include <type_traits>

#include "nativecore/capi.h"
#include "nativecore/codec.hpp"
#include "nativecore/hash.hpp"
#include "nativecore/matrix.hpp"
#include "nativecore/select.hpp"
#include "nativecore/sort.hpp"
#include "nativecore/stats.hpp"
#include "nativecore/types.hpp"

namespace {

// Runs f(), turning allocation failure into NC_ENOMEM.
template <class F>
auto guarded(F&& f) noexcept -> decltype(f()) {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return NC_ENOMEM;
    }
}

nc::Order order_of(int descending) { return descending ? nc::Order::descending : nc::Order::ascending; }

// Calls f(T* tag) for floating-point dtypes only; NC_EDTYPE for the others.
template <class F>
int for_floats(nc_dtype dtype, F&& f) {
    int status = NC_EDTYPE;
    nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if constexpr (std::is_floating_point_v<T>) status = f(tag);
    });
    return status;
}

// Calls f(T* tag) for integer dtypes only; NC_EDTYPE for the others.
template <class F>
int64_t for_integers(nc_dtype dtype, F&& f) {
    int64_t status = NC_EDTYPE;
    nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if constexpr (std::is_integral_v<T>) status = f(tag);
    });
    return status;
}

}  // namespace

extern "C" {

int nc_abi_version(void) { return NC_ABI_VERSION; }

const char* nc_strerror(int status) {
    switch (status) {
        case NC_OK: return "success";
        case NC_EDTYPE: return "element type not supported by this function";
        case NC_EARG: return "argument out of range";
        case NC_ESINGULAR: return "matrix is singular or not positive definite";
        case NC_ECORRUPT: return "compressed data is corrupt";
        case NC_ESPACE: return "output buffer too small";
        case NC_ENOMEM: return "out of memory";
        default: return "unknown error";
    }
}

int nc_sort(nc_dtype dtype, void* data, size_t n, nc_sort_algorithm algorithm, int descending) {
    if (algorithm != NC_INTROSORT && algorithm != NC_MERGESORT && algorithm != NC_RADIXSORT) {
        return NC_EARG;
    }
    return guarded([&]() -> int {
        const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            T* values = static_cast<T*>(data);
            switch (algorithm) {
                case NC_INTROSORT: nc::intro_sort(values, n, order_of(descending)); break;
                case NC_MERGESORT: nc::merge_sort(values, n, order_of(descending)); break;
                case NC_RADIXSORT: nc::radix_sort(values, n, order_of(descending)); break;
            }
        });
        return known ? NC_OK : NC_EDTYPE;
    });
}

int nc_is_sorted(nc_dtype dtype, const void* data, size_t n, int descending) {
    int result = NC_EDTYPE;
    nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        result = nc::is_sorted(static_cast<const T*>(data), n, order_of(descending)) ? 1 : 0;
    });
    return result;
}

int nc_argsort(nc_dtype dtype, const void* data, size_t n, int64_t* indices) {
    return guarded([&]() -> int {
        const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            nc::argsort(static_cast<const T*>(data), n, indices);
        });
        return known ? NC_OK : NC_EDTYPE;
    });
}

int nc_sort_pairs(nc_dtype key_dtype, void* keys, nc_dtype value_dtype, void* values, size_t n,
                  nc_sort_algorithm algorithm, int descending) {
    if (algorithm != NC_MERGESORT && algorithm != NC_RADIXSORT) return NC_EARG;
    return guarded([&]() -> int {
        int status = NC_EDTYPE;
        nc::visit_dtype(key_dtype, [&](auto* key_tag) {
            using K = std::remove_pointer_t<decltype(key_tag)>;
            nc::visit_payload_dtype(value_dtype, [&](auto* value_tag) {
                using V = std::remove_pointer_t<decltype(value_tag)>;
                nc::sort_pairs(static_cast<K*>(keys), static_cast<V*>(values), n,
                               algorithm == NC_RADIXSORT, order_of(descending));
                status = NC_OK;
            });
        });
        return status;
    });
}

int64_t nc_top_k(nc_dtype dtype, const void* data, size_t n, size_t k, int largest, void* out) {
    return guarded([&]() -> int64_t {
        int64_t result = NC_EDTYPE;
        nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            result = static_cast<int64_t>(
                nc::top_k(static_cast<const T*>(data), n, k, largest != 0, static_cast<T*>(out)));
        });
        return result;
    });
}

int64_t nc_unique(nc_dtype dtype, const void* data, size_t n, void* values, int64_t* counts) {
    return guarded([&]() -> int64_t {
        int64_t result = NC_EDTYPE;
        nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            result = static_cast<int64_t>(
                nc::unique(static_cast<const T*>(data), n, static_cast<T*>(values), counts));
        });
        return result;
    });
}

int nc_search_sorted(nc_dtype dtype, const void* sorted, size_t n, const void* queries, size_t m,
                     int right, int64_t* out) {
    const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        nc::search_sorted(static_cast<const T*>(sorted), n, static_cast<const T*>(queries), m,
                          right != 0, out);
    });
    return known ? NC_OK : NC_EDTYPE;
}

int nc_rank(nc_dtype dtype, const void* data, size_t n, double* out) {
    return guarded([&]() -> int {
        const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            nc::rank(static_cast<const T*>(data), n, out);
        });
        return known ? NC_OK : NC_EDTYPE;
    });
}

uint64_t nc_xxh64(const void* data, size_t n, uint64_t seed) { return nc::xxh64(data, n, seed); }

uint64_t nc_fnv1a64(const void* data, size_t n) { return nc::fnv1a64(data, n); }

uint32_t nc_crc32(uint32_t crc, const void* data, size_t n) { return nc::crc32(crc, data, n); }

void nc_murmur3_128(const void* data, size_t n, uint32_t seed, uint64_t out[2]) {
    nc::murmur3_128(data, n, seed, out);
}

int64_t nc_count_distinct(nc_dtype dtype, const void* data, size_t n) {
    return guarded([&]() -> int64_t {
        int64_t result = NC_EDTYPE;
        nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            result = static_cast<int64_t>(nc::count_distinct(static_cast<const T*>(data), n));
        });
        return result;
    });
}

int nc_summarize(nc_dtype dtype, const void* data, size_t n, nc_summary* out) {
    const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        *out = nc::summarize(static_cast<const T*>(data), n);
    });
    return known ? NC_OK : NC_EDTYPE;
}

int nc_quantile(nc_dtype dtype, const void* data, size_t n, double q, double* out) {
    if (n == 0 || !(q >= 0.0 && q <= 1.0)) return NC_EARG;
    return guarded([&]() -> int {
        const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            *out = nc::quantile(static_cast<const T*>(data), n, q);
        });
        return known ? NC_OK : NC_EDTYPE;
    });
}

int nc_histogram(nc_dtype dtype, const void* data, size_t n, double lo, double hi, size_t bins,
                 uint64_t* counts) {
    if (bins == 0 || !(hi > lo)) return NC_EARG;
    const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        nc::histogram(static_cast<const T*>(data), n, lo, hi, bins, counts);
    });
    return known ? NC_OK : NC_EDTYPE;
}

int nc_correlation(nc_dtype dtype, const void* x, const void* y, size_t n, double* out) {
    const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        *out = nc::correlation(static_cast<const T*>(x), static_cast<const T*>(y), n);
    });
    return known ? NC_OK : NC_EDTYPE;
}

int nc_spearman(nc_dtype dtype, const void* x, const void* y, size_t n, double* out) {
    return guarded([&]() -> int {
        const bool known = nc::visit_dtype(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            *out = nc::spearman(static_cast<const T*>(x), static_cast<const T*>(y), n);
        });
        return known ? NC_OK : NC_EDTYPE;
    });
}

int nc_matmul(nc_dtype dtype, const void* a, const void* b, void* c, size_t m, size_t k,
              size_t n) {
    return for_floats(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        nc::matmul(static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c), m, k, n);
        return NC_OK;
    });
}

int nc_solve(nc_dtype dtype, const void* a, const void* b, void* x, size_t n, size_t nrhs) {
    return guarded([&]() -> int {
        return for_floats(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            const bool ok = nc::solve(static_cast<const T*>(a), static_cast<const T*>(b),
                                      static_cast<T*>(x), n, nrhs);
            return ok ? NC_OK : NC_ESINGULAR;
        });
    });
}

int nc_det(nc_dtype dtype, const void* a, size_t n, double* out) {
    return guarded([&]() -> int {
        return for_floats(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            *out = nc::determinant(static_cast<const T*>(a), n);
            return NC_OK;
        });
    });
}

int nc_inverse(nc_dtype dtype, const void* a, void* out, size_t n) {
    return guarded([&]() -> int {
        return for_floats(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            const bool ok = nc::inverse(static_cast<const T*>(a), static_cast<T*>(out), n);
            return ok ? NC_OK : NC_ESINGULAR;
        });
    });
}

int nc_cholesky(nc_dtype dtype, const void* a, void* l, size_t n) {
    return for_floats(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        return nc::cholesky(static_cast<const T*>(a), static_cast<T*>(l), n) ? NC_OK : NC_ESINGULAR;
    });
}

int nc_least_squares(nc_dtype dtype, const void* a, const void* b, void* x, size_t m, size_t n) {
    return guarded([&]() -> int {
        return for_floats(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            const bool ok = nc::least_squares(static_cast<const T*>(a), static_cast<const T*>(b),
                                              static_cast<T*>(x), m, n);
            return ok ? NC_OK : NC_ESINGULAR;
        });
    });
}

int nc_eigenvalues_symmetric(nc_dtype dtype, const void* a, void* w, size_t n) {
    return guarded([&]() -> int {
        return for_floats(dtype, [&](auto* tag) {
            using T = std::remove_pointer_t<decltype(tag)>;
            const bool ok = nc::eigenvalues_symmetric(static_cast<const T*>(a), static_cast<T*>(w), n);
            return ok ? NC_OK : NC_EARG;
        });
    });
}

size_t nc_compress_bound(size_t n) { return nc::lz_bound(n); }

int64_t nc_compress(const void* src, size_t n, void* dst, size_t capacity) {
    return guarded([&]() -> int64_t {
        return nc::lz_compress(static_cast<const uint8_t*>(src), n, static_cast<uint8_t*>(dst),
                               capacity);
    });
}

int64_t nc_decompressed_size(const void* src, size_t n) {
    return nc::lz_decompressed_size(static_cast<const uint8_t*>(src), n);
}

int64_t nc_decompress(const void* src, size_t n, void* dst, size_t capacity) {
    return nc::lz_decompress(static_cast<const uint8_t*>(src), n, static_cast<uint8_t*>(dst),
                             capacity);
}

size_t nc_delta_bound(nc_dtype dtype, size_t count) {
    size_t bound = 0;
    nc::visit_dtype(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if constexpr (std::is_integral_v<T>) bound = nc::delta_bound<T>(count);
    });
    return bound;
}

int64_t nc_delta_encode(nc_dtype dtype, const void* src, size_t count, void* dst,
                        size_t capacity) {
    return for_integers(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        return nc::delta_encode(static_cast<const T*>(src), count, static_cast<uint8_t*>(dst),
                                capacity);
    });
}

int64_t nc_delta_decode(nc_dtype dtype, const void* src, size_t n, void* dst, size_t count) {
    return for_integers(dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        return nc::delta_decode(static_cast<const uint8_t*>(src), n, static_cast<T*>(dst), count);
    });
}

}  // extern "C"
