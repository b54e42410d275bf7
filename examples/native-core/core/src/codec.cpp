// LZ77 block codec and integer delta codec.
#include "nativecore/codec.hpp"

#include <cstring>
#include <type_traits>
#include <vector>

#include "nativecore/types.hpp"

namespace nc {
namespace {

constexpr std::uint8_t kMagic[4] = {'N', 'C', 'Z', '1'};
constexpr std::size_t kMinMatch = 4;
constexpr std::size_t kMaxOffset = 65535;
constexpr int kHashBits = 16;

// Bounds-checked output cursor; `ok` turns false on the first write past the end.
class Writer {
public:
    Writer(std::uint8_t* dst, std::size_t capacity) : p_(dst), begin_(dst), end_(dst + capacity) {}

    void byte(std::uint8_t b) {
        if (p_ == end_) {
            ok_ = false;
            return;
        }
        *p_++ = b;
    }
    void bytes(const std::uint8_t* src, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n) {
            ok_ = false;
            p_ = end_;
            return;
        }
        std::memcpy(p_, src, n);
        p_ += n;
    }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            byte(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        byte(static_cast<std::uint8_t>(v));
    }
    void length_tail(std::size_t extra) {  // the bytes after a nibble that reached 15
        while (extra >= 255) {
            byte(255);
            extra -= 255;
        }
        byte(static_cast<std::uint8_t>(extra));
    }
    bool ok() const { return ok_; }
    std::size_t written() const { return static_cast<std::size_t>(p_ - begin_); }

private:
    std::uint8_t* p_;
    std::uint8_t* begin_;
    std::uint8_t* end_;
    bool ok_ = true;
};

// Bounds-checked input cursor; `ok` turns false on the first read past the end.
class Reader {
public:
    Reader(const std::uint8_t* src, std::size_t n) : p_(src), end_(src + n) {}

    std::uint8_t byte() {
        if (p_ == end_) {
            ok_ = false;
            return 0;
        }
        return *p_++;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = byte();
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        ok_ = false;
        return 0;
    }
    std::size_t length(std::size_t nibble) {
        std::size_t total = nibble;
        if (nibble == 15) {
            std::uint8_t b;
            do {
                b = byte();
                total += b;
            } while (b == 255 && ok_);
        }
        return total;
    }
    const std::uint8_t* take(std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n) {
            ok_ = false;
            return nullptr;
        }
        const std::uint8_t* at = p_;
        p_ += n;
        return at;
    }
    bool ok() const { return ok_; }
    bool done() const { return p_ == end_; }

private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    bool ok_ = true;
};

inline std::uint32_t load32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline std::size_t hash4(std::uint32_t v) {
    return static_cast<std::size_t>((v * 2654435761u) >> (32 - kHashBits));
}

void emit_sequence(Writer& out, const std::uint8_t* literals, std::size_t literal_count,
                   std::size_t offset, std::size_t match_length) {
    const std::size_t match_extra = match_length ? match_length - kMinMatch : 0;
    const std::size_t lit_nibble = literal_count < 15 ? literal_count : 15;
    const std::size_t match_nibble = match_extra < 15 ? match_extra : 15;
    out.byte(static_cast<std::uint8_t>(lit_nibble << 4 | match_nibble));
    if (lit_nibble == 15) out.length_tail(literal_count - 15);
    out.bytes(literals, literal_count);
    if (match_length == 0) return;
    out.byte(static_cast<std::uint8_t>(offset & 0xff));
    out.byte(static_cast<std::uint8_t>(offset >> 8));
    if (match_nibble == 15) out.length_tail(match_extra - 15);
}

template <class T>
using Unsigned = std::make_unsigned_t<T>;

template <class T>
Unsigned<T> zigzag(Unsigned<T> delta) {
    using S = std::make_signed_t<T>;
    constexpr int bits = sizeof(T) * 8;
    const S s = static_cast<S>(delta);
    return static_cast<Unsigned<T>>(static_cast<Unsigned<T>>(delta << 1) ^
                                    static_cast<Unsigned<T>>(s >> (bits - 1)));
}

template <class T>
Unsigned<T> unzigzag(Unsigned<T> z) {
    // All ones when the low bit is set, in T's width (-1 converts to the unsigned maximum).
    const auto mask = static_cast<Unsigned<T>>(-static_cast<std::int64_t>(z & 1u));
    return static_cast<Unsigned<T>>((z >> 1) ^ mask);
}

}  // namespace

std::size_t lz_bound(std::size_t n) { return n + n / 255 + 16 + sizeof kMagic + 10; }

std::int64_t lz_compress(const std::uint8_t* src, std::size_t n, std::uint8_t* dst,
                         std::size_t capacity) {
    Writer out(dst, capacity);
    out.bytes(kMagic, sizeof kMagic);
    out.varint(n);
    std::vector<std::int64_t> table(std::size_t(1) << kHashBits, -1);
    std::size_t anchor = 0;
    std::size_t i = 0;
    while (i + kMinMatch <= n) {
        const std::uint32_t word = load32(src + i);
        const std::size_t slot = hash4(word);
        const std::int64_t candidate = table[slot];
        table[slot] = static_cast<std::int64_t>(i);
        if (candidate < 0 || i - static_cast<std::size_t>(candidate) > kMaxOffset ||
            load32(src + candidate) != word) {
            ++i;
            continue;
        }
        const auto from = static_cast<std::size_t>(candidate);
        std::size_t length = kMinMatch;
        while (i + length < n && src[from + length] == src[i + length]) ++length;
        emit_sequence(out, src + anchor, i - anchor, i - from, length);
        // Index a few positions inside the match so that repeats of it are found later.
        const std::size_t end = i + length;
        for (std::size_t p = i + 1; p + kMinMatch <= n && p < end; p += 2) {
            table[hash4(load32(src + p))] = static_cast<std::int64_t>(p);
        }
        i = end;
        anchor = i;
    }
    emit_sequence(out, src + anchor, n - anchor, 0, 0);
    if (!out.ok()) return NC_ESPACE;
    return static_cast<std::int64_t>(out.written());
}

std::int64_t lz_decompressed_size(const std::uint8_t* src, std::size_t n) {
    Reader in(src, n);
    const std::uint8_t* magic = in.take(sizeof kMagic);
    if (!magic || std::memcmp(magic, kMagic, sizeof kMagic) != 0) return NC_ECORRUPT;
    const std::uint64_t size = in.varint();
    if (!in.ok() || size > static_cast<std::uint64_t>(INT64_MAX)) return NC_ECORRUPT;
    return static_cast<std::int64_t>(size);
}

std::int64_t lz_decompress(const std::uint8_t* src, std::size_t n, std::uint8_t* dst,
                           std::size_t capacity) {
    const std::int64_t expected = lz_decompressed_size(src, n);
    if (expected < 0) return expected;
    if (static_cast<std::uint64_t>(expected) > capacity) return NC_ESPACE;
    Reader in(src, n);
    in.take(sizeof kMagic);
    in.varint();
    std::size_t produced = 0;
    const auto limit = static_cast<std::size_t>(expected);
    for (;;) {
        const std::uint8_t token = in.byte();
        const std::size_t literal_count = in.length(token >> 4);
        const std::uint8_t* literals = in.take(literal_count);
        if (!in.ok() || limit - produced < literal_count) return NC_ECORRUPT;
        std::memcpy(dst + produced, literals, literal_count);
        produced += literal_count;
        if (in.done()) break;  // the last sequence carries literals only
        const std::size_t offset = std::size_t(in.byte()) | std::size_t(in.byte()) << 8;
        const std::size_t length = in.length(token & 0x0f) + kMinMatch;
        if (!in.ok() || offset == 0 || offset > produced || limit - produced < length) {
            return NC_ECORRUPT;
        }
        // Byte by byte: a match may overlap its own output (offset < length encodes a run).
        const std::uint8_t* from = dst + produced - offset;
        for (std::size_t k = 0; k < length; ++k) dst[produced + k] = from[k];
        produced += length;
    }
    if (produced != limit) return NC_ECORRUPT;
    return static_cast<std::int64_t>(produced);
}

template <class T>
std::size_t delta_bound(std::size_t count) {
    return 10 + count * ((sizeof(T) * 8 + 6) / 7);
}

template <class T>
std::int64_t delta_encode(const T* src, std::size_t count, std::uint8_t* dst,
                          std::size_t capacity) {
    Writer out(dst, capacity);
    out.varint(count);
    Unsigned<T> previous = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto value = static_cast<Unsigned<T>>(src[i]);
        out.varint(zigzag<T>(static_cast<Unsigned<T>>(value - previous)));
        previous = value;
    }
    if (!out.ok()) return NC_ESPACE;
    return static_cast<std::int64_t>(out.written());
}

template <class T>
std::int64_t delta_decode(const std::uint8_t* src, std::size_t n, T* dst, std::size_t count) {
    Reader in(src, n);
    const std::uint64_t stored = in.varint();
    if (!in.ok()) return NC_ECORRUPT;
    if (stored != count) return NC_EARG;
    Unsigned<T> previous = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t z = in.varint();
        if (!in.ok() || z > static_cast<std::uint64_t>(static_cast<Unsigned<T>>(~Unsigned<T>(0)))) {
            return NC_ECORRUPT;
        }
        previous = static_cast<Unsigned<T>>(previous + unzigzag<T>(static_cast<Unsigned<T>>(z)));
        dst[i] = static_cast<T>(previous);
    }
    if (!in.done()) return NC_ECORRUPT;
    return static_cast<std::int64_t>(count);
}

#define NC_INSTANTIATE_DELTA(T)                                                                \
    template std::size_t delta_bound<T>(std::size_t);                                          \
    template std::int64_t delta_encode<T>(const T*, std::size_t, std::uint8_t*, std::size_t);  \
    template std::int64_t delta_decode<T>(const std::uint8_t*, std::size_t, T*, std::size_t);
NC_FOR_EACH_INT(NC_INSTANTIATE_DELTA)

}  // namespace nc
