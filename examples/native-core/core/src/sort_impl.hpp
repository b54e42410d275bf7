// Internals shared by sort.cpp and sort_pairs.cpp (not part of the core's interface).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "nativecore/types.hpp"

namespace nc {
namespace detail {

constexpr std::ptrdiff_t kInsertionThreshold = 16;
constexpr std::size_t kMergeRun = 24;

// Ascending strict weak order; NaNs compare equal to each other and greater than numbers.
template <class T>
struct Less {
    bool operator()(const T& a, const T& b) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(b)) return !std::isnan(a);
            return a < b;
        } else {
            return a < b;
        }
    }
};

// Descending strict weak order; NaNs still come last.
template <class T>
struct Greater {
    bool operator()(const T& a, const T& b) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(b)) return !std::isnan(a);
            if (std::isnan(a)) return false;
            return b < a;
        } else {
            return b < a;
        }
    }
};

template <class T, class Cmp>
void insertion_sort(T* first, T* last, Cmp cmp) {
    if (last - first < 2) return;
    for (T* i = first + 1; i < last; ++i) {
        T value = std::move(*i);
        T* j = i;
        while (j > first && cmp(value, *(j - 1))) {
            *j = std::move(*(j - 1));
            --j;
        }
        *j = std::move(value);
    }
}

template <class T, class Cmp>
void sift_down(T* heap, std::size_t root, std::size_t n, Cmp cmp) {
    T value = std::move(heap[root]);
    for (;;) {
        std::size_t child = 2 * root + 1;
        if (child >= n) break;
        if (child + 1 < n && cmp(heap[child], heap[child + 1])) ++child;
        if (!cmp(value, heap[child])) break;
        heap[root] = std::move(heap[child]);
        root = child;
    }
    heap[root] = std::move(value);
}

template <class T, class Cmp>
void heap_sort(T* first, T* last, Cmp cmp) {
    const std::size_t n = static_cast<std::size_t>(last - first);
    if (n < 2) return;
    for (std::size_t i = n / 2; i-- > 0;) sift_down(first, i, n, cmp);
    for (std::size_t end = n - 1; end > 0; --end) {
        std::swap(first[0], first[end]);
        sift_down(first, 0, end, cmp);
    }
}

// Orders first/mid/last-1 so that the median lands in the middle (never the last element, which
// keeps Hoare's partition making progress).
template <class T, class Cmp>
void order_three(T& a, T& b, T& c, Cmp cmp) {
    if (cmp(b, a)) std::swap(a, b);
    if (cmp(c, b)) {
        std::swap(b, c);
        if (cmp(b, a)) std::swap(a, b);
    }
}

template <class T, class Cmp>
void intro_loop(T* first, T* last, int depth, Cmp cmp) {
    while (last - first > kInsertionThreshold) {
        if (depth-- == 0) {
            heap_sort(first, last, cmp);
            return;
        }
        T* mid = first + (last - first) / 2;
        order_three(*first, *mid, *(last - 1), cmp);
        const T pivot = *mid;
        std::ptrdiff_t i = -1;
        std::ptrdiff_t j = last - first;
        for (;;) {
            do ++i; while (cmp(first[i], pivot));
            do --j; while (cmp(pivot, first[j]));
            if (i >= j) break;
            std::swap(first[i], first[j]);
        }
        T* cut = first + j + 1;
        if (cut - first < last - cut) {
            intro_loop(first, cut, depth, cmp);
            first = cut;
        } else {
            intro_loop(cut, last, depth, cmp);
            last = cut;
        }
    }
}

template <class T, class Cmp>
void intro_sort_with(T* first, T* last, Cmp cmp) {
    const std::size_t n = static_cast<std::size_t>(last - first);
    if (n < 2) return;
    int depth = 0;
    for (std::size_t m = n; m > 1; m >>= 1) depth += 2;
    intro_loop(first, last, depth, cmp);
    insertion_sort(first, last, cmp);  // finishes the small, already partitioned segments
}

template <class T, class Cmp>
void merge_sort_rec(T* a, T* buffer, std::size_t n, Cmp cmp) {
    if (n <= kMergeRun) {
        insertion_sort(a, a + n, cmp);
        return;
    }
    const std::size_t half = n / 2;
    merge_sort_rec(a, buffer, half, cmp);
    merge_sort_rec(a + half, buffer, n - half, cmp);
    if (!cmp(a[half], a[half - 1])) return;  // the halves are already in order
    std::move(a, a + half, buffer);
    std::size_t i = 0, j = half, k = 0;
    while (i < half && j < n) {
        // Take from the right only when strictly smaller: equal keys keep their order.
        if (cmp(a[j], buffer[i])) {
            a[k++] = std::move(a[j++]);
        } else {
            a[k++] = std::move(buffer[i++]);
        }
    }
    while (i < half) a[k++] = std::move(buffer[i++]);
}

template <class T, class Cmp>
void merge_sort_with(T* data, std::size_t n, Cmp cmp) {
    if (n < 2) return;
    std::vector<T> buffer(n / 2 + 1);
    merge_sort_rec(data, buffer.data(), n, cmp);
}

// Maps a value to an unsigned key whose natural order is the value's order.
template <class T, class Enable = void>
struct RadixKey {
    using type = std::make_unsigned_t<T>;
    static type get(T v) {
        if constexpr (std::is_signed_v<T>) {
            return static_cast<type>(static_cast<type>(v) ^ (type(1) << (sizeof(T) * 8 - 1)));
        } else {
            return v;
        }
    }
};

template <class T>
struct RadixKey<T, std::enable_if_t<std::is_floating_point_v<T>>> {
    using type = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    static type get(T v) {
        type bits;
        std::memcpy(&bits, &v, sizeof bits);
        constexpr type sign = type(1) << (sizeof(T) * 8 - 1);
        return (bits & sign) ? static_cast<type>(~bits) : static_cast<type>(bits | sign);
    }
};

// Stable LSD radix sort of records by an unsigned key, one byte per pass; passes where every
// key has the same digit are skipped.
template <class R, class KeyFn>
void radix_sort_with(R* data, std::size_t n, KeyFn key) {
    if (n < 2) return;
    using K = decltype(key(data[0]));
    std::vector<R> scratch(n);
    R* src = data;
    R* dst = scratch.data();
    for (unsigned shift = 0; shift < sizeof(K) * 8; shift += 8) {
        std::size_t count[256] = {};
        for (std::size_t i = 0; i < n; ++i) ++count[(key(src[i]) >> shift) & 0xffu];
        if (count[(key(src[0]) >> shift) & 0xffu] == n) continue;
        std::size_t position = 0;
        for (std::size_t& c : count) {
            const std::size_t here = c;
            c = position;
            position += here;
        }
        for (std::size_t i = 0; i < n; ++i) dst[count[(key(src[i]) >> shift) & 0xffu]++] = src[i];
        std::swap(src, dst);
    }
    if (src != data) std::copy(src, src + n, data);
}

template <class K, class V>
struct Pair {
    K key;
    V value;
};

}  // namespace detail

}  // namespace nc
