// Hash functions and an open-addressing hash set.
#include "nativecore/hash.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace nc {
namespace {

// Little-endian loads that do not depend on the host's byte order or alignment.
inline std::uint64_t load64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

inline std::uint32_t load32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

constexpr std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// --- xxHash64 ----------------------------------------------------------------------------------
constexpr std::uint64_t P1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t P3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t P5 = 0x27D4EB2F165667C5ULL;

inline std::uint64_t xxh_round(std::uint64_t acc, std::uint64_t input) {
    acc += input * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

inline std::uint64_t xxh_merge(std::uint64_t acc, std::uint64_t value) {
    acc ^= xxh_round(0, value);
    return acc * P1 + P4;
}

// --- MurmurHash3 -------------------------------------------------------------------------------
inline std::uint64_t fmix64(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

// --- CRC-32 (reflected polynomial 0xEDB88320, as zlib), slicing by 8 ---------------------------
struct Crc32Tables {
    std::uint32_t t[8][256];
};

constexpr Crc32Tables make_crc32_tables() {
    Crc32Tables tables{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        tables.t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i) {
        for (int s = 1; s < 8; ++s) {
            const std::uint32_t prev = tables.t[s - 1][i];
            tables.t[s][i] = (prev >> 8) ^ tables.t[0][prev & 0xffu];
        }
    }
    return tables;
}

constexpr Crc32Tables kCrc32 = make_crc32_tables();

// --- hash set ----------------------------------------------------------------------------------
inline std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

template <class T>
struct Canonical {
    using Bits = std::conditional_t<sizeof(T) <= 4, std::uint32_t, std::uint64_t>;
    static Bits bits(T v) {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(v)) v = std::numeric_limits<T>::quiet_NaN();
            if (v == T(0)) v = T(0);  // folds -0.0 into 0.0
            Bits b = 0;
            std::memcpy(&b, &v, sizeof v);
            return b;
        } else {
            return static_cast<Bits>(static_cast<std::make_unsigned_t<T>>(v));
        }
    }
};

template <class Key>
class HashSet {
public:
    explicit HashSet(std::size_t expected) {
        std::size_t capacity = 16;
        while (capacity < expected * 2) capacity <<= 1;
        keys_.resize(capacity);
        used_.assign(capacity, 0);
        mask_ = capacity - 1;
    }

    bool insert(Key key) {
        std::size_t slot = static_cast<std::size_t>(mix(key)) & mask_;
        while (used_[slot]) {
            if (keys_[slot] == key) return false;
            slot = (slot + 1) & mask_;
        }
        used_[slot] = 1;
        keys_[slot] = key;
        ++size_;
        return true;
    }

    std::size_t size() const { return size_; }

private:
    std::vector<Key> keys_;
    std::vector<unsigned char> used_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

}  // namespace

std::uint64_t xxh64(const void* data, std::size_t n, std::uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* const end = p + n;
    std::uint64_t h;
    if (n >= 32) {
        std::uint64_t v1 = seed + P1 + P2;
        std::uint64_t v2 = seed + P2;
        std::uint64_t v3 = seed;
        std::uint64_t v4 = seed - P1;
        const unsigned char* const limit = end - 32;
        do {
            v1 = xxh_round(v1, load64(p));
            v2 = xxh_round(v2, load64(p + 8));
            v3 = xxh_round(v3, load64(p + 16));
            v4 = xxh_round(v4, load64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + P5;
    }
    h += static_cast<std::uint64_t>(n);
    while (end - p >= 8) {
        h ^= xxh_round(0, load64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= static_cast<std::uint64_t>(load32(p)) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p++) * P5;
        h = rotl64(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

std::uint64_t fnv1a64(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    const auto& t = kCrc32.t;
    std::uint32_t c = ~crc;
    while (n >= 8) {
        const std::uint32_t lo = c ^ load32(p);
        const std::uint32_t hi = load32(p + 4);
        c = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
            t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = t[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
    return ~c;
}

void murmur3_128(const void* data, std::size_t n, std::uint32_t seed, std::uint64_t out[2]) {
    const auto* p = static_cast<const unsigned char*>(data);
    const std::size_t blocks = n / 16;
    std::uint64_t h1 = seed;
    std::uint64_t h2 = seed;
    constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL;
    constexpr std::uint64_t c2 = 0x4cf5ad432745937fULL;
    for (std::size_t i = 0; i < blocks; ++i) {
        std::uint64_t k1 = load64(p + 16 * i);
        std::uint64_t k2 = load64(p + 16 * i + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const unsigned char* tail = p + 16 * blocks;
    const std::size_t rest = n & 15u;
    std::uint64_t k1 = 0;
    std::uint64_t k2 = 0;
    for (std::size_t i = rest; i > 8; --i) k2 = (k2 << 8) | tail[i - 1];
    for (std::size_t i = rest < 8 ? rest : 8; i > 0; --i) k1 = (k1 << 8) | tail[i - 1];
    if (rest > 8) {
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    if (rest > 0) {
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= static_cast<std::uint64_t>(n);
    h2 ^= static_cast<std::uint64_t>(n);
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

template <class T>
std::size_t count_distinct(const T* data, std::size_t n) {
    using Bits = typename Canonical<T>::Bits;
    HashSet<Bits> seen(n);
    for (std::size_t i = 0; i < n; ++i) seen.insert(Canonical<T>::bits(data[i]));
    return seen.size();
}

#define NC_INSTANTIATE_HASH(T) template std::size_t count_distinct<T>(const T*, std::size_t);
NC_FOR_EACH_TYPE(NC_INSTANTIATE_HASH)

}  // namespace nc
