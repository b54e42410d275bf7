// Hashing: xxHash64, MurmurHash3 x64/128, FNV-1a 64, CRC-32 and a distinct-value counter.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nativecore/types.hpp"

namespace nc {

std::uint64_t xxh64(const void* data, std::size_t n, std::uint64_t seed);
std::uint64_t fnv1a64(const void* data, std::size_t n);
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n);
void murmur3_128(const void* data, std::size_t n, std::uint32_t seed, std::uint64_t out[2]);

// Number of distinct values; for floats -0.0 equals 0.0 and all NaNs are one value.
template <class T>
std::size_t count_distinct(const T* data, std::size_t n);

}  // namespace nc
