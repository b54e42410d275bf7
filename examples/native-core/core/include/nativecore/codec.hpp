// Compression: an LZ77 block codec for bytes and a delta/zigzag/varint codec for integers.
//
// LZ block format: "NCZ1", the original size as a LEB128 varint, then sequences. Each sequence
// is a token byte (literal count in the high nibble, match length - 4 in the low nibble; 15 means
// "more length bytes follow", each adding 0-255 until a byte below 255), the literals, and,
// unless the sequence is the last one, a 2-byte little-endian offset (1-65535) and the match's
// extra length bytes. The last sequence holds only literals.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nc {

std::size_t lz_bound(std::size_t n);
// Compressed size, or NC_ESPACE / NC_EARG.
std::int64_t lz_compress(const std::uint8_t* src, std::size_t n, std::uint8_t* dst,
                         std::size_t capacity);
std::int64_t lz_decompressed_size(const std::uint8_t* src, std::size_t n);
// Decompressed size, or NC_ECORRUPT / NC_ESPACE.
std::int64_t lz_decompress(const std::uint8_t* src, std::size_t n, std::uint8_t* dst,
                           std::size_t capacity);

template <class T>
std::size_t delta_bound(std::size_t count);
template <class T>
std::int64_t delta_encode(const T* src, std::size_t count, std::uint8_t* dst,
                          std::size_t capacity);
template <class T>
std::int64_t delta_decode(const std::uint8_t* src, std::size_t n, T* dst, std::size_t count);

}  // namespace nc
